//! No money without an order, across crashes and outages: a commit whose answer was lost, a
//! server killed between the provider's approval and the order's commit, a provider down for
//! longer than any in-memory retry, and a database that goes away under load. Afterwards the
//! provider's ledger and the database must agree: every approved charge has exactly one order,
//! every cancelled one none.

mod common;

use common::{Backend, ScratchDatabase, TestApp};
use reqwest::{header, Client, StatusCode};
use serde_json::{json, Value};
use server::sandbox_pay::{Charge, APPROVE_CARD, LATE_CARD, SLOW_CARD};
use sqlx::Row;
use std::sync::atomic::Ordering;
use std::time::Duration;

on_both_backends!(
    a_commit_whose_answer_was_lost_keeps_the_order_and_its_payment,
    a_void_outlasts_a_provider_outage_and_happens_once,
    a_server_killed_mid_payment_has_its_charge_voided_after_restart,
    a_server_killed_under_load_leaves_no_charge_without_its_order,
);

fn checkout(store_id: i64, food_id: i64, key: &str, card: &str) -> Value {
    json!({
        "store_id": store_id,
        "lines": [{"food_id": food_id, "quantity": 1}],
        "idempotency_key": key,
        "card_number": card,
    })
}

fn new_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

async fn ledger(sandbox_url: &str) -> Vec<Charge> {
    reqwest::get(format!("{sandbox_url}/v1/charges"))
        .await
        .expect("sandbox answers")
        .json()
        .await
        .expect("ledger JSON")
}

/// Every approved charge has exactly one approved payment (so one order); every cancelled
/// charge has no approved payment.
async fn ledger_and_orders_agree(db: &sqlx::AnyPool, charges: &[Charge]) {
    for charge in charges {
        let approved: i64 = sqlx::query(
            "SELECT COUNT(*) FROM payments WHERE provider_ref = $1 AND status = 'approved'",
        )
        .bind(&charge.charge_id)
        .fetch_one(db)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
        match charge.status.as_str() {
            "approved" => assert_eq!(approved, 1, "approved charge without its order: {charge:?}"),
            "cancelled" => assert_eq!(
                approved, 0,
                "order kept with a cancelled charge: {charge:?}"
            ),
            other => panic!("unexpected charge status {other}: {charge:?}"),
        }
    }
}

/// The order's COMMIT reached the database but its answer was lost: checkout must not take
/// that for a failure. It finds the order and answers with it; the payment stays.
async fn a_commit_whose_answer_was_lost_keeps_the_order_and_its_payment(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let (store_id, food_id) = app.first_food(&customer).await;
    let key = new_key();
    let body = checkout(store_id, food_id, &key, APPROVE_CARD);
    app.server.state.faults.set_lose_order_commit_ack(true);
    let (status, order) = app.call_json(&customer, "place_order", &body).await;
    app.server.state.faults.set_lose_order_commit_ack(false);
    assert_eq!(status, StatusCode::OK, "{order}");
    app.drained().await;
    assert_eq!(app.payment_voids().await, vec![], "nothing to void");
    let charges = app.charges().await;
    assert_eq!(charges.len(), 1);
    assert_eq!(charges[0].status, "approved");
    ledger_and_orders_agree(app.server.state.db.reader(), &charges).await;
    // Paying again with the same submission answers the same order, charged once.
    let (status, again) = app.call_json(&customer, "place_order", &body).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["id"], order["id"]);
    assert_eq!(app.charges().await.len(), 1);
    app.teardown().await;
}

