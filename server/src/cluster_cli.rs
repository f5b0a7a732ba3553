//! `baedal cluster` and `baedal cluster restart`, the binary's side of the supervisor (the
//! supervision itself is the library's [`server::cluster`]): its options, its signals and pid
//! file, and asking a running supervisor for a rolling restart.

use crate::shutdown_signal;
use server::config::Config;
use std::process::ExitCode;

/// `--web N --workers M` (defaults 3 and 2).
pub fn cluster_options(options: &[&str]) -> Result<(usize, usize), String> {
    let (mut web, mut workers) = (3, 2);
    let mut rest = options.iter();
    while let Some(option) = rest.next() {
        let target = match *option {
            "--web" => &mut web,
            "--workers" => &mut workers,
            other => return Err(format!("unknown option {other:?}")),
        };
        let value = rest.next().ok_or(format!("{option} needs a number"))?;
        *target = value
            .parse()
            .ok()
            .filter(|n| (1..=32).contains(n) || (*option == "--workers" && *n == 0))
            .ok_or(format!("{option} {value:?}: not a number from 1 to 32"))?;
    }
    Ok((web, workers))
}

const SUPERVISOR_PID: &str = "cluster.pid";
const RESTARTS_DONE: &str = "rolling-restarts-done";

/// Runs the cluster until Ctrl-C or SIGTERM; SIGUSR1 (`baedal cluster restart`) restarts the
/// web instances one by one; an instance or worker that exits by itself is started again.
pub async fn cluster(config: Config, web: usize, workers: usize) -> ExitCode {
    use server::cluster::{Cluster, ClusterSpec};
    let bin_dir = match std::env::current_exe() {
        Ok(exe) => exe.parent().map(Into::into).unwrap_or_default(),
        Err(error) => {
            eprintln!("cannot find my own binary: {error}");
            return ExitCode::FAILURE;
        }
    };
    let start_sandbox = matches!(
        config.payment_provider,
        server::config::PaymentProvider::Sandbox { .. }
    ) && std::env::var_os("BAEDAL_SANDBOX_PAY_URL").is_none();
    let spec = ClusterSpec {
        web,
        workers,
        bin_dir,
        config,
        env: Vec::new(),
        start_sandbox,
    };
    eprintln!("starting {web} web instances, {workers} workers and the gateway…");
    let mut cluster = match Cluster::start(spec).await {
        Ok(cluster) => cluster,
        Err(error) => {
            eprintln!("the cluster could not start: {error}");
            return ExitCode::FAILURE;
        }
    };
    let run_dir = cluster.run_dir().to_path_buf();
    let _ = std::fs::write(run_dir.join(SUPERVISOR_PID), std::process::id().to_string());
    let _ = std::fs::write(run_dir.join(RESTARTS_DONE), "0 none");
    for (index, url) in cluster.web_urls().iter().enumerate() {
        eprintln!(
            "  web-{} at {url} (log: {}/web-{}.log)",
            index + 1,
            run_dir.display(),
            index + 1
        );
    }
    eprintln!(
        "  logs, pid files and the nginx configuration: {}",
        run_dir.display()
    );
    println!(
        "
  Baedal is running at {}
",
        cluster.url()
    );
    eprintln!("  (Ctrl-C stops everything; `./baedal cluster restart` restarts the web instances one by one)");

    let mut restarts =
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1()) {
            Ok(signal) => signal,
            Err(error) => {
                eprintln!("cannot listen for SIGUSR1: {error}");
                cluster.stop().await;
                return ExitCode::FAILURE;
            }
        };
    let stop = shutdown_signal();
    tokio::pin!(stop);
    let mut checks = tokio::time::interval(std::time::Duration::from_secs(1));
    let mut attempts = 0u64;
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = restarts.recv() => {
                eprintln!("rolling restart");
                let result = cluster.rolling_restart(|step| eprintln!("  {step}")).await;
                attempts += 1;
                let outcome = match result {
                    Ok(()) => "ok".to_string(),
                    Err(error) => format!("FAILED: {error}"),
                };
                eprintln!("rolling restart {outcome}");
                let _ = std::fs::write(run_dir.join(RESTARTS_DONE), format!("{attempts} {outcome}"));
            }
            _ = checks.tick() => {
                for name in cluster.revive().await {
                    eprintln!("{name} had exited: started again");
                }
            }
        }
    }
    eprintln!("stopping the cluster");
    cluster.stop().await;
    let _ = std::fs::remove_file(run_dir.join(SUPERVISOR_PID));
    ExitCode::SUCCESS
}

/// Asks the running cluster (its pid file in the run directory) for a rolling restart and
/// waits until it reports it done.
pub async fn cluster_restart(config: &Config) -> ExitCode {
    let run_dir = &config.gateway.run_dir;
    let Some(pid) = std::fs::read_to_string(run_dir.join(SUPERVISOR_PID))
        .ok()
        .and_then(|pid| pid.trim().parse::<u32>().ok())
    else {
        eprintln!(
            "no cluster is running here (no pid file in {})",
            run_dir.display()
        );
        return ExitCode::FAILURE;
    };
    // "<attempts> <outcome>", written by the supervisor after each rolling restart.
    let done = || std::fs::read_to_string(run_dir.join(RESTARTS_DONE)).unwrap_or_default();
    let before = done();
    let sent = std::process::Command::new("kill")
        .args(["-USR1", &pid.to_string()])
        .status();
    if !sent.is_ok_and(|status| status.success()) {
        eprintln!("cannot signal the cluster (pid {pid})");
        return ExitCode::FAILURE;
    }
    eprintln!("rolling restart asked of the cluster (pid {pid}); its terminal shows each step");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(600);
    while done() == before {
        if std::time::Instant::now() > deadline {
            eprintln!("the rolling restart did not finish within 10 minutes");
            return ExitCode::FAILURE;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let report = done();
    let outcome = report
        .split_once(' ')
        .map(|(_, outcome)| outcome)
        .unwrap_or("");
    eprintln!("rolling restart {outcome}");
    if outcome == "ok" {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
