//! Who may send what: other allowed origins (`BAEDAL_ALLOWED_ORIGINS`) and the rate limits
//! (`BAEDAL_LIMIT_*`).

use super::ConfigError;
use app::backend::limits::{Limit, LimitConfig};

/// `scheme://host[:port]` origins, lower-case, without a trailing slash.
pub(super) fn allowed_origins(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<String>, ConfigError> {
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

pub(super) fn limit_config(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<LimitConfig, ConfigError> {
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
        address_search_account: limit(
            "BAEDAL_LIMIT_ADDRESS_SEARCH_ACCOUNT",
            defaults.address_search_account,
        )?,
    })
}
