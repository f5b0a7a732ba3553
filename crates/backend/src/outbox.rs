//! The transactional outbox. An event is written in the same transaction as the change it
//! announces, so there is never an order without its `OrderPlaced` nor the reverse; a worker
//! (elsewhere) reads pending rows and applies their effects at least once. Every event carries
//! its order id (the correlation id) and the id of the event that caused it, if any. The
//! events themselves are the domain's (`domain::events`).

use super::now_ms;
use crate::db::Batch;
use sqlx::{Any, Transaction};

pub use domain::events::{Event, PlacedLine, NO_ORDER};

/// Appends `event` inside `tx`.
pub async fn enqueue(
    tx: &mut Transaction<'static, Any>,
    event: &Event,
    causation_id: Option<i64>,
) -> Result<(), sqlx::Error> {
    enqueue_at(tx, event, causation_id, now_ms()).await
}

/// Appends `event` as having happened at `now` (the time of the change it announces).
pub async fn enqueue_at(
    tx: &mut Transaction<'static, Any>,
    event: &Event,
    causation_id: Option<i64>,
    now: i64,
) -> Result<(), sqlx::Error> {
    let mut batch = Batch::new();
    enqueue_in(&mut batch, event, causation_id, now);
    batch.run(tx).await?;
    Ok(())
}

/// [`enqueue_at`] as statements of a [`Batch`], which the caller runs in its transaction with
/// the rest of what the event records.
pub fn enqueue_in(batch: &mut Batch, event: &Event, causation_id: Option<i64>, now: i64) {
    let payload = serde_json::to_string(event).expect("events serialise");
    batch
        // Other instances' workers hear of it at commit (PostgreSQL delivers NOTIFY on commit,
        // wherever in the transaction it was sent).
        .push_postgres_only("SELECT pg_notify('baedal_outbox', '')")
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
        );
}

/// Several events written by requests (no causing event), each at its own time, as ONE
/// statement of a [`Batch`]: what a group of orders committed together writes.
pub fn enqueue_many_in(batch: &mut Batch, events: &[Event], created_at: &[i64]) {
    assert_eq!(events.len(), created_at.len(), "a time for every event");
    let mut args = Vec::with_capacity(events.len() * 4);
    for (event, at) in events.iter().zip(created_at) {
        args.extend([
            event.order_id().0.into(),
            event.name().into(),
            serde_json::to_string(event)
                .expect("events serialise")
                .into(),
            (*at).into(),
        ]);
    }
    batch
        .push_postgres_only("SELECT pg_notify('baedal_outbox', '')")
        .push(
            format!(
                "INSERT INTO outbox (order_id, event_type, payload, causation_id, created_at, available_at)
                 VALUES {}",
                crate::db::rows("($1, $2, $3, NULL, $4, $4)", events.len())
            ),
            args,
        );
}
