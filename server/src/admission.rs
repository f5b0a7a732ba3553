//! Admission of page renders: at most [`PAGE_RENDERS_AT_ONCE`] pages render at a time; the
//! rest wait their turn in order.
//!
//! Why: a page render takes database connections, and on PostgreSQL a request that waits
//! longer than the pool's acquire timeout (3 s, chosen so that a *database outage* is answered
//! with a clear 503 quickly) is told to try again. Under a crowd (2,000 pages requested at once
//! on two cores) the wait for a connection passed 3 s, and a few thousand loads got that 503
//! although the database was fine. Queueing here, before the session lookup, keeps the pool's
//! queue short — its timeout again means "the database is unreachable" — and a crowd makes
//! pages slower, never refused.
//!
//! Server functions (`/api/…`) are not queued behind pages: a checkout must not wait for
//! other people's page renders, and their own rate limits bound them. Nor are the live stream,
//! the health probes and the assets, which live outside this router or need no database.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// Enough to keep both cores and the pool busy (a page holds at most a few connections at
/// once); few enough that the pool's queue stays far below its timeout.
pub const PAGE_RENDERS_AT_ONCE: usize = 64;

/// One per router (so per server instance, also when tests run several in one process).
pub fn page_permits() -> Arc<Semaphore> {
    Arc::new(Semaphore::new(PAGE_RENDERS_AT_ONCE))
}

fn is_page_render(request: &Request) -> bool {
    let path = request.uri().path();
    !(path.starts_with("/api/") || path.starts_with("/pkg/"))
}

pub async fn queue_page_renders(
    State(permits): State<Arc<Semaphore>>,
    request: Request,
    next: Next,
) -> Response {
    if !is_page_render(&request) {
        return next.run(request).await;
    }
    // Never closed, so acquiring cannot fail; waiting is fair (first come, first served).
    // Held until the page is rendered: Leptos renders `SsrMode::Async` pages whole before it
    // answers.
    let _permit = permits.acquire().await;
    next.run(request).await
}
