//! The customer's order-status view: the CQRS read model behind 내 주문 and the order page.
//!
//! One row per order with everything those pages show (store, items, total, status, payment,
//! rider, and a timeline of every status with its time). Only the outbox worker writes it, by
//! folding events: each event's effect on the view is a pure function of the event and the
//! order's immutable facts (store, lines, total), applied in event order and skipped when the
//! row has already seen that event. So redelivery changes nothing, and `rebuild` — replaying
//! the whole processed history into an empty table — produces exactly the same rows.

use super::outbox::Event;
use super::{now_ms, AppState};
use domain::OrderId;
use domain::{items_summary, OrderStatus, TimelineEntry};
use sqlx::{Any, Transaction};

/// What an event does to an order's view.
pub enum ViewChange<'a> {
    Status {
        status: OrderStatus,
        note: Option<&'a str>,
        rider: Option<&'a str>,
    },
    Refunded,
}

/// The change an event makes to the view, if any.
pub fn change_for(event: &Event) -> Option<ViewChange<'_>> {
    match event {
        Event::OrderPlaced { .. } => Some(ViewChange::Status {
            status: OrderStatus::Placed,
            note: None,
            rider: None,
        }),
        Event::OrderRejected { reason, .. } => Some(ViewChange::Status {
            status: OrderStatus::Rejected,
            note: Some(reason),
            rider: None,
        }),
        Event::OrderCancelled { .. } => Some(ViewChange::Status {
            status: OrderStatus::Cancelled,
            note: None,
            rider: None,
        }),
        Event::RefundRequested { .. } => Some(ViewChange::Refunded),
        Event::OrderAccepted { .. } => Some(ViewChange::Status {
            status: OrderStatus::Accepted,
            note: None,
            rider: None,
        }),
        Event::CookingStarted { .. } => Some(ViewChange::Status {
            status: OrderStatus::Cooking,
            note: None,
            rider: None,
        }),
        Event::CookingFinished { .. } => Some(ViewChange::Status {
            status: OrderStatus::Cooked,
            note: None,
            rider: None,
        }),
        Event::RiderAssigned { rider_name, .. } => Some(ViewChange::Status {
            status: OrderStatus::RiderAssigned,
            note: None,
            rider: Some(rider_name),
        }),
        Event::OrderPickedUp { .. } => Some(ViewChange::Status {
            status: OrderStatus::PickedUp,
            note: None,
            rider: None,
        }),
        Event::OrderDelivered { .. } => Some(ViewChange::Status {
            status: OrderStatus::Delivered,
            note: None,
            rider: None,
        }),
        Event::OrderCompleted { .. } => Some(ViewChange::Status {
            status: OrderStatus::Completed,
            note: None,
            rider: None,
        }),
        Event::PaymentVoidRequested { .. } => None,
    }
}

/// Applies `change` (from event `event_id`, which happened at `at_ms`) to the order's view.
pub async fn apply(
    tx: &mut Transaction<'static, Any>,
    order_id: OrderId,
    event_id: i64,
    at_ms: i64,
    change: ViewChange<'_>,
) -> Result<(), sqlx::Error> {
    let row: Option<(i64, String)> =
        sqlx::query_as("SELECT last_event_id, timeline FROM order_views WHERE order_id = $1")
            .bind(order_id)
            .fetch_optional(&mut **tx)
            .await?;
    let mut timeline: Vec<TimelineEntry> = match row {
        Some((last_event_id, timeline)) => {
            if last_event_id >= event_id {
                return Ok(());
            }
            serde_json::from_str(&timeline).unwrap_or_default()
        }
        None => {
            insert_base(tx, order_id).await?;
            Vec::new()
        }
    };
    match change {
        ViewChange::Status {
            status,
            note,
            rider,
        } => {
            timeline.push(TimelineEntry { status, at_ms });
            sqlx::query(
                "UPDATE order_views SET status = $1, note = COALESCE($2, note), timeline = $3,
                        last_event_id = $4, updated_at = $5, rider_name = COALESCE($7, rider_name)
                 WHERE order_id = $6",
            )
            .bind(status.as_str())
            .bind(note)
            .bind(serde_json::to_string(&timeline).expect("timeline serialises"))
            .bind(event_id)
            .bind(now_ms())
            .bind(order_id)
            .bind(rider)
            .execute(&mut **tx)
            .await?;
        }
        ViewChange::Refunded => {
            sqlx::query(
                "UPDATE order_views SET payment = '환불 완료', last_event_id = $1, updated_at = $2
                 WHERE order_id = $3",
            )
            .bind(event_id)
            .bind(now_ms())
            .bind(order_id)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

/// A new view row from the order's immutable facts.
async fn insert_base(
    tx: &mut Transaction<'static, Any>,
    order_id: OrderId,
) -> Result<(), sqlx::Error> {
    let items = items_of(tx, order_id).await?;
    let inserted = sqlx::query(
        "INSERT INTO order_views (order_id, customer_id, store_id, store_name, items, total_won,
                                  status, payment, timeline, last_event_id, updated_at)
         SELECT o.id, o.customer_id, o.store_id, s.name, $2, o.total_won,
                'placed', '결제 완료', '[]', 0, $3
         FROM orders o JOIN stores s ON s.id = o.store_id WHERE o.id = $1",
    )
    .bind(order_id)
    .bind(items)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    if inserted.rows_affected() != 1 {
        return Err(sqlx::Error::RowNotFound);
    }
    Ok(())
}

/// "즉석떡볶이 (2인) 외 2건": the order's items as lists and messages name them.
async fn items_of(
    tx: &mut Transaction<'static, Any>,
    order_id: OrderId,
) -> Result<String, sqlx::Error> {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT name FROM order_lines WHERE order_id = $1 ORDER BY food_id")
            .bind(order_id)
            .fetch_all(&mut **tx)
            .await?;
    Ok(items_summary(&names))
}

/// Rebuilds every view from the processed event history; returns how many events it folded.
pub async fn rebuild(state: &AppState) -> Result<u64, sqlx::Error> {
    let mut tx = state.db.begin().await?;
    sqlx::query("DELETE FROM order_views")
        .execute(&mut *tx)
        .await?;
    let events: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT id, payload, created_at FROM outbox
         WHERE processed_at IS NOT NULL ORDER BY id",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut folded = 0;
    for (id, payload, at) in events {
        let Ok(event) = serde_json::from_str::<Event>(&payload) else {
            continue;
        };
        if let Some(change) = change_for(&event) {
            apply(&mut tx, event.order_id(), id, at, change).await?;
            folded += 1;
        }
    }
    tx.commit().await?;
    Ok(folded)
}
