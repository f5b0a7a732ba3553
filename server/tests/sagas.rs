//! The outbox worker and the order sagas, on both engines: stock taken exactly once, the last
//! units under a crowd, compensation (rejection, cancellation, refunds), fault isolation of the
//! store side, redelivery, and the order-status view rebuilt from history.

mod common;

use app::backend::outbox::Event;
use app::backend::sagas::{self, Delivery, Handled};
use app::backend::worker::{self, Grouping, WorkerConfig};
use common::{Backend, TestApp};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use server::sandbox_pay::APPROVE_CARD;
use sqlx::Row;
use std::time::Duration;

on_both_backends!(
    a_placed_order_takes_stock_and_reaches_the_store,
    fifty_customers_buying_the_last_ten_units,
    a_customer_cancel_before_cooking_restores_stock_and_refunds,
    redelivered_events_change_nothing,
    orders_are_taken_while_the_store_side_is_down_and_drain_in_order,
    failing_events_are_parked_as_dead_and_can_be_replayed,
    the_rebuilt_view_equals_the_incremental_one,
    the_last_units_drained_as_one_group,
    a_group_with_a_failing_event_is_applied_one_by_one,
    a_group_claimed_by_a_dead_worker_is_applied_once,
);

const FAST_RETRIES: [(&str, &str); 2] = [
    ("BAEDAL_WORKER_BACKOFF_MS", "20"),
    ("BAEDAL_WORKER_POLL_MS", "50"),
];

async fn scalar(app: &TestApp, sql: &str, id: i64) -> i64 {
    sqlx::query(sql)
        .bind(id)
        .fetch_one(app.server.state.db.reader())
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

async fn set_stock(app: &TestApp, food_id: i64, stock: i64) {
    let mut tx = app.server.state.db.begin().await.unwrap();
    sqlx::query("UPDATE foods SET stock = $1 WHERE id = $2")
        .bind(stock)
        .bind(food_id)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn order(
    app: &TestApp,
    client: &Client,
    store_id: i64,
    food_id: i64,
    quantity: i64,
) -> (StatusCode, Value) {
    let body = json!({
        "store_id": store_id,
        "lines": [{"food_id": food_id, "quantity": quantity}],
        "idempotency_key": uuid::Uuid::new_v4().to_string(),
        "card_number": APPROVE_CARD,
    });
    app.call_json(client, "place_order", &body).await
}

fn statuses(order: &Value) -> Vec<String> {
    order["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap().to_string())
        .collect()
}

async fn a_placed_order_takes_stock_and_reaches_the_store(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let client = app.signed_in("customer@baedal.kr").await;
    let (store_id, food_id) = app.first_food(&client).await;
    let before = app.stock(food_id).await;
    let (status, placed) = order(&app, &client, store_id, food_id, 2).await;
    assert_eq!(status, StatusCode::OK, "{placed}");
    app.drained().await;
    let id = placed["id"].as_i64().unwrap();
    assert_eq!(app.stock(food_id).await, before - 2);
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM store_queue WHERE order_id = $1",
            id
        )
        .await,
        1
    );
    let seen = app.order(&client, id).await;
    assert_eq!(seen["status"], "placed");
    assert_eq!(statuses(&seen), ["placed"]);
    let (_, menu) = app
        .call(
            &client,
            "get_store_menu",
            &[("store_id", &store_id.to_string())],
        )
        .await;
    assert_eq!(
        menu["menu"][0]["stock"],
        before - 2,
        "customers see the new stock"
    );
    app.teardown().await;
}

async fn fifty_customers_buying_the_last_ten_units(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let first = app.signed_in("customer@baedal.kr").await;
    let (store_id, food_id) = app.first_food(&first).await;
    set_stock(&app, food_id, 10).await;

    let clients = crowd(&app, 50).await;
    let results =
        futures::future::join_all(clients.iter().map(|c| order(&app, c, store_id, food_id, 1)))
            .await;
    let paid: Vec<i64> = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::OK)
        .map(|(_, o)| o["id"].as_i64().unwrap())
        .collect();
    for (status, body) in &results {
        // Refused at checkout (the stock already looked gone) is fine too: nothing was charged.
        assert!(
            *status == StatusCode::OK || *status == StatusCode::UNPROCESSABLE_ENTITY,
            "{status}: {body}"
        );
    }
    assert!(
        paid.len() >= 10,
        "at least the ten units were sold: {}",
        paid.len()
    );
    app.drained().await;

    assert_eq!(
        app.stock(food_id).await,
        0,
        "every unit sold, none below zero"
    );
    let mut served = 0;
    let mut rejected = 0;
    for id in &paid {
        let status: String = sqlx::query("SELECT status FROM orders WHERE id = $1")
            .bind(*id)
            .fetch_one(app.server.state.db.reader())
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        match status.as_str() {
            "placed" => served += 1,
            "rejected" => {
                rejected += 1;
                let payment: String =
                    sqlx::query("SELECT status FROM payments WHERE order_id = $1")
                        .bind(*id)
                        .fetch_one(app.server.state.db.reader())
                        .await
                        .unwrap()
                        .try_get(0)
                        .unwrap();
                assert_eq!(payment, "cancelled", "a rejected order is refunded");
            }
            other => panic!("order {id} is {other}"),
        }
    }
    assert_eq!(served, 10);
    assert_eq!(rejected, paid.len() - 10);
    let charges = app.charges().await;
    assert_eq!(
        charges.iter().filter(|c| c.status == "approved").count(),
        10,
        "only the sold units stay charged"
    );
    app.teardown().await;
}

