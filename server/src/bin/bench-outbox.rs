//! `bench-outbox`: how fast the outbox worker drains events, and how long an event waits
//! between its commit and its handling — on SQLite and PostgreSQL, and on PostgreSQL beside
//! graphile-worker (npm) on the same database server in the same run.
//!
//!   bench-outbox [--engines sqlite,postgres] [--events 20000] [--orders 5000] [--samples 300]
//!
//! - drain, no-op: `events` events queued at once, drained by one worker whose handler only
//!   records the event as processed (the ledger write every handler does);
//! - drain, real: `orders` real orders' `OrderPlaced` drained by the real saga (stock taken,
//!   store queue, order-status view, notifications), once with one transaction per event and
//!   once with a round's events in one transaction (`Grouping::Always`);
//! - lag: `samples` events written one at a time while the worker idles: add → handler start
//!   (from the start of the writing transaction, as graphile-worker's add → start counts its
//!   `addJob` call) and commit → handled, p50/p99. The worker is woken by the in-process signal,
//!   as checkout wakes it.
//! - graphile-worker (PostgreSQL only): `scripts/graphile-bench/bench.mjs`, no-op drain of the
//!   same number of jobs, and add → start latency over the same number of samples.

use app::backend::outbox::{self, Event};
use app::backend::sagas;
use app::backend::worker::{self, Grouping, Handler, Handlers, WorkerConfig};
use app::backend::{now_ms, AppState};
use app::domain::{FoodId, OrderId, StoreId, UserId};
use server::config::Config;
use sqlx::{AnyConnection, Connection, Row};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

struct Args {
    engines: Vec<String>,
    events: i64,
    orders: i64,
    samples: usize,
}

fn parse_args() -> Args {
    let mut args = Args {
        engines: vec!["sqlite".into(), "postgres".into()],
        events: 20_000,
        orders: 5_000,
        samples: 300,
    };
    let raw: Vec<String> = std::env::args().skip(1).collect();
    for pair in raw.chunks(2) {
        match (pair[0].as_str(), pair.get(1)) {
            ("--engines", Some(v)) => args.engines = v.split(',').map(str::to_string).collect(),
            ("--events", Some(v)) => args.events = v.parse().expect("--events: a number"),
            ("--orders", Some(v)) => args.orders = v.parse().expect("--orders: a number"),
            ("--samples", Some(v)) => args.samples = v.parse().expect("--samples: a number"),
            _ => {
                eprintln!("usage: bench-outbox [--engines sqlite,postgres] [--events N] [--orders N] [--samples N]");
                std::process::exit(2);
            }
        }
    }
    args
}

fn percentile(sorted: &[Duration], q: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

async fn scratch(engine: &str, admin: &str) -> (String, Option<String>, Option<tempfile::TempDir>) {
    if engine == "sqlite" {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bench.db").display()
        );
        return (url, None, Some(dir));
    }
    sqlx::any::install_default_drivers();
    let name = format!("baedal_bench_{}", uuid::Uuid::new_v4().simple());
    let mut conn = AnyConnection::connect(admin)
        .await
        .expect("PostgreSQL reachable");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin);
    (format!("{base}/{name}"), Some(name), None)
}

async fn drop_database(admin: &str, name: &str) {
    let mut conn = AnyConnection::connect(admin).await.unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await
        .unwrap();
}

