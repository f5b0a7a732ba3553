//! Event handlers: the steps of the order sagas, run by the outbox worker.
//!
//! Each handler applies its effect and marks its event processed in ONE transaction (the
//! processed-event ledger is the outbox row itself). The mark comes first and only succeeds
//! for an event not yet processed, so a redelivered event — a second worker after a lease ran
//! out, a crash between effect and commit — finds the mark taken and changes nothing. Calls
//! to the outside (refunds) happen before that transaction, never inside it, and are
//! idempotent at the provider.
//!
//! - `OrderPlaced` takes each food's stock atomically (never below zero). All lines or none:
//!   if one is short the order is rejected (out of stock) and `OrderRejected` follows;
//!   otherwise the order enters the store's queue.
//! - `OrderRejected` / `OrderCancelled` give back exactly the stock that was taken (only if
//!   the order had reached the store's queue) and request the refund.
//! - `RefundRequested` cancels the payment at the provider, then records it.
//! - `PaymentVoidRequested` voids a checkout's payment that never became an order (written in
//!   the same transaction that gave the checkout up), until the provider confirms.
//! - Every handler also writes the event's notifications (`notifications::record`) in its
//!   transaction, so they exist exactly when the change they announce does.

mod placed;

use super::outbox::{self, Event};
use super::views::{self, ViewChange};
use super::{live, notifications, worker};
use super::{now_ms, AppState};
use domain::OrderStatus;
use sqlx::{Any, Row, Transaction};
use std::collections::HashSet;

/// The worker's envelope types, used by every handler (re-exported for the tests).
pub use super::worker::{Delivery, Handled, HandlerError};

/// The sagas as the outbox worker's handlers: what the server registers with `worker::run`.
/// Events that only write to our database may be applied several to a transaction
/// ([`handle_group`]); those that call the payment provider are applied one by one.
pub fn handler() -> worker::Handlers {
    worker::Handlers {
        one: std::sync::Arc::new(|state, delivery| {
            Box::pin(async move { handle(&state, &delivery).await })
        }),
        group: Some(worker::Group {
            takes: |event| !calls_out(event),
            handle: std::sync::Arc::new(|state, deliveries| {
                Box::pin(async move { handle_group(&state, &deliveries).await })
            }),
        }),
    }
}

/// Events whose handling calls the payment provider: never inside a transaction, so never in
/// a group.
fn calls_out(event: &Event) -> bool {
    matches!(
        event,
        Event::RefundRequested { .. } | Event::PaymentVoidRequested { .. }
    )
}

/// Starts the effect's transaction by marking the event processed; `None` if it already was.
async fn begin_once(
    state: &AppState,
    event_id: i64,
) -> Result<Option<Transaction<'static, Any>>, sqlx::Error> {
    let mut tx = state.db.begin().await?;
    let marked = sqlx::query(
        "UPDATE outbox SET processed_at = $1, locked_until = NULL WHERE id = $2 AND processed_at IS NULL",
    )
    .bind(now_ms())
    .bind(event_id)
    .execute(&mut *tx)
    .await?;
    if marked.rows_affected() == 1 {
        Ok(Some(tx))
    } else {
        tx.rollback().await?;
        Ok(None)
    }
}

/// Marks the event processed and does nothing else: the least work any handler does (used to
/// measure the worker itself).
pub async fn acknowledge(state: &AppState, delivery: &Delivery) -> Result<Handled, HandlerError> {
    let marked = sqlx::query(
        "UPDATE outbox SET processed_at = $1, locked_until = NULL WHERE id = $2 AND processed_at IS NULL",
    )
    .bind(now_ms())
    .bind(delivery.id)
    .execute(state.db.writer())
    .await?;
    Ok(if marked.rows_affected() == 1 {
        Handled::Applied
    } else {
        Handled::AlreadyDone
    })
}

/// What a committed effect asks for afterwards.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct AfterCommit {
    /// It wrote a follow-up event: wake the worker.
    wrote_event: bool,
}