async fn a_customer_cancel_before_cooking_restores_stock_and_refunds(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let client = app.signed_in("customer@baedal.kr").await;
    let (store_id, food_id) = app.first_food(&client).await;
    let before = app.stock(food_id).await;
    let (_, placed) = order(&app, &client, store_id, food_id, 3).await;
    let id = placed["id"].as_i64().unwrap();
    app.drained().await;
    assert_eq!(app.stock(food_id).await, before - 3);

    let other = app.signed_in("customer2@baedal.kr").await;
    let (status, _) = app
        .call(&other, "cancel_order", &[("order_id", &id.to_string())])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another customer's order");

    let (status, body) = app
        .call(&client, "cancel_order", &[("order_id", &id.to_string())])
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.drained().await;
    assert_eq!(
        app.stock(food_id).await,
        before,
        "exactly the ordered quantity is back"
    );
    let seen = app.order(&client, id).await;
    assert_eq!(seen["status"], "cancelled");
    assert_eq!(statuses(&seen), ["placed", "cancelled"]);
    assert_eq!(seen["payment"]["status_label"], "환불 완료");
    assert_eq!(
        app.charges().await[0].status,
        "cancelled",
        "refunded at the provider"
    );

    let (status, body) = app
        .call(&client, "cancel_order", &[("order_id", &id.to_string())])
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // Once cooking has started, cancelling is refused and changes nothing.
    let (_, cooking) = order(&app, &client, store_id, food_id, 1).await;
    let cooking_id = cooking["id"].as_i64().unwrap();
    app.drained().await;
    let mut tx = app.server.state.db.begin().await.unwrap();
    sqlx::query("UPDATE orders SET status = 'cooking' WHERE id = $1")
        .bind(cooking_id)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let stock_before = app.stock(food_id).await;
    let (status, body) = app
        .call(
            &client,
            "cancel_order",
            &[("order_id", &cooking_id.to_string())],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("요리가 시작되기 전까지만"),
        "{body}"
    );
    app.drained().await;
    assert_eq!(app.stock(food_id).await, stock_before);
    app.teardown().await;
}

