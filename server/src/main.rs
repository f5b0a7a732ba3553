//! `baedal`: runs the Baedal web app. Configuration comes from the environment (see README).

use server::{config::Config, telemetry};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("configuration error: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    let server = match server::start(config).await {
        Ok(server) => server,
        Err(error) => {
            tracing::error!(%error, "could not start");
            eprintln!("Baedal could not start: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    tracing::info!(addr = %server.addr, "listening");
    println!("\n  Baedal is running at {}\n", server.url());

    shutdown_signal().await;
    tracing::info!("shutting down: finishing requests in flight");
    match server.shutdown().await {
        Ok(()) => {
            tracing::info!("stopped");
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(%error, "server error during shutdown");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Resolves on SIGTERM (how process managers stop us) or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
