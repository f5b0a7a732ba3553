//! Status changes asked for by people (and by the system): checked against the order state
//! machine, applied to the order row, and announced by an outbox event — in one transaction.
//! The event's handler then does the rest (stock, refunds, the customer's view).

use super::db::Engine;
use super::outbox::{self, Event};
use super::{now_ms, AppState};
use domain::{next_status, Actor, CookMinutes, OrderAction, OrderStatus, Refusal};
use domain::{OrderId, UserId};
use sqlx::{Any, FromRow, Transaction};

/// Whose order this must be for the caller to act on it.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    Customer(UserId),
    /// The owner of the order's store.
    Owner(UserId),
    /// Any rider may claim a cooked order; only its rider may move it further.
    Rider(UserId),
    System,
}

/// What an action carries besides itself: a rejection's reason, the cooking time an
/// acceptance promises. Recorded on the order only when the move happens.
#[derive(Debug, Clone, Default)]
pub struct ActionDetails {
    pub reason: Option<String>,
    pub cook_minutes: Option<CookMinutes>,
}

impl ActionDetails {
    pub fn reason(reason: Option<String>) -> Self {
        ActionDetails {
            reason,
            ..ActionDetails::default()
        }
    }
}

/// What riders are told when someone else was faster.
pub const ALREADY_CLAIMED: &str = "이미 배정된 주문입니다";

/// Why an order could not be moved. The server-function door gives each its status and words
/// (404, 403, 409 with the reason); the timed chores skip the conflicts.
#[derive(Debug, thiserror::Error)]
pub enum TransitionError {
    /// No such order, or not this customer's or this owner's (ids cannot be probed).
    #[error("no such order in the caller's scope")]
    NotFound,
    /// Another rider's delivery, or a claim by someone who is not a rider.
    #[error("not this rider's delivery")]
    Forbidden,
    /// The state machine does not allow the move.
    #[error("refused by the state machine: {0}")]
    Refused(#[from] Refusal),
    /// Another rider claimed the order first.
    #[error("already claimed by another rider")]
    AlreadyClaimed,
    /// Another request moved the order between our read and our write.
    #[error("the order changed meanwhile")]
    ChangedMeanwhile,
    /// The rider already carries as many deliveries as allowed.
    #[error("rider carries {active} of at most {limit} deliveries")]
    TooManyDeliveries { active: i64, limit: i64 },
    /// The stored order makes no sense (an unknown status, a claim without its rider).
    #[error("inconsistent order data: {0}")]
    Inconsistent(&'static str),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl TransitionError {
    /// Someone else's move got there first, or the move is not allowed: nothing to retry.
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            TransitionError::Refused(_)
                | TransitionError::AlreadyClaimed
                | TransitionError::ChangedMeanwhile
                | TransitionError::TooManyDeliveries { .. }
        )
    }
}

