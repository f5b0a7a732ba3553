//! The transactional outbox. An event is written in the same transaction as the change it
//! announces, so there is never an order without its `OrderPlaced` nor the reverse; a worker
//! (elsewhere) reads pending rows and applies their effects at least once. Every event carries
//! its order id (the correlation id) and the id of the event that caused it, if any.

use super::now_ms;
use serde::{Deserialize, Serialize};
use sqlx::{Any, Row, Transaction};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlacedLine {
    pub food_id: i64,
    pub quantity: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Event {
    OrderPlaced {
        order_id: i64,
        customer_id: i64,
        store_id: i64,
        total_won: i64,
        lines: Vec<PlacedLine>,
    },
}

impl Event {
    pub fn name(&self) -> &'static str {
        match self {
            Event::OrderPlaced { .. } => "OrderPlaced",
        }
    }

    pub fn order_id(&self) -> i64 {
        match self {
            Event::OrderPlaced { order_id, .. } => *order_id,
        }
    }
}

/// Appends `event` inside `tx`; returns the event's id.
pub async fn enqueue(
    tx: &mut Transaction<'static, Any>,
    event: &Event,
    causation_id: Option<i64>,
) -> Result<i64, sqlx::Error> {
    let now = now_ms();
    let payload = serde_json::to_string(event).expect("events serialise");
    let row = sqlx::query(
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
    row.try_get(0)
}
