//! `bench-checkout`: checkout throughput and latency over HTTP, against the raw database doing
//! the same writes, in one run on one machine.
//!
//! For each engine it starts the real server (in this process, release build) on a fresh
//! database with the sandbox payment provider at zero latency, signs up one customer per
//! concurrent client, then at each concurrency level places orders over HTTP for a fixed time
//! (every request a new idempotency key, two foods), recording each latency. It then runs, at
//! the same concurrency, the same database work directly through sqlx: the checkout claim and
//! the order transaction (order, lines, payment, outbox event, checkout completed).
//!
//!   bench-checkout [--engines sqlite,postgres] [--levels 1,4,16,64] [--seconds 5]
//!
//! PostgreSQL: `BAEDAL_BENCH_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`)
//! is used to create and drop a scratch database.

use app::backend::{now_ms, Db};
use serde_json::{json, Value};
use server::config::Config;
use server::sandbox_pay::{self, SandboxConfig, APPROVE_CARD};
use sqlx::{AnyConnection, Connection, Row};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Args {
    engines: Vec<String>,
    levels: Vec<usize>,
    seconds: u64,
}

fn parse_args() -> Args {
    let mut args = Args {
        engines: vec!["sqlite".into(), "postgres".into()],
        levels: vec![1, 4, 16, 64],
        seconds: 5,
    };
    let raw: Vec<String> = std::env::args().skip(1).collect();
    for pair in raw.chunks(2) {
        match (pair[0].as_str(), pair.get(1)) {
            ("--engines", Some(v)) => args.engines = v.split(',').map(str::to_string).collect(),
            ("--levels", Some(v)) => {
                args.levels = v
                    .split(',')
                    .map(|n| n.parse().expect("--levels: numbers"))
                    .collect()
            }
            ("--seconds", Some(v)) => args.seconds = v.parse().expect("--seconds: a number"),
            _ => {
                eprintln!("usage: bench-checkout [--engines sqlite,postgres] [--levels 1,4,16,64] [--seconds 5]");
                std::process::exit(2);
            }
        }
    }
    args
}

/// Latencies of one run, summarised.
struct Run {
    done: u64,
    failed: u64,
    elapsed: Duration,
    p50_ms: f64,
    p99_ms: f64,
}

impl Run {
    fn rate(&self) -> f64 {
        self.done as f64 / self.elapsed.as_secs_f64()
    }
}

fn summarise(mut latencies: Vec<Duration>, failed: u64, elapsed: Duration) -> Run {
    latencies.sort_unstable();
    let pick = |q: f64| {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies[i].as_secs_f64() * 1000.0
    };
    Run {
        done: latencies.len() as u64,
        failed,
        elapsed,
        p50_ms: pick(0.50),
        p99_ms: pick(0.99),
    }
}

/// Runs `workers` copies of `step` until `seconds` pass (or 1,000,000 steps in all).
async fn drive<F, Fut>(workers: usize, seconds: u64, step: F) -> Run
where
    F: Fn(usize, u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let started = Instant::now();
    let deadline = started + Duration::from_secs(seconds);
    let counter = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for worker in 0..workers {
        let step = step.clone();
        let counter = counter.clone();
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failed = 0;
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                if n >= 1_000_000 {
                    break;
                }
                let t = Instant::now();
                if step(worker, n).await {
                    latencies.push(t.elapsed());
                } else {
                    failed += 1;
                }
            }
            (latencies, failed)
        }));
    }
    let mut latencies = Vec::new();
    let mut failed = 0;
    for handle in handles {
        let (l, f) = handle.await.expect("worker");
        latencies.extend(l);
        failed += f;
    }
    summarise(latencies, failed, started.elapsed())
}

struct Scratch {
    url: String,
    drop_postgres: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

async fn scratch_database(engine: &str) -> Scratch {
    match engine {
        "sqlite" => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("bench.db").display()
            );
            Scratch {
                url,
                drop_postgres: None,
                _dir: Some(dir),
            }
        }
        "postgres" => {
            sqlx::any::install_default_drivers();
            let admin = std::env::var("BAEDAL_BENCH_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let name = format!("baedal_bench_{}", uuid::Uuid::new_v4().simple());
            let mut conn = AnyConnection::connect(&admin)
                .await
                .expect("PostgreSQL reachable");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .expect("create database");
            let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
            Scratch {
                url: format!("{base}/{name}"),
                drop_postgres: Some((admin, name)),
                _dir: None,
            }
        }
        other => panic!("unknown engine {other}"),
    }
}

