//! Configuration, read once from the environment at start-up. Every setting has a default
//! that works on a laptop with nothing installed; see the README's configuration table.
//!
//! [`Config`] and how it is read are here; the settings of each concern are read in their own
//! submodule (`payments`, `worker`, `kakao`, `security`, `gateway`), with the value readers
//! they share in `read`.

mod gateway;
mod kakao;
mod payments;
mod read;
mod security;
#[cfg(test)]
mod tests;
mod worker;

pub use gateway::GatewaySettings;
pub use payments::PaymentProvider;

use app::backend::geocoding::{Geocoder, KakaoLocal};
use app::backend::limits::LimitConfig;
use app::backend::notifications::alimtalk::AlimtalkConfig;
use app::backend::notifications::SenderConfig;
use app::backend::payments::PaymentSettings;
use app::backend::worker::WorkerConfig;
use gateway::gateway_settings;
use kakao::{kakao_config, sender_config};
use payments::{payment_provider, payment_settings};
use read::{flag, number};
use security::{allowed_origins, limit_config};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use worker::worker_config;

/// `Debug` (written by hand below) redacts every secret: the database password, the Toss and
/// KakaoTalk keys and the metrics token never reach a log line.
#[derive(Clone)]
pub struct Config {
    /// `BAEDAL_ADDR`: where to listen. Default `127.0.0.1:3000`; port 0 picks a free port.
    pub addr: SocketAddr,
    /// `DATABASE_URL`: `sqlite://…` or `postgres://…`. Default: SQLite in the data directory.
    pub database_url: String,
    /// `BAEDAL_DATA_DIR`: where the default SQLite database lives. Default `./data`.
    pub data_dir: PathBuf,
    /// `BAEDAL_SITE_ROOT`: the built browser assets (wasm, JS, CSS). Default `target/site`.
    pub site_root: PathBuf,
    /// `BAEDAL_LOG_FORMAT`: `pretty` (default) or `json`.
    pub log_format: LogFormat,
    /// `BAEDAL_SEED_DEMO`: seed demo stores and accounts into an empty database. Default `true`.
    pub seed_demo: bool,
    /// `BAEDAL_SECURE_COOKIES`: mark the session cookie `Secure` (behind HTTPS). Default `false`.
    pub secure_cookies: bool,
    /// `BAEDAL_SESSION_IDLE_S`: a session unused this long has ended (default 7 days).
    pub session_idle: Duration,
    /// `BAEDAL_SESSION_MAX_S`: a session's absolute lifetime from sign-in (default 30 days).
    pub session_lifetime: Duration,
    /// `BAEDAL_PAYMENT_PROVIDER`: `sandbox` (default) or `toss`.
    pub payment_provider: PaymentProvider,
    /// Timeout and circuit breaker of payment calls (`BAEDAL_PAYMENT_TIMEOUT_MS`,
    /// `BAEDAL_BREAKER_*`).
    pub payment: PaymentSettings,
    /// `BAEDAL_AUTO_REJECT_AFTER_S`: orders not accepted by then are rejected and refunded
    /// (default 600).
    pub auto_reject_after: Duration,
    /// `BAEDAL_AUTO_COMPLETE_AFTER_S`: delivered orders the customer has not confirmed
    /// (배송확인) by then complete by themselves (default 3600).
    pub auto_complete_after: Duration,
    /// `BAEDAL_RIDER_RADIUS_M`: riders see deliveries whose customer is this close (default 3000).
    pub rider_radius_m: u64,
    /// `BAEDAL_RIDER_MAX_ACTIVE`: deliveries one rider may carry at once (default 3).
    pub rider_max_active: u64,
    /// `BAEDAL_LIVE_MAX_PER_SESSION` (default 8) and `BAEDAL_LIVE_MAX_PER_ADDRESS` (default
    /// 64): concurrent live-update streams of one session and of one client address; more are
    /// refused with 429.
    pub live_limits: app::backend::live::LiveLimits,
    /// `BAEDAL_HOUSEKEEPING_MS`: how often timed chores (auto-reject) run (default 30000).
    pub housekeeping_every: Duration,
    /// `BAEDAL_WORKER`: run the outbox worker inside the server (`true`, default) or not.
    pub run_worker: bool,
    /// `BAEDAL_GROUP_COMMIT_ORDERS`: on SQLite, write the paid orders waiting at one moment in
    /// one transaction (`true`, default) or each in its own (for A/B benchmarks).
    pub group_commit_orders: bool,
    /// `BAEDAL_WORKER_BATCH`, `_CONCURRENCY`, `_MAX_ATTEMPTS`, `_LEASE_MS`, `_POLL_MS`,
    /// `_BACKOFF_MS`.
    pub worker: WorkerConfig,
    /// The KakaoTalk (알림톡) channel: `KAKAO_ALIMTALK_APP_KEY`, `_SECRET_KEY`, `_SENDER_KEY`
    /// (all or none), `KAKAO_ALIMTALK_URL`, `BAEDAL_KAKAO_TIMEOUT_MS`,
    /// `BAEDAL_KAKAO_BREAKER_OPEN_MS`. `None`: the channel is off.
    pub kakao: Option<AlimtalkConfig>,
    /// Address search (Kakao Local): `BAEDAL_KAKAO_LOCAL_KEY` (its REST API key),
    /// `BAEDAL_KAKAO_LOCAL_URL` (default `https://dapi.kakao.com`),
    /// `BAEDAL_GEOCODER_TIMEOUT_MS` (default 3000). `None` (no key): addresses are placed at
    /// their district's centre, announced at start-up.
    pub geocoder: Option<GeocoderConfig>,
    /// Retries of KakaoTalk messages: `BAEDAL_KAKAO_MAX_ATTEMPTS`, `BAEDAL_KAKAO_BACKOFF_MS`,
    /// `BAEDAL_KAKAO_POLL_MS`.
    pub notification_sender: SenderConfig,
    /// `BAEDAL_ALLOWED_ORIGINS`: origins besides the request's own host whose state-changing
    /// requests are accepted (comma-separated `scheme://host[:port]`, e.g. the public origin
    /// when a gateway rewrites `Host`). Default none.
    pub allowed_origins: Vec<String>,
    /// `BAEDAL_METRICS_TOKEN`: `/metrics` needs `Authorization: Bearer <token>`. Unset: only
    /// clients on the loopback interface may read it.
    pub metrics_token: Option<String>,
    /// `BAEDAL_TRUST_FORWARDED`: take the client's address from the last `X-Forwarded-For`
    /// entry (the one the gateway added). Default `false`: the TCP peer's address.
    pub trust_forwarded: bool,
    /// `BAEDAL_LIMIT_SIGNIN_ACCOUNT`, `_SIGNIN_ADDRESS`, `_SIGNUP_ADDRESS`,
    /// `_CHECKOUT_ADDRESS`: `COUNT/SECONDS` or `off`.
    pub limits: LimitConfig,
    /// `BAEDAL_DRAIN_MS`: after SIGTERM, how long the instance keeps serving while `/readyz`
    /// says 503, so that balancers stop sending it new work before it stops accepting
    /// (default 2000; 0 stops at once).
    pub drain: Duration,
    /// The nginx gateway's settings (`BAEDAL_GATEWAY_*`), read here so that the gateway's
    /// configuration is generated from the same environment as the app's.
    pub gateway: GatewaySettings,
}