async fn event(app: &TestApp, order_id: i64, event_type: &str) -> Delivery {
    let row = sqlx::query("SELECT id, payload, causation_id, created_at, attempts FROM outbox WHERE order_id = $1 AND event_type = $2")
        .bind(order_id)
        .bind(event_type)
        .fetch_one(app.server.state.db.reader())
        .await
        .unwrap();
    Delivery {
        causation_id: row.try_get("causation_id").unwrap(),
        id: row.try_get("id").unwrap(),
        event: serde_json::from_str::<Event>(&row.try_get::<String, _>("payload").unwrap())
            .unwrap(),
        created_at: row.try_get("created_at").unwrap(),
        attempts: row.try_get("attempts").unwrap(),
    }
}

async fn redelivered_events_change_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let client = app.signed_in("customer@baedal.kr").await;
    let (store_id, food_id) = app.first_food(&client).await;
    let (_, placed) = order(&app, &client, store_id, food_id, 2).await;
    let id = placed["id"].as_i64().unwrap();
    app.drained().await;
    let (status, _) = app
        .call(&client, "cancel_order", &[("order_id", &id.to_string())])
        .await;
    assert_eq!(status, StatusCode::OK);
    app.drained().await;
    let stock_after = app.stock(food_id).await;
    let view_after = app.order(&client, id).await;
    let charges_after = app.charges().await;

    for event_type in ["OrderPlaced", "OrderCancelled", "RefundRequested"] {
        let delivery = event(&app, id, event_type).await;
        // Twice in a row, and twice at the same time (two workers after a lease ran out).
        assert_eq!(
            sagas::handle(&app.server.state, &delivery).await.unwrap(),
            Handled::AlreadyDone
        );
        let (a, b) = tokio::join!(
            sagas::handle(&app.server.state, &delivery),
            sagas::handle(&app.server.state, &delivery)
        );
        assert_eq!(
            (a.unwrap(), b.unwrap()),
            (Handled::AlreadyDone, Handled::AlreadyDone)
        );
    }
    assert_eq!(app.stock(food_id).await, stock_after);
    assert_eq!(app.order(&client, id).await, view_after);
    assert_eq!(app.charges().await, charges_after);

    // A worker that died after claiming (its lease runs out) leaves no trace: the event is
    // claimed again and applied exactly once.
    let (_, second) = order(&app, &client, store_id, food_id, 1).await;
    let second_id = second["id"].as_i64().unwrap();
    app.drained().await;
    let mut tx = app.server.state.db.begin().await.unwrap();
    sqlx::query("UPDATE outbox SET processed_at = NULL, locked_until = $1, locked_by = 'dead-worker' WHERE order_id = $2")
        .bind(app::backend::now_ms() - 1)
        .bind(second_id)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let before_retry = app.stock(food_id).await;
    app.server.state.outbox_wakeup.notify_one();
    app.drained().await;
    // (The event above was re-opened by hand, so this run applies it again: the ledger row was
    // reset with it. What matters is that a crash between effect and mark cannot happen: they
    // commit together, so a retried event always starts from a clean slate.)
    assert_eq!(app.stock(food_id).await, before_retry - 1);
    app.teardown().await;
}

async fn orders_are_taken_while_the_store_side_is_down_and_drain_in_order(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &FAST_RETRIES).await else {
        return;
    };
    let client = app.signed_in("customer@baedal.kr").await;
    let (store_id, food_id) = app.first_food(&client).await;
    let before = app.stock(food_id).await;

    app.server.state.faults.set_store_side_down(true);
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (status, placed) = order(&app, &client, store_id, food_id, 1).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "orders are taken and paid: {placed}"
        );
        ids.push(placed["id"].as_i64().unwrap());
    }
    // One of them is cancelled while the store side is still down: its cancellation must wait
    // behind its OrderPlaced, and be applied after it.
    let (status, _) = app
        .call(
            &client,
            "cancel_order",
            &[("order_id", &ids[2].to_string())],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        app.stock(food_id).await,
        before,
        "nothing reached the store yet"
    );
    assert!(
        scalar(
            &app,
            "SELECT MAX(attempts) FROM outbox WHERE order_id = $1",
            ids[0]
        )
        .await
            > 1,
        "retried"
    );

    app.server.state.faults.set_store_side_down(false);
    app.drained().await;
    assert_eq!(
        app.stock(food_id).await,
        before - 2,
        "two served; the cancelled one gave its unit back"
    );
    let cancelled = app.order(&client, ids[2]).await;
    assert_eq!(
        statuses(&cancelled),
        ["placed", "cancelled"],
        "applied in order"
    );
    assert_eq!(cancelled["payment"]["status_label"], "환불 완료");
    for id in &ids[..2] {
        assert_eq!(app.order(&client, *id).await["status"], "placed");
    }
    app.teardown().await;
}

