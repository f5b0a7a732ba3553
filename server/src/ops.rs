//! Operations endpoints: `/healthz` (the process answers), `/readyz` (the database answers
//! and every migration is applied: safe to send traffic) and `/metrics` (Prometheus).

use app::backend::{metrics, AppState};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::time::Instant;

pub fn router(state: AppState) -> Router {
    describe_metrics();
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .with_state(state)
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

async fn readyz(State(state): State<AppState>) -> Response {
    let engine = state.db.engine().name();
    let (status, body) = match state.db.is_ready().await {
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

async fn render_metrics() -> Response {
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