/// Queues `count` events (distinct orders, so none waits for another) in one transaction.
async fn queue_events(state: &AppState, first_order: i64, count: i64) {
    let mut tx = state.db.begin().await.unwrap();
    for order_id in first_order..first_order + count {
        outbox::enqueue(
            &mut tx,
            &Event::OrderCancelled {
                order_id: OrderId(order_id),
            },
            None,
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

async fn drain(state: &AppState, config: &WorkerConfig, handlers: &Handlers) -> Duration {
    let started = Instant::now();
    while worker::run_once(state, "bench", config, handlers)
        .await
        .unwrap()
        > 0
    {}
    started.elapsed()
}

fn acknowledging(events: Option<mpsc::UnboundedSender<(i64, Instant, Instant)>>) -> Handler {
    Arc::new(move |state, delivery| {
        let events = events.clone();
        Box::pin(async move {
            let started = Instant::now();
            let result = sagas::acknowledge(&state, &delivery).await;
            if let Some(events) = events {
                let _ = events.send((delivery.id, started, Instant::now()));
            }
            result
        })
    })
}

/// Real orders (as checkout records them) whose `OrderPlaced` events wait in the outbox.
async fn queue_real_orders(state: &AppState, count: i64) {
    let mut tx = state.db.begin().await.unwrap();
    let customer: i64 = sqlx::query("SELECT id FROM users WHERE email = 'customer@baedal.kr'")
        .fetch_one(&mut *tx)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    let food = sqlx::query("SELECT id, store_id, price_won FROM foods ORDER BY id LIMIT 1")
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    let (food_id, store_id, price): (i64, i64, i64) = (
        food.try_get(0).unwrap(),
        food.try_get(1).unwrap(),
        food.try_get(2).unwrap(),
    );
    sqlx::query("UPDATE foods SET stock = 1000000000 WHERE id = $1")
        .bind(food_id)
        .execute(&mut *tx)
        .await
        .unwrap();
    for _ in 0..count {
        let now = now_ms();
        let order_id: i64 = sqlx::query(
            "INSERT INTO orders (customer_id, store_id, status, total_won, district, created_at, updated_at)
             VALUES ($1, $2, 'placed', $3, '마포구', $4, $4) RETURNING id",
        )
        .bind(customer).bind(store_id).bind(price).bind(now)
        .fetch_one(&mut *tx).await.unwrap().try_get(0).unwrap();
        sqlx::query("INSERT INTO order_lines (order_id, food_id, name, unit_price_won, quantity) VALUES ($1, $2, '즉석떡볶이', $3, 1)")
            .bind(order_id).bind(food_id).bind(price).execute(&mut *tx).await.unwrap();
        sqlx::query("INSERT INTO payments (order_id, provider, provider_ref, amount_won, status, approved_at) VALUES ($1, 'sandbox', $2, $3, 'approved', $4)")
            .bind(order_id).bind(format!("bench-{order_id}")).bind(price).bind(now).execute(&mut *tx).await.unwrap();
        let event = Event::OrderPlaced {
            order_id: OrderId(order_id),
            customer_id: UserId(customer),
            store_id: StoreId(store_id),
            total_won: price,
            lines: vec![outbox::PlacedLine {
                food_id: FoodId(food_id),
                quantity: 1,
            }],
        };
        outbox::enqueue(&mut tx, &event, None).await.unwrap();
    }
    tx.commit().await.unwrap();
}

async fn bench_engine(engine: &str, args: &Args, admin: &str) {
    let (url, pg_name, _dir) = scratch(engine, admin).await;
    let config = Config::from_lookup(|name| match name {
        "DATABASE_URL" => Some(url.clone()),
        _ => None,
    })
    .unwrap();
    let state = server::prepare(&config).await.expect("database ready");
    let worker_config = WorkerConfig::default();

    queue_events(&state, 1_000_000, args.events).await;
    let noop = drain(
        &state,
        &worker_config,
        &Handlers::one_by_one(acknowledging(None)),
    )
    .await;

    // The real saga, a transaction per event and then a round per transaction (A/B).
    let one_by_one = WorkerConfig {
        grouping: Grouping::Never,
        ..worker_config.clone()
    };
    queue_real_orders(&state, args.orders).await;
    let real = drain(&state, &one_by_one, &sagas::handler()).await;
    let grouping = WorkerConfig {
        grouping: Grouping::Always,
        ..worker_config.clone()
    };
    queue_real_orders(&state, args.orders).await;
    let grouped = drain(&state, &grouping, &sagas::handler()).await;

    // Lag: the real worker loop, idle between events, woken as checkout wakes it.
    let (sender, mut handled) = mpsc::unbounded_channel();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let looping = tokio::spawn(worker::run(
        state.clone(),
        worker_config.clone(),
        stopped,
        Handlers::one_by_one(acknowledging(Some(sender))),
    ));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut to_start = Vec::new();
    let mut to_done = Vec::new();
    for i in 0..args.samples as i64 {
        let added = Instant::now();
        let mut tx = state.db.begin().await.unwrap();
        outbox::enqueue(
            &mut tx,
            &Event::OrderCancelled {
                order_id: OrderId(2_000_000 + i),
            },
            None,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let committed = Instant::now();
        state.outbox_wakeup.notify_one();
        let (_, started, done) = handled.recv().await.unwrap();
        to_start.push(started - added);
        to_done.push(done - committed);
    }
    let _ = stop.send(true);
    let _ = looping.await;
    to_start.sort_unstable();
    to_done.sort_unstable();
    println!(
        "| {engine} | Baedal outbox worker | {:.0} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} |",
        args.events as f64 / noop.as_secs_f64(),
        args.orders as f64 / real.as_secs_f64(),
        args.orders as f64 / grouped.as_secs_f64(),
        percentile(&to_start, 0.5),
        percentile(&to_start, 0.99),
        percentile(&to_done, 0.5),
        percentile(&to_done, 0.99),
    );
    state.db.close().await;

    if let Some(name) = pg_name {
        drop_database(admin, &name).await;
        // graphile-worker on its own fresh database on the same server.
        let (gw_url, gw_name, _) = scratch("postgres", admin).await;
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scripts/graphile-bench/bench.mjs"
        );
        let output = std::process::Command::new("node")
            .args([
                script,
                &gw_url,
                &args.events.to_string(),
                &args.samples.to_string(),
                "10",
            ])
            .output()
            .expect("node runs the graphile-worker benchmark");
        drop_database(admin, gw_name.as_deref().unwrap()).await;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let Some(result) = stdout
            .lines()
            .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        else {
            eprintln!(
                "graphile-worker benchmark failed:\n{stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            return;
        };
        println!(
            "| postgres | graphile-worker 0.17.3 (concurrency 10) | {:.0} | — | — | {:.2} | {:.2} | — | — |",
            result["drain_per_second"].as_f64().unwrap(),
            result["latency_p50_ms"].as_f64().unwrap(),
            result["latency_p99_ms"].as_f64().unwrap(),
        );
    }
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    let admin = std::env::var("BAEDAL_BENCH_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    println!("outbox drain ({} no-op events, {} real orders) and commit → handling lag ({} sequential events)\n", args.events, args.orders, args.samples);
    println!("| engine | worker | no-op drain events/s | real saga events/s, one per transaction | real saga events/s, a round per transaction | add → start p50 ms | p99 ms | commit → handled p50 ms | p99 ms |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for engine in &args.engines {
        bench_engine(engine, &args, &admin).await;
    }
}
