//! The transactional outbox. An event is written in the same transaction as the change it
//! announces, so there is never an order without its `OrderPlaced` nor the reverse; a worker
//! (elsewhere) reads pending rows and applies their effects at least once. Every event carries
//! its order id (the correlation id) and the id of the event that caused it, if any. The
//! events themselves are the domain's (`domain::events`).

use super::now_ms;
use crate::db::Batch;
use sqlx::{Any, Transaction};

pub use domain::events::{Event, PlacedLine, NO_ORDER};

/// Appends `event` inside `tx`; returns the event's id.
pub async fn enqueue(
    tx: &mut Transaction<'static, Any>,
    event: &Event,
    causation_id: Option<i64>,
) -> Result<i64, sqlx::Error> {
    enqueue_at(tx, event, causation_id, now_ms()).await
}

/// Appends `event` as having happened at `now` (the time of the change it announces).
/// [`enqueue_at`] as a statement of a [`Batch`] (the caller runs the batch in its
/// transaction, with the rest of what the event records).
pub fn enqueue_in(batch: &mut Batch, event: &Event, causation_id: Option<i64>, now: i64) {
    let payload = serde_json::to_string(event).expect("events serialise");
    batch
        .push(
            "INSERT INTO outbox (order_id, event_type, payload, causation_id, created_at, available_at)
             VALUES ($1, $2, $3, $4, $5, $5)",
            vec![
                event.order_id().0.into(),
                event.name().into(),
                payload.into(),
                causation_id.into(),
                now.into(),
            ],
        )
        .push_postgres_only("SELECT pg_notify('baedal_outbox', '')");
}

pub async fn enqueue_at(
    tx: &mut Transaction<'static, Any>,
    event: &Event,
    causation_id: Option<i64>,
    now: i64,
) -> Result<i64, sqlx::Error> {
    let payload = serde_json::to_string(event).expect("events serialise");
    let id = sqlx::query_scalar(
        "INSERT INTO outbox (order_id, event_type, payload, causation_id, created_at, available_at)
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(event.order_id())
    .bind(event.name())
    .bind(payload)
    .bind(causation_id)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    // Other instances' workers hear of it at commit (PostgreSQL delivers NOTIFY on commit).
    if tx.backend_name() == "PostgreSQL" {
        sqlx::query("SELECT pg_notify('baedal_outbox', '')")
            .execute(&mut **tx)
            .await?;
    }
    Ok(id)
}