/// Handles one event in its own transaction (calls to the provider before it).
pub async fn handle(state: &AppState, delivery: &Delivery) -> Result<Handled, HandlerError> {
    let after = match &delivery.event {
        Event::RefundRequested { order_id, reason } => {
            refund(state, delivery, *order_id, reason).await?
        }
        Event::PaymentVoidRequested { payment_id, reason } => {
            void_payment(state, delivery, payment_id, reason).await?
        }
        _ => {
            #[cfg(feature = "fault-injection")]
            if state.faults.store_side_down() && matches!(delivery.event, Event::OrderPlaced { .. })
            {
                return Err(HandlerError::StoreSideDown);
            }
            let Some(mut tx) = begin_once(state, delivery.id).await? else {
                return Ok(Handled::AlreadyDone);
            };
            let after = apply_in(state, &mut tx, delivery).await?;
            tx.commit().await?;
            Some(after)
        }
    };
    let Some(after) = after else {
        return Ok(Handled::AlreadyDone);
    };
    announce(state, std::slice::from_ref(delivery), after).await;
    Ok(Handled::Applied)
}

/// Applies several events (each of a different order, none calling out) in ONE transaction:
/// one writer turn and one commit for all of them instead of one each, which is what lets the
/// single SQLite writer keep up with checkout. Returns each event's outcome in the order
/// given. On any error nothing is applied, and the worker handles the events one by one, so
/// one failing event is retried on its own and never holds up the others.
pub async fn handle_group(
    state: &AppState,
    deliveries: &[Delivery],
) -> Result<Vec<Handled>, HandlerError> {
    if deliveries.is_empty() {
        return Ok(Vec::new());
    }
    #[cfg(feature = "fault-injection")]
    if state.faults.store_side_down()
        && deliveries
            .iter()
            .any(|d| matches!(d.event, Event::OrderPlaced { .. }))
    {
        return Err(HandlerError::StoreSideDown);
    }
    let mut tx = state.db.begin().await?;
    let marked = mark_all(&mut tx, deliveries).await?;
    let mut after = AfterCommit::default();
    let applied: Vec<Delivery> = deliveries
        .iter()
        .filter(|d| marked.contains(&d.id))
        .cloned()
        .collect();
    // In event order; each run of new orders together (the usual round on a busy evening).
    let mut placed: Vec<&Delivery> = Vec::new();
    for delivery in &applied {
        if matches!(delivery.event, Event::OrderPlaced { .. }) {
            placed.push(delivery);
            continue;
        }
        if !placed.is_empty() {
            after.wrote_event |= placed::orders_placed(state, &mut tx, &placed)
                .await?
                .wrote_event;
            placed.clear();
        }
        after.wrote_event |= apply_in(state, &mut tx, delivery).await?.wrote_event;
    }
    if !placed.is_empty() {
        after.wrote_event |= placed::orders_placed(state, &mut tx, &placed)
            .await?
            .wrote_event;
    }
    tx.commit().await?;
    announce(state, &applied, after).await;
    Ok(deliveries
        .iter()
        .map(|d| {
            if marked.contains(&d.id) {
                Handled::Applied
            } else {
                Handled::AlreadyDone
            }
        })
        .collect())
}

/// Marks the events processed in one statement; returns those this call marked (the others
/// were already processed: redeliveries).
async fn mark_all(
    tx: &mut Transaction<'static, Any>,
    deliveries: &[Delivery],
) -> Result<HashSet<i64>, sqlx::Error> {
    let sql = format!(
        "UPDATE outbox SET processed_at = $1, locked_until = NULL
         WHERE processed_at IS NULL AND id IN ({}) RETURNING id",
        crate::db::placeholders(2, deliveries.len())
    );
    let mut query = sqlx::query(&sql).bind(now_ms());
    for delivery in deliveries {
        query = query.bind(delivery.id);
    }
    query
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|row| row.try_get::<i64, _>(0))
        .collect()
}

/// After the commit: pages showing these orders may re-read them now, KakaoTalk messages may
/// go, and follow-up events are picked up at once.
async fn announce(state: &AppState, applied: &[Delivery], after: AfterCommit) {
    if after.wrote_event {
        state.outbox_wakeup.notify_one();
    }
    let orders: Vec<i64> = applied
        .iter()
        .map(|d| d.event.order_id())
        .filter(|order_id| *order_id != outbox::NO_ORDER)
        .collect();
    if !orders.is_empty() {
        state.notification_wakeup.notify_one();
    }
    futures::future::join_all(orders.into_iter().map(|id| live::order_changed(state, id))).await;
}

