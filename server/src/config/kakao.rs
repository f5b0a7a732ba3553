//! The KakaoTalk (알림톡) channel (`KAKAO_ALIMTALK_*`, `BAEDAL_KAKAO_TIMEOUT_MS`,
//! `BAEDAL_KAKAO_BREAKER_OPEN_MS`) and the retries of its messages (`BAEDAL_KAKAO_MAX_ATTEMPTS`,
//! `_BACKOFF_MS`, `_POLL_MS`).

use super::read::number;
use super::ConfigError;
use app::backend::notifications::alimtalk::AlimtalkConfig;
use app::backend::notifications::SenderConfig;
use app::backend::payments::breaker::BreakerConfig;
use std::time::Duration;

pub(super) fn kakao_config(
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

pub(super) fn sender_config(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<SenderConfig, ConfigError> {
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
