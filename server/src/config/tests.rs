//! Reading the configuration: defaults, overrides, and errors that name their variable.

use super::*;
use app::backend::limits::Limit;
use app::backend::payments::breaker::BreakerConfig;
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
    let error = super::tests::config(&[("BAEDAL_ALLOWED_ORIGINS", "evil.example")]).unwrap_err();
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
