//! The outbox worker (`BAEDAL_WORKER_*`).

use super::read::{self, number};
use super::ConfigError;
use app::backend::worker::{Grouping, WorkerConfig};

pub(super) fn worker_config(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<WorkerConfig, ConfigError> {
    let defaults = WorkerConfig::default();
    let millis = |name, default| read::millis(get, name, default);
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
