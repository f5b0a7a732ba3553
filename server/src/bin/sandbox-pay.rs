//! `sandbox-pay`: the sandbox payment provider as its own process (see `server::sandbox_pay`).
//! `SANDBOX_PAY_ADDR` (default `127.0.0.1:3001`), `SANDBOX_PAY_SLOW_MS` (default 5000),
//! `SANDBOX_PAY_LATENCY_MS` (default 0).

use server::sandbox_pay::{serve, SandboxConfig};
use std::time::Duration;

fn millis(name: &str, default: u64) -> Duration {
    let value = std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    Duration::from_millis(value)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::var("SANDBOX_PAY_ADDR").unwrap_or_else(|_| "127.0.0.1:3001".into());
    let config = SandboxConfig {
        slow: millis("SANDBOX_PAY_SLOW_MS", 5000),
        latency: millis("SANDBOX_PAY_LATENCY_MS", 0),
        ..Default::default()
    };
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("sandbox-pay listening at http://{}", listener.local_addr()?);
    serve(listener, config, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}
