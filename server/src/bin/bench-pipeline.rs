//! `bench-pipeline`: does the outbox pipeline keep up with checkout? Customers order at a fixed
//! offered rate (open loop: requests go out on schedule whether or not earlier ones answered),
//! stepping the rate up; for each step it reports the orders/s achieved, checkout latency, and
//! the lag from an `OrderPlaced` event's commit to its saga being handled (the outbox's
//! `created_at` → `processed_at`). The **sustained rate** is the highest offered rate whose
//! lag p99 stays under 1 s with every order answered.
//!
//! In the same run, the **raw limit**: the same writes (checkout claim, order transaction, the
//! worker's claim and the `OrderPlaced` saga's writes) issued by the database's own client —
//! pgbench on PostgreSQL, Python's sqlite3 on the same SQLite file with the app's settings —
//! at `--concurrency` clients, with the server stopped (scripts/raw-limit/).
//!
//!   bench-pipeline [--engines sqlite,postgres] [--rates 50,100,200,400] [--seconds 30]
//!                  [--concurrency 16] [--grouping auto,never] [--worker-batch 32,128]
//!                  [--group-commit true,false]
//!
//! `--grouping` runs the steps once per worker grouping mode (`BAEDAL_WORKER_GROUPING`: a
//! round's events in one transaction or one each), each on a fresh database, for an A/B in
//! one run; `--group-commit` likewise for checkout's group commit of orders on SQLite
//! (`BAEDAL_GROUP_COMMIT_ORDERS`).

use app::backend::now_ms;
use server::bench::{self, quantile, Scratch};
use sqlx::Row;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Args {
    engines: Vec<String>,
    rates: Vec<u64>,
    seconds: u64,
    concurrency: usize,
    grouping: Vec<String>,
    /// `BAEDAL_WORKER_BATCH` values to run (none: the server's default).
    worker_batch: Vec<u64>,
    /// `BAEDAL_GROUP_COMMIT_ORDERS` values to run.
    group_commit: Vec<String>,
}

fn parse_args() -> Args {
    let mut args = Args {
        engines: vec!["sqlite".into(), "postgres".into()],
        rates: vec![50, 100, 200, 400],
        seconds: 30,
        concurrency: 16,
        grouping: vec!["auto".into()],
        worker_batch: Vec::new(),
        group_commit: vec!["true".into()],
    };
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let numbers = |v: &str| -> Vec<u64> {
        v.split(',')
            .map(|n| n.parse().expect("a list of numbers"))
            .collect()
    };
    for pair in raw.chunks(2) {
        match (pair[0].as_str(), pair.get(1)) {
            ("--engines", Some(v)) => args.engines = v.split(',').map(str::to_string).collect(),
            ("--rates", Some(v)) => args.rates = numbers(v),
            ("--seconds", Some(v)) => args.seconds = v.parse().expect("--seconds: a number"),
            ("--concurrency", Some(v)) => {
                args.concurrency = v.parse().expect("--concurrency: a number")
            }
            ("--grouping", Some(v)) => args.grouping = v.split(',').map(str::to_string).collect(),
            ("--worker-batch", Some(v)) => args.worker_batch = numbers(v),
            ("--group-commit", Some(v)) => {
                args.group_commit = v.split(',').map(str::to_string).collect()
            }
            _ => {
                eprintln!("usage: bench-pipeline [--engines sqlite,postgres] [--rates 50,100,200,400] [--seconds 30] [--concurrency 16] [--grouping auto,never] [--worker-batch 32,128] [--group-commit true,false]");
                std::process::exit(2);
            }
        }
    }
    args
}

struct Step {
    offered: u64,
    achieved: f64,
    checkout_ms: Vec<f64>,
    failed: u64,
    lag_ms: Vec<f64>,
}

impl Step {
    fn sustained(&self) -> bool {
        self.failed == 0
            && self.achieved >= self.offered as f64 * 0.95
            && quantile(&self.lag_ms, 0.99) < 1000.0
    }
}