/// The database work of one checkout, without HTTP, sessions, pricing reads or payment.
async fn raw_checkout(
    db: &Db,
    customer_id: i64,
    store_id: i64,
    foods: &[(i64, i64)],
    n: u64,
) -> Result<(), sqlx::Error> {
    let now = now_ms();
    let key = format!("raw-{n}-{}", uuid::Uuid::new_v4().simple());
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO checkouts (customer_id, idempotency_key, request_hash, state, created_at, updated_at)
         VALUES ($1, $2, 'h', 'in_progress', $3, $3) ON CONFLICT (customer_id, idempotency_key) DO NOTHING RETURNING customer_id",
    )
    .bind(customer_id).bind(&key).bind(now)
    .fetch_optional(&mut *tx).await?;
    tx.commit().await?;

    let total: i64 = foods.iter().map(|(_, price)| price).sum();
    let mut tx = db.begin().await?;
    let order_id: i64 = sqlx::query(
        "INSERT INTO orders (customer_id, store_id, status, total_won, district, created_at, updated_at)
         VALUES ($1, $2, 'placed', $3, '마포구', $4, $4) RETURNING id",
    )
    .bind(customer_id).bind(store_id).bind(total).bind(now)
    .fetch_one(&mut *tx).await?.try_get(0)?;
    for (food_id, price) in foods {
        sqlx::query("INSERT INTO order_lines (order_id, food_id, name, unit_price_won, quantity) VALUES ($1, $2, 'x', $3, 1)")
            .bind(order_id).bind(*food_id).bind(*price)
            .execute(&mut *tx).await?;
    }
    sqlx::query(
        "INSERT INTO payments (order_id, provider, provider_ref, amount_won, status, card_hint, approved_at)
         VALUES ($1, 'sandbox', $2, $3, 'approved', '4242-****-****-4242', $4)",
    )
    .bind(order_id).bind(&key).bind(total).bind(now)
    .execute(&mut *tx).await?;
    // The same event checkout writes, so the worker does the same work after both paths.
    let event = json!({
        "type": "OrderPlaced", "order_id": order_id, "customer_id": customer_id,
        "store_id": store_id, "total_won": total,
        "lines": foods.iter().map(|(id, _)| json!({"food_id": id, "quantity": 1})).collect::<Vec<_>>(),
    });
    sqlx::query(
        "INSERT INTO outbox (order_id, event_type, payload, created_at, available_at) VALUES ($1, 'OrderPlaced', $2, $3, $3)",
    )
    .bind(order_id).bind(event.to_string()).bind(now)
    .execute(&mut *tx).await?;
    sqlx::query("UPDATE checkouts SET state = 'completed', order_id = $1, updated_at = $2 WHERE customer_id = $3 AND idempotency_key = $4")
        .bind(order_id).bind(now).bind(customer_id).bind(&key)
        .execute(&mut *tx).await?;
    tx.commit().await
}