/// Applies an event that stays within our database, inside `tx`, which has already marked it
/// processed.
async fn apply_in(
    state: &AppState,
    tx: &mut Transaction<'static, Any>,
    delivery: &Delivery,
) -> Result<AfterCommit, HandlerError> {
    match &delivery.event {
        Event::OrderPlaced { order_id, .. } => order_placed(state, tx, delivery, *order_id).await,
        Event::OrderRejected { order_id, reason } => {
            order_closed(state, tx, delivery, *order_id, reason).await
        }
        Event::OrderCancelled { order_id } => {
            order_closed(
                state,
                tx,
                delivery,
                *order_id,
                "고객이 주문을 취소했습니다.",
            )
            .await
        }
        Event::OrderAccepted { order_id }
        | Event::CookingStarted { order_id }
        | Event::CookingFinished { order_id }
        | Event::RiderAssigned { order_id, .. }
        | Event::OrderPickedUp { order_id }
        | Event::OrderDelivered { order_id }
        | Event::OrderCompleted { order_id } => {
            project(tx, delivery, *order_id).await?;
            notifications::record(state, tx, delivery, *order_id).await?;
            Ok(AfterCommit::default())
        }
        Event::RefundRequested { .. } | Event::PaymentVoidRequested { .. } => {
            unreachable!("events that call the provider are never applied inside a transaction")
        }
    }
}

/// Folds the delivered event into the order's status view, inside the handler's transaction.
async fn project(
    tx: &mut Transaction<'static, Any>,
    delivery: &Delivery,
    order_id: i64,
) -> Result<(), sqlx::Error> {
    let change: ViewChange<'_> =
        views::change_for(&delivery.event).expect("every event changes the view");
    views::apply(tx, order_id, delivery.id, delivery.created_at, change).await
}

