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

use domain::OrderId;
mod money;
mod placed;
mod stock;

use super::outbox::{self, Event};
use super::views::{self, ViewChange};
use super::{live, notifications, worker};
use super::{now_ms, AppState};
use sqlx::{Any, Transaction};
use std::collections::HashSet;

use money::{refund, void_payment};
use stock::reject_out_of_stock;
use stock::{order_closed, order_placed};

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
    let mut query = sqlx::query_scalar::<_, i64>(&sql).bind(now_ms());
    for delivery in deliveries {
        query = query.bind(delivery.id);
    }
    Ok(query.fetch_all(&mut **tx).await?.into_iter().collect())
}

/// After the commit: pages showing these orders may re-read them now, KakaoTalk messages may
/// go, and follow-up events are picked up at once.
async fn announce(state: &AppState, applied: &[Delivery], after: AfterCommit) {
    if after.wrote_event {
        state.outbox_wakeup.notify_one();
    }
    let orders: Vec<OrderId> = applied
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
        | Event::OrderCompleted { order_id, .. } => {
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
    order_id: OrderId,
) -> Result<(), sqlx::Error> {
    let change: ViewChange<'_> =
        views::change_for(&delivery.event).expect("every event changes the view");
    views::apply(tx, order_id, delivery.id, delivery.created_at, change).await
}
