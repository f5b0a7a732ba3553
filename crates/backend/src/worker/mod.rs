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

//!
//! Here: the envelope and configuration, and a round (claim, handle, record); `table`: the
//! outbox table as a queue (claiming under lease, renewing, recording failures, parking,
//! replay, the backlog gauge). A round stays in one file (about 400 lines) so its error
//! handling is read in one place.

mod table;

pub use table::{claim, dead_events, replay, DeadEvent};

use super::jobs::{self, Backoff};
use super::metrics;
use super::outbox::Event;
use super::{now_ms, AppState};
use futures::future::BoxFuture;
use futures::StreamExt;
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;
use table::{describe_metrics, fail, renew_leases, watch_backlog};
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
    /// The store side cannot take orders (`Faults::store_side_down`, in tests only).
    #[cfg(feature = "fault-injection")]
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
    /// The default, grouped on both engines, as measured (docs/benchmarks.md, "The pipeline"):
    /// on SQLite, whose single writer applies one transaction at a time, a transaction per event
    /// spends the writer on commits and turns; on PostgreSQL grouping doubled the rate the
    /// worker keeps up with (200 → 400 orders/s with lag p99 under 1 s). Groups lock the stock
    /// rows they take in id order, so concurrent groups wait on each other but never deadlock.
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

    fn applies(self) -> bool {
        match self {
            Grouping::Auto | Grouping::Always => true,
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
        .filter(|_| config.grouping.applies());
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

async fn handle_one(
    state: &AppState,
    config: &WorkerConfig,
    handler: &Handler,
    delivery: Delivery,
) {
    let span = tracing::info_span!(
        "event",
        event_id = delivery.id,
        order_id = %delivery.event.order_id(),
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
    let applied = matches!(result, Ok(Handled::Applied));
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
    if applied {
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
