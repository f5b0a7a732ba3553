//! Configuration, read once from the environment at start-up. Every setting has a default
//! that works on a laptop with nothing installed; see the README's configuration table.

use app::backend::limits::{Limit, LimitConfig};
use app::backend::notifications::alimtalk::AlimtalkConfig;
use app::backend::notifications::SenderConfig;
use app::backend::payments::breaker::BreakerConfig;
use app::backend::payments::PaymentSettings;
use app::backend::worker::{Grouping, WorkerConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

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
    /// `BAEDAL_WORKER_BATCH`, `_CONCURRENCY`, `_MAX_ATTEMPTS`, `_LEASE_MS`, `_POLL_MS`,
    /// `_BACKOFF_MS`.
    pub worker: WorkerConfig,
    /// The KakaoTalk (알림톡) channel: `KAKAO_ALIMTALK_APP_KEY`, `_SECRET_KEY`, `_SENDER_KEY`
    /// (all or none), `KAKAO_ALIMTALK_URL`, `BAEDAL_KAKAO_TIMEOUT_MS`,
    /// `BAEDAL_KAKAO_BREAKER_OPEN_MS`. `None`: the channel is off.
    pub kakao: Option<AlimtalkConfig>,
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

/// What `baedal gateway-config` and `baedal cluster` put into the nginx configuration besides
/// what they take from the app's own settings (body limit, checkout timeout, site root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewaySettings {
    /// `BAEDAL_GATEWAY_ADDR`: where nginx listens (default `127.0.0.1:8080`).
    pub addr: SocketAddr,
    /// `BAEDAL_GATEWAY_UPSTREAMS`: the web instances, comma-separated `host:port` (default
    /// `127.0.0.1:3000`).
    pub upstreams: Vec<String>,
    /// `BAEDAL_GATEWAY_SIGNIN_PER_MIN` / `_SIGNIN_BURST`: sign-in requests per client address
    /// and minute, and how many may come at once beyond that rate (default 30 and 10); more get
    /// 429 from the gateway before reaching an instance.
    pub sign_in_per_minute: u64,
    pub sign_in_burst: u64,
    /// `BAEDAL_GATEWAY_CHECKOUT_PER_MIN` / `_CHECKOUT_BURST` (default 60 and 20): the same for
    /// checkouts.
    pub checkout_per_minute: u64,
    pub checkout_burst: u64,
    /// `BAEDAL_RUN_DIR`: where `baedal cluster` and the generated nginx configuration keep
    /// pid files, logs and nginx's temporary files (default `target/cluster`).
    pub run_dir: PathBuf,
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
            .field("worker", &self.worker)
            .field("kakao", &self.kakao)
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

#[derive(Clone, PartialEq, Eq)]
pub enum PaymentProvider {
    /// `BAEDAL_SANDBOX_PAY_URL`, default `http://127.0.0.1:3001`.
    Sandbox { url: String },
    /// `TOSS_SECRET_KEY` (required) and `TOSS_API_URL` (default `https://api.tosspayments.com`).
    Toss { url: String, secret_key: String },
}

impl std::fmt::Debug for PaymentProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PaymentProvider::Sandbox { url } => {
                f.debug_struct("Sandbox").field("url", url).finish()
            }
            PaymentProvider::Toss { url, .. } => f
                .debug_struct("Toss")
                .field("url", url)
                .field("secret_key", &REDACTED)
                .finish(),
        }
    }
}

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
            worker: worker_config(&get)?,
            kakao: kakao_config(&get)?,
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

