//! `baedal cluster`: several web instances, separate outbox workers, the sandbox payment
//! provider and the nginx gateway on one machine, on one PostgreSQL database — the shape of a
//! real deployment, small enough for a laptop, and what the gateway test drives.
//!
//! Every process is a child of the supervisor: web instances run `baedal` with the in-process
//! worker off (`BAEDAL_WORKER=false`), each on its own loopback port, trusting the gateway's
//! `X-Forwarded-For` and the gateway's origin; workers run `baedal worker`; nginx runs as the
//! current user (`-p` on the run directory, `daemon off`) with the configuration rendered by
//! [`crate::gateway`] from the same settings. Nothing is installed as a system service.
//!
//! The first web instance starts alone (it migrates the database and seeds the demo data on
//! a first start), the rest after it is ready. A rolling restart stops one web instance at a
//! time with SIGTERM (it drains: see `RunningServer::drain`), starts it again on the same port,
//! waits until it answers `/readyz`, and lets nginx's failure window (`fail_timeout`) pass
//! before the next, so that at most one instance is ever out of rotation.
//!
//! Processes are managed with `std::process` (polling `try_wait`) and signalled with the
//! system's `kill`, to need no other dependency.

use crate::config::Config;
use crate::gateway::Gateway;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long nginx keeps an instance out after a failed connection (`fail_timeout` in
/// [`crate::gateway`]), plus a margin: the wait between two instances of a rolling restart.
pub const BETWEEN_RESTARTS: Duration = Duration::from_millis(3_000);

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("the cluster needs PostgreSQL (instances share its SKIP LOCKED queue and LISTEN/NOTIFY): set DATABASE_URL=postgres://… (now {0})")]
    NotPostgres(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("{what} did not start: {why}\n--- last lines of {log} ---\n{tail}")]
    DidNotStart {
        what: String,
        why: String,
        log: String,
        tail: String,
    },
    #[error("nginx refused its configuration:\n{0}")]
    NginxConfig(String),
    #[error("nginx is not installed: run scripts/ensure-tools.sh gateway")]
    NoNginx,
}

/// What to start.
pub struct ClusterSpec {
    pub web: usize,
    pub workers: usize,
    /// Where `baedal` and `sandbox-pay` are (the supervisor's own directory).
    pub bin_dir: PathBuf,
    /// The settings: database, site root, payment provider, gateway (`BAEDAL_GATEWAY_*`; port
    /// 0 in `BAEDAL_GATEWAY_ADDR` picks a free port), run directory (emptied first).
    pub config: Config,
    /// Settings for every process on top of the inherited environment.
    pub env: Vec<(String, String)>,
    /// Start `sandbox-pay` (on a free port) when payments go to the sandbox and
    /// `BAEDAL_SANDBOX_PAY_URL` is not given.
    pub start_sandbox: bool,
}

struct Proc {
    name: String,
    child: Option<Child>,
    log: PathBuf,
}

