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

use super::outbox::{self, Event};
use super::views::{self, ViewChange};
use super::{live, notifications, worker};
use super::{now_ms, AppState};
use domain::OrderStatus;
use sqlx::{Any, Row, Transaction};

/// The worker's envelope types, used by every handler (re-exported for the tests).
pub use super::worker::{Delivery, Handled, HandlerError};

/// The sagas as the outbox worker's handler: what the server registers with `worker::run`.
pub fn handler() -> worker::Handler {
    std::sync::Arc::new(|state, delivery| Box::pin(async move { handle(&state, &delivery).await }))
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

pub async fn handle(state: &AppState, delivery: &Delivery) -> Result<Handled, HandlerError> {
    let handled = apply(state, delivery).await?;
    if handled == Handled::Applied {
        // The effect and its notifications are committed: pages showing this order may re-read
        // it now, and KakaoTalk messages may go.
        if delivery.event.order_id() != outbox::NO_ORDER {
            state.notification_wakeup.notify_one();
            live::order_changed(state, delivery.event.order_id()).await;
        }
    }
    Ok(handled)
}

async fn apply(state: &AppState, delivery: &Delivery) -> Result<Handled, HandlerError> {
    match &delivery.event {
        Event::OrderPlaced {
            order_id, store_id, ..
        } => order_placed(state, delivery, *order_id, *store_id).await,
        Event::OrderRejected { order_id, reason } => {
            order_closed(state, delivery, *order_id, reason).await
        }
        Event::OrderCancelled { order_id } => {
            order_closed(state, delivery, *order_id, "고객이 주문을 취소했습니다.").await
        }
        Event::RefundRequested { order_id, reason } => {
            refund(state, delivery, *order_id, reason).await
        }
        Event::PaymentVoidRequested { payment_id, reason } => {
            void_payment(state, delivery, payment_id, reason).await
        }
        Event::OrderAccepted { order_id }
        | Event::CookingStarted { order_id }
        | Event::CookingFinished { order_id }
        | Event::RiderAssigned { order_id, .. }
        | Event::OrderPickedUp { order_id }
        | Event::OrderDelivered { order_id }
        | Event::OrderCompleted { order_id } => status_changed(state, delivery, *order_id).await,
    }
}

/// A status change with no effect beyond the view (and, later, notifications).
async fn status_changed(
    state: &AppState,
    delivery: &Delivery,
    order_id: i64,
) -> Result<Handled, HandlerError> {
    let Some(mut tx) = begin_once(state, delivery.id).await? else {
        return Ok(Handled::AlreadyDone);
    };
    project(&mut tx, delivery, order_id).await?;
    notifications::record(state, &mut tx, delivery, order_id).await?;
    tx.commit().await?;
    Ok(Handled::Applied)
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
    delivery: &Delivery,
    order_id: i64,
    store_id: i64,
) -> Result<Handled, HandlerError> {
    if state.faults.store_side_down() {
        return Err(HandlerError::StoreSideDown);
    }
    let Some(mut tx) = begin_once(state, delivery.id).await? else {
        return Ok(Handled::AlreadyDone);
    };
    project(&mut tx, delivery, order_id).await?;
    let status: String = sqlx::query("SELECT status FROM orders WHERE id = $1")
        .bind(order_id)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
    if status != OrderStatus::Placed.as_str() {
        // Cancelled before the store got it: no stock was taken; its own event follows.
        notifications::record(state, &mut tx, delivery, order_id).await?;
        tx.commit().await?;
        return Ok(Handled::Applied);
    }
    let lines = sqlx::query(
        "SELECT l.food_id, l.quantity, l.name FROM order_lines l WHERE l.order_id = $1 ORDER BY l.food_id",
    )
    .bind(order_id)
    .fetch_all(&mut *tx)
    .await?;
    let mut short = None;
    for line in &lines {
        let taken =
            sqlx::query("UPDATE foods SET stock = stock - $1 WHERE id = $2 AND stock >= $1")
                .bind(line.try_get::<i64, _>("quantity")?)
                .bind(line.try_get::<i64, _>("food_id")?)
                .execute(&mut *tx)
                .await?;
        if taken.rows_affected() != 1 {
            short = Some(line.try_get::<String, _>("name")?);
            break;
        }
    }
    let Some(food) = short else {
        sqlx::query(
            "INSERT INTO store_queue (order_id, store_id, received_at) VALUES ($1, $2, $3)
             ON CONFLICT (order_id) DO NOTHING",
        )
        .bind(order_id)
        .bind(store_id)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
        notifications::record(state, &mut tx, delivery, order_id).await?;
        tx.commit().await?;
        tracing::info!(order_id, "stock taken; order in the store's queue");
        return Ok(Handled::Applied);
    };

    // All or nothing: undo the lines already taken, then reject in a fresh transaction.
    tx.rollback().await?;
    let Some(mut tx) = begin_once(state, delivery.id).await? else {
        return Ok(Handled::AlreadyDone);
    };
    project(&mut tx, delivery, order_id).await?;
    let reason = format!("재고가 부족하여 주문이 거절되었습니다. ({food})");
    let rejected = sqlx::query(
        "UPDATE orders SET status = 'rejected', reject_reason = $1, updated_at = $2
         WHERE id = $3 AND status = 'placed'",
    )
    .bind(&reason)
    .bind(now_ms())
    .bind(order_id)
    .execute(&mut *tx)
    .await?;
    if rejected.rows_affected() == 1 {
        outbox::enqueue(
            &mut tx,
            &Event::OrderRejected { order_id, reason },
            Some(delivery.id),
        )
        .await?;
    }
    notifications::record(state, &mut tx, delivery, order_id).await?;
    tx.commit().await?;
    tracing::info!(order_id, %food, "out of stock: order rejected");
    state.outbox_wakeup.notify_one();
    Ok(Handled::Applied)
}

async fn order_closed(
    state: &AppState,
    delivery: &Delivery,
    order_id: i64,
    reason: &str,
) -> Result<Handled, HandlerError> {
    let Some(mut tx) = begin_once(state, delivery.id).await? else {
        return Ok(Handled::AlreadyDone);
    };
    let was_queued = sqlx::query(
        "UPDATE store_queue SET released_at = $1 WHERE order_id = $2 AND released_at IS NULL",
    )
    .bind(now_ms())
    .bind(order_id)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if was_queued {
        let lines = sqlx::query("SELECT food_id, quantity FROM order_lines WHERE order_id = $1")
            .bind(order_id)
            .fetch_all(&mut *tx)
            .await?;
        for line in &lines {
            sqlx::query("UPDATE foods SET stock = stock + $1 WHERE id = $2")
                .bind(line.try_get::<i64, _>("quantity")?)
                .bind(line.try_get::<i64, _>("food_id")?)
                .execute(&mut *tx)
                .await?;
        }
    }
    project(&mut tx, delivery, order_id).await?;
    notifications::record(state, &mut tx, delivery, order_id).await?;
    let refund = Event::RefundRequested {
        order_id,
        reason: reason.to_string(),
    };
    outbox::enqueue(&mut tx, &refund, Some(delivery.id)).await?;
    tx.commit().await?;
    tracing::info!(
        order_id,
        stock_restored = was_queued,
        "order closed; refund requested"
    );
    state.outbox_wakeup.notify_one();
    Ok(Handled::Applied)
}

async fn refund(
    state: &AppState,
    delivery: &Delivery,
    order_id: i64,
    reason: &str,
) -> Result<Handled, HandlerError> {
    let payment = sqlx::query("SELECT provider_ref, status FROM payments WHERE order_id = $1")
        .bind(order_id)
        .fetch_one(state.db.reader())
        .await?;
    if payment.try_get::<String, _>("status")? == "approved" {
        let provider_ref: String = payment.try_get("provider_ref")?;
        state.payments.cancel(&provider_ref, reason).await?;
    }
    let Some(mut tx) = begin_once(state, delivery.id).await? else {
        return Ok(Handled::AlreadyDone);
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
    Ok(Handled::Applied)
}

/// Voids a checkout's payment by our payment id (idempotent at the provider), then marks the
/// event done. A failure leaves the event for the worker to retry with backoff.
async fn void_payment(
    state: &AppState,
    delivery: &Delivery,
    payment_id: &str,
    reason: &str,
) -> Result<Handled, HandlerError> {
    state.payments.void_once(payment_id, reason).await?;
    let Some(tx) = begin_once(state, delivery.id).await? else {
        return Ok(Handled::AlreadyDone);
    };
    tx.commit().await?;
    tracing::info!(%payment_id, "payment of an abandoned checkout voided");
    Ok(Handled::Applied)
}
