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
//!              [--transport http1|http2] [--per-connection 100] [--rounds 1]
//!
//! `--rate 0`: every customer orders again as soon as the last checkout answered. Idle streams
//! are many per idle user and per address, so the server runs with `BAEDAL_LIVE_MAX_PER_SESSION`
//! and `BAEDAL_LIVE_MAX_PER_ADDRESS` raised.
//!
//! `--transport http1` (the default) opens every idle stream on a connection of its own, as
//! pages behind an HTTP/1.1 proxy are: the server and this process then hold one descriptor per
//! stream, so the process's open-file limit caps the cell (raise it first, `ulimit -n`).
//! `--transport http2` opens them `--per-connection` at a time over HTTP/2 connections, as a
//! browser multiplexes its tabs of one site: the stream's own cost without a connection each,
//! and far more streams than descriptors.
//!
//! `--rounds N` runs the whole list of cells N times, interleaved (0, 10000, 0, 10000, …), so
//! that drift in the machine's load falls on every cell alike, then prints each cell's median
//! over the rounds and its ratio to the first cell's.
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
    transport: Transport,
    per_connection: usize,
    rounds: usize,
}

#[derive(Clone, Copy, PartialEq)]
pub enum Transport {
    Http1,
    Http2,
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
        transport: Transport::Http1,
        per_connection: 100,
        rounds: 1,
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
            "--transport" if value == "http1" => args.transport = Transport::Http1,
            "--transport" if value == "http2" => args.transport = Transport::Http2,
            "--per-connection" => {
                args.per_connection = (number("--per-connection") as usize).max(1)
            }
            "--rounds" => args.rounds = (number("--rounds") as usize).max(1),
            other => usage(other),
        }
    }
    args
}

fn usage(what: &str) -> ! {
    eprintln!(
        "bench-live: bad {what}\nusage: bench-live [--bin target/release/baedal] [--engine sqlite|postgres] \
         [--streams 0,10000] [--customers 16] [--rate 0] [--seconds 10] [--idle-users 100] [--sources 4] \
         [--transport http1|http2] [--per-connection 100] [--rounds 1]"
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
    connections: usize,
    server_fds: usize,
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
    let transport = match args.transport {
        Transport::Http1 => "HTTP/1.1, a connection per stream".to_string(),
        Transport::Http2 => format!("HTTP/2, {} streams per connection", args.per_connection),
    };
    println!(
        "bench-live: {} ({}), {} ordering customers, {}, {} s per cell, idle streams over {} idle users and {} source addresses ({transport}), {} round(s)\n",
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
        args.rounds,
    );
    println!("| idle streams | connections | server fds | opened in s | server RSS before MiB | after MiB | KiB per stream | orders/s | failed | checkout p50 ms | p99 ms | server CPU s per s | placed hint p50 ms | p99 ms | fan-out p50 ms | p99 ms | unheard |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let mut rows: Vec<Vec<Row>> = vec![Vec::new(); args.streams.len()];
    for _ in 0..args.rounds {
        for (slot, &streams) in args.streams.iter().enumerate() {
            let c = cell(&args, streams).await;
            let row = Row::of(&c);
            println!(
                "| {} | {} | {} | {:.1} | {:.0} | {:.0} | {} | {:.0} | {} | {:.1} | {:.1} | {:.2} | {:.1} | {:.1} | {:.1} | {:.1} | {} |",
                c.streams,
                c.connections,
                c.server_fds,
                c.open_s,
                c.rss_before_kib as f64 / 1024.0,
                c.rss_after_kib as f64 / 1024.0,
                row.kib_per_stream.map_or("–".into(), |k| format!("{k:.1}")),
                row.orders_per_s,
                c.failed,
                row.checkout_p50,
                row.checkout_p99,
                row.cpu,
                row.hint_p50,
                row.hint_p99,
                row.fan_out_p50,
                row.fan_out_p99,
                c.unheard,
            );
            rows[slot].push(row);
        }
    }
    if args.rounds > 1 {
        summary(&args.streams, &rows);
    }
}

/// One cell's figures, as the tables show them.
#[derive(Clone)]
struct Row {
    kib_per_stream: Option<f64>,
    orders_per_s: f64,
    checkout_p50: f64,
    checkout_p99: f64,
    cpu: f64,
    hint_p50: f64,
    hint_p99: f64,
    fan_out_p50: f64,
    fan_out_p99: f64,
}

impl Row {
    fn of(c: &Cell) -> Row {
        let seconds = c.elapsed.as_secs_f64();
        Row {
            kib_per_stream: (c.streams > 0)
                .then(|| (c.rss_after_kib as f64 - c.rss_before_kib as f64) / c.streams as f64),
            orders_per_s: c.orders as f64 / seconds,
            checkout_p50: percentile(&c.checkout, 0.5),
            checkout_p99: percentile(&c.checkout, 0.99),
            cpu: c.cpu_s / seconds,
            hint_p50: percentile(&c.hint, 0.5),
            hint_p99: percentile(&c.hint, 0.99),
            fan_out_p50: percentile(&c.fan_out, 0.5),
            fan_out_p99: percentile(&c.fan_out, 0.99),
        }
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Each cell's median over the rounds, and its ratio to the first cell's (usually 0 streams).
fn summary(streams: &[usize], rows: &[Vec<Row>]) {
    type Pick = fn(&Row) -> f64;
    let columns: [(&str, Pick); 8] = [
        ("orders/s", |r| r.orders_per_s),
        ("checkout p50 ms", |r| r.checkout_p50),
        ("checkout p99 ms", |r| r.checkout_p99),
        ("server CPU s/s", |r| r.cpu),
        ("placed hint p50 ms", |r| r.hint_p50),
        ("placed hint p99 ms", |r| r.hint_p99),
        ("fan-out p50 ms", |r| r.fan_out_p50),
        ("fan-out p99 ms", |r| r.fan_out_p99),
    ];
    let medians: Vec<Vec<f64>> = rows
        .iter()
        .map(|cells| {
            columns
                .iter()
                .map(|(_, pick)| median(cells.iter().map(pick).collect()))
                .collect()
        })
        .collect();
    println!(
        "\nMedian over {} rounds (× the first cell's median):\n",
        rows[0].len()
    );
    let header: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    println!("| idle streams | KiB per stream | {} |", header.join(" | "));
    println!("|---|---|{}", "---|".repeat(columns.len()));
    for (slot, values) in medians.iter().enumerate() {
        let kib = median(rows[slot].iter().filter_map(|r| r.kib_per_stream).collect());
        let cells: Vec<String> = values
            .iter()
            .zip(&medians[0])
            .map(|(value, base)| {
                if slot == 0 {
                    format!("{value:.1}")
                } else {
                    format!("{value:.1} (×{:.2})", value / base)
                }
            })
            .collect();
        println!(
            "| {} | {} | {} |",
            streams[slot],
            if kib.is_finite() {
                format!("{kib:.1}")
            } else {
                "–".into()
            },
            cells.join(" | ")
        );
    }
}
