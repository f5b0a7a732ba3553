//! Configuration, read once from the environment at start-up. Every setting has a default
//! that works on a laptop with nothing installed; see the README's configuration table.

use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone)]
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
        })
    }
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

        let error = super::tests::config(&[("BAEDAL_ADDR", "localhost")]).unwrap_err();
        assert_eq!(error.name, "BAEDAL_ADDR");
        let error = super::tests::config(&[("BAEDAL_SEED_DEMO", "maybe")]).unwrap_err();
        assert_eq!(error.name, "BAEDAL_SEED_DEMO");
    }
}
