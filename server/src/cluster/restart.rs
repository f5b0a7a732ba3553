//! A started cluster kept running: one web instance or all of them restarted (the rolling
//! restart), and processes that exited by themselves started again.

use super::{Cluster, ClusterError, BETWEEN_RESTARTS};
use std::time::{Duration, Instant};

impl Cluster {
    /// SIGKILL web instance `index` (no drain, no shutdown).
    pub fn kill_web(&mut self, index: usize) {
        self.web[index].kill();
    }

    /// Starts web instance `index` again on its port (after [`Self::kill_web`] or an exit) and
    /// waits until it is ready.
    pub async fn start_web(&mut self, index: usize) -> Result<(), ClusterError> {
        self.web[index].kill();
        self.web[index] = self.spawn_web(index)?;
        self.wait_ready(index).await
    }

    /// SIGTERM web instance `index` (it drains and stops), then start it again.
    pub async fn restart_web(&mut self, index: usize) -> Result<(), ClusterError> {
        self.web[index].signal("TERM");
        self.web[index].wait(Duration::from_secs(60)).await;
        self.start_web(index).await
    }

    /// Restarts every web instance, one at a time. `progress` hears of each step.
    pub async fn rolling_restart(
        &mut self,
        mut progress: impl FnMut(&str),
    ) -> Result<(), ClusterError> {
        for index in 0..self.web.len() {
            if index > 0 {
                tokio::time::sleep(BETWEEN_RESTARTS).await;
            }
            progress(&format!(
                "web-{} ({}): draining and stopping",
                index + 1,
                self.web_addrs[index]
            ));
            let started = Instant::now();
            self.restart_web(index).await?;
            progress(&format!(
                "web-{} ready again after {:.1} s",
                index + 1,
                started.elapsed().as_secs_f64()
            ));
        }
        self.restarts += 1;
        Ok(())
    }

    /// Processes that exited by themselves since the last look, by name; web instances and
    /// workers among them are started again.
    pub async fn revive(&mut self) -> Vec<String> {
        let mut revived = Vec::new();
        for index in 0..self.web.len() {
            if !self.web[index].running() {
                revived.push(self.web[index].name.clone());
                if let Err(error) = self.start_web(index).await {
                    tracing::error!(%error, "could not start a web instance again");
                }
            }
        }
        for index in 0..self.workers.len() {
            if !self.workers[index].running() {
                revived.push(self.workers[index].name.clone());
                match self.spawn_worker(index) {
                    Ok(proc) => self.workers[index] = proc,
                    Err(error) => tracing::error!(%error, "could not start a worker again"),
                }
            }
        }
        let nginx_gone = self.nginx.as_mut().is_some_and(|nginx| !nginx.running());
        if nginx_gone {
            revived.push("nginx".into());
            if let Err(error) = self.start_nginx().await {
                tracing::error!(%error, "could not start nginx again");
            }
        }
        revived
    }
}
