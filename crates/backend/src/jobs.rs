//! The one background-job runner. Two queues live in the database and are drained by it: the
//! outbox (`worker`: order events handled by the sagas) and the KakaoTalk messages
//! (`notifications::sender`). Each queue says how to claim a batch of its due rows under a
//! lease and how to work it; everything else is here, once:
//!
//! - the loop: claim a batch, work it, and when nothing was due wait for a wake-up, the next
//!   poll or shutdown, whichever comes first (a claim that fails waits for the next poll);
//! - wake-ups: the queue's `Notify`, rung by the code that commits new jobs in this process,
//!   and on PostgreSQL a `LISTEN` on the queue's channel, so a `NOTIFY` sent at commit by any
//!   instance wakes every instance's runner; polling stays the safety net;
//! - the retry policy: exponential backoff with 50–100% jitter, capped ([`Backoff`]);
//! - claiming without waiting on other instances (`FOR UPDATE SKIP LOCKED` on PostgreSQL; on
//!   SQLite the single writer orders claims), and an operator's replay of a parked job
//!   ([`requeue`]).
//!
//! Timed chores (auto-rejecting orders nobody accepted, completing deliveries nobody confirmed,
//! reconciling interrupted checkouts, forgetting old checkout keys) run on the same runner as a
//! queue whose "due jobs" are the chores whose time has come ([`Chores`]); the server registers
//! them like the outbox's handlers.
//!
//! What stays with each queue is what differs: its table and its per-key ordering (an order's
//! events; one order's messages to one person), how long a lease lasts and how outcomes are
//! recorded, and its metrics. Handlers are registered by whoever starts the runner (the
//! server passes the sagas to the outbox worker), never hard-wired here.

use super::db::Engine;
use super::AppState;
use futures::future::BoxFuture;
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};

/// Delay before retry number `attempts` (1-based): `base` doubling per attempt, at most `max`,
/// with 50–100% jitter so that jobs which failed together do not retry together.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    pub fn delay(&self, attempts: i64) -> Duration {
        let exponent = attempts.clamp(1, 20) as u32 - 1;
        let full = self
            .base
            .saturating_mul(2u32.saturating_pow(exponent))
            .min(self.max);
        full.mul_f64(rand::thread_rng().gen_range(0.5..=1.0))
    }
}

/// One queue the runner drains.
pub trait Queue: Send + Sync + 'static {
    /// Claims one batch of due jobs and works it; returns how many were claimed.
    fn run_batch<'a>(&'a self, state: &'a AppState) -> BoxFuture<'a, Result<usize, sqlx::Error>>;
}

/// How the runner is woken besides its poll.
pub struct Wakeup {
    /// Rung in this process after new jobs are committed.
    pub local: Arc<Notify>,
    /// The PostgreSQL channel that jobs committed by any instance are announced on.
    pub channel: Option<&'static str>,
}

/// Runs `queue` until `shutdown` turns true. `name` names the runner in the log.
pub async fn run(
    name: &'static str,
    state: AppState,
    queue: impl Queue,
    wakeup: Wakeup,
    poll: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let listener = wakeup
        .channel
        .and_then(|channel| listen(&state, channel, wakeup.local.clone()));
    loop {
        if *shutdown.borrow() {
            break;
        }
        match queue.run_batch(&state).await {
            Ok(0) => idle(Some(&wakeup.local), poll, &mut shutdown).await,
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, runner = name, "could not claim jobs");
                idle(None, poll, &mut shutdown).await;
            }
        }
    }
    if let Some(listener) = listener {
        listener.abort();
    }
}

