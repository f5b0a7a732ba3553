//! The outbox worker: drains events written by order transactions and runs their handlers.
//!
//! Claiming: a batch of the oldest due events is leased (`locked_until`) in one statement; on
//! PostgreSQL with `FOR UPDATE SKIP LOCKED`, so any number of instances share the work without
//! waiting on each other; on SQLite through the single writer. Only the oldest unprocessed
//! event of each order is claimable, so one order's events apply in order. A lease that runs
//! out (its worker crashed) makes the event claimable again. Leases are short (5 s) and
//! renewed every third of that while their batch is still being handled, so the events of a
//! worker killed mid-batch are taken up again within seconds of a restart, while a slow
//! handler (a refund retrying a provider) keeps its events.
//!
//! Grouping: on SQLite the events of a round that only write to our database (everything but
//! refunds and voids, which call the provider) are applied in ONE transaction
//! ([`Handlers::group`]): the single writer then spends one turn and one commit on thirty
//! events instead of one each, which is what lets it keep up with checkout. If the group fails,
//! nothing of it was applied and its events are handled one by one, so a failing event is
//! retried alone. On PostgreSQL events are applied one per transaction, several at a time.
//!
//! Failures retry with exponential backoff and jitter; after `max_attempts` the event is
//! parked as dead with its last error, listed by `dead_events` and put back by `replay`.
//! Events that give money back (refunds, payment voids) get `MONEY_BACK_ATTEMPTS` instead:
//! a provider outage of an hour must not leave a customer charged.
//!
//! Wake-up: committing code calls `AppState::outbox_wakeup` so an event is picked up at once;
//! on PostgreSQL `pg_notify` (sent at commit by `outbox::enqueue`) wakes other instances'
//! workers; polling every `poll` remains the safety net.
//!
//! The loop, the wake-ups and the backoff are the job runner's (`jobs`); this module is the
//! outbox's queue: its claim, its lease renewal, its parking, its metrics. What runs for each
//! event is a [`Handler`] given by whoever starts the worker (the server passes the sagas).

use super::db::Engine;
use super::jobs::{self, Backoff};
use super::metrics;
use super::outbox::Event;
use super::{now_ms, AppState};
use futures::future::BoxFuture;
use futures::StreamExt;
use rand::Rng;
use serde::Serialize;
use sqlx::Row;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tracing::Instrument;

/// An event as the worker claimed it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: i64,
    pub event: Event,
    /// The event whose handling wrote this one (none for events written by a request).
    pub causation_id: Option<i64>,
    pub created_at: i64,
    pub attempts: i64,
}

/// How a handler finished with an event.
#[derive(Debug, PartialEq, Eq)]
pub enum Handled {
    Applied,
    /// Already processed (a redelivery): nothing was changed.
    AlreadyDone,
}

/// Why a handler failed; the worker retries it with backoff, then parks it with this text as
/// its last error.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The store side cannot take orders (`Faults::store_side_down`, in tests).
    #[error("store side unavailable")]
    StoreSideDown,
    /// The payment provider did not refund or void the payment.
    #[error("{0}")]
    Payment(#[from] super::payments::PaymentError),
}

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub batch: i64,
    pub lease: Duration,
    pub max_attempts: i64,
    pub poll: Duration,
    /// First retry delay; doubles each attempt (with jitter), up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// Events of one batch handled at the same time (they belong to different orders).
    pub concurrency: usize,
    /// Whether a batch's events are applied in one transaction (see [`Grouping`]).
    pub grouping: Grouping,
}

/// Applies one event, in its own transaction: the sagas in production (`sagas::handler`),
/// others in benchmarks.
pub type Handler = Arc<
    dyn Fn(AppState, Delivery) -> BoxFuture<'static, Result<Handled, HandlerError>> + Send + Sync,
>;

/// Applies several events in ONE transaction and returns each one's outcome in the order
/// given; an error means none was applied.
pub type GroupHandler = Arc<
    dyn Fn(AppState, Vec<Delivery>) -> BoxFuture<'static, Result<Vec<Handled>, HandlerError>>
        + Send
        + Sync,
