//! The server half of the app (feature `ssr`): database, accounts and sessions, demo data,
//! and the glue between server functions and HTTP. None of this is compiled into the wasm.

pub mod accounts;
pub mod db;
pub mod http;
pub mod metrics;
pub mod passwords;
pub mod seed;
pub mod sessions;
pub mod stores;

use std::sync::Arc;
use std::time::Duration;

pub use db::Db;

/// What every request handler and server function can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
}

/// Behaviour switches read from the environment by the server binary.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Add `Secure` to the session cookie (set when served over HTTPS).
    pub secure_cookies: bool,
    pub session_ttl: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            secure_cookies: false,
            session_ttl: Duration::from_secs(14 * 24 * 60 * 60),
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
