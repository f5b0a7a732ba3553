//! The outbox table as the worker's queue: a round's events claimed under a lease (only the
//! oldest unprocessed event of each order; `SKIP LOCKED` on PostgreSQL), leases renewed while a
//! round runs, failures retried with backoff or parked as dead, an operator's replay, and the
//! backlog gauge.

use super::{Delivery, WorkerConfig};
use crate::jobs;
use crate::metrics;
use crate::outbox::Event;
use crate::{now_ms, AppState};
use domain::OrderId;
use serde::Serialize;
use sqlx::FromRow;
use std::time::Duration;
use tokio::sync::watch;

pub(super) fn describe_metrics() {
    metrics::describe(
        "baedal_outbox_events_total",
        "counter",
        "Outbox events handled, by event type and outcome (applied, duplicate, retry, dead).",
    );
    metrics::describe(
        "baedal_outbox_lag_seconds",
        "histogram",
        "Time from an event's commit to the end of its handling.",
    );
    metrics::describe(
        "baedal_outbox_backlog_events",
        "gauge",
        "Events not yet handled, also those waiting to be retried (looked at every second).",
    );
    metrics::describe(
        "baedal_outbox_oldest_pending_seconds",
        "gauge",
        "How long the oldest unhandled event has been waiting since its commit.",
    );
}

/// Backlog past which the worker is said to be falling behind (in the log, at most every 10 s).
const BEHIND_AFTER: Duration = Duration::from_secs(1);

/// Every second: how many events are unhandled (parked dead ones aside) and how long the oldest
/// has waited since its commit, as gauges in `/metrics`; a warning in the log while it has
/// waited longer than `BEHIND_AFTER`, so falling behind (or a side that keeps failing) is
/// visible before anyone reads a dashboard.
pub(super) async fn watch_backlog(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let mut last_warning: Option<std::time::Instant> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => return,
        }
        let now = now_ms();
        let row: Result<(i64, Option<i64>), _> = sqlx::query_as(
            "SELECT COUNT(*), MIN(created_at) FROM outbox
             WHERE processed_at IS NULL AND dead_at IS NULL",
        )
        .fetch_one(state.db.reader())
        .await;
        let Ok((backlog, oldest)) = row else { continue };
        let waited = oldest.map_or(0.0, |at| (now - at).max(0) as f64 / 1000.0);
        metrics::gauge_set("baedal_outbox_backlog_events", &[], backlog as f64);
        metrics::gauge_set("baedal_outbox_oldest_pending_seconds", &[], waited);
        if waited > BEHIND_AFTER.as_secs_f64()
            && last_warning.is_none_or(|at| at.elapsed() > Duration::from_secs(10))
        {
            tracing::warn!(
                backlog,
                oldest_waited_s = waited,
                "outbox worker is falling behind"
            );
            last_warning = Some(std::time::Instant::now());
        }
    }
}

/// Claims up to `batch` due events for `worker_id`: the decodable ones to handle, and how
/// many were claimed in all (undecodable ones are parked as dead on the spot).
pub async fn claim(
    state: &AppState,
    worker_id: &str,
    config: &WorkerConfig,
) -> Result<(Vec<Delivery>, usize), sqlx::Error> {
    let now = now_ms();
    let skip_locked = jobs::skip_locked(state.db.engine());
    let sql = format!(
        "UPDATE outbox SET locked_until = $1, locked_by = $2, attempts = attempts + 1
         WHERE id IN (
             SELECT o.id FROM outbox o
             WHERE o.processed_at IS NULL AND o.dead_at IS NULL AND o.available_at <= $3
               AND (o.locked_until IS NULL OR o.locked_until < $3)
               AND (o.order_id = {no_order} OR NOT EXISTS (
                   SELECT 1 FROM outbox p
                   WHERE p.order_id = o.order_id AND p.id < o.id AND p.processed_at IS NULL))
             ORDER BY o.id LIMIT $4 {skip_locked})
         RETURNING id, payload, causation_id, created_at, attempts",
        no_order = crate::outbox::NO_ORDER,
    );
    /// A claimed event as its row holds it.
    #[derive(FromRow)]
    struct Claimed {
        id: i64,
        payload: String,
        causation_id: Option<i64>,
        created_at: i64,
        attempts: i64,
    }
    let rows: Vec<Claimed> = sqlx::query_as(&sql)
        .bind(now + config.lease.as_millis() as i64)
        .bind(worker_id)
        .bind(now)
        .bind(config.batch)
        .fetch_all(state.db.writer())
        .await?;
    let claimed = rows.len();
    let mut deliveries = Vec::with_capacity(claimed);
    for row in rows {
        let id = row.id;
        match serde_json::from_str::<Event>(&row.payload) {
            Ok(event) => deliveries.push(Delivery {
                id,
                event,
                causation_id: row.causation_id,
                created_at: row.created_at,
                attempts: row.attempts,
            }),
            Err(error) => {
                fail(
                    state,
                    id,
                    1,
                    0,
                    config,
                    &format!("undecodable event: {error}"),
                )
                .await?;
            }
        }
    }
    deliveries.sort_by_key(|d| d.id);
    Ok((deliveries, claimed))
}

