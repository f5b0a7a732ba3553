//! `baedal`: runs the Baedal web app. Configuration comes from the environment (see README).
//!
//!   baedal                       serve the app (and run the outbox worker unless BAEDAL_WORKER=false)
//!   baedal worker                run only the outbox worker (more workers for a shared PostgreSQL)
//!   baedal outbox dead           list events parked after too many failures
//!   baedal outbox replay ID      put a dead event back in the queue
//!   baedal rebuild-views         rebuild the order-status view from the event history
//!   baedal notifications failed  list KakaoTalk messages that finally failed, with their error
//!   baedal notifications retry ID  send a failed KakaoTalk message again
//!   baedal gateway-config [--example]  print the nginx configuration for these settings
//!   baedal cluster [--web N] [--workers M]  nginx + N web instances + M workers (PostgreSQL)
//!   baedal cluster restart       rolling restart of the running cluster's web instances

mod cluster_cli;

use cluster_cli::{cluster, cluster_options, cluster_restart};
use server::{config::Config, telemetry};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log_format);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        [] => serve(config).await,
        ["worker"] => worker_only(config).await,
        ["gateway-config"] => {
            print!(
                "{}",
                server::gateway::Gateway::from_config(&config).render()
            );
            ExitCode::SUCCESS
        }
        ["gateway-config", "--example"] => {
            print!("{}", server::gateway::Gateway::example().render());
            ExitCode::SUCCESS
        }
        ["cluster", "restart"] => cluster_restart(&config).await,
        ["cluster", options @ ..] => match cluster_options(options) {
            Ok((web, workers)) => cluster(config, web, workers).await,
            Err(error) => {
                eprintln!("cluster: {error}");
                eprintln!("usage: baedal cluster [--web N] [--workers M] | baedal cluster restart");
                ExitCode::from(2)
            }
        },
        ["outbox", "dead"] => {
            operator(config, |state| async move {
                let dead = app::backend::worker::dead_events(&state).await?;
                if dead.is_empty() {
                    println!("no dead events");
                }
                for event in dead {
                    let subject = match &event.payment_id {
                        Some(payment_id) => format!("payment {payment_id}"),
                        None => format!("order {}", event.order_id),
                    };
                    println!(
                        "#{} {subject} {} after {} attempts: {}",
                        event.id,
                        event.event_type,
                        event.attempts,
                        event.last_error.unwrap_or_default()
                    );
                }
                Ok(())
            })
            .await
        }
        ["outbox", "replay", id] => {
            let Ok(id) = id.parse::<i64>() else {
                eprintln!("replay: {id:?} is not an event id");
                return ExitCode::from(2);
            };
            operator(config, move |state| async move {
                if app::backend::worker::replay(&state, id).await? {
                    println!("event #{id} is queued again");
                } else {
                    println!("event #{id} is not a dead event");
                }
                Ok(())
            })
            .await
        }
        ["rebuild-views"] => {
            operator(config, |state| async move {
                let folded = app::backend::views::rebuild(&state).await?;
                println!("order-status view rebuilt from {folded} events");
                Ok(())
            })
            .await
        }
        ["notifications", "failed"] => {
            operator(config, |state| async move {
                let failed = app::backend::notifications::failed(&state).await?;
                if failed.is_empty() {
                    println!("no failed KakaoTalk messages");
                }
                for message in failed {
                    println!(
                        "#{} order {} {} ({}) to {} after {} attempts: {}",
                        message.id,
                        message
                            .order_id
                            .map(|id| id.to_string())
                            .unwrap_or_default(),
                        message.kind,
                        message.template_code.unwrap_or_default(),
                        message.to,
                        message.attempts,
                        message.last_error.unwrap_or_default()
                    );
                }
                Ok(())
            })
            .await
        }
        ["notifications", "retry", id] => {
            let Ok(id) = id.parse::<i64>() else {
                eprintln!("retry: {id:?} is not a notification id");
                return ExitCode::from(2);
            };
            operator(config, move |state| async move {
                if app::backend::notifications::retry_failed(&state, id).await? {
                    println!("message #{id} is queued again");
                } else {
                    println!("message #{id} is not a failed message");
                }
                Ok(())
            })
            .await
        }
        _ => {
            eprintln!(
                "usage: baedal [worker | outbox dead | outbox replay ID | rebuild-views \
                 | notifications failed | notifications retry ID | gateway-config [--example] \
                 | cluster [--web N] [--workers M] | cluster restart]"
            );
            ExitCode::from(2)
        }
    }
}

async fn serve(config: Config) -> ExitCode {
    let drain = config.drain;
    // Once per process, before any connection: every open page holds one descriptor.
    match server::listener::raise_open_file_limit() {
        Some(limit) => tracing::info!(
            open_files = limit,
            "open-file limit (each open page holds one connection)"
        ),
        None => tracing::warn!("could not read the open-file limit"),
    }
    let server = match server::start(config).await {
        Ok(server) => server,
        Err(error) => {
            tracing::error!(%error, "could not start");
            eprintln!("Baedal could not start: {error}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(addr = %server.addr, "listening");
    println!("\n  Baedal is running at {}\n", server.url());

    shutdown_signal().await;
    tracing::info!(
        drain_ms = drain.as_millis() as u64,
        "shutting down: /readyz now says 503; serving through the drain period, then ending \
         live streams, refusing new connections and finishing requests in flight"
    );
    // A second signal ends the drain at once.
    match server.drain(drain, shutdown_signal()).await {
        Ok(()) => {
            tracing::info!("stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(%error, "server error during shutdown");
            ExitCode::FAILURE
        }
    }
}

async fn worker_only(config: Config) -> ExitCode {
    let state = match server::prepare(&config).await {
        Ok(state) => state,
        Err(error) => {
            eprintln!("Baedal worker could not start: {error}");
            return ExitCode::FAILURE;
        }
    };
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let notifier = tokio::spawn(app::backend::notifications::run_sender(
        state.clone(),
        config.notification_sender,
        stopped.clone(),
    ));
    let worker = tokio::spawn(app::backend::worker::run(
        state.clone(),
        config.worker,
        stopped,
        app::backend::sagas::handler(),
    ));
    shutdown_signal().await;
    let _ = stop.send(true);
    let _ = tokio::join!(worker, notifier);
    state.db.close().await;
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

async fn operator<F, Fut>(config: Config, command: F) -> ExitCode
where
    F: FnOnce(app::backend::AppState) -> Fut,
    Fut: std::future::Future<Output = Result<(), sqlx::Error>>,
{
    let config = Config {
        seed_demo: false,
        ..config
    };
    let state = match server::prepare(&config).await {
        Ok(state) => state,
        Err(error) => {
            eprintln!("cannot open the database: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = command(state.clone()).await;
    state.db.close().await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("failed: {error}");
            ExitCode::FAILURE
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
