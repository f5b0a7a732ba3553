//! The deployment shape of `./baedal cluster`, tested for real: nginx (the generated
//! configuration) in front of three `baedal` web instances and two `baedal worker` processes,
//! the sandbox payment provider, one PostgreSQL database — every one a separate process.
//! Clients talk only to the gateway, as browsers do.
//!
//! nginx must be installed (`scripts/ensure-tools.sh gateway`; the suite's `./baedal test`
//! installs it): without it these tests FAIL, in CI and everywhere else. Without PostgreSQL
//! they follow the harness (fail under `CI=true`, skipped loudly elsewhere).
//!
//! The clusters are started one test at a time (a lock): each holds seven processes, and two
//! at once on a two-core machine would measure the machine rather than the gateway.

mod common;

use common::{Backend, ScratchDatabase, DEMO_PASSWORD};
use reqwest::{header, Client, StatusCode};
use serde_json::Value;
use server::cluster::{Cluster, ClusterSpec};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

static ONE_CLUSTER_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Settings of every process and of the gateway: each test's own on top of these.
const BASE: &[(&str, &str)] = &[
    ("RUST_LOG", "warn"),
    ("BAEDAL_DRAIN_MS", "1000"),
    // Every test client comes from 127.0.0.1: the app's per-address limits would measure
    // themselves (the gateway's own are tested below).
    ("BAEDAL_LIMIT_SIGNIN_ACCOUNT", "off"),
    ("BAEDAL_LIMIT_SIGNIN_ADDRESS", "off"),
    ("BAEDAL_LIMIT_SIGNUP_ADDRESS", "off"),
    ("BAEDAL_LIMIT_CHECKOUT_ADDRESS", "off"),
    ("BAEDAL_LIVE_MAX_PER_ADDRESS", "1000"),
    ("BAEDAL_GATEWAY_CHECKOUT_PER_MIN", "60000"),
    ("BAEDAL_GATEWAY_CHECKOUT_BURST", "1000"),
    ("BAEDAL_GATEWAY_SIGNIN_PER_MIN", "60000"),
    ("BAEDAL_GATEWAY_SIGNIN_BURST", "1000"),
];

struct Running {
    cluster: Cluster,
    database: ScratchDatabase,
    url: String,
    _run_dir: tempfile::TempDir,
    _serial: tokio::sync::MutexGuard<'static, ()>,
}

fn require_nginx() {
    let found = std::process::Command::new("nginx")
        .arg("-v")
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    assert!(
        found,
        "nginx is not installed: the gateway tests need it (scripts/ensure-tools.sh gateway \
         installs it; ./baedal test does so by itself)"
    );
}

/// A cluster of `web` instances and `workers` workers on a fresh PostgreSQL database.
async fn cluster(web: usize, workers: usize, settings: &[(&str, &str)]) -> Option<Running> {
    require_nginx();
    let serial = ONE_CLUSTER_AT_A_TIME.lock().await;
    let database = ScratchDatabase::new(Backend::Postgres).await?;
    let run_dir = tempfile::tempdir().unwrap();
    let mut all: Vec<(String, String)> = BASE
        .iter()
        .chain(settings)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    all.extend([
        ("DATABASE_URL".into(), database.url.clone()),
        ("BAEDAL_SITE_ROOT".into(), "../target/site".into()),
        ("BAEDAL_GATEWAY_ADDR".into(), "127.0.0.1:0".into()),
        (
            "BAEDAL_RUN_DIR".into(),
            run_dir.path().join("run").display().to_string(),
        ),
    ]);
    let lookup = all.clone();
    let config = server::Config::from_lookup(move |name| {
        lookup
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    })
    .expect("test settings");
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_baedal"))
        .parent()
        .unwrap()
        .to_path_buf();
    let started = Instant::now();
    let cluster = Cluster::start(ClusterSpec {
        web,
        workers,
        bin_dir,
        config,
        env: all,
        start_sandbox: true,
    })
    .await
    .unwrap_or_else(|error| panic!("the cluster starts: {error}"));
    eprintln!(
        "cluster of {web} web instances and {workers} workers ready in {:.1} s at {}",
        started.elapsed().as_secs_f64(),
        cluster.url()
    );
    Some(Running {
        url: cluster.url(),
        cluster,
        database,
        _run_dir: run_dir,
        _serial: serial,
    })
}