async fn failing_events_are_parked_as_dead_and_can_be_replayed(backend: Backend) {
    let settings = [
        ("BAEDAL_WORKER_BACKOFF_MS", "10"),
        ("BAEDAL_WORKER_POLL_MS", "20"),
        ("BAEDAL_WORKER_MAX_ATTEMPTS", "3"),
    ];
    let Some(app) = TestApp::spawn_with(backend, &settings).await else {
        return;
    };
    let client = app.signed_in("customer@baedal.kr").await;
    let (store_id, food_id) = app.first_food(&client).await;
    let before = app.stock(food_id).await;
    app.server.state.faults.set_store_side_down(true);
    let (_, placed) = order(&app, &client, store_id, food_id, 1).await;
    let id = placed["id"].as_i64().unwrap();
    app.drained().await; // dead events no longer count as pending
    let dead = app::backend::worker::dead_events(&app.server.state)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!((dead[0].order_id.get(), dead[0].attempts), (id, 3));
    assert_eq!(
        dead[0].last_error.as_deref(),
        Some("store side unavailable")
    );
    assert_eq!(app.stock(food_id).await, before);

    app.server.state.faults.set_store_side_down(false);
    assert!(app::backend::worker::replay(&app.server.state, dead[0].id)
        .await
        .unwrap());
    app.drained().await;
    assert!(app::backend::worker::dead_events(&app.server.state)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(app.stock(food_id).await, before - 1);
    app.teardown().await;
}

async fn view_rows(app: &TestApp) -> Vec<Vec<String>> {
    let rows = sqlx::query(
        "SELECT order_id, customer_id, store_name, items, total_won, status, payment, note, timeline, last_event_id
         FROM order_views ORDER BY order_id",
    )
    .fetch_all(app.server.state.db.reader())
    .await
    .unwrap();
    rows.iter()
        .map(|row| {
            vec![
                row.try_get::<i64, _>("order_id").unwrap().to_string(),
                row.try_get::<i64, _>("customer_id").unwrap().to_string(),
                row.try_get::<String, _>("store_name").unwrap(),
                row.try_get::<String, _>("items").unwrap(),
                row.try_get::<i64, _>("total_won").unwrap().to_string(),
                row.try_get::<String, _>("status").unwrap(),
                row.try_get::<String, _>("payment").unwrap(),
                row.try_get::<Option<String>, _>("note")
                    .unwrap()
                    .unwrap_or_default(),
                row.try_get::<String, _>("timeline").unwrap(),
                row.try_get::<i64, _>("last_event_id").unwrap().to_string(),
            ]
        })
        .collect()
}

async fn the_rebuilt_view_equals_the_incremental_one(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &FAST_RETRIES).await else {
        return;
    };
    let client = app.signed_in("customer@baedal.kr").await;
    let (store_id, food_id) = app.first_food(&client).await;
    set_stock(&app, food_id, 3).await;
    // Taken while the store side is down, so all three pass checkout; then the third is short.
    app.server.state.faults.set_store_side_down(true);
    let mut ids = Vec::new();
    for quantity in [1, 1, 2] {
        let (status, placed) = order(&app, &client, store_id, food_id, quantity).await;
        assert_eq!(status, StatusCode::OK, "{placed}");
        ids.push(placed["id"].as_i64().unwrap());
    }
    app.server.state.faults.set_store_side_down(false);
    app.drained().await;
    // Orders of different customers carry no order among themselves: cancel one that was served.
    let mut served = None;
    for id in &ids {
        if app.order(&client, *id).await["status"] == "placed" {
            served = Some(*id);
        }
    }
    let served = served.expect("two of the three were served");
    let (status, _) = app
        .call(
            &client,
            "cancel_order",
            &[("order_id", &served.to_string())],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.drained().await;
    let incremental = view_rows(&app).await;
    assert_eq!(incremental.len(), 3);
    assert!(
        incremental.iter().any(|row| row[5] == "rejected"),
        "the third order ran out of stock: {incremental:?}"
    );
    assert!(incremental.iter().any(|row| row[5] == "cancelled"));

    let folded = app::backend::views::rebuild(&app.server.state)
        .await
        .unwrap();
    assert!(folded >= 7, "{folded}");
    assert_eq!(view_rows(&app).await, incremental);
    app.teardown().await;
}

/// Instances sharing PostgreSQL: an order taken by an instance without a worker is picked up
/// by another instance's worker through LISTEN/NOTIFY, long before that worker's next poll.
#[tokio::test(flavor = "multi_thread")]
async fn postgres_notify_wakes_workers_of_other_instances() {
    let settings = [("BAEDAL_WORKER", "false")];
    let Some(app) = TestApp::spawn_with(Backend::Postgres, &settings).await else {
        return;
    };
    let worker_instance = app
        .another_instance(&[
            ("BAEDAL_WORKER", "true"),
            ("BAEDAL_WORKER_POLL_MS", "600000"),
        ])
        .await;
    // Let the other instance's worker finish its first (empty) round and start listening.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let client = app.signed_in("customer@baedal.kr").await;
    let (store_id, food_id) = app.first_food(&client).await;
    let before = app.stock(food_id).await;
    let (status, placed) = order(&app, &client, store_id, food_id, 1).await;
    assert_eq!(status, StatusCode::OK, "{placed}");
    for _ in 0..250 {
        if app.stock(food_id).await == before - 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        app.stock(food_id).await,
        before - 1,
        "handled within 5 s, not at the 10-minute poll"
    );
    let handled_by: String = sqlx::query("SELECT locked_by FROM outbox WHERE order_id = $1")
        .bind(placed["id"].as_i64().unwrap())
        .fetch_one(app.server.state.db.reader())
        .await
        .unwrap()
        .try_get::<Option<String>, _>(0)
        .unwrap()
        .unwrap_or_default();
    assert!(handled_by.starts_with("worker-"), "{handled_by}");
    worker_instance.shutdown().await.unwrap();
    app.teardown().await;
}

/// The worker stays off in these tests: each round is run by hand, so which events form a
/// group is known.
const NO_WORKER: [(&str, &str); 1] = [("BAEDAL_WORKER", "false")];

fn grouping_worker() -> WorkerConfig {
    WorkerConfig {
        grouping: Grouping::Always,
        lease: Duration::from_millis(300),
        ..WorkerConfig::default()
    }
}

/// Runs worker rounds by hand until no event is due; returns how many events each round
/// claimed.
async fn rounds_until_idle(app: &TestApp, config: &WorkerConfig) -> Vec<usize> {
    let handlers = sagas::handler();
    let mut rounds = Vec::new();
    loop {
        let claimed = worker::run_once(&app.server.state, "test-worker", config, &handlers)
            .await
            .unwrap();
        if claimed == 0 {
            return rounds;
        }
        rounds.push(claimed);
    }
}

async fn crowd(app: &TestApp, count: usize) -> Vec<Client> {
    let mut clients = Vec::new();
    for i in 0..count {
        let client = app.client();
        let email = format!("crowd{i}@example.com");
        let form = [
            ("role", "customer"),
            ("email", email.as_str()),
            ("password", "correct horse"),
            ("display_name", "손님"),
            ("address", "서울 마포구 양화로 45"),
        ];
        let (status, body) = app.call(&client, "sign_up", &form).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        clients.push(client);
    }
    clients
}

/// What handling events writes: a redelivery must leave all of it as it was.
async fn effects(app: &TestApp, food_id: i64) -> Vec<i64> {
    let mut seen = vec![app.stock(food_id).await];
    for table in ["store_queue", "order_views", "notifications", "outbox"] {
        seen.push(app.count(table).await);
    }
    seen
}

async fn order_status(app: &TestApp, id: i64) -> String {
    sqlx::query("SELECT status FROM orders WHERE id = $1")
        .bind(id)
        .fetch_one(app.server.state.db.reader())
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

/// Twelve customers pay for the last five units; their `OrderPlaced` events are applied in one
/// transaction: five served, seven rejected and refunded, stock never below zero, each event
/// once — and a redelivered group (twice, and twice at the same time) changes nothing.
async fn the_last_units_drained_as_one_group(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &NO_WORKER).await else {
        return;
    };
    let first = app.signed_in("customer@baedal.kr").await;
    let (store_id, food_id) = app.first_food(&first).await;
    set_stock(&app, food_id, 5).await;
    let clients = crowd(&app, 12).await;
    let mut paid = Vec::new();
    for client in &clients {
        let (status, placed) = order(&app, client, store_id, food_id, 1).await;
        assert_eq!(status, StatusCode::OK, "{placed}");
        paid.push(placed["id"].as_i64().unwrap());
    }

    let rounds = rounds_until_idle(&app, &grouping_worker()).await;
    assert_eq!(
        rounds[0], 12,
        "every OrderPlaced in the first round: {rounds:?}"
    );
    let marked_at: Vec<i64> =
        sqlx::query("SELECT DISTINCT processed_at FROM outbox WHERE event_type = 'OrderPlaced'")
            .fetch_all(app.server.state.db.reader())
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get(0).unwrap())
            .collect();
    assert_eq!(marked_at.len(), 1, "one transaction marked them all");

    assert_eq!(
        app.stock(food_id).await,
        0,
        "every unit sold, none below zero"
    );
    let mut served = Vec::new();
    for id in &paid {
        match order_status(&app, *id).await.as_str() {
            "placed" => served.push(*id),
            "rejected" => {
                let view: String =
                    sqlx::query("SELECT status FROM order_views WHERE order_id = $1")
                        .bind(*id)
                        .fetch_one(app.server.state.db.reader())
                        .await
                        .unwrap()
                        .try_get(0)
                        .unwrap();
                assert_eq!(view, "rejected", "order {id}'s view");
            }
            other => panic!("order {id} is {other}"),
        }
    }
    // First come, first served: the five oldest orders got the units.
    assert_eq!(served, paid[..5]);
    let charges = app.charges().await;
    assert_eq!(charges.iter().filter(|c| c.status == "approved").count(), 5);
    assert_eq!(
        charges.iter().filter(|c| c.status == "cancelled").count(),
        7
    );
    assert_eq!(app.count("store_queue").await, 5);

    let mut placed_events = Vec::new();
    for id in &paid {
        placed_events.push(event(&app, *id, "OrderPlaced").await);
    }
    let before = effects(&app, food_id).await;
    let state = &app.server.state;
    let again = sagas::handle_group(state, &placed_events).await.unwrap();
    assert!(again.iter().all(|h| *h == Handled::AlreadyDone));
    let (a, b) = tokio::join!(
        sagas::handle_group(state, &placed_events),
        sagas::handle_group(state, &placed_events)
    );
    for outcomes in [a.unwrap(), b.unwrap()] {
        assert!(outcomes.iter().all(|h| *h == Handled::AlreadyDone));
    }
    assert_eq!(effects(&app, food_id).await, before);
    app.teardown().await;
}