/// Waits for a wake-up (if given), the next poll, or shutdown, whichever comes first.
pub async fn idle(wakeup: Option<&Notify>, poll: Duration, shutdown: &mut watch::Receiver<bool>) {
    let woken = async {
        match wakeup {
            Some(wakeup) => wakeup.notified().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = woken => {}
        _ = tokio::time::sleep(poll) => {}
        _ = shutdown.changed() => {}
    }
}

/// The work of a chore: returns how many things it did (logged when not zero).
pub type ChoreWork = Arc<
    dyn Fn(AppState) -> BoxFuture<'static, Result<u64, Box<dyn std::error::Error + Send + Sync>>>
        + Send
        + Sync,
>;

/// Something done on a timer rather than from a queue.
pub struct Chore {
    /// What it did, in the log ("auto-rejected orders nobody accepted").
    pub did: &'static str,
    pub every: Duration,
    pub work: ChoreWork,
}

/// Timed chores as a queue of the runner: a round does the chores that are due. Each runs at
/// most once per its `every`; a failure is logged and tried again at its next turn.
pub struct Chores {
    chores: Vec<(Chore, std::sync::Mutex<Option<std::time::Instant>>)>,
}

impl Chores {
    pub fn new(chores: Vec<Chore>) -> Chores {
        Chores {
            chores: chores
                .into_iter()
                .map(|chore| (chore, std::sync::Mutex::new(None)))
                .collect(),
        }
    }

    /// How often the runner must look: the shortest interval.
    pub fn tick(&self) -> Duration {
        self.chores
            .iter()
            .map(|(chore, _)| chore.every)
            .min()
            .unwrap_or(Duration::from_secs(60))
    }
}

impl Queue for Chores {
    fn run_batch<'a>(&'a self, state: &'a AppState) -> BoxFuture<'a, Result<usize, sqlx::Error>> {
        Box::pin(async move {
            for (chore, last) in &self.chores {
                let due = last
                    .lock()
                    .expect("chore lock")
                    .is_none_or(|at| at.elapsed() >= chore.every);
                if !due {
                    continue;
                }
                *last.lock().expect("chore lock") = Some(std::time::Instant::now());
                match (chore.work)(state.clone()).await {
                    Ok(0) => {}
                    Ok(count) => tracing::info!(count, "{}", chore.did),
                    Err(error) => tracing::warn!(%error, chore = chore.did, "chore failed"),
                }
            }
            // Nothing is ever "claimed": the runner waits for the next tick.
            Ok(0)
        })
    }
}

/// On PostgreSQL, turns `NOTIFY channel` from any instance into a local wake-up.
fn listen(
    state: &AppState,
    channel: &'static str,
    wakeup: Arc<Notify>,
) -> Option<tokio::task::JoinHandle<()>> {
    if state.db.engine() != Engine::Postgres {
        return None;
    }
    let url = state.db.url().to_string();
    Some(tokio::spawn(async move {
        loop {
            match sqlx::postgres::PgListener::connect(&url).await {
                Ok(mut listener) => {
                    if listener.listen(channel).await.is_ok() {
                        while listener.recv().await.is_ok() {
                            wakeup.notify_one();
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, "LISTEN connection failed; polling only"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }))
}

/// What a claim adds to its `SELECT … LIMIT n` so that instances skip each other's rows.
pub fn skip_locked(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => "FOR UPDATE SKIP LOCKED",
        Engine::Sqlite => "",
    }
}

/// Puts a parked job back in its queue for an operator and wakes the runner: `statement`
/// updates the job `$2` only if it is parked, making it due at `$1` with fresh attempts.
/// Returns whether it was parked.
pub async fn requeue(
    state: &AppState,
    statement: &'static str,
    id: i64,
    wakeup: &Notify,
) -> Result<bool, sqlx::Error> {
    let requeued = sqlx::query(statement)
        .bind(super::now_ms())
        .bind(id)
        .execute(state.db.writer())
        .await?
        .rows_affected()
        == 1;
    wakeup.notify_one();
    Ok(requeued)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let backoff = Backoff {
            base: Duration::from_millis(200),
            max: Duration::from_secs(60),
        };
        for attempt in 1..=12 {
            let full = (200u64 << (attempt - 1)).min(60_000);
            let delay = backoff.delay(attempt).as_millis() as u64;
            assert!(
                delay >= full / 2 && delay <= full,
                "attempt {attempt}: {delay} ms of {full}"
            );
        }
    }
}
