//! Baedal's backend: database, accounts and sessions, orders and payments, the outbox worker
//! and its sagas, notifications, live updates, demo data. The server and the app's server
//! functions (behind `ssr`) call it; none of it is compiled into the wasm, and it knows nothing
//! of pages or HTTP statuses: it answers with its own [`Error`], which the app turns into
//! `AppError` at the server-function door.

pub mod accounts;
pub mod commands;
pub mod db;
pub mod deliveries;
pub mod error;
pub mod jobs;
pub mod limits;
pub mod live;
pub mod metrics;
pub mod notifications;
pub mod orders;
pub mod outbox;
pub mod passwords;
pub mod payments;
pub mod sagas;
pub mod seed;
pub mod session_cache;
pub mod sessions;
pub mod stores;
pub mod users;
pub mod views;
pub mod worker;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

pub use db::Db;
pub use error::Error;
pub use payments::Payments;

/// What every request handler and server function can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub payments: Payments,
    pub faults: Arc<Faults>,
    /// Rung after committing outbox events, so the worker picks them up at once.
    pub outbox_wakeup: Arc<tokio::sync::Notify>,
    /// Hints to open pages that something they show changed (`/live`).
    pub live: live::Live,
    /// The KakaoTalk (알림톡) channel, when configured.
    pub kakao: Option<notifications::alimtalk::Alimtalk>,
    /// Rung after notifications are written, so the KakaoTalk sender picks them up at once.
    pub notification_wakeup: Arc<tokio::sync::Notify>,
    /// Sign-in, sign-up and checkout rate limits (in memory, this instance).
    pub limits: Arc<limits::RateLimits>,
}

/// Switches that make a step fail on purpose, so tests can prove what happens when it does
/// (e.g. that a payment is cancelled when its order cannot be saved). Off unless a test,
/// holding the server's `AppState`, turns one on; not reachable from configuration or HTTP.
#[derive(Debug, Default)]
pub struct Faults {
    order_commit: AtomicBool,
    order_commit_ack: AtomicBool,
    store_side: AtomicBool,
}

impl Faults {
    pub fn fail_order_commit(&self) -> bool {
        self.order_commit.load(Ordering::SeqCst)
    }

    pub fn set_fail_order_commit(&self, fail: bool) {
        self.order_commit.store(fail, Ordering::SeqCst);
    }

    /// The order's commit reaches the database but its acknowledgement is lost on the way
    /// back (the connection drops right after COMMIT): the outcome looks unknown.
    pub fn lose_order_commit_ack(&self) -> bool {
        self.order_commit_ack.load(Ordering::SeqCst)
    }

    pub fn set_lose_order_commit_ack(&self, lose: bool) {
        self.order_commit_ack.store(lose, Ordering::SeqCst);
    }

    /// The store-side handlers fail (as if the store system were down).
    pub fn store_side_down(&self) -> bool {
        self.store_side.load(Ordering::SeqCst)
    }

    pub fn set_store_side_down(&self, down: bool) {
        self.store_side.store(down, Ordering::SeqCst);
    }
}

/// Behaviour switches read from the environment by the server binary.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Add `Secure` to the session cookie (set when served over HTTPS).
    pub secure_cookies: bool,
    /// A session's absolute lifetime: it ends this long after sign-in, however busy.
    pub session_ttl: Duration,
    /// A session unused for this long has ended (idle timeout).
    pub session_idle: Duration,
    /// How long a repeated checkout waits for the first submission with its key to finish.
    pub checkout_wait: Duration,
    /// Riders see deliveries whose customer is at most this far from them.
    pub rider_radius_m: f64,
    /// Deliveries one rider may carry at once (claimed or picked up).
    pub rider_max_active: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            secure_cookies: false,
            session_ttl: Duration::from_secs(30 * 24 * 60 * 60),
            session_idle: Duration::from_secs(7 * 24 * 60 * 60),
            checkout_wait: Duration::from_secs(10),
            rider_radius_m: 3_000.0,
            rider_max_active: 3,
        }
    }
}

/// Milliseconds since the Unix epoch: how every timestamp is stored, the same on both engines.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}
