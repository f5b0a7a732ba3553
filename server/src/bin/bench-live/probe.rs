//! What the benchmark reads besides the checkout's answers: the server's memory and CPU time
//! from /proc, its live streams (idle ones opened raw, followed ones read for `placed`), and
//! the outbox in the database.

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::body::Incoming;
use hyper::client::conn::http2::SendRequest;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use sqlx::{AnyConnection, Connection, Row};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// The server's resident memory, in KiB.
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

/// How many file descriptors the server holds (its connections among them).
pub fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|entries| entries.count())
        .unwrap_or(0)
}

/// The server's CPU time (user + system), in seconds.
pub fn cpu_s(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of the whole line (utime, stime) are 11 and 12 after the name.
    let ticks = |i: usize| -> f64 { fields.get(i).and_then(|v| v.parse().ok()).unwrap_or(0.0) };
    (ticks(11) + ticks(12)) / 100.0
}

/// Signs up a customer; their session token.
pub async fn sign_up(http: &reqwest::Client, url: &str, email: &str) -> String {
    let response = http
        .post(format!("{url}/api/sign_up"))
        .form(&[
            ("role", "customer"),
            ("email", email),
            ("password", "bench-password"),
            ("display_name", "벤치"),
            ("address", "서울 마포구 양화로 45"),
        ])
        .send()
        .await
        .expect("sign up");
    assert!(
        response.status().is_success(),
        "sign up: {}",
        response.status()
    );
    response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(app::backend::sessions::token_from_cookie_header)
        .expect("a session cookie")
        .to_string()
}

/// Opens `/live` over a raw connection from `source` and waits for its `ready`.
pub async fn open_stream(
    server: SocketAddr,
    source: IpAddr,
    token: &str,
) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    let mut stream = socket.connect(server).await?;
    let request = format!(
        "GET /live HTTP/1.1\r\nHost: {server}\r\nAccept: text/event-stream\r\nCookie: baedal_session={token}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut seen = Vec::new();
    let mut buffer = [0u8; 1024];
    while !String::from_utf8_lossy(&seen).contains("\"ready\"") {
        let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buffer))
            .await
            .map_err(|_| std::io::Error::other("no ready within 30 s"))??;
        if n == 0 {
            return Err(std::io::Error::other(format!(
                "closed: {}",
                String::from_utf8_lossy(&seen)
            )));
        }
        seen.extend_from_slice(&buffer[..n]);
    }
    Ok(stream)
}

/// An HTTP/2 connection from `source` (prior knowledge, which the server's listener accepts on
/// its one port), on which idle streams are opened many at a time, as a browser multiplexes
/// every tab of one site over one connection. The connection is driven by its own task.
pub async fn open_h2_connection(
    server: SocketAddr,
    source: IpAddr,
) -> std::io::Result<SendRequest<Empty<Bytes>>> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    let stream = socket.connect(server).await?;
    let _ = stream.set_nodelay(true);
    let (sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .map_err(std::io::Error::other)?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(sender)
}

/// Opens `/live` as one stream of an HTTP/2 connection and waits for its `ready`. The stream
/// stays open for as long as the returned response (and its unread body) is kept.
pub async fn open_h2_stream(
    mut sender: SendRequest<Empty<Bytes>>,
    server: SocketAddr,
    token: &str,
) -> std::io::Result<Response<Incoming>> {
    let request = Request::get(format!("http://{server}/live"))
        .header(hyper::header::ACCEPT, "text/event-stream")
        .header(hyper::header::COOKIE, format!("baedal_session={token}"))
        .body(Empty::new())
        .map_err(std::io::Error::other)?;
    sender.ready().await.map_err(std::io::Error::other)?;
    let mut response = sender
        .send_request(request)
        .await
        .map_err(std::io::Error::other)?;
    if !response.status().is_success() {
        return Err(std::io::Error::other(format!(
            "status {}",
            response.status()
        )));
    }
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("\"ready\"") {
        let frame = tokio::time::timeout(Duration::from_secs(30), response.body_mut().frame())
            .await
            .map_err(|_| std::io::Error::other("no ready within 30 s"))?;
        match frame {
            Some(Ok(frame)) => {
                if let Some(data) = frame.data_ref() {
                    seen.extend_from_slice(data);
                }
            }
            Some(Err(error)) => return Err(std::io::Error::other(error)),
            None => {
                return Err(std::io::Error::other(format!(
                    "closed: {}",
                    String::from_utf8_lossy(&seen)
                )))
            }
        }
    }
    Ok(response)
}

/// What was seen of one order: when its checkout answered, and when (also by the wall clock,
/// to compare with the outbox's `processed_at`) its customer's stream heard `placed`.
#[derive(Default)]
pub struct Seen {
    pub answered: Option<Instant>,
    pub heard: Option<Instant>,
    pub heard_at_ms: Option<f64>,
}

pub type Heard = Arc<Mutex<HashMap<i64, Seen>>>;

fn wall_clock_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64()
        * 1000.0
}

/// Reads a customer's stream (reqwest), noting when each order's `placed` arrives.
pub async fn follow(mut response: reqwest::Response, heard: Heard) {
    let mut buffer = String::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            for line in block.lines() {
                let Some(data) = line.strip_prefix("data:") else {
                    continue;
                };
                let Ok(event) = serde_json::from_str::<Value>(data.trim()) else {
                    continue;
                };
                if event["kind"] == "order" && event["status"] == "placed" {
                    if let Some(id) = event["order_id"].as_i64() {
                        let mut heard = heard.lock().unwrap();
                        let seen = heard.entry(id).or_default();
                        if seen.heard.is_none() {
                            seen.heard = Some(Instant::now());
                            seen.heard_at_ms = Some(wall_clock_ms());
                        }
                    }
                }
            }
        }
    }
}

async fn pending_events(url: &str) -> i64 {
    let mut conn = AnyConnection::connect(url).await.expect("database");
    let pending: i64 =
        sqlx::query("SELECT COUNT(*) FROM outbox WHERE processed_at IS NULL AND dead_at IS NULL")
            .fetch_one(&mut conn)
            .await
            .expect("count")
            .try_get(0)
            .expect("a count");
    let _ = conn.close().await;
    pending
}

/// When each order's `OrderPlaced` was marked processed, in ms since 1970: inside the saga's
/// transaction, just before its commit and the hint's publication.
pub async fn placed_processed_at(url: &str) -> HashMap<i64, i64> {
    let mut conn = AnyConnection::connect(url).await.expect("database");
    let rows = sqlx::query(
        "SELECT order_id, processed_at FROM outbox
         WHERE event_type = 'OrderPlaced' AND processed_at IS NOT NULL",
    )
    .fetch_all(&mut conn)
    .await
    .expect("processed events");
    let _ = conn.close().await;
    rows.iter()
        .map(|row| {
            (
                row.try_get("order_id").expect("order_id"),
                row.try_get("processed_at").expect("processed_at"),
            )
        })
        .collect()
}

pub async fn drained(url: &str) {
    for _ in 0..1200 {
        if pending_events(url).await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("warning: the outbox did not drain within a minute");
}
