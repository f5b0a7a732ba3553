//! The HTTP surface, apart from the process lifecycle in the crate root: Leptos's pages and
//! server functions, `/live`, the operations endpoints, and the layers every request passes.

use crate::{admission, assets, ops, security, Config};
use app::backend::AppState;
use axum::body::Body;
use axum::http::{HeaderName, Request};
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::net::SocketAddr;
use std::sync::Arc;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

/// Where the browser assets of this build are served: `pkg/<version>`, the version being the
/// content hash `scripts/build.sh` writes to `asset-version` (plain `pkg` without it).
fn site_pkg_dir(config: &Config) -> String {
    match std::fs::read_to_string(config.site_root.join("asset-version")) {
        Ok(version) if !version.trim().is_empty() => format!("pkg/{}", version.trim()),
        _ => {
            tracing::warn!(site_root = %config.site_root.display(),
                "no asset-version in the site root: assets are served unversioned (build with scripts/build.sh)");
            "pkg".to_string()
        }
    }
}

fn leptos_options(config: &Config, addr: SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("baedal")
        .site_root(config.site_root.display().to_string())
        .site_pkg_dir(site_pkg_dir(config))
        .site_addr(addr)
        .build()
}

/// The app's routes, found once per process by rendering the app with resource loading
/// suppressed.
///
/// Why once: Leptos suppresses resource loading with a process-wide flag while it lists the
/// routes (`leptos_server::SuppressResourceLoad`), and a Resource first polled while that flag
/// is up waits forever (leptos-rs/leptos#4773). Listing the routes again while another server
/// of the same process is rendering pages — the integration tests start many servers in one
/// process, and a restarted or second instance in a test does the same — would hang some of
/// those pages for good. After the first listing no server of the process ever raises it again.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(app::App)).clone()
}

/// Makes Leptos put the nonce of this response's `Content-Security-Policy` (chosen by
/// `security::guard`) on the page's scripts, instead of one of its own that no header names.
fn use_page_nonce() {
    let nonce = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<security::CspNonce>().cloned());
    if let Some(nonce) = nonce {
        provide_context(leptos::nonce::Nonce::from_value(nonce.0));
    }
}

/// The whole HTTP surface: pages and server functions through Leptos, static assets, and
/// `/healthz`, `/readyz`, `/metrics`; every request gets an `x-request-id` and a trace span.
pub fn router(
    config: &Config,
    state: AppState,
    addr: SocketAddr,
    draining: ops::Draining,
) -> Router {
    let options = leptos_options(config, addr);
    let context = {
        let state = state.clone();
        move || {
            provide_context(state.clone());
            use_page_nonce();
        }
    };
    let shell = {
        let options = options.clone();
        move || app::shell(options.clone())
    };
    let pages = Router::new()
        .leptos_routes_with_context(&options, route_list(), context.clone(), shell)
        .fallback(leptos_axum::file_and_error_handler_with_context(
            context,
            app::shell,
        ))
        .with_state(options)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            app::door::http::resolve_session,
        ))
        .layer(axum::middleware::from_fn_with_state(
            admission::page_permits(),
            admission::queue_page_renders,
        ))
        .layer(axum::middleware::from_fn(assets::cache_policy))
        // Pages and JSON on the fly; the assets' precompressed files already carry their
        // Content-Encoding and are passed through.
        .layer(tower_http::compression::CompressionLayer::new());

    let request_id = HeaderName::from_static("x-request-id");
    let live = Router::new()
        .route("/live", axum::routing::get(app::door::live::events))
        .with_state(state.clone());
    let guard = Arc::new(security::Guard {
        allowed_origins: config.allowed_origins.clone(),
        hsts: config.secure_cookies,
        trust_forwarded: config.trust_forwarded,
    });
    Router::new()
        .merge(ops::router(state, config.metrics_token.clone(), draining))
        .merge(live)
        .merge(pages)
        // No form or checkout needs more; bigger bodies get 413 before any work is done.
        .layer(RequestBodyLimitLayer::new(security::BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(guard, security::guard))
        .layer(axum::middleware::from_fn(ops::track_metrics))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<Body>| {
                let id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!(
                    "request",
                    request_id = %id,
                    method = %request.method(),
                    path = %request.uri().path(),
                )
            }),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}