/// Moves the order by `action`; returns the new status. Someone else's order is 404 for
/// customers and owners (ids cannot be probed) and 403 for a rider acting on another rider's
/// delivery; a move the state machine does not allow is 409 with the reason. A claim also
/// checks the rider's limit of active deliveries. The order keeps when it was accepted,
/// cooked, claimed, picked up and delivered (the ETA is worked out from them).
pub async fn transition(
    state: &AppState,
    order_id: OrderId,
    actor: Actor,
    action: OrderAction,
    scope: Scope,
    details: ActionDetails,
) -> Result<OrderStatus, TransitionError> {
    let ActionDetails {
        reason,
        cook_minutes,
    } = details;
    let mut tx = state.db.begin().await?;
    /// Who the order belongs to, and where it is.
    #[derive(FromRow)]
    struct Parties {
        status: OrderStatus,
        customer_id: UserId,
        rider_id: Option<UserId>,
        owner_id: UserId,
    }
    let order: Parties = sqlx::query_as(
        "SELECT o.status, o.customer_id, o.rider_id, s.owner_id
         FROM orders o JOIN stores s ON s.id = o.store_id WHERE o.id = $1",
    )
    .bind(order_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(TransitionError::NotFound)?;
    let rider_id = order.rider_id;
    match scope {
        Scope::Customer(id) if order.customer_id != id => return Err(TransitionError::NotFound),
        Scope::Owner(id) if order.owner_id != id => return Err(TransitionError::NotFound),
        Scope::Rider(id) if action != OrderAction::Claim && rider_id.is_some_and(|r| r != id) => {
            return Err(TransitionError::Forbidden)
        }
        _ => {}
    }
    let from = order.status;
    if action == OrderAction::Claim && rider_id.is_some() {
        return Err(TransitionError::AlreadyClaimed);
    }
    let to = next_status(from, actor, action)?;
    let now = now_ms();
    let rider = match (scope, action) {
        (Scope::Rider(id), OrderAction::Claim) => Some(claimable_by(&mut tx, state, id).await?),
        _ => None,
    };
    let changed = sqlx::query(
        "UPDATE orders SET status = $1, updated_at = $2, reject_reason = COALESCE($3, reject_reason),
                rider_id = COALESCE($6, rider_id),
                cook_minutes = COALESCE($7, cook_minutes),
                accepted_at = CASE WHEN $1 = 'accepted' THEN $2 ELSE accepted_at END,
                cooked_at = CASE WHEN $1 = 'cooked' THEN $2 ELSE cooked_at END,
                claimed_at = CASE WHEN $1 = 'rider_assigned' THEN $2 ELSE claimed_at END,
                picked_up_at = CASE WHEN $1 = 'picked_up' THEN $2 ELSE picked_up_at END,
                delivered_at = CASE WHEN $1 = 'delivered' THEN $2 ELSE delivered_at END
         WHERE id = $4 AND status = $5",
    )
    .bind(to.as_str())
    .bind(now)
    .bind(reason.clone())
    .bind(order_id)
    .bind(from.as_str())
    .bind(rider.as_ref().map(|(id, _)| *id))
    .bind(cook_minutes.map(CookMinutes::get))
    .execute(&mut *tx)
    .await?;
    if changed.rows_affected() != 1 {
        // Another request moved the order between our read and our write.
        return Err(if action == OrderAction::Claim {
            TransitionError::AlreadyClaimed
        } else {
            TransitionError::ChangedMeanwhile
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
        OrderStatus::RiderAssigned => {
            let (rider_id, rider_name) =
                rider.ok_or(TransitionError::Inconsistent("a claim without its rider"))?;
            Event::RiderAssigned {
                order_id,
                rider_id,
                rider_name,
            }
        }
        OrderStatus::PickedUp => Event::OrderPickedUp { order_id },
        OrderStatus::Delivered => Event::OrderDelivered { order_id },
        OrderStatus::Completed => Event::OrderCompleted {
            order_id,
            by_customer: actor == Actor::Customer,
        },
        OrderStatus::Placed => {
            return Err(TransitionError::Inconsistent(
                "no action leads back to placed",
            ));
        }
    };
    outbox::enqueue(&mut tx, &event, None).await?;
    tx.commit().await?;
    state.outbox_wakeup.notify_one();
    tracing::info!(
        %order_id,
        from = from.as_str(),
        to = to.as_str(),
        ?actor,
        "order status changed"
    );
    Ok(to)
}

/// The rider's id and name if they may take one more delivery, else 409. On PostgreSQL the
/// rider's row is locked first, so two claims by one rider at once count each other.
async fn claimable_by(
    tx: &mut Transaction<'static, Any>,
    state: &AppState,
    rider_id: UserId,
) -> Result<(UserId, String), TransitionError> {
    let lock = match state.db.engine() {
        Engine::Postgres => "FOR UPDATE",
        Engine::Sqlite => "",
    };
    let name: String = sqlx::query_scalar(&format!(
        "SELECT display_name FROM users WHERE id = $1 AND role = 'rider' {lock}"
    ))
    .bind(rider_id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(TransitionError::Forbidden)?;
    let active: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM orders WHERE rider_id = $1 AND status IN ('rider_assigned', 'picked_up')",
    )
    .bind(rider_id)
    .fetch_one(&mut **tx)
    .await?;
    let limit = state.settings.rider_max_active;
    if active >= limit {
        return Err(TransitionError::TooManyDeliveries { active, limit });
    }
    Ok((rider_id, name))
}

/// Rejects, with a refund, every order nobody accepted within `after`; returns how many.
pub async fn auto_reject_unaccepted(
    state: &AppState,
    after: std::time::Duration,
) -> Result<usize, TransitionError> {
    let reason = "가게가 주문을 제때 확인하지 못해 자동으로 거절되었습니다. 결제는 환불됩니다.";
    move_stale(
        state,
        "SELECT o.id FROM orders o JOIN store_queue q ON q.order_id = o.id
         WHERE o.status = 'placed' AND o.created_at < $1 ORDER BY o.id LIMIT 100",
        after,
        OrderAction::Reject,
        Some(reason),
    )
    .await
}

/// Completes, as if the customer had tapped 배송확인, every order delivered longer than
/// `after` ago; returns how many.
pub async fn auto_complete_delivered(
    state: &AppState,
    after: std::time::Duration,
) -> Result<usize, TransitionError> {
    move_stale(
        state,
        "SELECT id FROM orders WHERE status = 'delivered' AND delivered_at < $1 ORDER BY id LIMIT 100",
        after,
        OrderAction::ConfirmDelivery,
        None,
    )
    .await
}

/// The system's timed moves: `action` on every order `stale_sql` finds older than `after`.
/// An order someone moved meanwhile (409) is skipped.
async fn move_stale(
    state: &AppState,
    stale_sql: &str,
    after: std::time::Duration,
    action: OrderAction,
    reason: Option<&str>,
) -> Result<usize, TransitionError> {
    let cutoff = now_ms() - after.as_millis() as i64;
    let stale: Vec<OrderId> = sqlx::query_scalar(stale_sql)
        .bind(cutoff)
        .fetch_all(state.db.reader())
        .await?;
    let mut moved = 0;
    for order_id in stale {
        let details = ActionDetails::reason(reason.map(str::to_string));
        match transition(
            state,
            order_id,
            Actor::System,
            action,
            Scope::System,
            details,
        )
        .await
        {
            Ok(_) => moved += 1,
            Err(error) if error.is_conflict() => {}
            Err(error) => return Err(error),
        }
    }
    Ok(moved)
}
