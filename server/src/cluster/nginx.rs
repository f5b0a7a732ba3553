//! The cluster's gateway: nginx's configuration (rendered by [`crate::gateway`] for the
//! cluster's ports and directories), checked with `nginx -t`, then nginx started in front.

use super::process::Proc;
use super::{absolute, http_ok, Cluster, ClusterError};
use crate::gateway::Gateway;
use std::process::Command;
use std::time::{Duration, Instant};

impl Cluster {
    fn gateway(&self) -> Gateway {
        let mut config = self.spec.config.clone();
        config.gateway.addr = self.gateway_addr;
        config.gateway.upstreams = self.web_addrs.iter().map(|a| a.to_string()).collect();
        config.gateway.run_dir = absolute(&config.gateway.run_dir);
        config.site_root = absolute(&config.site_root);
        Gateway::from_config(&config)
    }

    pub(super) async fn start_nginx(&mut self) -> Result<(), ClusterError> {
        let gateway = self.gateway();
        let conf = gateway.write()?;
        let run = &gateway.run_dir;
        let check = Command::new("nginx")
            .arg("-t")
            .arg("-q")
            .arg("-e")
            .arg(run.join("nginx-error.log"))
            .arg("-p")
            .arg(run)
            .arg("-c")
            .arg(&conf)
            .output()?;
        if !check.status.success() {
            return Err(ClusterError::NginxConfig(
                String::from_utf8_lossy(&check.stderr).into_owned(),
            ));
        }
        let mut command = Command::new("nginx");
        command
            .arg("-e")
            .arg(run.join("nginx-error.log"))
            .arg("-p")
            .arg(run)
            .arg("-c")
            .arg(&conf)
            .args(["-g", "daemon off;"]);
        let mut proc = Proc::spawn("nginx", command, run.join("nginx.log"))?;
        let health = format!("{}/healthz", self.url());
        let deadline = Instant::now() + Duration::from_secs(20);
        while !http_ok(&health).await {
            if !proc.running() || Instant::now() > deadline {
                let mut error = proc.did_not_start("does not answer /healthz");
                if let ClusterError::DidNotStart { tail, .. } = &mut error {
                    tail.push_str(
                        &std::fs::read_to_string(run.join("nginx-error.log")).unwrap_or_default(),
                    );
                }
                return Err(error);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.nginx = Some(proc);
        Ok(())
    }
}