/// At most this many checkouts in flight; beyond it a scheduled order counts as failed (the
/// server is not keeping up with the offered rate).
const MAX_IN_FLIGHT: usize = 2048;

async fn offer(bench: &bench::Bench, rate: u64, seconds: u64) -> Step {
    let started_ms = now_ms();
    let started = Instant::now();
    let total = rate * seconds;
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(total as usize)));
    let failed = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let in_flight = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..total {
        let due = started + Duration::from_secs_f64(n as f64 / rate as f64);
        tokio::time::sleep_until(due.into()).await;
        let Ok(permit) = in_flight.clone().try_acquire_owned() else {
            failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            continue;
        };
        let client = bench.clients[n as usize % bench.clients.len()].clone();
        let url = format!("{}/api/place_order", bench.url);
        let body = bench::checkout_body(bench.store_id, &bench.foods);
        let (latencies, failed) = (latencies.clone(), failed.clone());
        tasks.spawn(async move {
            let t = Instant::now();
            let ok = match client.post(url).json(&body).send().await {
                Ok(response) => response.status().is_success() && response.bytes().await.is_ok(),
                Err(_) => false,
            };
            if ok {
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                latencies.lock().unwrap().push(ms);
            } else {
                failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            drop(permit);
        });
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = started.elapsed().as_secs_f64();
    let db = &bench.server.state.db;
    bench::drained(db, Duration::from_secs(300)).await;
    let mut lag_ms: Vec<f64> = sqlx::query(
        "SELECT processed_at - created_at FROM outbox
         WHERE event_type = 'OrderPlaced' AND created_at >= $1 AND processed_at IS NOT NULL",
    )
    .bind(started_ms)
    .fetch_all(db.reader())
    .await
    .expect("lags")
    .iter()
    .map(|row| row.try_get::<i64, _>(0).expect("lag") as f64)
    .collect();
    lag_ms.sort_by(f64::total_cmp);
    let mut checkout_ms = std::mem::take(&mut *latencies.lock().unwrap());
    checkout_ms.sort_by(f64::total_cmp);
    Step {
        offered: rate,
        achieved: checkout_ms.len() as f64 / elapsed,
        checkout_ms,
        failed: failed.load(std::sync::atomic::Ordering::Relaxed),
        lag_ms,
    }
}

/// Ids the raw client's statements need, as the app would use them.
async fn raw_ids(bench: &bench::Bench) -> serde_json::Value {
    let owner: i64 = sqlx::query("SELECT owner_id FROM stores WHERE id = $1")
        .bind(bench.store_id)
        .fetch_one(bench.server.state.db.reader())
        .await
        .expect("store")
        .try_get(0)
        .expect("owner id");
    serde_json::json!({
        "store": bench.store_id,
        "owner": owner,
        "first_customer": bench.customer_ids.iter().min(),
        "last_customer": bench.customer_ids.iter().max(),
        "food1": bench.foods[0].0, "price1": bench.foods[0].1,
        "food2": bench.foods[1].0, "price2": bench.foods[1].1,
        "total": bench.foods[0].1 + bench.foods[1].1,
    })
}

/// Orders/s of the raw client, run with the server stopped.
fn raw_limit(engine: &str, scratch: &Scratch, ids: &serde_json::Value, args: &Args) -> f64 {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/raw-limit");
    match engine {
        "postgres" => {
            let mut command = std::process::Command::new("pgbench");
            command
                .args(["-n", "-j", "2", "-M", "prepared"])
                .args(["-c", &args.concurrency.to_string()])
                .args(["-T", &args.seconds.to_string()])
                .args(["-f", &format!("{dir}/order.pgbench.sql")]);
            for (name, value) in ids.as_object().unwrap() {
                command.args(["-D", &format!("{name}={value}")]);
            }
            let output = command.arg(&scratch.url).output().expect("pgbench runs");
            let text = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success(),
                "pgbench failed: {text}{}",
                String::from_utf8_lossy(&output.stderr)
            );
            text.lines()
                .find_map(|line| line.strip_prefix("tps = "))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|tps| tps.parse().ok())
                .unwrap_or_else(|| panic!("no tps in pgbench's output: {text}"))
        }
        _ => {
            let output = std::process::Command::new("python3")
                .arg(format!("{dir}/order_sqlite.py"))
                .arg(scratch.sqlite_path().expect("an SQLite file"))
                .arg(args.concurrency.to_string())
                .arg(args.seconds.to_string())
                .arg(ids.to_string())
                .output()
                .expect("python3 runs");
            let text = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success(),
                "the sqlite3 client failed: {text}{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let words: Vec<&str> = text.split_whitespace().collect();
            match words.as_slice() {
                ["orders", orders, "seconds", seconds] => {
                    orders.parse::<f64>().unwrap() / seconds.parse::<f64>().unwrap()
                }
                _ => panic!("unexpected output of the sqlite3 client: {text}"),
            }
        }
    }
}

