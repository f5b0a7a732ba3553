//! The money steps, which call the payment provider before their transaction (never inside
//! it; the provider's calls are idempotent): `RefundRequested` cancels an order's payment,
//! `PaymentVoidRequested` voids a checkout's payment that never became an order.

use super::{begin_once, project, AfterCommit, Delivery, HandlerError};
use crate::{notifications, now_ms, AppState};
use domain::OrderId;

pub(super) async fn refund(
    state: &AppState,
    delivery: &Delivery,
    order_id: OrderId,
    reason: &str,
) -> Result<Option<AfterCommit>, HandlerError> {
    // Only an approved payment has money to give back (a cancelled one already gave it).
    let approved: Option<String> = sqlx::query_scalar(
        "SELECT provider_ref FROM payments WHERE order_id = $1 AND status = 'approved'",
    )
    .bind(order_id)
    .fetch_optional(state.db.reader())
    .await?;
    if let Some(provider_ref) = approved {
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
    tracing::info!(%order_id, "payment refunded");
    Ok(Some(AfterCommit::default()))
}

/// Voids a checkout's payment by our payment id (idempotent at the provider), then marks the
/// event done. A failure leaves the event for the worker to retry with backoff.
pub(super) async fn void_payment(
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
