//! `bench-live`: what idle live-update streams cost the server (issue 19).
//!
//! For each number of idle streams it starts the real server binary as a child process (so its
//! memory is the server's alone) on a fresh database, with the sandbox payment provider (in
//! this process) at zero latency, then:
//! 1. signs up the ordering customers (each with its own `/live` stream) and the idle users,
//!    places a few orders to warm up, and reads the server's RSS;
//! 2. opens N idle `/live` streams of the idle users (customers who order nothing), spread
//!    over several loopback source addresses (127.0.0.1, .2, …) so ports do not run out, and
//!    reads the RSS again: (after − before) / N is the memory per stream;
//! 3. lets the ordering customers place orders for a while (closed loop, or at a fixed rate),
//!    and reports checkout orders/s and latency, the server's CPU time, and how long after a
//!    checkout's answer its customer's stream heard `placed` (the saga's handling of
//!    `OrderPlaced`, then the hint's routing and delivery), and the **fan-out**: from the
//!    saga marking `OrderPlaced` processed (the outbox's `processed_at`, written in the
//!    handling transaction just before its commit; whole milliseconds) to the stream hearing
//!    `placed`, by the wall clock of this machine.
//!
//!   bench-live [--bin target/release/baedal] [--engine sqlite|postgres] [--streams 0,10000]
//!              [--customers 16] [--rate 0] [--seconds 10] [--idle-users 100] [--sources 4]
//!
//! `--rate 0`: every customer orders again as soon as the last checkout answered. Raise the
//! open-file limit first (`ulimit -n`): the server and this process each hold one descriptor
//! per stream. Idle streams are many per idle user and per address, so the server runs with
//! `BAEDAL_LIVE_MAX_PER_SESSION` and `BAEDAL_LIVE_MAX_PER_ADDRESS` raised.

use futures::StreamExt;
use serde_json::Value;
use server::bench::Scratch;
use server::sandbox_pay::{self, SandboxConfig};
use sqlx::{AnyConnection, Connection, Row};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

struct Args {
    bin: String,
    engine: String,
    streams: Vec<usize>,
    customers: usize,
    rate: f64,
    seconds: u64,
    idle_users: usize,
    sources: u8,
}

fn parse_args() -> Args {
    let mut args = Args {
        bin: "target/release/baedal".into(),
        engine: "sqlite".into(),
        streams: vec![0, 10_000],
        customers: 16,
        rate: 0.0,
        seconds: 10,
        idle_users: 100,
        sources: 4,
    };
    let raw: Vec<String> = std::env::args().skip(1).collect();
    for pair in raw.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_default();
        let number = |what: &str| -> f64 { value.parse().unwrap_or_else(|_| usage(what)) };
        match pair[0].as_str() {
            "--bin" => args.bin = value.clone(),
            "--engine" if value == "sqlite" || value == "postgres" => args.engine = value.clone(),
            "--streams" => {
                args.streams = value
                    .split(',')
                    .map(|n| n.parse().unwrap_or_else(|_| usage("--streams")))
                    .collect()
            }
            "--customers" => args.customers = number("--customers") as usize,
            "--rate" => args.rate = number("--rate"),
            "--seconds" => args.seconds = number("--seconds") as u64,
            "--idle-users" => args.idle_users = number("--idle-users") as usize,
            "--sources" => args.sources = (number("--sources") as u8).max(1),
            other => usage(other),
        }
    }
    args
}

fn usage(what: &str) -> ! {
    eprintln!(
        "bench-live: bad {what}\nusage: bench-live [--bin target/release/baedal] [--engine sqlite|postgres] \
         [--streams 0,10000] [--customers 16] [--rate 0] [--seconds 10] [--idle-users 100] [--sources 4]"
    );
    std::process::exit(2)
}

/// The server's resident memory, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .unwrap_or(0)
}

/// The server's CPU time (user + system), in seconds.
fn cpu_s(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of the whole line (utime, stime) are 11 and 12 after the name.
    let ticks = |i: usize| -> f64 { fields.get(i).and_then(|v| v.parse().ok()).unwrap_or(0.0) };
    (ticks(11) + ticks(12)) / 100.0
}