fn gateway_settings(get: &impl Fn(&str) -> Option<String>) -> Result<GatewaySettings, ConfigError> {
    let addr = match get("BAEDAL_GATEWAY_ADDR") {
        Some(raw) => raw.trim().parse().map_err(|e| ConfigError {
            name: "BAEDAL_GATEWAY_ADDR",
            reason: format!("{raw:?} is not host:port ({e})"),
        })?,
        None => SocketAddr::from(([127, 0, 0, 1], 8080)),
    };
    let upstreams: Vec<String> = get("BAEDAL_GATEWAY_UPSTREAMS")
        .unwrap_or_else(|| "127.0.0.1:3000".into())
        .split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_string)
        .collect();
    let well_formed = |upstream: &str| {
        upstream.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-[]:".contains(&b))
                && port.parse::<u16>().is_ok_and(|p| p > 0)
        })
    };
    if let Some(bad) = upstreams.iter().find(|u| !well_formed(u)) {
        return Err(ConfigError {
            name: "BAEDAL_GATEWAY_UPSTREAMS",
            reason: format!("{bad:?} is not host:port"),
        });
    }
    if upstreams.is_empty() {
        return Err(ConfigError {
            name: "BAEDAL_GATEWAY_UPSTREAMS",
            reason: "names no instance".into(),
        });
    }
    let per_minute = |name: &'static str, default: u64| -> Result<u64, ConfigError> {
        let value = number(get, name, default)?;
        if value == 0 {
            return Err(ConfigError {
                name,
                reason: "must be at least 1".into(),
            });
        }
        Ok(value)
    };
    Ok(GatewaySettings {
        addr,
        upstreams,
        sign_in_per_minute: per_minute("BAEDAL_GATEWAY_SIGNIN_PER_MIN", 30)?,
        sign_in_burst: number(get, "BAEDAL_GATEWAY_SIGNIN_BURST", 10)?,
        checkout_per_minute: per_minute("BAEDAL_GATEWAY_CHECKOUT_PER_MIN", 60)?,
        checkout_burst: number(get, "BAEDAL_GATEWAY_CHECKOUT_BURST", 20)?,
        run_dir: PathBuf::from(get("BAEDAL_RUN_DIR").unwrap_or_else(|| "target/cluster".into())),
    })
}

fn payment_provider(get: &impl Fn(&str) -> Option<String>) -> Result<PaymentProvider, ConfigError> {
    match get("BAEDAL_PAYMENT_PROVIDER").as_deref() {
        None | Some("sandbox") => Ok(PaymentProvider::Sandbox {
            url: get("BAEDAL_SANDBOX_PAY_URL").unwrap_or_else(|| "http://127.0.0.1:3001".into()),
        }),
        Some("toss") => Ok(PaymentProvider::Toss {
            url: get("TOSS_API_URL").unwrap_or_else(|| "https://api.tosspayments.com".into()),
            secret_key: get("TOSS_SECRET_KEY").ok_or(ConfigError {
                name: "TOSS_SECRET_KEY",
                reason: "required when BAEDAL_PAYMENT_PROVIDER=toss".into(),
            })?,
        }),
        Some(other) => Err(ConfigError {
            name: "BAEDAL_PAYMENT_PROVIDER",
            reason: format!("{other:?} is neither \"sandbox\" nor \"toss\""),
        }),
    }
}

/// `scheme://host[:port]` origins, lower-case, without a trailing slash.
fn allowed_origins(get: &impl Fn(&str) -> Option<String>) -> Result<Vec<String>, ConfigError> {
    let Some(raw) = get("BAEDAL_ALLOWED_ORIGINS") else {
        return Ok(Vec::new());
    };
    raw.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|origin| {
            let origin = origin.trim_end_matches('/').to_ascii_lowercase();
            let well_formed = origin.split_once("://").is_some_and(|(scheme, authority)| {
                matches!(scheme, "http" | "https")
                    && !authority.is_empty()
                    && !authority.contains(['/', '?', '#', '@', ' '])
            });
            if well_formed {
                Ok(origin)
            } else {
                Err(ConfigError {
                    name: "BAEDAL_ALLOWED_ORIGINS",
                    reason: format!("{origin:?} is not an origin like https://baedal.example"),
                })
            }
        })
        .collect()
}

fn limit_config(get: &impl Fn(&str) -> Option<String>) -> Result<LimitConfig, ConfigError> {
    let defaults = LimitConfig::default();
    let limit = |name: &'static str, default: Limit| -> Result<Limit, ConfigError> {
        match get(name) {
            None => Ok(default),
            Some(raw) => Limit::parse(&raw).map_err(|error| ConfigError {
                name,
                reason: error.to_string(),
            }),
        }
    };
    Ok(LimitConfig {
        sign_in_account: limit("BAEDAL_LIMIT_SIGNIN_ACCOUNT", defaults.sign_in_account)?,
        sign_in_address: limit("BAEDAL_LIMIT_SIGNIN_ADDRESS", defaults.sign_in_address)?,
        sign_up_address: limit("BAEDAL_LIMIT_SIGNUP_ADDRESS", defaults.sign_up_address)?,
        checkout_address: limit("BAEDAL_LIMIT_CHECKOUT_ADDRESS", defaults.checkout_address)?,
    })
}

fn number(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
) -> Result<u64, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(raw) => raw.trim().parse().map_err(|_| ConfigError {
            name,
            reason: format!("{raw:?} is not a whole number"),
        }),
    }
}