>;

/// Events that may be applied together, and how.
#[derive(Clone)]
pub struct Group {
    /// Whether an event may join a group (events that call out to a provider may not: a
    /// transaction must never wait on the outside).
    pub takes: fn(&Event) -> bool,
    pub handle: GroupHandler,
}

/// What the worker runs for the events it claims.
#[derive(Clone)]
pub struct Handlers {
    pub one: Handler,
    pub group: Option<Group>,
}

impl Handlers {
    /// Every event on its own.
    pub fn one_by_one(one: Handler) -> Handlers {
        Handlers { one, group: None }
    }
}

/// When a batch's groupable events are applied in one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grouping {
    /// On SQLite, whose single writer applies one transaction at a time, so a transaction per
    /// event spends the writer on commits and turns; not on PostgreSQL, where several workers
    /// apply events side by side and a group's row locks would make them wait on each other.
    Auto,
    Always,
    Never,
}

impl Grouping {
    pub fn parse(raw: &str) -> Option<Grouping> {
        match raw {
            "auto" => Some(Grouping::Auto),
            "always" => Some(Grouping::Always),
            "never" => Some(Grouping::Never),
            _ => None,
        }
    }

    fn applies(self, engine: Engine) -> bool {
        match self {
            Grouping::Auto => engine == Engine::Sqlite,
            Grouping::Always => true,
            Grouping::Never => false,
        }
    }
}

impl WorkerConfig {
    pub fn backoff(&self) -> Backoff {
        Backoff {
            base: self.base_backoff,
            max: self.max_backoff,
        }
    }
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            batch: 32,
            lease: Duration::from_secs(5),
            max_attempts: 10,
            poll: Duration::from_secs(1),
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(60),
            concurrency: 8,
            grouping: Grouping::Auto,
        }
    }
}

/// Attempts of an event that gives money back before it is parked for an operator: about an
/// hour at the default backoff (doubling from 200 ms to a minute).
pub const MONEY_BACK_ATTEMPTS: i64 = 70;

