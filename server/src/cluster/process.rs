//! One supervised child process: spawned with its output appended to a log file, signalled
//! with the system's `kill`, polled with `try_wait`, and the log's tail shown when it fails.

use super::ClusterError;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(super) struct Proc {
    pub(super) name: String,
    pub(super) child: Option<Child>,
    log: PathBuf,
}

impl Proc {
    pub(super) fn spawn(
        name: &str,
        mut command: Command,
        log: PathBuf,
    ) -> Result<Proc, ClusterError> {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)?;
        command
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        let child = command.spawn().map_err(|error| ClusterError::DidNotStart {
            what: name.to_string(),
            why: error.to_string(),
            log: log.display().to_string(),
            tail: String::new(),
        })?;
        Ok(Proc {
            name: name.to_string(),
            child: Some(child),
            log,
        })
    }

    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// `Some(status)` once it has exited (reaped).
    pub(super) fn exited(&mut self) -> Option<std::process::ExitStatus> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => {
                self.child = None;
                Some(status)
            }
            _ => None,
        }
    }

    pub(super) fn running(&mut self) -> bool {
        self.child.is_some() && self.exited().is_none()
    }

    pub(super) fn signal(&self, signal: &str) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill")
                .args([&format!("-{signal}"), &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
    }

    /// Waits for the exit, up to `within`; then SIGKILL.
    pub(super) async fn wait(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        while self.child.is_some() {
            if self.exited().is_some() {
                return;
            }
            if Instant::now() >= deadline {
                tracing::warn!(process = %self.name, "did not stop in time: SIGKILL");
                self.kill();
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL and reap: no shutdown, as when the machine dies.
    pub(super) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    pub(super) fn did_not_start(&self, why: impl Into<String>) -> ClusterError {
        ClusterError::DidNotStart {
            what: self.name.clone(),
            why: why.into(),
            log: self.log.display().to_string(),
            tail: self.tail(),
        }
    }
}