async fn bench_engine(engine: &str, args: &Args) {
    let scratch = scratch_database(engine).await;
    let sandbox_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sandbox_url = format!("http://{}", sandbox_listener.local_addr().unwrap());
    tokio::spawn(sandbox_pay::serve(
        sandbox_listener,
        SandboxConfig {
            slow: Duration::from_secs(5),
            latency: Duration::ZERO,
        },
        std::future::pending(),
    ));
    let config = Config::from_lookup(|name| match name {
        "BAEDAL_ADDR" => Some("127.0.0.1:0".into()),
        "DATABASE_URL" => Some(scratch.url.clone()),
        "BAEDAL_SANDBOX_PAY_URL" => Some(sandbox_url.clone()),
        _ => None,
    })
    .expect("configuration");
    let server = server::start(config).await.expect("server starts");
    let url = server.url();
    let db = server.state.db.clone();
    {
        let mut tx = db.begin().await.unwrap();
        sqlx::query("UPDATE foods SET stock = 1000000000")
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }

    // One signed-in customer (own cookie jar) per concurrent client.
    let max_level = *args.levels.iter().max().unwrap();
    let mut clients = Vec::new();
    let mut customer_ids = Vec::new();
    for i in 0..max_level {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let email = format!("bench{i}@example.com");
        let user: Value = client
            .post(format!("{url}/api/sign_up"))
            .form(&[
                ("role", "customer"),
                ("email", email.as_str()),
                ("password", "bench-password"),
                ("display_name", "벤치"),
                ("district", "마포구"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        customer_ids.push(user["id"].as_i64().expect("signed up"));
        clients.push(client);
    }
    let first = &clients[0];
    let stores: Value = first
        .post(format!("{url}/api/nearby_stores"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let store_id = stores
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "마포 즉석떡볶이")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let menu: Value = first
        .post(format!("{url}/api/get_store_menu"))
        .form(&[("store_id", store_id.to_string())])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let foods: Vec<(i64, i64)> = menu["menu"].as_array().unwrap()[..2]
        .iter()
        .map(|f| (f["id"].as_i64().unwrap(), f["price"].as_i64().unwrap()))
        .collect();
    let clients = Arc::new(clients);
    let foods = Arc::new(foods);

    for &level in &args.levels {
        drained(&db).await;
        let ours = {
            let (clients, foods, url) = (clients.clone(), foods.clone(), url.clone());
            drive(level, args.seconds, move |worker, _n| {
                let (clients, foods, url) = (clients.clone(), foods.clone(), url.clone());
                async move {
                    let body = json!({
                        "store_id": store_id,
                        "lines": foods.iter().map(|(id, _)| json!({"food_id": id, "quantity": 1})).collect::<Vec<_>>(),
                        "idempotency_key": uuid::Uuid::new_v4().to_string(),
                        "card_number": APPROVE_CARD,
                    });
                    match clients[worker].post(format!("{url}/api/place_order")).json(&body).send().await {
                        Ok(response) => response.status().is_success() && response.bytes().await.is_ok(),
                        Err(_) => false,
                    }
                }
            })
            .await
        };
        drained(&db).await;
        let raw = {
            let (db, foods, customer_ids) =
                (db.clone(), foods.clone(), Arc::new(customer_ids.clone()));
            drive(level, args.seconds, move |worker, n| {
                let (db, foods, customer_ids) = (db.clone(), foods.clone(), customer_ids.clone());
                async move {
                    raw_checkout(&db, customer_ids[worker], store_id, &foods, n)
                        .await
                        .is_ok()
                }
            })
            .await
        };
        println!(
            "| {engine} | {level} | {:.0} | {:.2} | {:.2} | {} | {:.0} | {:.2} | {:.2} | {} | **{:.2}** |",
            ours.rate(), ours.p50_ms, ours.p99_ms, ours.failed,
            raw.rate(), raw.p50_ms, raw.p99_ms, raw.failed,
            ours.rate() / raw.rate()
        );
    }
    server.shutdown().await.expect("shutdown");
    if let Some((admin, name)) = scratch.drop_postgres {
        let mut conn = AnyConnection::connect(&admin).await.unwrap();
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await
            .unwrap();
    }
}

/// Waits until the outbox worker (running in the server, as in production) has caught up, so
/// each measurement starts from an empty queue instead of inheriting the previous one's backlog.
async fn drained(db: &Db) {
    for _ in 0..6_000 {
        let pending: i64 = sqlx::query(
            "SELECT COUNT(*) FROM outbox WHERE processed_at IS NULL AND dead_at IS NULL",
        )
        .fetch_one(db.reader())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
        if pending == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the outbox did not drain within a minute");
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    println!(
        "checkout over HTTP (ours) vs the same writes through sqlx (raw), {} s per cell\n",
        args.seconds
    );
    println!("| engine | concurrency | ours orders/s | ours p50 ms | ours p99 ms | ours failed | raw tx/s | raw p50 ms | raw p99 ms | raw failed | ours/raw |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for engine in &args.engines {
        bench_engine(engine, &args).await;
    }
}