fn percent(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
) -> Result<f64, ConfigError> {
    let value = number(get, name, default)?;
    if (1..=100).contains(&value) {
        Ok(value as f64 / 100.0)
    } else {
        Err(ConfigError {
            name,
            reason: format!("{value} is not a percentage between 1 and 100"),
        })
    }
}

fn worker_config(get: &impl Fn(&str) -> Option<String>) -> Result<WorkerConfig, ConfigError> {
    let defaults = WorkerConfig::default();
    let millis = |name, default: Duration| -> Result<Duration, ConfigError> {
        Ok(Duration::from_millis(number(
            get,
            name,
            default.as_millis() as u64,
        )?))
    };
    Ok(WorkerConfig {
        batch: number(get, "BAEDAL_WORKER_BATCH", defaults.batch as u64)?.max(1) as i64,
        max_attempts: number(
            get,
            "BAEDAL_WORKER_MAX_ATTEMPTS",
            defaults.max_attempts as u64,
        )?
        .max(1) as i64,
        lease: millis("BAEDAL_WORKER_LEASE_MS", defaults.lease)?,
        poll: millis("BAEDAL_WORKER_POLL_MS", defaults.poll)?,
        base_backoff: millis("BAEDAL_WORKER_BACKOFF_MS", defaults.base_backoff)?,
        max_backoff: defaults.max_backoff,
        concurrency: number(
            get,
            "BAEDAL_WORKER_CONCURRENCY",
            defaults.concurrency as u64,
        )?
        .max(1) as usize,
        grouping: match get("BAEDAL_WORKER_GROUPING") {
            None => defaults.grouping,
            Some(raw) => Grouping::parse(raw.trim()).ok_or_else(|| ConfigError {
                name: "BAEDAL_WORKER_GROUPING",
                reason: format!("must be auto, always or never, got {raw:?}"),
            })?,
        },
    })
}

