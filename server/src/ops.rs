//! Operations endpoints: `/healthz` (the process answers), `/readyz` (the database answers,
//! every migration is applied and the instance is not draining: safe to send traffic) and `/metrics` (Prometheus, for
//! operators only: `Authorization: Bearer $BAEDAL_METRICS_TOKEN`, or — when no token is
//! configured — a client on the loopback interface whose request passed no proxy).

use app::backend::{metrics, AppState};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::sync::Arc;
use std::time::Instant;

/// Set when the instance begins to stop (SIGTERM): `/readyz` then answers 503 so that
/// balancers and orchestrators that probe it stop sending new work, while everything else is
/// still served normally until the drain period ends.
#[derive(Clone, Default)]
pub struct Draining(pub Arc<std::sync::atomic::AtomicBool>);

impl Draining {
    pub fn begin(&self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn is_set(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

pub fn router(state: AppState, metrics_token: Option<String>, draining: Draining) -> Router {
    describe_metrics();
    let metrics_token: Option<Arc<str>> = metrics_token.map(Into::into);
    let live_state = state.clone();
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(move |state: State<AppState>| {
                let draining = draining.clone();
                async move {
                    if draining.is_set() {
                        (StatusCode::SERVICE_UNAVAILABLE, "not ready: draining").into_response()
                    } else {
                        readyz(state).await
                    }
                }
            }),
        )
        .with_state(state)
        .route(
            "/metrics",
            get(move |request: Request| {
                let (token, state) = (metrics_token.clone(), live_state.clone());
                async move { render_metrics(&state, token.as_deref(), &request) }
            }),
        )
}

/// Whether the caller may read `/metrics`: with a token configured, only with that bearer
/// token; without one, only from this machine and not through a proxy (a gateway on the same
/// machine would make every client look local, but it adds `X-Forwarded-For`).
fn may_read_metrics(token: Option<&str>, request: &Request) -> bool {
    let headers = request.headers();
    match token {
        Some(token) => headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| constant_time_eq(given.trim().as_bytes(), token.as_bytes())),
        None => {
            let proxied = headers.contains_key("x-forwarded-for")
                || headers.contains_key(header::FORWARDED)
                || headers.contains_key("x-real-ip");
            let local = request
                .extensions()
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .is_some_and(|info| info.0.ip().is_loopback());
            local && !proxied
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn describe_metrics() {
    metrics::describe(
        "baedal_http_requests_total",
        "counter",
        "HTTP requests answered, by kind of route, method and status.",
    );
    metrics::describe(
        "baedal_http_request_duration_seconds",
        "histogram",
        "Time to answer HTTP requests, by kind of route.",
    );
    metrics::describe(
        "baedal_database_ready",
        "gauge",
        "1 when the last readiness check found the database reachable and migrated.",
    );
    metrics::describe(
        "baedal_live_streams",
        "gauge",
        "Open live-update streams (GET /live) on this instance.",
    );
    metrics::describe(
        "baedal_live_wakeups_total",
        "counter",
        "Hints handed to live-update streams (one per stream a change concerns).",
    );
    metrics::describe(
        "baedal_live_changes_total",
        "counter",
        "Changes routed to this instance's live-update streams (orders, resyncs, ended sessions).",
    );
    metrics::describe(
        "baedal_build_info",
        "gauge",
        "Version of the running build.",
    );
    metrics::gauge_set(
        "baedal_build_info",
        &[("version", env!("CARGO_PKG_VERSION"))],
        1.0,
    );
}

/// Orchestrators and gateways probe with about a second of patience.
const READY_CHECK_WITHIN: std::time::Duration = std::time::Duration::from_millis(800);

async fn readyz(State(state): State<AppState>) -> Response {
    let engine = state.db.engine().name();
    let (status, body) = match state.db.is_ready(READY_CHECK_WITHIN).await {
        Ok(true) => (StatusCode::OK, format!("ready ({engine})")),
        Ok(false) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: migrations pending ({engine})"),
        ),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: database unreachable ({engine})"),
            )
        }
    };
    let ready = if status == StatusCode::OK { 1.0 } else { 0.0 };
    metrics::gauge_set("baedal_database_ready", &[("engine", engine)], ready);
    (status, body).into_response()
}

fn render_metrics(state: &AppState, token: Option<&str>, request: &Request) -> Response {
    if !may_read_metrics(token, request) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "metrics are for operators: Authorization: Bearer <BAEDAL_METRICS_TOKEN>\n",
        )
            .into_response();
    }
    metrics::gauge_set("baedal_live_streams", &[], state.live.streams() as f64);
    metrics::gauge_set(
        "baedal_live_wakeups_total",
        &[],
        state.live.wakeups() as f64,
    );
    metrics::gauge_set(
        "baedal_live_changes_total",
        &[],
        state.live.published() as f64,
    );
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics::render(),
    )
        .into_response()
}

/// A bounded label for a path, so that metrics do not grow one series per URL.
fn route_kind(path: &str) -> &'static str {
    if path.starts_with("/api/") {
        "server_fn"
    } else if path.starts_with("/pkg/") || path.contains('.') {
        "asset"
    } else if matches!(path, "/healthz" | "/readyz" | "/metrics") {
        "ops"
    } else {
        "page"
    }
}

pub async fn track_metrics(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let kind = route_kind(request.uri().path());
    let method = request.method().to_string();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter_add(
        "baedal_http_requests_total",
        &[("route", kind), ("method", &method), ("status", &status)],
        1.0,
    );
    metrics::observe(
        "baedal_http_request_duration_seconds",
        &[("route", kind)],
        started.elapsed().as_secs_f64(),
    );
    response
}
