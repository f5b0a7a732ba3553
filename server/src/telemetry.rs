//! Logs and traces via `tracing`. `RUST_LOG` filters (default: info for Baedal, warn for the
//! rest); `BAEDAL_LOG_FORMAT=json` emits one JSON object per line for log collectors. Logs go
//! to stderr; stdout carries only the "running at" line people and scripts look for.

use crate::config::LogFormat;
use tracing_subscriber::EnvFilter;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("warn,baedal=info,server=info,app=info,tower_http=info")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
    };
}
