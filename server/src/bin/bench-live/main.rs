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
//!
//! Here: the arguments and the table; one row's run in `cell`, the measurements in `probe`.

mod cell;
mod probe;

use cell::cell;
use std::time::Duration;

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

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
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
