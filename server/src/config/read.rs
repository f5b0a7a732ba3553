//! Reading one value: a whole number, milliseconds, a percentage, a flag. A value that cannot be read is an
//! error naming its variable.

use super::ConfigError;
use std::time::Duration;

pub(super) fn number(
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

/// A duration given in whole milliseconds (variables ending in `_MS`).
pub(super) fn millis(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    Ok(Duration::from_millis(number(
        get,
        name,
        default.as_millis() as u64,
    )?))
}

pub(super) fn percent(
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

pub(super) fn flag(
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
