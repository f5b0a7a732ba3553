//! The accept loop: every TCP connection served by hyper with the router, as `axum::serve`
//! does, but with hyper's connection settings in our hands.
//!
//! Why not `axum::serve`: it gives no access to hyper's builder, and hyper's default read
//! buffer is what an open page costs the server. Every open page holds a `/live` stream, so
//! an idle connection is the unit of memory at the evening peak. With the defaults, hyper
//! reserves 8 KiB of free read buffer before every read, and a heap profile of idle streams
//! found that buffer grown to 16 KiB on each of them, for the life of the stream (grown in
//! `poll_read_head`). Capping the buffer at hyper's minimum of 8 KiB (`READ_BUFFER`) keeps it
//! at 8 KiB; the cost is that a request head (request line and headers) over 8 KiB is refused
//! with 431, as nginx's default `large_client_header_buffers` would refuse a header line that
//! long. Bodies are unaffected: they stream through the buffer in pieces (and are capped at
//! `security::BODY_LIMIT`).
//!
//! The rest is what `axum::serve` does: HTTP/1.1 and HTTP/2 (prior knowledge) on one port,
//! `TCP_NODELAY`, the peer's address as `ConnectInfo`, and a graceful shutdown that stops
//! accepting and waits for the open exchanges to finish.

use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// Raises this process's soft open-file limit to its hard limit and returns the limit now in
/// force. Every open page holds a connection, so the soft limit (often 1,024 under systemd and
/// in shells) would otherwise cap the pages one instance can serve far below what its memory
/// allows; the hard limit is the operator's decision and is left alone.
pub fn raise_open_file_limit() -> Option<u64> {
    rlimit::increase_nofile_limit(u64::MAX).ok()
}

/// hyper's smallest allowed read buffer, and the largest request head it then accepts.
pub const READ_BUFFER: usize = 8 * 1024;

/// Serves `router` on `listener` until `shutdown` resolves, then waits for the connections'
/// open exchanges to finish.
pub async fn serve(listener: TcpListener, router: Router, shutdown: impl Future<Output = ()>) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .max_buf_size(READ_BUFFER)
        .timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Small request/response exchanges: send them at once rather than wait to coalesce.
        let _ = tcp.set_nodelay(true);
        let router = router.clone();
        // The peer's address feeds the rate limits (and `/metrics`' loopback rule, and the
        // live-update streams per address).
        let service = hyper::service::service_fn(move |mut request| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(tcp), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::trace!(%peer, error = %error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// A failed accept: the client's own trouble is skipped; anything else (typically out of file
/// descriptors) is logged and waited out for a moment instead of spinning, as `axum::serve`
/// does.
async fn accept_failed(error: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "accepting a connection failed; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