/// A group in which one event fails (the store side is down for the new order) is applied one
/// by one: the other order's cancellation goes through now, the failing event alone waits and
/// is applied once the store side is back.
async fn a_group_with_a_failing_event_is_applied_one_by_one(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &NO_WORKER).await else {
        return;
    };
    let config = grouping_worker();
    let client = app.signed_in("customer@baedal.kr").await;
    let (store_id, food_id) = app.first_food(&client).await;
    let before = app.stock(food_id).await;
    let (_, first) = order(&app, &client, store_id, food_id, 2).await;
    let first = first["id"].as_i64().unwrap();
    rounds_until_idle(&app, &config).await;
    assert_eq!(app.stock(food_id).await, before - 2);

    let (status, _) = app
        .call(&client, "cancel_order", &[("order_id", &first.to_string())])
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, second) = order(&app, &client, store_id, food_id, 1).await;
    let second = second["id"].as_i64().unwrap();
    app.server.state.faults.set_store_side_down(true);
    let claimed = worker::run_once(&app.server.state, "test-worker", &config, &sagas::handler())
        .await
        .unwrap();
    assert_eq!(
        claimed, 2,
        "the cancellation and the new order in one round"
    );
    assert_eq!(order_status(&app, first).await, "cancelled");
    assert_eq!(app.order(&client, first).await["status"], "cancelled");
    assert_eq!(
        app.stock(food_id).await,
        before,
        "the cancelled units are back"
    );
    let placed = event(&app, second, "OrderPlaced").await;
    assert_eq!(placed.attempts, 1);
    assert_eq!(
        scalar(
            &app,
            "SELECT COUNT(*) FROM outbox WHERE id = $1 AND processed_at IS NULL AND last_error = 'store side unavailable'",
            placed.id
        )
        .await,
        1,
        "the new order's event waits on its own"
    );

    app.server.state.faults.set_store_side_down(false);
    tokio::time::sleep(Duration::from_millis(500)).await; // its backoff
    rounds_until_idle(&app, &config).await;
    assert_eq!(app.stock(food_id).await, before - 1);
    assert_eq!(app.order(&client, second).await["status"], "placed");
    assert_eq!(
        app.order(&client, first).await["payment"]["status_label"],
        "환불 완료"
    );
    app.teardown().await;
}