async fn bench_engine(
    engine: &str,
    grouping: &str,
    batch: Option<u64>,
    group_commit: &str,
    args: &Args,
) {
    let scratch = Scratch::new(engine).await;
    let mut settings = vec![
        ("BAEDAL_WORKER_GROUPING", grouping.to_string()),
        ("BAEDAL_GROUP_COMMIT_ORDERS", group_commit.to_string()),
    ];
    let mut label = format!("{engine} ({grouping}");
    if let Some(batch) = batch {
        settings.push(("BAEDAL_WORKER_BATCH", batch.to_string()));
        label = format!("{label}, batch {batch}");
    }
    if args.group_commit.len() > 1 {
        label = format!("{label}, group commit {group_commit}");
    }
    label.push(')');
    let bench = bench::start_with(&scratch, 64, &settings).await;
    let mut sustained = None;
    let mut misses = 0;
    for &rate in &args.rates {
        bench::drained(&bench.server.state.db, Duration::from_secs(300)).await;
        let step = offer(&bench, rate, args.seconds).await;
        println!(
            "| {label} | {rate} | {:.0} | {:.1} | {:.1} | {} | {:.0} | {:.0} | {:.0} |",
            step.achieved,
            quantile(&step.checkout_ms, 0.5),
            quantile(&step.checkout_ms, 0.99),
            step.failed,
            quantile(&step.lag_ms, 0.5),
            quantile(&step.lag_ms, 0.99),
            step.lag_ms.last().copied().unwrap_or(f64::NAN),
        );
        if step.sustained() {
            sustained = Some(step);
            misses = 0;
        } else {
            misses += 1;
            if misses == 2 {
                break;
            }
        }
    }
    let ids = raw_ids(&bench).await;
    bench.server.shutdown().await.expect("shutdown");
    let raw = raw_limit(engine, &scratch, &ids, args);
    match sustained {
        Some(step) => println!(
            "\n**{label}: sustained {} orders/s (lag p99 {:.0} ms); raw limit {raw:.0} orders/s at {} clients; ratio {:.2}**\n",
            step.offered,
            quantile(&step.lag_ms, 0.99),
            args.concurrency,
            step.offered as f64 / raw
        ),
        None => println!(
            "\n**{label}: no offered rate was sustained; raw limit {raw:.0} orders/s at {} clients**\n",
            args.concurrency
        ),
    }
    scratch.remove().await;
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    println!(
        "{} cores; {} s per step; open-loop offered rate; lag = OrderPlaced commit → saga handled\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        args.seconds
    );
    println!("| engine (grouping) | offered/s | achieved orders/s | checkout p50 ms | checkout p99 ms | failed | lag p50 ms | lag p99 ms | lag max ms |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for engine in &args.engines {
        for grouping in &args.grouping {
            let batches: Vec<Option<u64>> = if args.worker_batch.is_empty() {
                vec![None]
            } else {
                args.worker_batch.iter().copied().map(Some).collect()
            };
            for batch in batches {
                for group_commit in &args.group_commit {
                    bench_engine(engine, grouping, batch, group_commit, &args).await;
                }
            }
        }
    }
}