/// Records a failed attempt: retry later, or park as dead after `max_attempts`.
pub(super) async fn fail(
    state: &AppState,
    id: i64,
    attempts: i64,
    max_attempts: i64,
    config: &WorkerConfig,
    error: &str,
) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    let dead = attempts >= max_attempts;
    let retry_at = now + config.backoff().delay(attempts).as_millis() as i64;
    sqlx::query(
        "UPDATE outbox SET locked_until = NULL, locked_by = NULL, last_error = $1,
                available_at = $2, dead_at = $3
         WHERE id = $4 AND processed_at IS NULL",
    )
    .bind(error)
    .bind(retry_at)
    .bind(dead.then_some(now))
    .bind(id)
    .execute(state.db.writer())
    .await?;
    Ok(dead)
}

/// Extends this worker's leases on the events of its batch still being handled.
pub(super) async fn renew_leases(
    state: &AppState,
    worker_id: &str,
    ids: &[i64],
    lease: Duration,
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "UPDATE outbox SET locked_until = $1
         WHERE locked_by = $2 AND processed_at IS NULL AND id IN ({})",
        crate::db::placeholders(3, ids.len())
    );
    let mut query = sqlx::query(&sql)
        .bind(now_ms() + lease.as_millis() as i64)
        .bind(worker_id);
    for id in ids {
        query = query.bind(*id);
    }
    query.execute(state.db.writer()).await?;
    Ok(())
}

/// An event parked after too many failures, for an operator.
#[derive(Debug, Clone, Serialize)]
pub struct DeadEvent {
    pub id: i64,
    pub order_id: OrderId,
    pub event_type: String,
    /// For a payment void (which belongs to no order): the payment it must cancel, to look up
    /// in the provider's console.
    pub payment_id: Option<String>,
    pub attempts: i64,
    pub last_error: Option<String>,
}

pub async fn dead_events(state: &AppState) -> Result<Vec<DeadEvent>, sqlx::Error> {
    #[derive(FromRow)]
    struct Parked {
        id: i64,
        order_id: OrderId,
        event_type: String,
        payload: String,
        attempts: i64,
        last_error: Option<String>,
    }
    let rows: Vec<Parked> = sqlx::query_as(
        "SELECT id, order_id, event_type, payload, attempts, last_error FROM outbox
         WHERE dead_at IS NOT NULL AND processed_at IS NULL ORDER BY id",
    )
    .fetch_all(state.db.reader())
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| DeadEvent {
            payment_id: match serde_json::from_str::<Event>(&row.payload) {
                Ok(Event::PaymentVoidRequested { payment_id, .. }) => Some(payment_id),
                _ => None,
            },
            id: row.id,
            order_id: row.order_id,
            event_type: row.event_type,
            attempts: row.attempts,
            last_error: row.last_error,
        })
        .collect())
}

/// Puts a dead event back in the queue with fresh attempts; true if it was dead.
pub async fn replay(state: &AppState, id: i64) -> Result<bool, sqlx::Error> {
    jobs::requeue(
        state,
        "UPDATE outbox SET dead_at = NULL, attempts = 0, available_at = $1, locked_until = NULL
         WHERE id = $2 AND dead_at IS NOT NULL AND processed_at IS NULL",
        id,
        &state.outbox_wakeup,
    )
    .await
}
