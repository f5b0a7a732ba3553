//! The nginx gateway's settings (`BAEDAL_GATEWAY_*`, `BAEDAL_RUN_DIR`).

use super::read::number;
use super::ConfigError;
use std::net::SocketAddr;
use std::path::PathBuf;

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

pub(super) fn gateway_settings(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<GatewaySettings, ConfigError> {
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
