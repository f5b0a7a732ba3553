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
use serde_json::json;
use server::bench::{self, Scratch};
use sqlx::Row;
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
    let scratch = Scratch::new(engine).await;
    let max_level = *args.levels.iter().max().unwrap();
    let bench = bench::start(&scratch, max_level).await;
    let (url, db, store_id) = (
        bench.url.clone(),
        bench.server.state.db.clone(),
        bench.store_id,
    );
    let (clients, customer_ids, foods) = (bench.clients, bench.customer_ids, bench.foods);
    let clients = Arc::new(clients);
    let foods = Arc::new(foods);

    for &level in &args.levels {
        bench::drained(&db, Duration::from_secs(60)).await;
        let ours = {
            let (clients, foods, url) = (clients.clone(), foods.clone(), url.clone());
            drive(level, args.seconds, move |worker, _n| {
                let (clients, foods, url) = (clients.clone(), foods.clone(), url.clone());
                async move {
                    let body = bench::checkout_body(store_id, &foods);
                    match clients[worker]
                        .post(format!("{url}/api/place_order"))
                        .json(&body)
                        .send()
                        .await
                    {
                        Ok(response) => {
                            response.status().is_success() && response.bytes().await.is_ok()
                        }
                        Err(_) => false,
                    }
                }
            })
            .await
        };
        bench::drained(&db, Duration::from_secs(60)).await;
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
    bench.server.shutdown().await.expect("shutdown");
    scratch.remove().await;
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
