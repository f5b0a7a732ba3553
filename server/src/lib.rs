//! The Baedal server: configuration, the HTTP router (pages, server functions, static assets,
//! operations endpoints), telemetry, and the process lifecycle.
//!
//! `start` is what the binary runs and what the integration tests run: they start the real
//! server on an ephemeral port and talk to it over HTTP, against SQLite and PostgreSQL.

/// mimalloc instead of glibc's malloc, for every binary that runs the server (and its tests and
/// benchmarks, so they measure what runs in production): a page render is thousands of small
/// allocations, and glibc's malloc spent about a fifth of the server's CPU on them
/// (docs/benchmarks.md, "Pages").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod admission;
mod assets;
pub mod bench;
pub mod cluster;
pub mod config;
pub mod gateway;
pub mod listener;
mod ops;
mod routes;
pub mod sandbox_pay;
pub mod security;
pub mod telemetry;

use app::backend::jobs;
use app::backend::notifications::{self, alimtalk::Alimtalk};
use app::backend::payments::{sandbox::SandboxClient, toss::TossClient, PaymentGateway, Payments};
use app::backend::{seed, AppState, Db, Settings};
use config::PaymentProvider;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::Config;
pub use ops::Draining;
pub use routes::router;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("database: {0}")]
    Database(#[from] app::backend::db::DbError),
    #[error("seeding demo data: {0}")]
    Seed(app::backend::Error),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A server that is accepting connections.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: AppState,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
    housekeeping: JoinHandle<()>,
    stop_worker: tokio::sync::watch::Sender<bool>,
    worker: Option<JoinHandle<()>>,
    live_listener: Option<JoinHandle<()>>,
    draining: ops::Draining,
}

/// Timed chores (the first round at start-up): reject orders nobody accepted in time (with a
/// refund), give up checkouts a crash or an outage left mid-payment (voiding their payments),
/// complete deliveries nobody confirmed, and, hourly, forget checkout idempotency keys past
/// their retention.
/// The timed chores, registered with the job runner (`jobs::Chores`): every
/// `BAEDAL_HOUSEKEEPING_MS`, and forgetting old checkout keys hourly.
fn chores(config: &Config) -> jobs::Chores {
    use app::backend::{commands, orders};
    let (reject_after, complete_after) = (config.auto_reject_after, config.auto_complete_after);
    let every = config.housekeeping_every;
    jobs::Chores::new(vec![
        jobs::Chore {
            did: "auto-rejected orders nobody accepted",
            every,
            work: Arc::new(move |state| {
                Box::pin(async move {
                    Ok(commands::auto_reject_unaccepted(&state, reject_after).await? as u64)
                })
            }),
        },
        jobs::Chore {
            did: "gave up checkouts interrupted mid-payment",
            every,
            work: Arc::new(|state| {
                Box::pin(async move { Ok(orders::reconcile_checkouts(&state).await? as u64) })
            }),
        },
        jobs::Chore {
            did: "completed deliveries nobody confirmed",
            every,
            work: Arc::new(move |state| {
                Box::pin(async move {
                    Ok(commands::auto_complete_delivered(&state, complete_after).await? as u64)
                })
            }),
        },
        jobs::Chore {
            did: "forgot old checkout keys",
            every: std::time::Duration::from_secs(60 * 60),
            work: Arc::new(|state| {
                Box::pin(async move { Ok(orders::purge_old_checkouts(&state).await?) })
            }),
        },
    ])
}

impl RunningServer {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The first step of stopping: `/readyz` answers 503 from now on, everything else is
    /// served as before. Balancers that probe readiness (Kubernetes, ingress-nginx) take the
    /// instance out of rotation during the drain period that follows; see [`Self::drain`].
    pub fn begin_drain(&self) {
        self.draining.begin();
    }

    /// Stops the way a rolling restart needs: fail `/readyz` at once, keep serving for `period`
    /// (new requests included) so that whoever routes to this instance notices, then end the
    /// live streams (browsers reconnect, through the gateway, to another instance) and stop
    /// accepting at the same moment, finish the requests in flight, close the database.
    ///
    /// Why keep serving during the drain rather than refuse: a gateway that has not yet noticed
    /// would otherwise turn its requests into errors. Why end the streams only when accepting
    /// stops: a stream ended earlier would reconnect to this same instance (it has the fewest
    /// connections) and be ended again; once the port refuses connections, nginx passes the
    /// reconnection to another instance (a refused connection is always safe to retry).
    /// `interrupt` cuts the drain short (a second Ctrl-C).
    pub async fn drain(
        self,
        period: std::time::Duration,
        interrupt: impl std::future::Future<Output = ()>,
    ) -> std::io::Result<()> {
        self.begin_drain();
        tokio::select! {
            _ = tokio::time::sleep(period) => {}
            _ = interrupt => tracing::info!("drain cut short"),
        }
        self.shutdown().await
    }

    /// Stops accepting connections, lets requests in flight finish, closes the database.
    pub async fn shutdown(self) -> std::io::Result<()> {
        // Open event streams never end by themselves; end them so the shutdown can finish.
        self.state.live.close();
        let _ = self.shutdown.send(());
        let result = self.task.await.expect("server task does not panic");
        self.housekeeping.abort();
        if let Some(listener) = self.live_listener {
            listener.abort();
        }
        let _ = self.stop_worker.send(true);
        if let Some(worker) = self.worker {
            let _ = worker.await;
        }
        // Paid orders handed over by requests that went away are written before the pools close.
        self.state.order_recorder.close().await;
        self.state.db.close().await;
        result
    }
}

