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

//!
//! Here: what to start, the start and the stop; one child process in `process`, nginx in
//! `nginx`, restarts and revival in `restart`.

mod nginx;
mod process;
mod restart;

use crate::config::Config;
use process::Proc;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
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