/// A worker that claimed a round and died before committing (its lease runs out) leaves
/// nothing behind: the next worker claims the same events and applies each once.
async fn a_group_claimed_by_a_dead_worker_is_applied_once(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &NO_WORKER).await else {
        return;
    };
    let config = grouping_worker();
    let first = app.signed_in("customer@baedal.kr").await;
    let (store_id, food_id) = app.first_food(&first).await;
    let before = app.stock(food_id).await;
    let clients = crowd(&app, 4).await;
    for client in &clients {
        let (status, placed) = order(&app, client, store_id, food_id, 1).await;
        assert_eq!(status, StatusCode::OK, "{placed}");
    }
    let (claimed, count) = worker::claim(&app.server.state, "dead-worker", &config)
        .await
        .unwrap();
    assert_eq!((claimed.len(), count), (4, 4));
    // Its lease still holds: nobody else may take them.
    assert!(rounds_until_idle(&app, &config).await.is_empty());
    tokio::time::sleep(config.lease + Duration::from_millis(100)).await;
    assert_eq!(rounds_until_idle(&app, &config).await, [4]);
    assert_eq!(app.stock(food_id).await, before - 4);
    assert_eq!(app.count("store_queue").await, 4);
    let attempts: Vec<i64> =
        sqlx::query("SELECT attempts FROM outbox WHERE event_type = 'OrderPlaced' ORDER BY id")
            .fetch_all(app.server.state.db.reader())
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get(0).unwrap())
            .collect();
    assert_eq!(
        attempts,
        [2, 2, 2, 2],
        "claimed by the dead worker, then once more"
    );
    app.teardown().await;
}