fn describe_metrics() {
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
async fn watch_backlog(state: AppState, mut shutdown: watch::Receiver<bool>) {
    let mut last_warning: Option<std::time::Instant> = None;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.changed() => return,
        }
        let now = now_ms();
        let row = sqlx::query(
            "SELECT COUNT(*), MIN(created_at) FROM outbox
             WHERE processed_at IS NULL AND dead_at IS NULL",
        )
        .fetch_one(state.db.reader())
        .await;
        let Ok(row) = row else { continue };
        let backlog: i64 = row.try_get(0).unwrap_or(0);
        let oldest: Option<i64> = row.try_get(1).unwrap_or(None);
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
        no_order = super::outbox::NO_ORDER,
    );
    let rows = sqlx::query(&sql)
        .bind(now + config.lease.as_millis() as i64)
        .bind(worker_id)
        .bind(now)
        .bind(config.batch)
        .fetch_all(state.db.writer())
        .await?;
    let mut deliveries = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: i64 = row.try_get("id")?;
        let payload: String = row.try_get("payload")?;
        match serde_json::from_str::<Event>(&payload) {
            Ok(event) => deliveries.push(Delivery {
                id,
                event,
                causation_id: row.try_get("causation_id")?,
                created_at: row.try_get("created_at")?,
                attempts: row.try_get("attempts")?,
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
    Ok((deliveries, rows.len()))
}

/// Records a failed attempt: retry later, or park as dead after `max_attempts`.
async fn fail(
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

/// Claims one batch and handles it with `handlers`; returns how many events were claimed.
pub async fn run_once(
    state: &AppState,
    worker_id: &str,
    config: &WorkerConfig,
    handlers: &Handlers,
) -> Result<usize, sqlx::Error> {
    // A batch of only undecodable events is still work done: claim again at once.
    let (deliveries, count) = claim(state, worker_id, config).await?;
    let ids: Vec<i64> = deliveries.iter().map(|d| d.id).collect();
    let group = handlers
        .group
        .as_ref()
        .filter(|_| config.grouping.applies(state.db.engine()));
    let (grouped, single): (Vec<Delivery>, Vec<Delivery>) = match group {
        Some(group) => deliveries
            .into_iter()
            .partition(|d| (group.takes)(&d.event)),
        None => (Vec::new(), deliveries),
    };
    let handling = async {
        let together = async {
            let Some(group) = group.filter(|_| grouped.len() > 1) else {
                return one_by_one(state, config, &handlers.one, grouped).await;
            };
            if let Err(error) = handle_group(state, config, group, grouped.clone()).await {
                // Nothing of the group was applied: each event goes on its own, so the one
                // that failed is retried alone and the others are not held up by it.
                tracing::warn!(%error, events = grouped.len(), "group not applied; one by one");
                one_by_one(state, config, &handlers.one, grouped).await;
            }
        };
        tokio::join!(together, one_by_one(state, config, &handlers.one, single));
    };
    let renewing = async {
        if ids.is_empty() {
            return std::future::pending().await;
        }
        loop {
            tokio::time::sleep(config.lease / 3).await;
            if let Err(error) = renew_leases(state, worker_id, &ids, config.lease).await {
                tracing::warn!(%error, "could not renew event leases");
            }
        }
    };
    tokio::select! {
        _ = handling => {}
        _ = renewing => {}
    }
    Ok(count)
}

/// Handles `deliveries` each on its own, `config.concurrency` at a time.
async fn one_by_one(
    state: &AppState,
    config: &WorkerConfig,
    handler: &Handler,
    deliveries: Vec<Delivery>,
) {
    futures::stream::iter(deliveries)
        .for_each_concurrent(config.concurrency.max(1), |delivery| {
            handle_one(state, config, handler, delivery)
        })
        .await
}

/// Applies `deliveries` in one transaction with the group handler and records each outcome.
async fn handle_group(
    state: &AppState,
    config: &WorkerConfig,
    group: &Group,
    deliveries: Vec<Delivery>,
) -> Result<(), HandlerError> {
    let span = tracing::info_span!(
        "events",
        count = deliveries.len(),
        first_event_id = deliveries.first().map(|d| d.id),
    );
    let outcomes = (group.handle)(state.clone(), deliveries.clone())
        .instrument(span)
        .await?;
    for (delivery, handled) in deliveries.iter().zip(outcomes) {
        record(state, config, delivery, Ok(handled)).await;
    }
    Ok(())
}

/// Extends this worker's leases on the events of its batch still being handled.
async fn renew_leases(
    state: &AppState,
    worker_id: &str,
    ids: &[i64],
    lease: Duration,
) -> Result<(), sqlx::Error> {
    let placeholders: Vec<String> = (3..ids.len() + 3).map(|i| format!("${i}")).collect();
    let sql = format!(
        "UPDATE outbox SET locked_until = $1
         WHERE locked_by = $2 AND processed_at IS NULL AND id IN ({})",
        placeholders.join(", ")
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

async fn handle_one(
    state: &AppState,
    config: &WorkerConfig,
    handler: &Handler,
    delivery: Delivery,
) {
    let span = tracing::info_span!(
        "event",
        event_id = delivery.id,
        order_id = delivery.event.order_id(),
        causation_id = delivery.causation_id,
        event_type = delivery.event.name(),
        attempt = delivery.attempts,
    );
    async {
        let result = handler(state.clone(), delivery.clone()).await;
        record(state, config, &delivery, result).await;
    }
    .instrument(span)
    .await
}

/// Records how an event's handling ended: a failure is retried later or parked; metrics.
async fn record(
    state: &AppState,
    config: &WorkerConfig,
    delivery: &Delivery,
    result: Result<Handled, HandlerError>,
) {
    let max_attempts = if delivery.event.moves_money_back() {
        config.max_attempts.max(MONEY_BACK_ATTEMPTS)
    } else {
        config.max_attempts
    };
    let outcome = match result {
        Ok(Handled::Applied) => "applied",
        Ok(Handled::AlreadyDone) => "duplicate",
        Err(error) => {
            let message = error.to_string();
            match fail(
                state,
                delivery.id,
                delivery.attempts,
                max_attempts,
                config,
                &message,
            )
            .await
            {
                Ok(true) => {
                    tracing::error!(%message, "event parked as dead");
                    "dead"
                }
                Ok(false) => {
                    tracing::warn!(%message, "event failed; will retry");
                    "retry"
                }
                Err(db_error) => {
                    tracing::error!(%db_error, "could not record the failure");
                    "retry"
                }
            }
        }
    };
    metrics::counter_add(
        "baedal_outbox_events_total",
        &[("type", delivery.event.name()), ("outcome", outcome)],
        1.0,
    );
    if outcome == "applied" {
        let lag = (now_ms() - delivery.created_at).max(0) as f64 / 1000.0;
        metrics::observe("baedal_outbox_lag_seconds", &[], lag);
    }
}

/// The outbox as a queue of the job runner.
struct Outbox {
    worker_id: String,
    config: WorkerConfig,
    handlers: Handlers,
}

impl jobs::Queue for Outbox {
    fn run_batch<'a>(&'a self, state: &'a AppState) -> BoxFuture<'a, Result<usize, sqlx::Error>> {
        Box::pin(run_once(
            state,
            &self.worker_id,
            &self.config,
            &self.handlers,
        ))
    }
}

/// Runs the worker with `handlers` (the sagas, in production) until `shutdown` turns true.
pub async fn run(
    state: AppState,
    config: WorkerConfig,
    shutdown: watch::Receiver<bool>,
    handlers: Handlers,
) {
    describe_metrics();
    let worker_id = format!("worker-{}", uuid_like());
    tracing::info!(%worker_id, "outbox worker started");
    let backlog = tokio::spawn(watch_backlog(state.clone(), shutdown.clone()));
    let wakeup = jobs::Wakeup {
        local: state.outbox_wakeup.clone(),
        channel: Some("baedal_outbox"),
    };
    let poll = config.poll;
    let queue = Outbox {
        worker_id: worker_id.clone(),
        config,
        handlers,
    };
    jobs::run("outbox worker", state, queue, wakeup, poll, shutdown).await;
    backlog.abort();
    tracing::info!(%worker_id, "outbox worker stopped");
}

fn uuid_like() -> String {
    let bytes: [u8; 8] = rand::thread_rng().gen();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An event parked after too many failures, for an operator.
#[derive(Debug, Clone, Serialize)]
pub struct DeadEvent {
    pub id: i64,
    pub order_id: i64,
    pub event_type: String,
    /// For a payment void (which belongs to no order): the payment it must cancel, to look up
    /// in the provider's console.
    pub payment_id: Option<String>,
    pub attempts: i64,
    pub last_error: Option<String>,
}

pub async fn dead_events(state: &AppState) -> Result<Vec<DeadEvent>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, order_id, event_type, payload, attempts, last_error FROM outbox
         WHERE dead_at IS NOT NULL AND processed_at IS NULL ORDER BY id",
    )
    .fetch_all(state.db.reader())
    .await?;
    rows.iter()
        .map(|row| {
            let payload: String = row.try_get("payload")?;
            let payment_id = match serde_json::from_str::<Event>(&payload) {
                Ok(Event::PaymentVoidRequested { payment_id, .. }) => Some(payment_id),
                _ => None,
            };
            Ok(DeadEvent {
                id: row.try_get("id")?,
                order_id: row.try_get("order_id")?,
                event_type: row.try_get("event_type")?,
                payment_id,
                attempts: row.try_get("attempts")?,
                last_error: row.try_get("last_error")?,
            })
        })
        .collect()
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