impl Proc {
    fn spawn(name: &str, mut command: Command, log: PathBuf) -> Result<Proc, ClusterError> {
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
    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => {
                self.child = None;
                Some(status)
            }
            _ => None,
        }
    }

    fn running(&mut self) -> bool {
        self.child.is_some() && self.exited().is_none()
    }

    fn signal(&self, signal: &str) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill")
                .args([&format!("-{signal}"), &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
    }

    /// Waits for the exit, up to `within`; then SIGKILL.
    async fn wait(&mut self, within: Duration) {
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
    fn kill(&mut self) {
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

    fn did_not_start(&self, why: impl Into<String>) -> ClusterError {
        ClusterError::DidNotStart {
            what: self.name.clone(),
            why: why.into(),
            log: self.log.display().to_string(),
            tail: self.tail(),
        }
    }
}

/// A running cluster. Dropping it kills every process (a test that fails leaves nothing
/// behind); [`Cluster::stop`] stops them cleanly.
pub struct Cluster {
    spec: ClusterSpec,
    gateway_addr: SocketAddr,
    web_addrs: Vec<SocketAddr>,
    sandbox_url: String,
    web: Vec<Proc>,
    workers: Vec<Proc>,
    sandbox: Option<Proc>,
    nginx: Option<Proc>,
    restarts: u64,
}

fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn http_ok(url: &str) -> bool {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("http client");
    matches!(client.get(url).send().await, Ok(response) if response.status().is_success())
}

impl Cluster {
    pub async fn start(spec: ClusterSpec) -> Result<Cluster, ClusterError> {
        let url = &spec.config.database_url;
        if !url.starts_with("postgres:") && !url.starts_with("postgresql:") {
            return Err(ClusterError::NotPostgres(
                app::backend::db::redact(url).to_string(),
            ));
        }
        if Command::new("nginx")
            .arg("-v")
            .stderr(Stdio::null())
            .status()
            .is_err()
        {
            return Err(ClusterError::NoNginx);
        }
        let run_dir = &spec.config.gateway.run_dir;
        if run_dir.exists() {
            std::fs::remove_dir_all(run_dir)?;
        }
        std::fs::create_dir_all(run_dir)?;
        let mut gateway_addr = spec.config.gateway.addr;
        if gateway_addr.port() == 0 {
            gateway_addr.set_port(free_port()?);
        }
        let web_addrs = (0..spec.web.max(1))
            .map(|_| Ok(SocketAddr::from(([127, 0, 0, 1], free_port()?))))
            .collect::<std::io::Result<Vec<_>>>()?;
        let mut cluster = Cluster {
            sandbox_url: String::new(),
            gateway_addr,
            web_addrs,
            web: Vec::new(),
            workers: Vec::new(),
            sandbox: None,
            nginx: None,
            restarts: 0,
            spec,
        };
        cluster.start_sandbox().await?;
        // The first instance alone: it migrates and seeds. Then the others and the workers.
        cluster.web.push(cluster.spawn_web(0)?);
        cluster.wait_ready(0).await?;
        for index in 1..cluster.web_addrs.len() {
            let proc = cluster.spawn_web(index)?;
            cluster.web.push(proc);
        }
        for index in 1..cluster.web_addrs.len() {
            cluster.wait_ready(index).await?;
        }
        for index in 0..cluster.spec.workers {
            let proc = cluster.spawn_worker(index)?;
            cluster.workers.push(proc);
        }
        cluster.start_nginx().await?;
        for worker in &mut cluster.workers {
            if !worker.running() {
                return Err(worker.did_not_start("exited"));
            }
        }
        Ok(cluster)
    }

    /// The gateway's URL: the one address users are given.
    pub fn url(&self) -> String {
        format!("http://{}", self.gateway_addr)
    }

    /// Each web instance's own URL (for operators and tests; users go through the gateway).
    pub fn web_urls(&self) -> Vec<String> {
        self.web_addrs
            .iter()
            .map(|a| format!("http://{a}"))
            .collect()
    }

    pub fn sandbox_url(&self) -> &str {
        &self.sandbox_url
    }

    pub fn run_dir(&self) -> &Path {
        &self.spec.config.gateway.run_dir
    }

    /// How many rolling restarts have completed.
    pub fn restarts(&self) -> u64 {
        self.restarts
    }

    fn base_command(&self, program: &str) -> Command {
        let mut command = Command::new(self.spec.bin_dir.join(program));
        for (name, value) in &self.spec.env {
            command.env(name, value);
        }
        command
    }

    fn app_command(&self) -> Command {
        let config = &self.spec.config;
        let mut command = self.base_command("baedal");
        command
            .env("DATABASE_URL", &config.database_url)
            .env("BAEDAL_SITE_ROOT", absolute(&config.site_root))
            .env("BAEDAL_SANDBOX_PAY_URL", &self.sandbox_url)
            .env("BAEDAL_WORKER", "false");
        command
    }

    fn spawn_web(&self, index: usize) -> Result<Proc, ClusterError> {
        let mut command = self.app_command();
        command
            .env("BAEDAL_ADDR", self.web_addrs[index].to_string())
            .env("BAEDAL_TRUST_FORWARDED", "true")
            .env("BAEDAL_ALLOWED_ORIGINS", self.url());
        let log = self.run_dir().join(format!("web-{}.log", index + 1));
        Proc::spawn(&format!("web-{}", index + 1), command, log)
    }

    fn spawn_worker(&self, index: usize) -> Result<Proc, ClusterError> {
        let mut command = self.app_command();
        command.arg("worker");
        let log = self.run_dir().join(format!("worker-{}.log", index + 1));
        Proc::spawn(&format!("worker-{}", index + 1), command, log)
    }

    async fn start_sandbox(&mut self) -> Result<(), ClusterError> {
        let configured = match &self.spec.config.payment_provider {
            crate::config::PaymentProvider::Sandbox { url } => url.clone(),
            crate::config::PaymentProvider::Toss { url, .. } => url.clone(),
        };
        if !self.spec.start_sandbox {
            self.sandbox_url = configured;
            return Ok(());
        }
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let mut command = self.base_command("sandbox-pay");
        command.env("SANDBOX_PAY_ADDR", addr.to_string());
        let mut proc = Proc::spawn(
            "sandbox-pay",
            command,
            self.run_dir().join("sandbox-pay.log"),
        )?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            if !proc.running() || Instant::now() > deadline {
                return Err(proc.did_not_start("does not accept connections"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.sandbox_url = format!("http://{addr}");
        self.sandbox = Some(proc);
        Ok(())
    }

    /// Waits until web instance `index` answers `/readyz` with 200 (up to 60 s).
    async fn wait_ready(&mut self, index: usize) -> Result<(), ClusterError> {
        let url = format!("http://{}/readyz", self.web_addrs[index]);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if http_ok(&url).await {
                return Ok(());
            }
            let proc = &mut self.web[index];
            if !proc.running() {
                return Err(proc.did_not_start("exited before it was ready"));
            }
            if Instant::now() > deadline {
                return Err(proc.did_not_start("not ready within 60 s"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn gateway(&self) -> Gateway {
        let mut config = self.spec.config.clone();
        config.gateway.addr = self.gateway_addr;
        config.gateway.upstreams = self.web_addrs.iter().map(|a| a.to_string()).collect();
        config.gateway.run_dir = absolute(&config.gateway.run_dir);
        config.site_root = absolute(&config.site_root);
        Gateway::from_config(&config)
    }

    async fn start_nginx(&mut self) -> Result<(), ClusterError> {
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

    /// Stops everything cleanly: nginx first (no new requests), then every instance and worker
    /// with SIGTERM at once, then the sandbox.
    pub async fn stop(mut self) {
        if let Some(nginx) = &mut self.nginx {
            nginx.signal("QUIT");
        }
        for proc in self.web.iter().chain(&self.workers) {
            proc.signal("TERM");
        }
        if let Some(nginx) = &mut self.nginx {
            nginx.wait(Duration::from_secs(10)).await;
        }
        for proc in self.web.iter_mut().chain(&mut self.workers) {
            proc.wait(Duration::from_secs(30)).await;
        }
        if let Some(sandbox) = &mut self.sandbox {
            sandbox.signal("TERM");
            sandbox.wait(Duration::from_secs(5)).await;
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // nginx's workers outlive a killed master (and keep the port): ask it to stop.
        if let Some(nginx) = &mut self.nginx {
            nginx.signal("TERM");
            let deadline = Instant::now() + Duration::from_secs(3);
            while nginx.child.is_some() && nginx.exited().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        for proc in self
            .web
            .iter_mut()
            .chain(&mut self.workers)
            .chain(self.nginx.as_mut())
            .chain(self.sandbox.as_mut())
        {
            proc.kill();
        }
    }
}

fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|dir| dir.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    }
}