/// The provider is down for longer than any in-memory retry would wait: the void of a
/// timed-out charge is retried by the worker until the provider is back, then done once.
async fn a_void_outlasts_a_provider_outage_and_happens_once(backend: Backend) {
    let settings = [
        ("BAEDAL_PAYMENT_TIMEOUT_MS", "300"),
        ("BAEDAL_WORKER_BACKOFF_MS", "100"),
    ];
    let Some(app) = TestApp::spawn_with(backend, &settings).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let (store_id, food_id) = app.first_food(&customer).await;
    // The slow card: the provider approves after we stopped waiting. The outage starts while
    // the charge is still being worked on, so the void meets a provider that is down.
    let outage = app.sandbox_outage.clone();
    let going_down = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        outage.store(true, Ordering::SeqCst);
    });
    let body = checkout(store_id, food_id, &new_key(), SLOW_CARD);
    let (status, answer) = app.call_json(&customer, "place_order", &body).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{answer}");
    going_down.await.unwrap();
    // Several failed attempts, well past the old in-memory window (three tries in ~1.2 s).
    for _ in 0..100 {
        if app
            .payment_voids()
            .await
            .first()
            .is_some_and(|(attempts, _)| *attempts >= 4)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let failing = app.payment_voids().await;
    assert!(
        matches!(failing.as_slice(), [(attempts, false)] if *attempts >= 4),
        "{failing:?}"
    );
    app.sandbox_outage.store(false, Ordering::SeqCst);
    app.drained().await;
    tokio::time::sleep(common::SANDBOX_SLOW).await; // the slow charge has landed by now
    let charges = app.charges().await;
    assert_eq!(charges.len(), 1, "{charges:?}");
    assert_eq!(charges[0].status, "cancelled", "{charges:?}");
    assert_eq!(charges[0].voids, 1, "voided exactly once: {charges:?}");
    assert!(matches!(app.payment_voids().await.as_slice(), [(_, true)]));
    assert_eq!(app.count("orders").await, 0);
    app.teardown().await;
}

/// The real binary, killed with SIGKILL while the provider has approved the charge but its
/// answer is still on the way (so the order was never written). After a restart on the same
/// database the reconciliation voids the charge; the customer's retry with the same key is
/// answered consistently: a new charge and one order.
async fn a_server_killed_mid_payment_has_its_charge_voided_after_restart(backend: Backend) {
    let Some(database) = ScratchDatabase::new(backend).await else {
        return;
    };
    let (sandbox_url, _stop_sandbox, _) = common::start_sandbox().await;
    let data = tempfile::tempdir().unwrap();
    let start = || {
        Baedal::start(
            &database.url,
            &sandbox_url,
            data.path(),
            &[
                // The late answer (1.5 s) comes within the timeout: the server waits for it.
                ("BAEDAL_PAYMENT_TIMEOUT_MS", "2000"),
                ("BAEDAL_HOUSEKEEPING_MS", "200"),
            ],
        )
    };
    let mut first = start().await;
    let client = Client::builder().cookie_store(true).build().unwrap();
    first.sign_in(&client, "customer@baedal.kr").await;
    let (store_id, food_id) = first.first_food(&client).await;
    let key = new_key();
    let body = checkout(store_id, food_id, &key, LATE_CARD);
    let url = first.url.clone();
    let paying = {
        let client = client.clone();
        let body = body.clone();
        tokio::spawn(async move {
            client
                .post(format!("{url}/api/place_order"))
                .header(header::ACCEPT, "application/json")
                .json(&body)
                .send()
                .await
        })
    };
    // Killed once the provider has approved (and is still holding its answer back).
    for _ in 0..200 {
        if !ledger(&sandbox_url).await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    first.kill();
    assert!(
        paying.await.unwrap().is_err(),
        "the request died with the server"
    );
    let charges = ledger(&sandbox_url).await;
    assert_eq!(charges.len(), 1);
    assert_eq!(
        charges[0].status, "approved",
        "charged, and no order was written"
    );

    let second = start().await;
    // Within the grace period (twice the longest checkout wait: 2 × (2 × 2 s + 2 s)) plus a
    // housekeeping round and the worker, the charge is voided.
    let mut voided = false;
    for _ in 0..300 {
        if ledger(&sandbox_url).await[0].status == "cancelled" {
            voided = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        voided,
        "the interrupted checkout's charge was voided after the restart"
    );
    // The customer pays again with the same submission: charged anew, one order.
    let retry = client
        .post(format!("{}/api/place_order", second.url))
        .header(header::ACCEPT, "application/json")
        .json(&checkout(store_id, food_id, &key, APPROVE_CARD))
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), StatusCode::OK);
    let charges = ledger(&sandbox_url).await;
    assert_eq!(charges.len(), 2, "{charges:?}");
    let db = app_db(&database.url).await;
    ledger_and_orders_agree(&db, &charges).await;
    let orders: i64 = sqlx::query("SELECT COUNT(*) FROM orders")
        .fetch_one(&db)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(orders, 1);
    db.close().await;
    second.stop();
    database.remove().await;
}

