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
mod eta;
#[cfg(feature = "fault-injection")]
pub mod faults;
pub mod geocoding;
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
pub mod views;
pub mod worker;

use std::sync::Arc;
use std::time::Duration;

pub use db::Db;
pub use error::Error;
#[cfg(feature = "fault-injection")]
pub use faults::Faults;
pub use payments::Payments;

/// What every request handler and server function can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub payments: Payments,
    /// Test-only failure switches (feature `fault-injection`; see [`faults`]).
    #[cfg(feature = "fault-injection")]
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
    /// Places addresses on the map (Kakao Local, or district centres when none is configured).
    pub geocoder: geocoding::Geocoder,
    /// Writes paid orders on SQLite, all those waiting in one transaction (group commit).
    pub order_recorder: orders::Recorder,
}

impl AppState {
    /// The state of a server: fresh wake-up signals, and (in test builds) every fault switch
    /// off. A constructor rather than a struct literal, so that callers compile the same with
    /// or without the `fault-injection` feature.
    pub fn new(
        db: Db,
        settings: Settings,
        payments: Payments,
        live: live::Live,
        kakao: Option<notifications::alimtalk::Alimtalk>,
        limits: limits::RateLimits,
        geocoder: geocoding::Geocoder,
    ) -> AppState {
        AppState {
            db,
            settings: Arc::new(settings),
            payments,
            #[cfg(feature = "fault-injection")]
            faults: Arc::new(Faults::default()),
            outbox_wakeup: Arc::new(tokio::sync::Notify::new()),
            live,
            kakao,
            notification_wakeup: Arc::new(tokio::sync::Notify::new()),
            limits: Arc::new(limits),
            geocoder,
            order_recorder: orders::Recorder::default(),
        }
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
    /// On SQLite, whether paid orders waiting to be written share one transaction (group
    /// commit, `orders::recording`) or take one each. PostgreSQL always takes one each.
    pub group_commit_orders: bool,
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
            group_commit_orders: true,
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