fn kakao_config(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Option<AlimtalkConfig>, ConfigError> {
    let keys = [
        "KAKAO_ALIMTALK_APP_KEY",
        "KAKAO_ALIMTALK_SECRET_KEY",
        "KAKAO_ALIMTALK_SENDER_KEY",
    ];
    let values: Vec<Option<String>> = keys.iter().map(|name| get(name)).collect();
    if values.iter().all(Option::is_none) {
        return Ok(None);
    }
    if let Some(missing) = keys.iter().zip(&values).find(|(_, v)| v.is_none()) {
        return Err(ConfigError {
            name: missing.0,
            reason: "the KakaoTalk channel needs the app key, secret key and sender key together"
                .into(),
        });
    }
    let [app_key, secret_key, sender_key] =
        <[Option<String>; 3]>::try_from(values).expect("three keys");
    Ok(Some(AlimtalkConfig {
        base_url: get("KAKAO_ALIMTALK_URL")
            .unwrap_or_else(|| "https://api-alimtalk.cloud.toast.com".into()),
        app_key: app_key.expect("checked"),
        secret_key: secret_key.expect("checked"),
        sender_key: sender_key.expect("checked"),
        timeout: Duration::from_millis(number(get, "BAEDAL_KAKAO_TIMEOUT_MS", 3_000)?.max(1)),
        breaker: BreakerConfig {
            open_for: Duration::from_millis(number(get, "BAEDAL_KAKAO_BREAKER_OPEN_MS", 30_000)?),
            ..BreakerConfig::default()
        },
    }))
}

fn sender_config(get: &impl Fn(&str) -> Option<String>) -> Result<SenderConfig, ConfigError> {
    let defaults = SenderConfig::default();
    Ok(SenderConfig {
        max_attempts: number(
            get,
            "BAEDAL_KAKAO_MAX_ATTEMPTS",
            defaults.max_attempts as u64,
        )?
        .max(1) as i64,
        base_backoff: Duration::from_millis(number(
            get,
            "BAEDAL_KAKAO_BACKOFF_MS",
            defaults.base_backoff.as_millis() as u64,
        )?),
        poll: Duration::from_millis(
            number(
                get,
                "BAEDAL_KAKAO_POLL_MS",
                defaults.poll.as_millis() as u64,
            )?
            .max(10),
        ),
        ..defaults
    })
}

fn payment_settings(get: &impl Fn(&str) -> Option<String>) -> Result<PaymentSettings, ConfigError> {
    let defaults = BreakerConfig::default();
    let millis = |name, default: Duration| -> Result<Duration, ConfigError> {
        Ok(Duration::from_millis(number(
            get,
            name,
            default.as_millis() as u64,
        )?))
    };
    Ok(PaymentSettings {
        timeout: millis(
            "BAEDAL_PAYMENT_TIMEOUT_MS",
            PaymentSettings::default().timeout,
        )?,
        breaker: BreakerConfig {
            window: number(get, "BAEDAL_BREAKER_WINDOW", defaults.window as u64)?.max(1) as usize,
            min_calls: number(get, "BAEDAL_BREAKER_MIN_CALLS", defaults.min_calls as u64)?.max(1)
                as usize,
            failure_rate: percent(get, "BAEDAL_BREAKER_FAILURE_RATE_PERCENT", 50)?,
            slow_call_rate: percent(get, "BAEDAL_BREAKER_SLOW_CALL_RATE_PERCENT", 50)?,
            slow_call: millis("BAEDAL_BREAKER_SLOW_CALL_MS", defaults.slow_call)?,
            open_for: millis("BAEDAL_BREAKER_OPEN_MS", defaults.open_for)?,
            half_open_probes: number(
                get,
                "BAEDAL_BREAKER_PROBES",
                defaults.half_open_probes as u64,
            )?
            .max(1) as usize,
        },
    })
}

fn flag(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match get(name).as_deref() {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(other) => Err(ConfigError {
            name,
            reason: format!("{other:?} is not true/false"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_need_no_environment() {
        let config = config(&[]).unwrap();
        assert_eq!(config.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(config.database_url, "sqlite://data/baedal.db?mode=rwc");
        assert_eq!(config.log_format, LogFormat::Pretty);
        assert!(config.seed_demo);
        assert!(!config.secure_cookies);
        assert_eq!(
            config.payment_provider,
            PaymentProvider::Sandbox {
                url: "http://127.0.0.1:3001".into()
            }
        );
        assert_eq!(config.payment.timeout, Duration::from_secs(3));
        assert_eq!(config.payment.breaker, BreakerConfig::default());
    }

    #[test]
    fn gateway_settings_are_read_and_checked() {
        let config = config(&[
            ("BAEDAL_GATEWAY_UPSTREAMS", "127.0.0.1:3101, web-2:3000"),
            ("BAEDAL_GATEWAY_SIGNIN_PER_MIN", "12"),
            ("BAEDAL_DRAIN_MS", "500"),
        ])
        .unwrap();
        assert_eq!(config.gateway.upstreams, ["127.0.0.1:3101", "web-2:3000"]);
        assert_eq!(config.gateway.sign_in_per_minute, 12);
        assert_eq!(config.gateway.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(config.drain, Duration::from_millis(500));
        for bad in ["127.0.0.1", "web:0", "a b:80", "x;y:80", ","] {
            let error = super::tests::config(&[("BAEDAL_GATEWAY_UPSTREAMS", bad)]).unwrap_err();
            assert_eq!(error.name, "BAEDAL_GATEWAY_UPSTREAMS", "{bad}");
        }
        let error = super::tests::config(&[("BAEDAL_GATEWAY_CHECKOUT_PER_MIN", "0")]).unwrap_err();
        assert_eq!(error.name, "BAEDAL_GATEWAY_CHECKOUT_PER_MIN");
    }

    #[test]
    fn payment_settings_are_configurable_and_checked() {
        let config = config(&[
            ("BAEDAL_PAYMENT_PROVIDER", "toss"),
            ("TOSS_SECRET_KEY", "test_sk_123"),
            ("BAEDAL_PAYMENT_TIMEOUT_MS", "1500"),
            ("BAEDAL_BREAKER_FAILURE_RATE_PERCENT", "25"),
        ])
        .unwrap();
        assert!(
            matches!(config.payment_provider, PaymentProvider::Toss { ref secret_key, .. } if secret_key == "test_sk_123")
        );
        assert_eq!(config.payment.timeout, Duration::from_millis(1500));
        assert_eq!(config.payment.breaker.failure_rate, 0.25);
        let error = super::tests::config(&[("BAEDAL_PAYMENT_PROVIDER", "toss")]).unwrap_err();
        assert_eq!(error.name, "TOSS_SECRET_KEY");
        let error =
            super::tests::config(&[("BAEDAL_BREAKER_SLOW_CALL_RATE_PERCENT", "150")]).unwrap_err();
        assert_eq!(error.name, "BAEDAL_BREAKER_SLOW_CALL_RATE_PERCENT");
    }

    #[test]
    fn debug_output_hides_every_secret() {
        let config = config(&[
            (
                "DATABASE_URL",
                "postgres://baedal:pg-secret-pw@db:5432/baedal",
            ),
            ("BAEDAL_PAYMENT_PROVIDER", "toss"),
            ("TOSS_SECRET_KEY", "test_sk_toss_secret"),
            ("KAKAO_ALIMTALK_APP_KEY", "kakao-app-key-secret"),
            ("KAKAO_ALIMTALK_SECRET_KEY", "kakao-secret-key-secret"),
            ("KAKAO_ALIMTALK_SENDER_KEY", "kakao-sender-key-secret"),
            ("BAEDAL_METRICS_TOKEN", "metrics-token-secret"),
        ])
        .unwrap();
        let printed = format!("{config:?} {config:#?}");
        for secret in [
            "pg-secret-pw",
            "test_sk_toss_secret",
            "kakao-app-key-secret",
            "kakao-secret-key-secret",
            "kakao-sender-key-secret",
            "metrics-token-secret",
        ] {
            assert!(!printed.contains(secret), "{secret} printed in {printed}");
        }
        assert!(
            printed.contains("postgres://baedal:***@db:5432/baedal"),
            "{printed}"
        );
        assert!(printed.contains(REDACTED), "{printed}");
    }

    #[test]
    fn security_settings_parse_and_bad_values_name_the_variable() {
        let config = config(&[
            (
                "BAEDAL_ALLOWED_ORIGINS",
                "https://Baedal.example/, http://127.0.0.1:8080",
            ),
            ("BAEDAL_LIMIT_SIGNIN_ACCOUNT", "3/60"),
            ("BAEDAL_LIMIT_CHECKOUT_ADDRESS", "off"),
            ("BAEDAL_TRUST_FORWARDED", "true"),
        ])
        .unwrap();
        assert_eq!(
            config.allowed_origins,
            ["https://baedal.example", "http://127.0.0.1:8080"]
        );
        assert_eq!(config.limits.sign_in_account, Limit::new(3, 60));
        assert_eq!(config.limits.checkout_address, Limit::OFF);
        assert!(config.trust_forwarded);
        assert!(config.metrics_token.is_none());
        let error =
            super::tests::config(&[("BAEDAL_ALLOWED_ORIGINS", "evil.example")]).unwrap_err();
        assert_eq!(error.name, "BAEDAL_ALLOWED_ORIGINS");
        let error = super::tests::config(&[("BAEDAL_LIMIT_SIGNUP_ADDRESS", "lots")]).unwrap_err();
        assert_eq!(error.name, "BAEDAL_LIMIT_SIGNUP_ADDRESS");
    }

    #[test]
    fn settings_override_defaults_and_bad_values_name_the_variable() {
        let config = config(&[
            ("BAEDAL_DATA_DIR", "/var/lib/baedal"),
            ("BAEDAL_LOG_FORMAT", "json"),
            ("BAEDAL_SEED_DEMO", "false"),
        ])
        .unwrap();
        assert_eq!(
            config.database_url,
            "sqlite:///var/lib/baedal/baedal.db?mode=rwc"
        );
        assert_eq!(config.log_format, LogFormat::Json);
        assert!(!config.seed_demo);
        let sessions = super::tests::config(&[]).unwrap();
        assert_eq!(sessions.session_idle, Duration::from_secs(7 * 24 * 3600));
        assert_eq!(
            sessions.session_lifetime,
            Duration::from_secs(30 * 24 * 3600)
        );
        let sessions = super::tests::config(&[
            ("BAEDAL_SESSION_IDLE_S", "600"),
            ("BAEDAL_SESSION_MAX_S", "3600"),
        ])
        .unwrap();
        assert_eq!(sessions.session_idle, Duration::from_secs(600));
        assert_eq!(sessions.session_lifetime, Duration::from_secs(3600));
        let error = super::tests::config(&[("BAEDAL_SESSION_IDLE_S", "a week")]).unwrap_err();
        assert_eq!(error.name, "BAEDAL_SESSION_IDLE_S");

        let error = super::tests::config(&[("BAEDAL_ADDR", "localhost")]).unwrap_err();
        assert_eq!(error.name, "BAEDAL_ADDR");
        let error = super::tests::config(&[("BAEDAL_SEED_DEMO", "maybe")]).unwrap_err();
        assert_eq!(error.name, "BAEDAL_SEED_DEMO");
    }
}
