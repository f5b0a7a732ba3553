//! Payments: the provider (`BAEDAL_PAYMENT_PROVIDER`, sandbox or Toss), the call timeout and
//! the circuit breaker (`BAEDAL_PAYMENT_TIMEOUT_MS`, `BAEDAL_BREAKER_*`).

use super::read::{self, number, percent};
use super::{ConfigError, REDACTED};
use app::backend::payments::breaker::BreakerConfig;
use app::backend::payments::PaymentSettings;

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

pub(super) fn payment_provider(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<PaymentProvider, ConfigError> {
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

pub(super) fn payment_settings(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<PaymentSettings, ConfigError> {
    let defaults = BreakerConfig::default();
    let millis = |name, default| read::millis(get, name, default);
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