async fn order_placed(
    state: &AppState,
    tx: &mut Transaction<'static, Any>,
    delivery: &Delivery,
    order_id: i64,
) -> Result<AfterCommit, HandlerError> {
    project(tx, delivery, order_id).await?;
    let order = sqlx::query("SELECT status, store_id FROM orders WHERE id = $1")
        .bind(order_id)
        .fetch_one(&mut **tx)
        .await?;
    let status: String = order.try_get("status")?;
    if status != OrderStatus::Placed.as_str() {
        // Cancelled before the store got it: no stock was taken; its own event follows.
        notifications::record(state, tx, delivery, order_id).await?;
        return Ok(AfterCommit::default());
    }
    let store_id: i64 = order.try_get("store_id")?;
    let lines = sqlx::query(
        "SELECT l.food_id, l.quantity, l.name FROM order_lines l WHERE l.order_id = $1 ORDER BY l.food_id",
    )
    .bind(order_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut taken: Vec<(i64, i64)> = Vec::with_capacity(lines.len());
    let mut short = None;
    for line in &lines {
        let (food_id, quantity): (i64, i64) = (line.try_get("food_id")?, line.try_get("quantity")?);
        let took = sqlx::query("UPDATE foods SET stock = stock - $1 WHERE id = $2 AND stock >= $1")
            .bind(quantity)
            .bind(food_id)
            .execute(&mut **tx)
            .await?;
        if took.rows_affected() != 1 {
            short = Some(line.try_get::<String, _>("name")?);
            break;
        }
        taken.push((food_id, quantity));
    }
    let Some(food) = short else {
        sqlx::query(
            "INSERT INTO store_queue (order_id, store_id, received_at) VALUES ($1, $2, $3)
             ON CONFLICT (order_id) DO NOTHING",
        )
        .bind(order_id)
        .bind(store_id)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
        notifications::record(state, tx, delivery, order_id).await?;
        tracing::info!(order_id, "stock taken; order in the store's queue");
        return Ok(AfterCommit::default());
    };

    // All or nothing: give back the lines already taken (this transaction holds them), then
    // reject.
    for (food_id, quantity) in taken {
        sqlx::query("UPDATE foods SET stock = stock + $1 WHERE id = $2")
            .bind(quantity)
            .bind(food_id)
            .execute(&mut **tx)
            .await?;
    }
    let after = AfterCommit {
        wrote_event: reject_out_of_stock(tx, order_id, &food, delivery.id).await?,
    };
    notifications::record(state, tx, delivery, order_id).await?;
    Ok(after)
}

/// Rejects a still-placed order for want of `food` and writes its `OrderRejected` (caused by
/// event `cause`), inside `tx`; returns whether it did (a cancelled order is left alone).
async fn reject_out_of_stock(
    tx: &mut Transaction<'static, Any>,
    order_id: i64,
    food: &str,
    cause: i64,
) -> Result<bool, sqlx::Error> {
    let reason = format!("재고가 부족하여 주문이 거절되었습니다. ({food})");
    let rejected = sqlx::query(
        "UPDATE orders SET status = 'rejected', reject_reason = $1, updated_at = $2
         WHERE id = $3 AND status = 'placed'",
    )
    .bind(&reason)
    .bind(now_ms())
    .bind(order_id)
    .execute(&mut **tx)
    .await?;
    tracing::info!(order_id, %food, "out of stock: order rejected");
    if rejected.rows_affected() != 1 {
        return Ok(false);
    }
    outbox::enqueue(tx, &Event::OrderRejected { order_id, reason }, Some(cause)).await?;
    Ok(true)
}

async fn order_closed(
    state: &AppState,
    tx: &mut Transaction<'static, Any>,
    delivery: &Delivery,
    order_id: i64,
    reason: &str,
) -> Result<AfterCommit, HandlerError> {
    let was_queued = sqlx::query(
        "UPDATE store_queue SET released_at = $1 WHERE order_id = $2 AND released_at IS NULL",
    )
    .bind(now_ms())
    .bind(order_id)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1;
    if was_queued {
        let lines = sqlx::query("SELECT food_id, quantity FROM order_lines WHERE order_id = $1")
            .bind(order_id)
            .fetch_all(&mut **tx)
            .await?;
        for line in &lines {
            sqlx::query("UPDATE foods SET stock = stock + $1 WHERE id = $2")
                .bind(line.try_get::<i64, _>("quantity")?)
                .bind(line.try_get::<i64, _>("food_id")?)
                .execute(&mut **tx)
                .await?;
        }
    }
    project(tx, delivery, order_id).await?;
    notifications::record(state, tx, delivery, order_id).await?;
    let refund = Event::RefundRequested {
        order_id,
        reason: reason.to_string(),
    };
    outbox::enqueue(tx, &refund, Some(delivery.id)).await?;
    tracing::info!(
        order_id,
        stock_restored = was_queued,
        "order closed; refund requested"
    );
    Ok(AfterCommit { wrote_event: true })
}

async fn refund(
    state: &AppState,
    delivery: &Delivery,
    order_id: i64,
    reason: &str,
) -> Result<Option<AfterCommit>, HandlerError> {
    let payment = sqlx::query("SELECT provider_ref, status FROM payments WHERE order_id = $1")
        .bind(order_id)
        .fetch_one(state.db.reader())
        .await?;
    if payment.try_get::<String, _>("status")? == "approved" {
        let provider_ref: String = payment.try_get("provider_ref")?;
        state.payments.cancel(&provider_ref, reason).await?;
    }
    let Some(mut tx) = begin_once(state, delivery.id).await? else {
        return Ok(None);
    };
    sqlx::query(
        "UPDATE payments SET status = 'cancelled', cancelled_at = $1 WHERE order_id = $2 AND status = 'approved'",
    )
    .bind(now_ms())
    .bind(order_id)
    .execute(&mut *tx)
    .await?;
    project(&mut tx, delivery, order_id).await?;
    notifications::record(state, &mut tx, delivery, order_id).await?;
    tx.commit().await?;
    tracing::info!(order_id, "payment refunded");
    Ok(Some(AfterCommit::default()))
}

/// Voids a checkout's payment by our payment id (idempotent at the provider), then marks the
/// event done. A failure leaves the event for the worker to retry with backoff.
async fn void_payment(
    state: &AppState,
    delivery: &Delivery,
    payment_id: &str,
    reason: &str,
) -> Result<Option<AfterCommit>, HandlerError> {
    state.payments.void_once(payment_id, reason).await?;
    let Some(tx) = begin_once(state, delivery.id).await? else {
        return Ok(None);
    };
    tx.commit().await?;
    tracing::info!(%payment_id, "payment of an abandoned checkout voided");
    Ok(Some(AfterCommit::default()))
}
