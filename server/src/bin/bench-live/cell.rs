//! One row of the table: a fresh server and database, the idle streams opened, orders placed
//! for a while, and what was measured.

use crate::probe::{
    cpu_s, drained, follow, open_descriptors, open_h2_connection, open_h2_stream, open_stream,
    placed_processed_at, rss_kib, sign_up, Heard,
};
use crate::{Args, Cell, Transport};
use futures::StreamExt;
use serde_json::Value;
use server::bench::Scratch;
use server::sandbox_pay::{self, SandboxConfig};
use sqlx::{AnyConnection, Connection};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

pub async fn cell(args: &Args, streams: usize) -> Cell {
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
    let idle = match args.transport {
        Transport::Http1 => open_http1_streams(server_addr, &sources, &idle_tokens, streams).await,
        Transport::Http2 => {
            open_http2_streams(
                server_addr,
                &sources,
                &idle_tokens,
                streams,
                args.per_connection,
            )
            .await
        }
    };
    let open_s = opening.elapsed().as_secs_f64();
    let opened = idle.streams();
    let connections = idle.connections();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after_kib = rss_kib(pid);
    let server_fds = open_descriptors(pid);

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
        connections,
        server_fds,
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

/// The idle streams being held open: one connection each (HTTP/1.1), or many per connection
/// (HTTP/2).
pub enum Idle {
    Http1(Vec<TcpStream>),
    Http2 {
        streams: Vec<hyper::Response<hyper::body::Incoming>>,
        connections: usize,
    },
}

impl Idle {
    fn streams(&self) -> usize {
        match self {
            Idle::Http1(streams) => streams.len(),
            Idle::Http2 { streams, .. } => streams.len(),
        }
    }

    fn connections(&self) -> usize {
        match self {
            Idle::Http1(streams) => streams.len(),
            Idle::Http2 { connections, .. } => *connections,
        }
    }
}

/// `open(i)` for every `i` below `count`, `at_once` at a time; what opened.
async fn open_all<T, F, Fut>(count: usize, at_once: usize, open: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    futures::stream::iter(0..count)
        .map(open)
        .buffer_unordered(at_once)
        .filter_map(|opened| async move { opened })
        .collect()
        .await
}

async fn open_http1_streams(
    server: SocketAddr,
    sources: &[IpAddr],
    tokens: &[String],
    streams: usize,
) -> Idle {
    let opened = open_all(streams, 256, |i| {
        let token = tokens[i % tokens.len()].clone();
        let source = sources[i % sources.len()];
        async move {
            for attempt in 0..3 {
                match open_stream(server, source, &token).await {
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
    .await;
    Idle::Http1(opened)
}

async fn open_http2_streams(
    server: SocketAddr,
    sources: &[IpAddr],
    tokens: &[String],
    streams: usize,
    per_connection: usize,
) -> Idle {
    let senders = open_all(streams.div_ceil(per_connection), 64, |i| {
        let source = sources[i % sources.len()];
        async move {
            open_h2_connection(server, source)
                .await
                .map_err(|error| eprintln!("HTTP/2 connection {i} failed: {error}"))
                .ok()
        }
    })
    .await;
    if senders.is_empty() {
        return Idle::Http2 {
            streams: Vec::new(),
            connections: 0,
        };
    }
    let opened = open_all(streams, 256, |i| {
        let token = tokens[i % tokens.len()].clone();
        let sender = senders[(i / per_connection) % senders.len()].clone();
        async move {
            open_h2_stream(sender, server, &token)
                .await
                .map_err(|error| eprintln!("idle stream {i} failed: {error}"))
                .ok()
        }
    })
    .await;
    Idle::Http2 {
        streams: opened,
        connections: senders.len(),
    }
}