impl Running {
    async fn stop(self) {
        self.cluster.stop().await;
        self.database.remove().await;
    }

    async fn db(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::any::AnyPoolOptions::new()
            .max_connections(2)
            .connect(&self.database.url)
            .await
            .expect("connect to the cluster's database")
    }

    /// Every food without a stock limit (the tests order more than the demo stock).
    async fn unlimited_stock(&self) {
        let db = self.db().await;
        sqlx::query("UPDATE foods SET stock = 1000000")
            .execute(&db)
            .await
            .unwrap();
        db.close().await;
    }

    /// The first access log line `wanted` accepts, waiting for it up to 5 s.
    async fn log_line(&self, wanted: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(line) = self.access_log().lines().find(|l| wanted(l)) {
                return line.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "no such line in the access log:\n{}",
                self.access_log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn access_log(&self) -> String {
        std::fs::read_to_string(self.cluster.run_dir().join("nginx-access.log")).unwrap_or_default()
    }
}

fn client() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

async fn call(
    client: &Client,
    url: &str,
    function: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let response = client
        .post(format!("{url}/api/{function}"))
        .header(header::ACCEPT, "application/json")
        .form(form)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{function}: {e}"));
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

async fn signed_in(url: &str, email: &str) -> Client {
    let client = client();
    let (status, body) = call(
        &client,
        url,
        "sign_in",
        &[("email", email), ("password", DEMO_PASSWORD)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "sign in as {email}: {body}");
    client
}

async fn new_customer(url: &str, email: &str) -> Client {
    let client = client();
    let (status, body) = call(
        &client,
        url,
        "sign_up",
        &[
            ("role", "customer"),
            ("email", email),
            ("password", "correct horse battery"),
            ("display_name", "손님"),
            ("address", "서울 마포구 양화로 45"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "sign up {email}: {body}");
    client
}

fn checkout(store_id: i64, food_id: i64, key: &str) -> Value {
    serde_json::json!({
        "store_id": store_id,
        "lines": [{"food_id": food_id, "quantity": 1}],
        "idempotency_key": key,
        "card_number": server::sandbox_pay::APPROVE_CARD,
    })
}

async fn first_food(client: &Client, url: &str) -> (i64, i64) {
    let (store_id, foods) = server::bench::demo_menu(client, url).await;
    (store_id, foods[0].0)
}

/// `baedal_live_streams` of one instance, read directly (metrics are not exposed by the
/// gateway; a loopback client without a proxy may read them).
async fn live_streams(instance: &str) -> u64 {
    let text = reqwest::get(format!("{instance}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix("baedal_live_streams{} "))
        .map(|n| n.trim().parse::<f64>().unwrap() as u64)
        .unwrap_or(0)
}

/// A page's live stream through the gateway, read as a browser's `EventSource` does: when the
/// stream ends it opens it again (after 100 ms), and every event is kept.
struct Follower {
    events: Arc<Mutex<Vec<Value>>>,
    opens: Arc<AtomicU64>,
    failures: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Follower {
    async fn start(url: &str, client: Client) -> Follower {
        let events = Arc::new(Mutex::new(Vec::new()));
        let opens = Arc::new(AtomicU64::new(0));
        let failures = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let task = {
            let (url, events, opens, failures, stop) = (
                url.to_string(),
                events.clone(),
                opens.clone(),
                failures.clone(),
                stop.clone(),
            );
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let response = client
                        .get(format!("{url}/live"))
                        .header(header::ACCEPT, "text/event-stream")
                        .send()
                        .await;
                    let mut response = match response {
                        Ok(r) if r.status() == StatusCode::OK => r,
                        Ok(r) => {
                            failures
                                .lock()
                                .unwrap()
                                .push(format!("GET /live: {}", r.status()));
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                        Err(e) => {
                            failures.lock().unwrap().push(format!("GET /live: {e}"));
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    };
                    opens.fetch_add(1, Ordering::SeqCst);
                    let mut buffer = String::new();
                    // The stream ends when its instance drains (or with an error): reconnect.
                    while let Ok(Some(chunk)) = response.chunk().await {
                        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
                        while let Some(end) = buffer.find("\n\n") {
                            let block: String = buffer.drain(..end + 2).collect();
                            let data: Vec<&str> = block
                                .lines()
                                .filter_map(|l| l.strip_prefix("data:"))
                                .map(str::trim_start)
                                .collect();
                            if !data.is_empty() {
                                let event: Value = serde_json::from_str(&data.join("\n")).unwrap();
                                events.lock().unwrap().push(event);
                            }
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
        };
        let follower = Follower {
            events,
            opens,
            failures,
            stop,
            task,
        };
        follower.wait_for(|e| e["kind"] == "ready", "ready").await;
        follower
    }

    async fn wait_for(&self, wanted: impl Fn(&Value) -> bool, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if self.events.lock().unwrap().iter().any(&wanted) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "no live event {what}; saw {:?}",
                self.events.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn expect_order(&self, order_id: i64, status: &str) {
        self.wait_for(
            |e| e["kind"] == "order" && e["order_id"] == order_id && e["status"] == status,
            &format!("for order {order_id} → {status}"),
        )
        .await;
    }

    fn stop(self) -> (u64, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        self.task.abort();
        let failures = self.failures.lock().unwrap().clone();
        (self.opens.load(Ordering::SeqCst), failures)
    }
}

/// The upstream nginx sent a request to, from its access log line.
fn upstream_of(line: &str) -> String {
    line.split("upstream=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_string()
}

/// An order placed through the gateway lands on one instance, is handled by a separate
/// worker, and reaches the owner's live stream held by another instance; the customer's
/// stream follows it through every status to 완료.
#[tokio::test(flavor = "multi_thread")]
async fn an_order_placed_through_one_instance_reaches_the_owner_on_another_and_the_customer_follows_every_status(
) {
    let Some(running) = cluster(3, 2, &[]).await else {
        return;
    };
    let url = running.url.clone();
    let owner = signed_in(&url, "owner@baedal.kr").await;
    let customer = signed_in(&url, "customer@baedal.kr").await;
    let rider = signed_in(&url, "rider@baedal.kr").await;

    let owner_page = Follower::start(&url, owner.clone()).await;
    let mut owner_instance = None;
    for instance in running.cluster.web_urls() {
        if live_streams(&instance).await == 1 {
            owner_instance = Some(instance.trim_start_matches("http://").to_string());
        }
    }
    let owner_instance = owner_instance.expect("one instance holds the owner's stream");
    let customer_page = Follower::start(&url, customer.clone()).await;

    // least_conn sends the checkout to an instance holding no stream: not the owner's.
    let (store_id, food_id) = first_food(&customer, &url).await;
    let request_id = format!("checkout-{}", uuid::Uuid::new_v4().simple());
    let response = customer
        .post(format!("{url}/api/place_order"))
        .header(header::ACCEPT, "application/json")
        .header("x-request-id", &request_id)
        .json(&checkout(
            store_id,
            food_id,
            &uuid::Uuid::new_v4().to_string(),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-request-id"], request_id.as_str());
    let order: Value = response.json().await.unwrap();
    let order_id = order["id"].as_i64().unwrap();
    let checkout_instance = upstream_of(
        &running
            .log_line(|l| l.contains(&format!("rid={request_id} ")))
            .await,
    );
    assert_ne!(
        checkout_instance, owner_instance,
        "the order must be placed through another instance than the owner's stream"
    );

    owner_page.expect_order(order_id, "placed").await;
    customer_page.expect_order(order_id, "placed").await;
    for (action, status) in [
        ("accept", "accepted"),
        ("start_cooking", "cooking"),
        ("finish_cooking", "cooked"),
    ] {
        let (code, body) = call(
            &owner,
            &url,
            "order_action",
            &[
                ("order_id", &order_id.to_string()),
                ("action", action),
                ("cook_minutes", "20"),
            ],
        )
        .await;
        assert_eq!(code, StatusCode::OK, "{action}: {body}");
        customer_page.expect_order(order_id, status).await;
        owner_page.expect_order(order_id, status).await;
    }
    for (action, status) in [
        ("claim", "rider_assigned"),
        ("pick_up", "picked_up"),
        ("deliver", "delivered"),
    ] {
        let (code, body) = call(
            &rider,
            &url,
            "rider_action",
            &[("order_id", &order_id.to_string()), ("action", action)],
        )
        .await;
        assert_eq!(code, StatusCode::OK, "{action}: {body}");
        customer_page.expect_order(order_id, status).await;
    }
    let (code, body) = call(
        &customer,
        &url,
        "confirm_delivery",
        &[("order_id", &order_id.to_string())],
    )
    .await;
    assert_eq!(code, StatusCode::OK, "confirm: {body}");
    customer_page.expect_order(order_id, "completed").await;

    owner_page.stop();
    customer_page.stop();
    running.stop().await;
}

/// kill -9 of a web instance while 20 customers check out (the provider answers slowly, so
/// checkouts are in flight on it). Each customer retries with the same idempotency key until
/// answered; every one ends with exactly one order and one live charge.
#[tokio::test(flavor = "multi_thread")]
async fn a_killed_instance_loses_no_order_and_duplicates_none_for_customers_retrying_with_their_key(
) {
    let Some(mut running) = cluster(
        3,
        2,
        &[
            ("SANDBOX_PAY_LATENCY_MS", "400"),
            // A claim left by a killed request is stale after 2 × (2 × 1 s + 2 s) = 8 s.
            ("BAEDAL_PAYMENT_TIMEOUT_MS", "1000"),
        ],
    )
    .await
    else {
        return;
    };
    running.unlimited_stock().await;
    let url = running.url.clone();
    let mut customers = Vec::new();
    for i in 0..20 {
        customers.push(new_customer(&url, &format!("kill{i}@example.com")).await);
    }
    let (store_id, food_id) = first_food(&customers[0], &url).await;

    let attempts = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for customer in customers {
        let (url, attempts) = (url.clone(), attempts.clone());
        let body = checkout(store_id, food_id, &uuid::Uuid::new_v4().to_string());
        tasks.push(tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                attempts.fetch_add(1, Ordering::SeqCst);
                let sent = customer
                    .post(format!("{url}/api/place_order"))
                    .header(header::ACCEPT, "application/json")
                    .json(&body)
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status() == StatusCode::OK => {
                        let order: Value = response.json().await.unwrap();
                        return order["id"].as_i64().unwrap();
                    }
                    // The gateway's 502/504 or the app's 503 "try again": retry, same key.
                    Ok(response) if response.status().is_server_error() => {}
                    // "The payment of this order is still being processed": the attempt that
                    // died with the instance holds the key until it is stale (then a retry
                    // takes it over and charges the same payment id) — retry, same key.
                    Ok(response) if response.status() == StatusCode::CONFLICT => {
                        let body = response.text().await.unwrap_or_default();
                        assert!(body.contains("처리 중"), "checkout refused: 409 {body}");
                    }
                    Ok(response) => panic!(
                        "checkout refused: {} {}",
                        response.status(),
                        response.text().await.unwrap_or_default()
                    ),
                    Err(_) => {}
                }
                assert!(Instant::now() < deadline, "no answer within a minute");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    running.cluster.kill_web(1);
    let killed = running.cluster.web_urls()[1]
        .trim_start_matches("http://")
        .to_string();
    let mut order_ids = Vec::new();
    for task in tasks {
        order_ids.push(task.await.unwrap());
    }
    eprintln!(
        "20 checkouts answered after {} attempts",
        attempts.load(Ordering::SeqCst)
    );
    // The kill met checkouts: nginx had sent some to the killed instance (a retried request's
    // log line lists every instance it tried).
    let log = running.access_log();
    let sent_to_killed = log
        .lines()
        .filter(|l| l.contains("/api/place_order") && l.contains(&killed))
        .count();
    assert!(sent_to_killed > 0, "no checkout went to {killed}:\n{log}");
    eprintln!("{sent_to_killed} checkouts had been sent to the killed instance");
    let distinct: std::collections::HashSet<i64> = order_ids.iter().copied().collect();
    assert_eq!(distinct.len(), 20, "every customer has their own order");

    let db = running.db().await;
    use sqlx::Row;
    let per_customer: Vec<i64> = sqlx::query(
        "SELECT COUNT(*) FROM orders o JOIN users u ON u.id = o.customer_id
         WHERE u.email LIKE 'kill%@example.com' GROUP BY o.customer_id",
    )
    .fetch_all(&db)
    .await
    .unwrap()
    .iter()
    .map(|row| row.try_get::<i64, _>(0).unwrap())
    .collect();
    assert_eq!(per_customer.len(), 20, "none lost: {per_customer:?}");
    assert!(
        per_customer.iter().all(|n| *n == 1),
        "none duplicated: {per_customer:?}"
    );
    db.close().await;
    // Every order was charged once; no other charge stays approved.
    let charges: Vec<server::sandbox_pay::Charge> =
        reqwest::get(format!("{}/v1/charges", running.cluster.sandbox_url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let approved = charges.iter().filter(|c| c.status == "approved").count();
    assert_eq!(approved, 20, "{charges:?}");

    // The killed instance comes back and serves again.
    running.cluster.start_web(1).await.unwrap();
    running.stop().await;
}

/// Every web instance is restarted, one at a time, while customers browse and order and live
/// streams are open: no request fails, and every stream reconnects and keeps hearing.
#[tokio::test(flavor = "multi_thread")]
async fn a_rolling_restart_under_load_fails_no_request_and_live_streams_reconnect_and_keep_receiving(
) {
    let Some(mut running) = cluster(3, 2, &[]).await else {
        return;
    };
    running.unlimited_stock().await;
    let url = running.url.clone();
    let owner = signed_in(&url, "owner@baedal.kr").await;
    let customer = signed_in(&url, "customer@baedal.kr").await;
    let (store_id, food_id) = first_food(&customer, &url).await;

    // Two owner pages and two customer pages (separate sessions), following live.
    let mut followers = Vec::new();
    for email in [
        "owner@baedal.kr",
        "owner@baedal.kr",
        "customer@baedal.kr",
        "customer@baedal.kr",
    ] {
        followers.push((
            email,
            Follower::start(&url, signed_in(&url, email).await).await,
        ));
    }

    // The load: customers opening the home page, listing stores and ordering.
    let stop = Arc::new(AtomicBool::new(false));
    let requests = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut load = Vec::new();
    for i in 0..6 {
        let shopper = new_customer(&url, &format!("roll{i}@example.com")).await;
        let (url, stop, requests, failures) = (
            url.clone(),
            stop.clone(),
            requests.clone(),
            failures.clone(),
        );
        load.push(tokio::spawn(async move {
            let mut round = 0u64;
            while !stop.load(Ordering::SeqCst) {
                round += 1;
                let page = shopper
                    .get(format!("{url}/"))
                    .header(header::ACCEPT, "text/html")
                    .send()
                    .await;
                let stores = shopper
                    .post(format!("{url}/api/nearby_stores"))
                    .header(header::ACCEPT, "application/json")
                    .send()
                    .await;
                let mut answers = vec![("GET /", page), ("nearby_stores", stores)];
                if round.is_multiple_of(3) {
                    let order = shopper
                        .post(format!("{url}/api/place_order"))
                        .header(header::ACCEPT, "application/json")
                        .json(&checkout(
                            store_id,
                            food_id,
                            &uuid::Uuid::new_v4().to_string(),
                        ))
                        .send()
                        .await;
                    answers.push(("place_order", order));
                }
                for (what, answer) in answers {
                    requests.fetch_add(1, Ordering::SeqCst);
                    match answer {
                        Ok(response) if response.status() == StatusCode::OK => {
                            // The whole body must arrive too.
                            if let Err(e) = response.bytes().await {
                                failures.lock().unwrap().push(format!("{what}: body: {e}"));
                            }
                        }
                        Ok(response) => {
                            let status = response.status();
                            let body = response.text().await.unwrap_or_default();
                            failures
                                .lock()
                                .unwrap()
                                .push(format!("{what}: {status} {}", &body[..body.len().min(200)]));
                        }
                        Err(e) => failures.lock().unwrap().push(format!("{what}: {e}")),
                    }
                }
            }
        }));
    }

    tokio::time::sleep(Duration::from_secs(2)).await;
    let started = Instant::now();
    running
        .cluster
        .rolling_restart(|step| eprintln!("  {step}"))
        .await
        .expect("rolling restart");
    eprintln!(
        "rolling restart of 3 instances took {:.1} s",
        started.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::SeqCst);
    for task in load {
        task.await.unwrap();
    }
    let requests = requests.load(Ordering::SeqCst);
    let failures = failures.lock().unwrap().clone();
    eprintln!(
        "{requests} requests during the rolling restart, {} failed",
        failures.len()
    );
    assert!(requests > 50, "the load ran ({requests} requests)");
    assert!(failures.is_empty(), "failed requests: {failures:#?}");

    // After the restart every stream still hears: a new order, accepted.
    let (code, order) = {
        let response = customer
            .post(format!("{url}/api/place_order"))
            .header(header::ACCEPT, "application/json")
            .json(&checkout(
                store_id,
                food_id,
                &uuid::Uuid::new_v4().to_string(),
            ))
            .send()
            .await
            .unwrap();
        (response.status(), response.json::<Value>().await.unwrap())
    };
    assert_eq!(code, StatusCode::OK, "{order}");
    let order_id = order["id"].as_i64().unwrap();
    let (code, body) = call(
        &owner,
        &url,
        "order_action",
        &[
            ("order_id", &order_id.to_string()),
            ("action", "accept"),
            ("cook_minutes", "20"),
        ],
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    for (email, follower) in &followers {
        follower.expect_order(order_id, "placed").await;
        follower.expect_order(order_id, "accepted").await;
        eprintln!("{email}'s page heard order {order_id} after the restart");
    }
    for (email, follower) in followers {
        let (opens, failures) = follower.stop();
        assert!(
            opens >= 2,
            "{email}'s stream was on a restarted instance, so it reconnected ({opens} opens)"
        );
        assert!(failures.is_empty(), "{email}'s stream: {failures:?}");
    }
    running.stop().await;
}

/// The gateway's own limits: a body over the app's limit is refused with 413 before any
/// instance sees it, a sign-in flood from one address gets 429 beyond the configured rate,
/// request ids are made when absent and kept when given, and the build assets come from nginx
/// precompressed with immutable caching.
#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_refuses_oversized_bodies_rate_limits_sign_in_floods_and_serves_assets() {
    let Some(running) = cluster(
        2,
        1,
        &[
            ("BAEDAL_GATEWAY_SIGNIN_PER_MIN", "60"),
            ("BAEDAL_GATEWAY_SIGNIN_BURST", "5"),
        ],
    )
    .await
    else {
        return;
    };
    let url = running.url.clone();
    let client = client();

    // 413 from nginx: 100 KiB of form.
    let big = "x".repeat(100 * 1024);
    let response = client
        .post(format!("{url}/api/sign_in"))
        .header(header::ACCEPT, "application/json")
        .form(&[("email", "customer@baedal.kr"), ("password", big.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.headers().contains_key("x-request-id"));
    // (nginx writes the line when the connection is done with, which may be a moment later.)
    let line = running.log_line(|l| l.contains("\" 413 ")).await;
    assert!(line.contains("upstream=-"), "no instance was asked: {line}");

    // A flood of 30 sign-ins at once: the burst (5) and the rate pass, the rest get 429.
    let mut flood = Vec::new();
    for _ in 0..30 {
        let client = client.clone();
        let url = url.clone();
        flood.push(tokio::spawn(async move {
            client
                .post(format!("{url}/api/sign_in"))
                .header(header::ACCEPT, "application/json")
                .form(&[
                    ("email", "customer@baedal.kr"),
                    ("password", "wrong-password"),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    let mut statuses = Vec::new();
    for task in flood {
        statuses.push(task.await.unwrap());
    }
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    let answered = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert!(
        limited >= 22 && answered >= 1 && limited + answered == 30,
        "{statuses:?}"
    );
    // Other server functions are not limited by it.
    let (code, _) = call(&client, &url, "nearby_stores", &[]).await;
    assert_ne!(code, StatusCode::TOO_MANY_REQUESTS);

    // Request ids: made at the gateway when absent (and passed to the app), kept when given,
    // replaced when they are not a plain token.
    let made = client.get(format!("{url}/healthz")).send().await.unwrap();
    let id = made.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{id}"
    );
    assert_eq!(made.headers().get_all("x-request-id").iter().count(), 1);
    let kept = client
        .get(format!("{url}/healthz"))
        .header("x-request-id", "trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.headers()["x-request-id"], "trace-42");
    running
        .log_line(|l| l.contains("rid=trace-42 upstream=127.0.0.1:"))
        .await;
    let replaced = client
        .get(format!("{url}/healthz"))
        .header("x-request-id", "evil id\"")
        .send()
        .await
        .unwrap();
    assert_ne!(replaced.headers()["x-request-id"], "evil id\"");

    // /metrics stays inside.
    let metrics = client.get(format!("{url}/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), StatusCode::NOT_FOUND);

    // Assets from nginx: the brotli file for browsers that take it, gzip else, immutable.
    let version = std::fs::read_to_string("../target/site/asset-version").unwrap();
    let path = format!("/pkg/{}/baedal_bg.wasm", version.trim());
    let plain = std::fs::read(format!("../target/site{path}")).unwrap();
    let brotli = std::fs::read(format!("../target/site{path}.br")).unwrap();
    let gzip = std::fs::read(format!("../target/site{path}.gz")).unwrap();
    let raw = Client::builder().no_gzip().no_brotli().build().unwrap();
    for (accept, encoding, expected) in [
        ("br, gzip", Some("br"), &brotli),
        ("gzip", Some("gzip"), &gzip),
        ("identity", None, &plain),
    ] {
        let response = raw
            .get(format!("{url}{path}"))
            .header(header::ACCEPT_ENCODING, accept)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        assert_eq!(
            headers
                .get(header::CONTENT_ENCODING)
                .map(|v| v.to_str().unwrap()),
            encoding,
            "{accept}"
        );
        assert_eq!(
            headers[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(headers[header::CONTENT_TYPE], "application/wasm");
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(
            !headers.contains_key("content-security-policy"),
            "nginx answered, not an instance"
        );
        assert!(headers.contains_key("x-request-id"));
        assert_eq!(
            &response.bytes().await.unwrap()[..],
            &expected[..],
            "{accept}"
        );
    }
    let asset_lines: Vec<String> = running
        .access_log()
        .lines()
        .filter(|l| l.contains("/pkg/"))
        .map(str::to_string)
        .collect();
    assert!(
        asset_lines.is_empty(),
        "assets are not even logged: {asset_lines:?}"
    );
    running.stop().await;
}