/// Signs up a customer; their session token.
async fn sign_up(http: &reqwest::Client, url: &str, email: &str) -> String {
    let response = http
        .post(format!("{url}/api/sign_up"))
        .form(&[
            ("role", "customer"),
            ("email", email),
            ("password", "bench-password"),
            ("display_name", "벤치"),
            ("district", "마포구"),
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
async fn open_stream(
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

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// What was seen of one order: when its checkout answered, and when (also by the wall clock,
/// to compare with the outbox's `processed_at`) its customer's stream heard `placed`.
#[derive(Default)]
struct Seen {
    answered: Option<Instant>,
    heard: Option<Instant>,
    heard_at_ms: Option<f64>,
}

type Heard = Arc<Mutex<HashMap<i64, Seen>>>;

fn wall_clock_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs_f64()
        * 1000.0
}

/// Reads a customer's stream (reqwest), noting when each order's `placed` arrives.
async fn follow(mut response: reqwest::Response, heard: Heard) {
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
async fn placed_processed_at(url: &str) -> HashMap<i64, i64> {
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

async fn drained(url: &str) {
    for _ in 0..1200 {
        if pending_events(url).await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("warning: the outbox did not drain within a minute");
}

struct Cell {
    streams: usize,
    rss_before_kib: u64,
    rss_after_kib: u64,
    orders: u64,
    failed: u64,
    elapsed: Duration,
    cpu_s: f64,
    checkout: Vec<Duration>,
    hint: Vec<Duration>,
    fan_out: Vec<Duration>,
    unheard: usize,
    open_s: f64,
}

async fn cell(args: &Args, streams: usize) -> Cell {
    let scratch = Scratch::new(&args.engine).await;
    let sandbox_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sandbox_url = format!("http://{}", sandbox_listener.local_addr().unwrap());
    let (stop_sandbox, sandbox_stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(sandbox_pay::serve(
        sandbox_listener,
        SandboxConfig {
            slow: Duration::from_secs(5),
            latency: Duration::ZERO,
            ..Default::default()
        },
        async {
            let _ = sandbox_stopped.await;
        },
    ));
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let data_dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(&args.bin)
        .env("BAEDAL_ADDR", addr.to_string())
        .env("DATABASE_URL", &scratch.url)
        .env("BAEDAL_DATA_DIR", data_dir.path())
        .env("BAEDAL_SANDBOX_PAY_URL", &sandbox_url)
        .env("BAEDAL_LIVE_MAX_PER_SESSION", "1000000")
        .env("BAEDAL_LIVE_MAX_PER_ADDRESS", "1000000")
        .env("BAEDAL_LIMIT_CHECKOUT_ADDRESS", "off")
        .env("BAEDAL_LIMIT_SIGNUP_ADDRESS", "off")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the server binary starts (build it: cargo build --release -p server)");
    let pid = child.id();
    let url = format!("http://{addr}");
    let http = reqwest::Client::new();
    let started = Instant::now();
    while http.get(format!("{url}/healthz")).send().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    {
        let mut conn = AnyConnection::connect(&scratch.url).await.unwrap();
        sqlx::query("UPDATE foods SET stock = 1000000000")
            .execute(&mut conn)
            .await
            .unwrap();
        let _ = conn.close().await;
    }

    // Ordering customers, each with a cookie jar and its own followed stream.
    let heard: Heard = Arc::default();
    let mut clients = Vec::new();
    for i in 0..args.customers {
        let token = sign_up(&http, &url, &format!("buyer{i}@example.com")).await;
        let client = reqwest::Client::builder()
            .default_headers(
                [(
                    reqwest::header::COOKIE,
                    format!("baedal_session={token}").parse().unwrap(),
                )]
                .into_iter()
                .collect(),
            )
            .build()
            .unwrap();
        let response = client
            .get(format!("{url}/live"))
            .send()
            .await
            .expect("customer's stream");
        assert!(response.status().is_success(), "customer's stream");
        tokio::spawn(follow(response, heard.clone()));
        clients.push(client);
    }
    let mut idle_tokens = Vec::new();
    for i in 0..args.idle_users {
        idle_tokens.push(sign_up(&http, &url, &format!("idle{i}@example.com")).await);
    }
    let (store_id, foods) = server::bench::demo_menu(&clients[0], &url).await;
    let clients = Arc::new(clients);
    let order = {
        let (clients, url, heard) = (clients.clone(), url.clone(), heard.clone());
        move |customer: usize| {
            let (clients, url, heard, foods) =
                (clients.clone(), url.clone(), heard.clone(), foods.clone());
            async move {
                let body = server::bench::checkout_body(store_id, &foods);
                let sent = Instant::now();
                let answer = clients[customer]
                    .post(format!("{url}/api/place_order"))
                    .json(&body)
                    .send()
                    .await;
                let Ok(answer) = answer else { return None };
                if !answer.status().is_success() {
                    static SHOWN: AtomicBool = AtomicBool::new(false);
                    if !SHOWN.swap(true, Ordering::Relaxed) {
                        let status = answer.status();
                        let text = answer.text().await.unwrap_or_default();
                        eprintln!("first failed checkout: {status} {text}");
                    }
                    return None;
                }
                let value: Value = answer.json().await.ok()?;
                let answered = Instant::now();
                let id = value["order_id"]
                    .as_i64()
                    .or_else(|| value["id"].as_i64())?;
                heard.lock().unwrap().entry(id).or_default().answered = Some(answered);
                Some(answered - sent)
            }
        }
    };
    // Warm up: a few orders per customer, then a drained outbox.
    for customer in 0..args.customers {
        let _ = order(customer).await;
    }
    drained(&scratch.url).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_before_kib = rss_kib(pid);

    // The idle streams.
    let opening = Instant::now();
    let server_addr = addr;
    let sources: Vec<IpAddr> = (1..=args.sources)
        .map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, i)))
        .collect();
    let idle: Vec<TcpStream> = futures::stream::iter(0..streams)
        .map(|i| {
            let token = idle_tokens[i % idle_tokens.len()].clone();
            let source = sources[i % sources.len()];
            async move {
                for attempt in 0..3 {
                    match open_stream(server_addr, source, &token).await {
                        Ok(stream) => return Some(stream),
                        Err(error) if attempt == 2 => {
                            eprintln!("idle stream {i} failed: {error}");
                        }
                        Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                    }
                }
                None
            }
        })
        .buffer_unordered(256)
        .filter_map(|s| async move { s })
        .collect()
        .await;
    let open_s = opening.elapsed().as_secs_f64();
    let opened = idle.len();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after_kib = rss_kib(pid);

    // Ordering.
    heard.lock().unwrap().clear();
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let cpu_before = cpu_s(pid);
    let began = Instant::now();
    let mut tasks = Vec::new();
    let record = {
        let (done, failed, latencies) = (done.clone(), failed.clone(), latencies.clone());
        move |result: Option<Duration>| match result {
            Some(latency) => {
                done.fetch_add(1, Ordering::Relaxed);
                latencies.lock().unwrap().push(latency);
            }
            None => {
                failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    };
    if args.rate > 0.0 {
        let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / args.rate));
        let mut n = 0usize;
        while began.elapsed() < Duration::from_secs(args.seconds) {
            ticks.tick().await;
            let (order, record) = (order.clone(), record.clone());
            let customer = n % args.customers;
            n += 1;
            tasks.push(tokio::spawn(async move { record(order(customer).await) }));
        }
    } else {
        for customer in 0..args.customers {
            let (order, record, stop) = (order.clone(), record.clone(), stop.clone());
            tasks.push(tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    record(order(customer).await);
                }
            }));
        }
        tokio::time::sleep(Duration::from_secs(args.seconds)).await;
        stop.store(true, Ordering::Relaxed);
    }
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = began.elapsed();
    let cpu = cpu_s(pid) - cpu_before;
    drained(&scratch.url).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let processed_at = placed_processed_at(&scratch.url).await;
    let (mut hint, mut fan_out, unheard) = {
        let heard = heard.lock().unwrap();
        let mut lags = Vec::new();
        let mut fan_out = Vec::new();
        let mut unheard = 0;
        for (id, seen) in heard.iter() {
            match (seen.answered, seen.heard) {
                (Some(answered), Some(arrived)) => {
                    lags.push(arrived.saturating_duration_since(answered))
                }
                (Some(_), None) => unheard += 1,
                _ => {}
            }
            // Only orders placed in the measured window (the warm-up's were cleared).
            if let (true, Some(heard_at), Some(&processed)) = (
                seen.answered.is_some(),
                seen.heard_at_ms,
                processed_at.get(id),
            ) {
                fan_out.push(Duration::from_secs_f64(
                    (heard_at - processed as f64).max(0.0) / 1000.0,
                ));
            }
        }
        (lags, fan_out, unheard)
    };
    hint.sort();
    fan_out.sort();
    let mut checkout = latencies.lock().unwrap().clone();
    checkout.sort();

    drop(idle);
    let _ = child.kill();
    let _ = child.wait();
    let _ = stop_sandbox.send(());
    scratch.remove().await;
    Cell {
        streams: opened,
        rss_before_kib,
        rss_after_kib,
        orders: done.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
        elapsed,
        cpu_s: cpu,
        checkout,
        hint,
        fan_out,
        unheard,
        open_s,
    }
}

#[tokio::main]
async fn main() {
    sqlx::any::install_default_drivers();
    let args = parse_args();
    println!(
        "bench-live: {} ({}), {} ordering customers, {}, {} s per cell, idle streams over {} idle users and {} source addresses\n",
        args.bin,
        args.engine,
        args.customers,
        if args.rate > 0.0 {
            format!("{} orders/s offered", args.rate)
        } else {
            "closed loop".to_string()
        },
        args.seconds,
        args.idle_users,
        args.sources,
    );
    println!("| idle streams | opened in s | server RSS before MiB | after MiB | KiB per stream | orders/s | failed | checkout p50 ms | p99 ms | server CPU s per s | placed hint p50 ms | p99 ms | fan-out p50 ms | p99 ms | unheard |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for &streams in &args.streams {
        let c = cell(&args, streams).await;
        let per_stream = if c.streams > 0 {
            format!(
                "{:.1}",
                (c.rss_after_kib as f64 - c.rss_before_kib as f64) / c.streams as f64
            )
        } else {
            "–".into()
        };
        println!(
            "| {} | {:.1} | {:.0} | {:.0} | {} | {:.0} | {} | {:.1} | {:.1} | {:.2} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
            c.streams,
            c.open_s,
            c.rss_before_kib as f64 / 1024.0,
            c.rss_after_kib as f64 / 1024.0,
            per_stream,
            c.orders as f64 / c.elapsed.as_secs_f64(),
            c.failed,
            percentile(&c.checkout, 0.5),
            percentile(&c.checkout, 0.99),
            c.cpu_s / c.elapsed.as_secs_f64(),
            percentile(&c.hint, 0.5),
            percentile(&c.hint, 0.99),
            percentile(&c.fan_out, 0.5),
            percentile(&c.fan_out, 0.99),
            c.unheard,
        );
    }
}
