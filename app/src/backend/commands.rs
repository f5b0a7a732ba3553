//! Status changes asked for by people (and by the system): checked against the order state
//! machine, applied to the order row, and announced by an outbox event — in one transaction.
//! The event's handler then does the rest (stock, refunds, the customer's view).

use super::outbox::{self, Event};
use super::{now_ms, AppState};
use crate::domain::{next_status, Actor, OrderAction, OrderStatus};
use crate::error::AppError;
use sqlx::Row;

/// Whose order this must be for the caller to act on it.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    Customer(i64),
    /// The owner of the order's store.
    Owner(i64),
    System,
}

/// Moves the order by `action`; returns the new status. Someone else's order is 404 (ids
/// cannot be probed); a move the state machine does not allow is 409 with the reason.
pub async fn transition(
    state: &AppState,
    order_id: i64,
    actor: Actor,
    action: OrderAction,
    scope: Scope,
    reason: Option<String>,
) -> Result<OrderStatus, AppError> {
    let mut tx = state.db.begin().await?;
    let row = sqlx::query(
        "SELECT o.status, o.customer_id, s.owner_id FROM orders o JOIN stores s ON s.id = o.store_id
         WHERE o.id = $1",
    )
    .bind(order_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    let allowed = match scope {
        Scope::Customer(id) => row.try_get::<i64, _>("customer_id")? == id,
        Scope::Owner(id) => row.try_get::<i64, _>("owner_id")? == id,
        Scope::System => true,
    };
    if !allowed {
        return Err(AppError::NotFound);
    }
    let from =
        OrderStatus::parse(&row.try_get::<String, _>("status")?).ok_or(AppError::Internal)?;
    let to = next_status(from, actor, action).map_err(|message| AppError::Conflict { message })?;
    let changed = sqlx::query(
        "UPDATE orders SET status = $1, updated_at = $2, reject_reason = COALESCE($3, reject_reason)
         WHERE id = $4 AND status = $5",
    )
    .bind(to.as_str())
    .bind(now_ms())
    .bind(reason.clone())
    .bind(order_id)
    .bind(from.as_str())
    .execute(&mut *tx)
    .await?;
    if changed.rows_affected() != 1 {
        return Err(AppError::Conflict {
            message: "주문 상태가 방금 바뀌었습니다. 새로고침 후 다시 시도해 주세요.".into(),
        });
    }
    let event = match to {
        OrderStatus::Accepted => Event::OrderAccepted { order_id },
        OrderStatus::Rejected => Event::OrderRejected {
            order_id,
            reason: reason.unwrap_or_else(|| "가게 사정으로 주문이 거절되었습니다.".into()),
        },
        OrderStatus::Cooking => Event::CookingStarted { order_id },
        OrderStatus::Cooked => Event::CookingFinished { order_id },
        OrderStatus::Cancelled => Event::OrderCancelled { order_id },
        other => {
            tracing::error!(?other, "no event for this status yet");
            return Err(AppError::Internal);
        }
    };
    outbox::enqueue(&mut tx, &event, None).await?;
    tx.commit().await?;
    state.outbox_wakeup.notify_one();
    tracing::info!(
        order_id,
        from = from.as_str(),
        to = to.as_str(),
        ?actor,
        "order status changed"
    );
    Ok(to)
}

/// Rejects, with a refund, every order nobody accepted within `after`; returns how many.
pub async fn auto_reject_unaccepted(
    state: &AppState,
    after: std::time::Duration,
) -> Result<usize, AppError> {
    let cutoff = now_ms() - after.as_millis() as i64;
    let stale: Vec<i64> = sqlx::query(
        "SELECT o.id FROM orders o JOIN store_queue q ON q.order_id = o.id
         WHERE o.status = 'placed' AND o.created_at < $1 ORDER BY o.id LIMIT 100",
    )
    .bind(cutoff)
    .fetch_all(state.db.reader())
    .await?
    .iter()
    .map(|row| row.try_get(0))
    .collect::<Result<_, _>>()?;
    let mut rejected = 0;
    for order_id in stale {
        let reason = "가게가 주문을 제때 확인하지 못해 자동으로 거절되었습니다. 결제는 환불됩니다."
            .to_string();
        match transition(
            state,
            order_id,
            Actor::System,
            OrderAction::Reject,
            Scope::System,
            Some(reason),
        )
        .await
        {
            Ok(_) => rejected += 1,
            Err(AppError::Conflict { .. }) => {} // accepted or cancelled meanwhile
            Err(error) => return Err(error),
        }
    }
    Ok(rejected)
}