/// Twenty customers order continuously (some with the card whose answer comes late, so
/// there is always money in flight) and the server is killed with SIGKILL. After a restart and
/// the reconciliation: every approved charge has exactly one order, every cancelled one none;
/// stock is conserved, every order has its status view, no event is stuck or dead.
async fn a_server_killed_under_load_leaves_no_charge_without_its_order(backend: Backend) {
    let Some(database) = ScratchDatabase::new(backend).await else {
        return;
    };
    let (sandbox_url, _stop_sandbox, _) = common::start_sandbox().await;
    let data = tempfile::tempdir().unwrap();
    let settings = [
        ("BAEDAL_PAYMENT_TIMEOUT_MS", "2000"),
        ("BAEDAL_HOUSEKEEPING_MS", "200"),
    ];
    let mut first = Baedal::start(&database.url, &sandbox_url, data.path(), &settings).await;
    let mut customers = Vec::new();
    for n in 0..20 {
        let client = Client::builder().cookie_store(true).build().unwrap();
        let response = client
            .post(format!("{}/api/sign_up", first.url))
            .header(header::ACCEPT, "application/json")
            .form(&[
                ("role", "customer"),
                ("email", format!("load{n}@example.com").as_str()),
                ("password", "correct horse"),
                ("display_name", "손님"),
                ("address", "서울 마포구 양화로 45"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        customers.push(client);
    }
    let (store_id, food_id) = first.first_food(&customers[0]).await;
    let db = app_db(&database.url).await;
    let stock_before: i64 = sqlx::query("SELECT stock FROM foods WHERE id = $1")
        .bind(food_id)
        .fetch_one(&db)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    let mut loads = Vec::new();
    for (n, client) in customers.into_iter().enumerate() {
        let url = first.url.clone();
        loads.push(tokio::spawn(async move {
            let card = if n % 4 == 0 { LATE_CARD } else { APPROVE_CARD };
            // Until the server dies under it.
            while client
                .post(format!("{url}/api/place_order"))
                .header(header::ACCEPT, "application/json")
                .json(&checkout(store_id, food_id, &new_key(), card))
                .send()
                .await
                .is_ok()
            {}
        }));
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    first.kill();
    for load in loads {
        load.await.unwrap();
    }
    let second = Baedal::start(&database.url, &sandbox_url, data.path(), &settings).await;
    let mut settled = false;
    for _ in 0..400 {
        let open: i64 = sqlx::query("SELECT COUNT(*) FROM checkouts WHERE state = 'in_progress'")
            .fetch_one(&db)
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        let pending: i64 = sqlx::query("SELECT COUNT(*) FROM outbox WHERE processed_at IS NULL")
            .fetch_one(&db)
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        if open == 0 && pending == 0 {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        settled,
        "claims settled and the outbox drained after the restart"
    );
    // The late answers are still on their way for up to `SANDBOX_SLOW`.
    tokio::time::sleep(common::SANDBOX_SLOW).await;
    let charges = ledger(&sandbox_url).await;
    let cancelled = charges.iter().filter(|c| c.status == "cancelled").count();
    eprintln!("{} charges, {cancelled} cancelled", charges.len());
    assert!(
        charges.len() > 20,
        "there was load: {} charges",
        charges.len()
    );
    ledger_and_orders_agree(&db, &charges).await;
    let count = |sql: &'static str| {
        let db = db.clone();
        async move {
            sqlx::query(sql)
                .fetch_one(&db)
                .await
                .unwrap()
                .try_get::<i64, _>(0)
                .unwrap()
        }
    };
    let sold = count(
        "SELECT COALESCE(CAST(SUM(l.quantity) AS BIGINT), 0) FROM order_lines l
         JOIN orders o ON o.id = l.order_id WHERE o.status NOT IN ('rejected', 'cancelled')",
    )
    .await;
    let stock_after: i64 = sqlx::query("SELECT stock FROM foods WHERE id = $1")
        .bind(food_id)
        .fetch_one(&db)
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(stock_after, stock_before - sold, "stock is conserved");
    assert_eq!(
        count("SELECT COUNT(*) FROM orders").await,
        count("SELECT COUNT(*) FROM order_views").await,
        "every order has its status view"
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM outbox WHERE dead_at IS NOT NULL").await,
        0,
        "no dead events"
    );
    db.close().await;
    second.stop();
    database.remove().await;
}

async fn app_db(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::any::AnyPoolOptions::new()
        .max_connections(2)
        .connect(url)
        .await
        .expect("connect to the app's database")
}

/// The `baedal` binary as a child process.
struct Baedal {
    child: std::process::Child,
    url: String,
}

impl Baedal {
    async fn start(
        database_url: &str,
        sandbox_url: &str,
        data: &std::path::Path,
        settings: &[(&str, &str)],
    ) -> Baedal {
        use std::io::{BufRead, BufReader};
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_baedal"));
        command
            .env("BAEDAL_ADDR", "127.0.0.1:0")
            .env("DATABASE_URL", database_url)
            .env("BAEDAL_DATA_DIR", data)
            .env("BAEDAL_SITE_ROOT", "../target/site")
            .env("BAEDAL_SANDBOX_PAY_URL", sandbox_url)
            // Every customer of the load comes from 127.0.0.1.
            .env("BAEDAL_LIMIT_SIGNUP_ADDRESS", "off")
            .env("BAEDAL_LIMIT_CHECKOUT_ADDRESS", "off")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        for (name, value) in settings {
            command.env(name, value);
        }
        let mut child = command.spawn().expect("start baedal");
        let stdout = child.stdout.take().unwrap();
        let url = tokio::task::spawn_blocking(move || {
            let mut lines = BufReader::new(stdout).lines();
            loop {
                let line = lines.next().expect("baedal prints its URL").unwrap();
                if let Some(at) = line.find("running at ") {
                    break line[at + "running at ".len()..].trim().to_string();
                }
            }
        })
        .await
        .unwrap();
        Baedal { child, url }
    }

    async fn sign_in(&self, client: &Client, email: &str) {
        let response = client
            .post(format!("{}/api/sign_in", self.url))
            .header(header::ACCEPT, "application/json")
            .form(&[("email", email), ("password", common::DEMO_PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    async fn first_food(&self, client: &Client) -> (i64, i64) {
        let (store_id, foods) = server::bench::demo_menu(client, &self.url).await;
        (store_id, foods[0].0)
    }

    /// SIGKILL: no shutdown, no cleanup, as when the machine dies.
    fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    fn stop(mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// PostgreSQL goes away hard (every connection dropped, new ones refused) while customers
/// order, and comes back. While it is gone, answers are 503 with words to try again (never a
/// 500) and /readyz says so within a second; afterwards every approved charge has exactly one
/// order and every cancelled one none.
#[tokio::test(flavor = "multi_thread")]
async fn a_database_outage_under_load_leaves_the_ledger_and_the_orders_in_agreement_postgres() {
    let settings = [
        ("BAEDAL_PAYMENT_TIMEOUT_MS", "1000"),
        ("BAEDAL_HOUSEKEEPING_MS", "200"),
    ];
    let Some((app, proxy)) = TestApp::spawn_behind_proxy(&settings).await else {
        return;
    };
    let mut customers = Vec::new();
    for email in ["customer@baedal.kr", "customer2@baedal.kr"] {
        customers.push(app.signed_in(email).await);
    }
    for n in 0..8 {
        let client = app.client();
        let (status, body) = app
            .call(
                &client,
                "sign_up",
                &[
                    ("role", "customer"),
                    ("email", &format!("outage{n}@example.com")),
                    ("password", "correct horse"),
                    ("display_name", "손님"),
                    ("address", "서울 마포구 양화로 45"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        customers.push(client);
    }
    let (store_id, food_id) = app.first_food(&customers[0]).await;
    sqlx::query("UPDATE foods SET stock = 100000 WHERE id = $1")
        .bind(food_id)
        .execute(app.server.state.db.writer())
        .await
        .unwrap();

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut loads = Vec::new();
    for client in customers {
        let (url, stop) = (app.url.clone(), stop.clone());
        loads.push(tokio::spawn(async move {
            let mut answers: Vec<(StatusCode, Value)> = Vec::new();
            let mut key = new_key();
            while !stop.load(Ordering::SeqCst) {
                let response = client
                    .post(format!("{url}/api/place_order"))
                    .header(header::ACCEPT, "application/json")
                    .json(&checkout(store_id, food_id, &key, APPROVE_CARD))
                    .timeout(Duration::from_secs(15))
                    .send()
                    .await;
                let Ok(response) = response else { continue };
                let status = response.status();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                // As the page does: the same submission is paid again after a "try again"
                // answer, a new one after an order.
                if status == StatusCode::OK {
                    key = new_key();
                }
                answers.push((status, body));
            }
            answers
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    proxy.cut();
    let probe = Client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ready = probe.get(format!("{}/readyz", app.url)).send().await;
    assert!(
        matches!(&ready, Ok(r) if r.status() == StatusCode::SERVICE_UNAVAILABLE),
        "/readyz within a second while the database is down: {ready:?}"
    );
    tokio::time::sleep(Duration::from_millis(2000)).await;
    proxy.restore();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::SeqCst);
    let mut answers = Vec::new();
    for load in loads {
        answers.extend(load.await.unwrap());
    }
    let ready = probe.get(format!("{}/readyz", app.url)).send().await;
    assert!(
        matches!(&ready, Ok(r) if r.status() == StatusCode::OK),
        "/readyz after the database is back: {ready:?}"
    );

    let mut by_status = std::collections::BTreeMap::<u16, usize>::new();
    for (status, body) in &answers {
        *by_status.entry(status.as_u16()).or_default() += 1;
        match *status {
            StatusCode::OK => {}
            StatusCode::SERVICE_UNAVAILABLE => {
                assert!(
                    body["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("잠시 후")),
                    "{body}"
                );
            }
            // The same submission is still being settled by the request the outage cut off.
            StatusCode::CONFLICT => assert!(body["message"].is_string(), "{body}"),
            other => panic!("answered {other} during a database outage: {body}"),
        }
    }
    eprintln!("answers by status: {by_status:?}");
    assert!(
        by_status.get(&200).is_some_and(|n| *n > 10),
        "{by_status:?}"
    );
    assert!(
        by_status.contains_key(&503),
        "the outage was seen: {by_status:?}"
    );

    // Interrupted checkouts are given up by the reconciliation and their charges voided.
    let mut settled = false;
    for _ in 0..300 {
        let open: i64 = sqlx::query("SELECT COUNT(*) FROM checkouts WHERE state = 'in_progress'")
            .fetch_one(app.server.state.db.reader())
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        if open == 0 {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(settled, "every checkout claim was settled");
    app.drained().await;
    let charges = app.charges().await;
    eprintln!(
        "ledger: {} charges, {} cancelled",
        charges.len(),
        charges.iter().filter(|c| c.status == "cancelled").count()
    );
    ledger_and_orders_agree(app.server.state.db.reader(), &charges).await;
    app.teardown().await;
}

/// SQLite's file locked by another process (a backup tool, an operator's shell holding a write
/// transaction): checkout cannot even claim the submission, so it answers 503 with words to
/// try again, charges nothing and writes nothing; once the lock is gone the same submission
/// goes through.
#[tokio::test(flavor = "multi_thread")]
async fn a_locked_sqlite_file_answers_try_again_and_charges_nothing() {
    use sqlx::Connection;
    let app = TestApp::spawn(Backend::Sqlite)
        .await
        .expect("SQLite always runs");
    let customer = app.signed_in("customer@baedal.kr").await;
    let (store_id, food_id) = app.first_food(&customer).await;
    let key = new_key();
    let body = checkout(store_id, food_id, &key, APPROVE_CARD);
    let orders_before = app.count("orders").await;

    let mut other_process = sqlx::SqliteConnection::connect(&app.database_url)
        .await
        .expect("a second connection to the file");
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut other_process)
        .await
        .expect("lock the file");
    let (status, error) = app.call_json(&customer, "place_order", &body).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{error}");
    assert_eq!(error["error"], "unavailable", "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("잠시 후 다시"),
        "{error}"
    );
    assert!(app.charges().await.is_empty(), "nothing was charged");
    sqlx::query("ROLLBACK")
        .execute(&mut other_process)
        .await
        .unwrap();
    other_process.close().await.unwrap();

    assert_eq!(
        app.count("orders").await,
        orders_before,
        "nothing was written"
    );
    let (status, order) = app.call_json(&customer, "place_order", &body).await;
    assert_eq!(status, StatusCode::OK, "{order}");
    assert_eq!(app.charges().await.len(), 1);
    app.teardown().await;
}