/// Kakao Local's address search (see `app::backend::geocoding`).
#[derive(Clone)]
pub struct GeocoderConfig {
    pub base_url: String,
    pub rest_api_key: String,
    pub timeout: Duration,
}

impl GeocoderConfig {
    pub fn geocoder(config: Option<&GeocoderConfig>) -> Geocoder {
        match config {
            Some(c) => {
                Geocoder::KakaoLocal(KakaoLocal::new(&c.base_url, &c.rest_api_key, c.timeout))
            }
            None => Geocoder::DistrictCentres,
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field(
                "database_url",
                &app::backend::db::redact(&self.database_url),
            )
            .field("data_dir", &self.data_dir)
            .field("site_root", &self.site_root)
            .field("log_format", &self.log_format)
            .field("seed_demo", &self.seed_demo)
            .field("secure_cookies", &self.secure_cookies)
            .field("session_idle", &self.session_idle)
            .field("session_lifetime", &self.session_lifetime)
            .field("payment_provider", &self.payment_provider)
            .field("payment", &self.payment)
            .field("auto_reject_after", &self.auto_reject_after)
            .field("auto_complete_after", &self.auto_complete_after)
            .field("rider_radius_m", &self.rider_radius_m)
            .field("rider_max_active", &self.rider_max_active)
            .field("live_limits", &self.live_limits)
            .field("housekeeping_every", &self.housekeeping_every)
            .field("run_worker", &self.run_worker)
            .field("group_commit_orders", &self.group_commit_orders)
            .field("worker", &self.worker)
            .field("kakao", &self.kakao)
            .field(
                "geocoder",
                &self.geocoder.as_ref().map(|g| (&g.base_url, g.timeout)),
            )
            .field("notification_sender", &self.notification_sender)
            .field("allowed_origins", &self.allowed_origins)
            .field(
                "metrics_token",
                &self.metrics_token.as_ref().map(|_| REDACTED),
            )
            .field("trust_forwarded", &self.trust_forwarded)
            .field("limits", &self.limits)
            .field("drain", &self.drain)
            .field("gateway", &self.gateway)
            .finish()
    }
}

/// What `Debug` prints instead of a secret.
pub const REDACTED: &str = "<redacted>";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, thiserror::Error)]
#[error("{name}: {reason}")]
pub struct ConfigError {
    pub name: &'static str,
    pub reason: String,
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (the environment in production, a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let addr = match get("BAEDAL_ADDR") {
            Some(raw) => raw.parse().map_err(|e| ConfigError {
                name: "BAEDAL_ADDR",
                reason: format!("{raw:?} is not host:port ({e})"),
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 3000)),
        };
        let data_dir = PathBuf::from(get("BAEDAL_DATA_DIR").unwrap_or_else(|| "data".into()));
        let database_url = get("DATABASE_URL").unwrap_or_else(|| {
            format!("sqlite://{}?mode=rwc", data_dir.join("baedal.db").display())
        });
        let log_format = match get("BAEDAL_LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError {
                    name: "BAEDAL_LOG_FORMAT",
                    reason: format!("{other:?} is neither \"pretty\" nor \"json\""),
                })
            }
        };
        Ok(Config {
            addr,
            database_url,
            data_dir,
            site_root: PathBuf::from(
                get("BAEDAL_SITE_ROOT").unwrap_or_else(|| "target/site".into()),
            ),
            log_format,
            seed_demo: flag(&get, "BAEDAL_SEED_DEMO", true)?,
            secure_cookies: flag(&get, "BAEDAL_SECURE_COOKIES", false)?,
            session_idle: Duration::from_secs(
                number(&get, "BAEDAL_SESSION_IDLE_S", 7 * 24 * 60 * 60)?.max(1),
            ),
            session_lifetime: Duration::from_secs(
                number(&get, "BAEDAL_SESSION_MAX_S", 30 * 24 * 60 * 60)?.max(1),
            ),
            payment_provider: payment_provider(&get)?,
            payment: payment_settings(&get)?,
            auto_reject_after: Duration::from_secs(number(
                &get,
                "BAEDAL_AUTO_REJECT_AFTER_S",
                600,
            )?),
            auto_complete_after: Duration::from_secs(number(
                &get,
                "BAEDAL_AUTO_COMPLETE_AFTER_S",
                3600,
            )?),
            rider_radius_m: number(&get, "BAEDAL_RIDER_RADIUS_M", 3_000)?.clamp(100, 50_000),
            rider_max_active: number(&get, "BAEDAL_RIDER_MAX_ACTIVE", 3)?.clamp(1, 20),
            live_limits: app::backend::live::LiveLimits {
                per_session: number(&get, "BAEDAL_LIVE_MAX_PER_SESSION", 8)?.max(1) as usize,
                per_address: number(&get, "BAEDAL_LIVE_MAX_PER_ADDRESS", 64)?.max(1) as usize,
            },
            housekeeping_every: Duration::from_millis(
                number(&get, "BAEDAL_HOUSEKEEPING_MS", 30_000)?.max(10),
            ),
            run_worker: flag(&get, "BAEDAL_WORKER", true)?,
            group_commit_orders: flag(&get, "BAEDAL_GROUP_COMMIT_ORDERS", true)?,
            worker: worker_config(&get)?,
            kakao: kakao_config(&get)?,
            geocoder: get("BAEDAL_KAKAO_LOCAL_KEY")
                .map(|key| key.trim().to_string())
                .filter(|key| !key.is_empty())
                .map(|rest_api_key| -> Result<GeocoderConfig, ConfigError> {
                    Ok(GeocoderConfig {
                        base_url: get("BAEDAL_KAKAO_LOCAL_URL")
                            .unwrap_or_else(|| KakaoLocal::BASE_URL.into()),
                        rest_api_key,
                        timeout: Duration::from_millis(
                            number(&get, "BAEDAL_GEOCODER_TIMEOUT_MS", 3_000)?.max(1),
                        ),
                    })
                })
                .transpose()?,
            notification_sender: sender_config(&get)?,
            allowed_origins: allowed_origins(&get)?,
            metrics_token: get("BAEDAL_METRICS_TOKEN").map(|t| t.trim().to_string()),
            trust_forwarded: flag(&get, "BAEDAL_TRUST_FORWARDED", false)?,
            limits: limit_config(&get)?,
            drain: Duration::from_millis(number(&get, "BAEDAL_DRAIN_MS", 2_000)?),
            gateway: gateway_settings(&get)?,
        })
    }
}