/// Connects and migrates the database, seeds demo data on first start, and starts serving.
pub async fn start(config: Config) -> Result<RunningServer, StartError> {
    let state = prepare(&config).await?;
    serve(config, state).await
}

/// Everything but HTTP: the database (migrated, seeded on first start) and the shared state.
/// The worker-only mode and the operator commands use this.
pub async fn prepare(config: &Config) -> Result<AppState, StartError> {
    if config.database_url.starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| StartError::DataDir {
            path: config.data_dir.display().to_string(),
            source,
        })?;
    }
    let db = Db::connect(&config.database_url).await?;
    db.migrate().await?;
    tracing::info!(
        engine = db.engine().name(),
        url = %app::backend::db::redact(&config.database_url),
        "database ready"
    );
    let gateway = match &config.payment_provider {
        PaymentProvider::Sandbox { url } => PaymentGateway::Sandbox(SandboxClient::new(url)),
        PaymentProvider::Toss { url, secret_key } => {
            PaymentGateway::Toss(TossClient::new(url, secret_key))
        }
    };
    tracing::info!(
        provider = gateway.name(),
        timeout_ms = config.payment.timeout.as_millis() as u64,
        breaker = ?config.payment.breaker,
        "payments configured"
    );
    let state = AppState::new(
        db,
        Settings {
            secure_cookies: config.secure_cookies,
            session_ttl: config.session_lifetime,
            session_idle: config.session_idle,
            checkout_wait: config.payment.timeout * 2 + std::time::Duration::from_secs(2),
            rider_radius_m: config.rider_radius_m as f64,
            rider_max_active: config.rider_max_active as i64,
            group_commit_orders: config.group_commit_orders,
        },
        Payments::new(gateway, config.payment.clone()),
        app::backend::live::Live::new(config.live_limits),
        config.kakao.clone().map(Alimtalk::new),
        app::backend::limits::RateLimits::new(config.limits),
        config::GeocoderConfig::geocoder(config.geocoder.as_ref()),
    );
    match &state.geocoder {
        app::backend::geocoding::Geocoder::KakaoLocal(_) => {
            tracing::info!(geocoder = %state.geocoder.describe(), "address search on")
        }
        app::backend::geocoding::Geocoder::DistrictCentres => {
            tracing::warn!(geocoder = %state.geocoder.describe(), "address search OFF")
        }
    }
    match &config.kakao {
        Some(kakao) => tracing::info!(url = %kakao.base_url, timeout_ms = kakao.timeout.as_millis() as u64,
            "KakaoTalk (알림톡) channel on"),
        None => tracing::warn!(
            "KakaoTalk (알림톡) channel OFF: set KAKAO_ALIMTALK_APP_KEY, KAKAO_ALIMTALK_SECRET_KEY and \
             KAKAO_ALIMTALK_SENDER_KEY to send messages; in-app notifications work without them"
        ),
    }
    if config.seed_demo
        && seed::seed_demo_data(&state)
            .await
            .map_err(StartError::Seed)?
    {
        tracing::info!(
            "seeded demo stores and accounts (password: {})",
            seed::DEMO_PASSWORD
        );
    }
    Ok(state)
}

async fn serve(config: Config, state: AppState) -> Result<RunningServer, StartError> {
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.addr,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.addr,
        source,
    })?;
    let draining = ops::Draining::default();
    let router = router(&config, state.clone(), addr, draining.clone());
    let live_listener = app::backend::live::listen(&state).await;
    if !config.run_worker && state.db.engine() == app::backend::db::Engine::Sqlite {
        tracing::warn!(
            "BAEDAL_WORKER=false on SQLite: live updates are sent by the worker's process, so \
             pages served here hear of changes only by their 30 s safety re-read"
        );
    }
    let (stop_worker, worker_stopped) = tokio::sync::watch::channel(false);
    let chores = chores(&config);
    let tick = chores.tick();
    let housekeeping = tokio::spawn(jobs::run(
        "chores",
        state.clone(),
        chores,
        jobs::Wakeup {
            local: Arc::new(tokio::sync::Notify::new()),
            channel: None,
        },
        tick,
        worker_stopped.clone(),
    ));
    let worker = config.run_worker.then(|| {
        let notifier = tokio::spawn(notifications::run_sender(
            state.clone(),
            config.notification_sender.clone(),
            worker_stopped.clone(),
        ));
        let worker = tokio::spawn(app::backend::worker::run(
            state.clone(),
            config.worker.clone(),
            worker_stopped,
            app::backend::sagas::handler(),
        ));
        tokio::spawn(async move {
            let _ = tokio::join!(notifier, worker);
        })
    });
    let (shutdown, shutdown_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        listener::serve(listener, router, async {
            let _ = shutdown_rx.await;
        })
        .await;
        Ok(())
    });
    Ok(RunningServer {
        addr,
        state,
        shutdown,
        task,
        housekeeping,
        stop_worker,
        worker,
        live_listener,
        draining,
    })
}
