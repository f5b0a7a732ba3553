//! Customer ordering over HTTP on both engines: checkout with synchronous payment through the
//! sandbox provider (a real HTTP service), idempotency, compensation and the circuit breaker.

mod common;

use common::{Backend, TestApp, DEMO_PASSWORD, SANDBOX_SLOW};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use server::sandbox_pay::{APPROVE_CARD, DECLINE_CARD, ERROR_CARD, SLOW_CARD};
use sqlx::Row;

on_both_backends!(
    a_customer_orders_two_foods_and_pays,
    prices_and_totals_from_the_client_are_ignored,
    a_declined_card_leaves_no_order_and_no_event,
    twenty_concurrent_submissions_with_one_key_make_one_order_and_one_charge,
    orders_paid_at_the_same_moment_are_each_recorded_whole,
    a_reused_key_with_another_cart_is_a_conflict,
    bad_checkouts_are_refused_with_the_field_and_change_nothing,
    a_payment_whose_order_cannot_be_saved_is_cancelled,
    a_slow_provider_opens_the_breaker_which_fails_fast_then_recovers,
    a_provider_error_asks_to_pay_later_and_the_cart_can_pay_again,
    checkout_keys_are_kept_for_more_than_a_day,
    the_delivery_address_can_be_changed_and_reorders_stores,
);

/// The tables a checkout writes; a refused one must leave them as they were.
async fn order_tables(app: &TestApp) -> Vec<(&'static str, i64)> {
    let mut counts = Vec::new();
    for table in [
        "orders",
        "order_lines",
        "payments",
        "outbox",
        "checkouts",
        "foods",
    ] {
        counts.push((table, app.count(table).await));
    }
    counts
}

async fn customer(app: &TestApp) -> Client {
    let client = app.client();
    app.sign_in(&client, "customer@baedal.kr", DEMO_PASSWORD)
        .await;
    client
}

/// (store id, [(food id, name, price)]) of a demo store, read through the customer's API.
async fn store(app: &TestApp, client: &Client, name: &str) -> (i64, Vec<(i64, String, i64, i64)>) {
    let (_, stores) = app.call(client, "nearby_stores", &[]).await;
    let id = stores
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("store {name}"))["id"]
        .as_i64()
        .unwrap();
    let (status, menu) = app
        .call(client, "get_store_menu", &[("store_id", &id.to_string())])
        .await;
    assert_eq!(status, StatusCode::OK, "{menu}");
    let foods = menu["menu"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_i64().unwrap(),
                f["name"].as_str().unwrap().to_string(),
                f["price"].as_i64().unwrap(),
                f["stock"].as_i64().unwrap(),
            )
        })
        .collect();
    (id, foods)
}

fn new_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn checkout(store_id: i64, lines: &[(i64, i64)], key: &str, card: &str) -> Value {
    json!({
        "store_id": store_id,
        "lines": lines.iter().map(|(food_id, quantity)| json!({"food_id": food_id, "quantity": quantity})).collect::<Vec<_>>(),
        "idempotency_key": key,
        "card_number": card,
    })
}

/// Every approved charge at the provider has an order, or was cancelled.
async fn no_charge_without_order_or_cancellation(app: &TestApp) {
    for charge in app.charges().await {
        if charge.status == "cancelled" {
            continue;
        }
        let recorded: i64 = sqlx::query(
            "SELECT COUNT(*) FROM payments WHERE provider_ref = $1 AND status = 'approved'",
        )
        .bind(&charge.charge_id)
        .fetch_one(app.server.state.db.reader())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
        assert_eq!(recorded, 1, "approved charge without an order: {charge:?}");
    }
}

async fn a_customer_orders_two_foods_and_pays(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let client = customer(&app).await;
    let (store_id, foods) = store(&app, &client, "마포 즉석떡볶이").await;
    let (tteok, fries) = (&foods[0], &foods[1]);
    let before = order_tables(&app).await;

    let body = checkout(
        store_id,
        &[(tteok.0, 2), (fries.0, 1)],
        &new_key(),
        "4242 4242 4242 4242",
    );
    let (status, order) = app.call_json(&client, "place_order", &body).await;
    assert_eq!(status, StatusCode::OK, "{order}");
    let total = tteok.2 * 2 + fries.2;
    assert_eq!(order["total"], total);
    assert_eq!(order["status"], "placed");
    assert_eq!(order["store_name"], "마포 즉석떡볶이");
    assert_eq!(order["lines"].as_array().unwrap().len(), 2);
    assert_eq!(order["lines"][0]["subtotal"], tteok.2 * 2);
    assert_eq!(order["payment"]["status_label"], "결제 완료");
    assert_eq!(order["payment"]["card_hint"], "4242-****-****-4242");

    let charges = app.charges().await;
    assert_eq!(charges.len(), 1);
    assert_eq!(
        (charges[0].amount, charges[0].status.as_str()),
        (total, "approved")
    );

    let after = order_tables(&app).await;
    let grew: Vec<_> = before
        .iter()
        .zip(&after)
        .map(|((t, b), (_, a))| (*t, a - b))
        .collect();
    assert_eq!(
        grew,
        [
            ("orders", 1),
            ("order_lines", 2),
            ("payments", 1),
            ("outbox", 1),
            ("checkouts", 1),
            ("foods", 0)
        ]
    );
    let event: String = sqlx::query("SELECT event_type FROM outbox WHERE order_id = $1")
        .bind(order["id"].as_i64().unwrap())
        .fetch_one(app.server.state.db.reader())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(event, "OrderPlaced");

    let (status, mine) = app.call(&client, "my_orders", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine[0]["id"], order["id"]);
    assert_eq!(mine[0]["items"], format!("{} 외 1건", tteok.1));
    let id = order["id"].to_string();
    let (status, again) = app.call(&client, "get_order", &[("order_id", &id)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, order);

    // Another customer cannot see it, nor learn that it exists.
    let other = app.client();
    app.sign_in(&other, "customer2@baedal.kr", DEMO_PASSWORD)
        .await;
    let (status, _) = app.call(&other, "get_order", &[("order_id", &id)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, theirs) = app.call(&other, "my_orders", &[]).await;
    assert_eq!(theirs, json!([]));
    app.teardown().await;
}

async fn prices_and_totals_from_the_client_are_ignored(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // customer2 lives 0.5 km from 강남 바삭치킨 (배달팁 3,000원 there).
    let client = app.signed_in("customer2@baedal.kr").await;
    let (store_id, foods) = store(&app, &client, "강남 바삭치킨").await;
    let body = json!({
        "store_id": store_id,
        "lines": [{"food_id": foods[0].0, "quantity": 1, "price": 1, "unit_price": 1}],
        "idempotency_key": new_key(),
        "card_number": APPROVE_CARD,
        "total": 1,
        "amount": 1,
        "delivery_tip": 0,
        "customer_id": 999,
    });
    let (status, order) = app.call_json(&client, "place_order", &body).await;
    assert_eq!(status, StatusCode::OK, "{order}");
    assert_eq!(order["total"], foods[0].2 + 3_000);
    assert_eq!(app.charges().await[0].amount, foods[0].2 + 3_000);
    let (_, mine) = app.call(&client, "my_orders", &[]).await;
    assert_eq!(
        mine.as_array().unwrap().len(),
        1,
        "the order belongs to the signed-in customer"
    );
    app.teardown().await;
}

async fn a_declined_card_leaves_no_order_and_no_event(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let client = customer(&app).await;
    let (store_id, foods) = store(&app, &client, "마포 즉석떡볶이").await;
    let before = order_tables(&app).await;
    let key = new_key();
    let body = checkout(store_id, &[(foods[0].0, 1)], &key, DECLINE_CARD);
    let (status, error) = app.call_json(&client, "place_order", &body).await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{error}");
    assert_eq!(error["error"], "payment_declined");
    assert_eq!(error["reason"], "잔액이 부족합니다.");
    let mut after = order_tables(&app).await;
    // Only the checkout record remembers the decline (so a double click gets the same answer).
    let checkouts = after.iter_mut().find(|(t, _)| *t == "checkouts").unwrap();
    checkouts.1 -= 1;
    assert_eq!(after, before);
    let (status, again) = app.call_json(&client, "place_order", &body).await;
    assert_eq!((status, again), (StatusCode::PAYMENT_REQUIRED, error));
    let (_, mine) = app.call(&client, "my_orders", &[]).await;
    assert_eq!(mine, json!([]));
    assert!(app.charges().await.is_empty());
    app.teardown().await;
}

async fn twenty_concurrent_submissions_with_one_key_make_one_order_and_one_charge(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let client = customer(&app).await;
    let (store_id, foods) = store(&app, &client, "종로 할매국밥").await;
    let body = checkout(store_id, &[(foods[0].0, 3)], &new_key(), APPROVE_CARD);
    let submissions = (0..20).map(|_| app.call_json(&client, "place_order", &body));
    let results = futures::future::join_all(submissions).await;
    let ids: Vec<i64> = results
        .iter()
        .map(|(status, order)| {
            assert_eq!(*status, StatusCode::OK, "{order}");
            order["id"].as_i64().unwrap()
        })
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert_eq!(app.count("orders").await, 1);
    assert_eq!(app.count("payments").await, 1);
    let charges = app.charges().await;
    assert_eq!(charges.len(), 1, "charged once: {charges:?}");
    app.teardown().await;
}

/// On SQLite: once all `checkouts` have their claims (written on the one writer) and are
/// charging, takes the writer and keeps it until the provider has answered every one and a
/// little longer — as a busy writer would — so the orders pile up waiting to be written.
async fn hold_the_writer_while_they_pay(app: &TestApp, backend: Backend, checkouts: usize) {
    if backend != Backend::Sqlite {
        return;
    }
    let charging = || async {
        sqlx::query("SELECT COUNT(*) FROM checkouts WHERE state = 'in_progress'")
            .fetch_one(app.server.state.db.reader())
            .await
            .unwrap()
            .try_get::<i64, _>(0)
            .unwrap() as usize
    };
    while charging().await < checkouts {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let writer = app.server.state.db.begin().await.unwrap();
    while app.charges().await.len() < checkouts {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    drop(writer);
}

/// Checkouts whose payments come back together while the writer is busy: on SQLite their
/// orders are written in shared transactions (group commit, `orders::recording`), on
/// PostgreSQL each in its own. Either way every customer gets their own order, whole: its
/// lines, total, payment and event.
async fn orders_paid_at_the_same_moment_are_each_recorded_whole(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &[("BAEDAL_LIMIT_CHECKOUT_ADDRESS", "off")]).await
    else {
        return;
    };
    let client = customer(&app).await;
    let (store_id, foods) = store(&app, &client, "종로 할매국밥").await;
    let stock_before = (app.stock(foods[0].0).await, app.stock(foods[1].0).await);
    let carts: Vec<(String, Vec<(i64, i64)>)> = (0..12)
        .map(|n| {
            let mut lines = vec![(foods[0].0, n % 3 + 1)];
            if n % 2 == 0 {
                lines.push((foods[1].0, 1));
            }
            (new_key(), lines)
        })
        .collect();
    // The slow card: the provider answers every one of them about 1.5 s later, together.
    let bodies: Vec<Value> = carts
        .iter()
        .map(|(key, lines)| checkout(store_id, lines, key, SLOW_CARD))
        .collect();
    let (results, ()) = tokio::join!(
        futures::future::join_all(
            bodies
                .iter()
                .map(|b| app.call_json(&client, "place_order", b))
        ),
        hold_the_writer_while_they_pay(&app, backend, 12),
    );
    let mut ids = Vec::new();
    for ((_, lines), (status, order)) in carts.iter().zip(&results) {
        assert_eq!(*status, StatusCode::OK, "{order}");
        let id = order["id"].as_i64().unwrap();
        ids.push(id);
        let read = app.order(&client, id).await;
        let mut got: Vec<(i64, i64)> = read["lines"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["food_id"].as_i64().unwrap(),
                    l["quantity"].as_i64().unwrap(),
                )
            })
            .collect();
        got.sort_unstable();
        let mut asked = lines.clone();
        asked.sort_unstable();
        assert_eq!(got, asked, "order {id}: {read}");
        let dishes: i64 = lines
            .iter()
            .map(|(food, quantity)| foods.iter().find(|f| f.0 == *food).unwrap().2 * quantity)
            .sum();
        let tip = read["delivery_tip"].as_i64().expect("a tip");
        assert_eq!(read["total"], dishes + tip, "dishes plus the tip: {read}");
        assert_eq!(read["payment"]["status_label"], "결제 완료", "{read}");
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 12, "twelve different orders");
    assert_eq!(app.count("orders").await, 12);
    assert_eq!(app.count("payments").await, 12);
    let events: i64 =
        sqlx::query("SELECT COUNT(DISTINCT order_id) FROM outbox WHERE event_type = 'OrderPlaced'")
            .fetch_one(app.server.state.db.reader())
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
    assert_eq!(events, 12, "one OrderPlaced per order");
    let charges = app.charges().await;
    assert_eq!(charges.len(), 12);
    assert!(
        charges.iter().all(|c| c.status == "approved"),
        "{charges:?}"
    );
    no_charge_without_order_or_cancellation(&app).await;
    app.drained().await;
    let wanted = |food: i64| -> i64 {
        carts
            .iter()
            .flat_map(|(_, lines)| lines.iter())
            .filter(|(f, _)| *f == food)
            .map(|(_, q)| q)
            .sum()
    };
    assert_eq!(
        (app.stock(foods[0].0).await, app.stock(foods[1].0).await),
        (
            stock_before.0 - wanted(foods[0].0),
            stock_before.1 - wanted(foods[1].0)
        ),
        "each order took its own stock"
    );
    let counts = app.server.state.order_recorder.counts();
    let (commits, orders) = (
        counts.commits.load(std::sync::atomic::Ordering::Relaxed),
        counts.orders.load(std::sync::atomic::Ordering::Relaxed),
    );
    match backend {
        Backend::Sqlite => {
            assert_eq!(orders, 12, "every order through the recorder");
            // The first order to arrive is written alone at most; the rest waited together.
            assert!(
                commits <= 2,
                "orders shared transactions: {commits} commits"
            );
        }
        Backend::Postgres => assert_eq!((commits, orders), (0, 0), "one transaction each"),
    }
    app.teardown().await;
}

async fn a_reused_key_with_another_cart_is_a_conflict(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let client = customer(&app).await;
    let (store_id, foods) = store(&app, &client, "마포 즉석떡볶이").await;
    let key = new_key();
    let (status, _) = app
        .call_json(
            &client,
            "place_order",
            &checkout(store_id, &[(foods[0].0, 1)], &key, APPROVE_CARD),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let before = order_tables(&app).await;
    let (status, error) = app
        .call_json(
            &client,
            "place_order",
            &checkout(store_id, &[(foods[0].0, 2)], &key, APPROVE_CARD),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(error["error"], "conflict");
    assert_eq!(order_tables(&app).await, before);
    assert_eq!(app.charges().await.len(), 1);
    app.teardown().await;
}

async fn bad_checkouts_are_refused_with_the_field_and_change_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let client = customer(&app).await;
    let (store_id, foods) = store(&app, &client, "마포 즉석떡볶이").await;
    let (other_store, other_foods) = store(&app, &client, "강남 바삭치킨").await;
    let (closed_store, closed_foods) = store(&app, &client, "용산 김밥나라").await;
    let sold_out = foods
        .iter()
        .find(|f| f.3 == 0)
        .expect("a sold-out demo food")
        .0;
    let scarce = foods.iter().find(|f| f.3 > 0).unwrap();
    let before = order_tables(&app).await;
    let key = new_key();

    let cases: Vec<(Value, StatusCode, &str)> = vec![
        (
            checkout(store_id, &[(foods[0].0, 0)], &key, APPROVE_CARD),
            StatusCode::UNPROCESSABLE_ENTITY,
            "lines[0].quantity",
        ),
        (
            checkout(store_id, &[(foods[0].0, -2)], &key, APPROVE_CARD),
            StatusCode::UNPROCESSABLE_ENTITY,
            "lines[0].quantity",
        ),
        (
            checkout(
                store_id,
                &[(foods[0].0, 1), (foods[1].0, 100)],
                &key,
                APPROVE_CARD,
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "lines[1].quantity",
        ),
        (
            checkout(store_id, &[(987_654, 1)], &key, APPROVE_CARD),
            StatusCode::UNPROCESSABLE_ENTITY,
            "lines[0].food_id",
        ),
        (
            checkout(store_id, &[(other_foods[0].0, 1)], &key, APPROVE_CARD),
            StatusCode::UNPROCESSABLE_ENTITY,
            "lines[0].food_id",
        ),
        (
            checkout(store_id, &[], &key, APPROVE_CARD),
            StatusCode::UNPROCESSABLE_ENTITY,
            "lines",
        ),
        (
            checkout(closed_store, &[(closed_foods[0].0, 1)], &key, APPROVE_CARD),
            StatusCode::UNPROCESSABLE_ENTITY,
            "store_id",
        ),
        (
            checkout(987_654, &[(foods[0].0, 1)], &key, APPROVE_CARD),
            StatusCode::UNPROCESSABLE_ENTITY,
            "store_id",
        ),
        (
            checkout(store_id, &[(sold_out, 1)], &key, APPROVE_CARD),
            StatusCode::UNPROCESSABLE_ENTITY,
            "lines[0].food_id",
        ),
        (
            checkout(store_id, &[(scarce.0, scarce.3 + 1)], &key, APPROVE_CARD),
            StatusCode::UNPROCESSABLE_ENTITY,
            "lines[0].quantity",
        ),
        (
            checkout(store_id, &[(foods[0].0, 1)], "short", APPROVE_CARD),
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key",
        ),
        (
            checkout(store_id, &[(foods[0].0, 1)], &key, "12"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "card_number",
        ),
        (
            json!({"store_id": store_id, "lines": [{"food_id": foods[0].0, "quantity": 1}], "card_number": APPROVE_CARD}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key",
        ),
        (
            json!({"store_id": "마포", "lines": [], "idempotency_key": key, "card_number": APPROVE_CARD}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "store_id",
        ),
    ];
    assert!(other_store != store_id);
    for (body, expected_status, field) in cases {
        let (status, error) = app.call_json(&client, "place_order", &body).await;
        assert_eq!(status, expected_status, "{body}: {error}");
        let fields: Vec<&str> = error["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap())
            .collect();
        assert!(
            fields.contains(&field),
            "{body}: expected {field}, got {error}"
        );
    }

    let raw = |body: &'static str, content_type: &'static str| {
        client
            .post(format!("{}/api/place_order", app.url))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let not_json = raw("not json", "application/json").await.unwrap();
    assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    let error: Value = not_json.json().await.unwrap();
    assert_eq!(error["error"], "bad_request", "{error}");
    let oversized = client
        .post(format!("{}/api/place_order", app.url))
        .header("content-type", "application/json")
        .body(format!("{{\"pad\": \"{}\"}}", "x".repeat(200_000)))
        .send()
        .await
        .unwrap();
    assert_eq!(oversized.status(), StatusCode::PAYLOAD_TOO_LARGE);

    let valid = checkout(store_id, &[(foods[0].0, 1)], &key, APPROVE_CARD);
    let (status, _) = app.call_json(&app.client(), "place_order", &valid).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let owner = app.client();
    app.sign_in(&owner, "owner@baedal.kr", DEMO_PASSWORD).await;
    let (status, _) = app.call_json(&owner, "place_order", &valid).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    assert_eq!(order_tables(&app).await, before);
    assert!(app.charges().await.is_empty(), "nothing was charged");
    app.teardown().await;
}

async fn a_payment_whose_order_cannot_be_saved_is_cancelled(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let client = customer(&app).await;
    let (store_id, foods) = store(&app, &client, "마포 즉석떡볶이").await;
    let before = order_tables(&app).await;
    let key = new_key();
    let body = checkout(store_id, &[(foods[0].0, 1)], &key, APPROVE_CARD);

    app.server.state.faults.set_fail_order_commit(true);
    let (status, error) = app.call_json(&client, "place_order", &body).await;
    app.server.state.faults.set_fail_order_commit(false);
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{error}");
    assert_eq!(error["error"], "payment_unavailable", "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("결제를 취소합니다"),
        "{error}"
    );
    // The void was written with the decision, and the worker carries it out.
    app.drained().await;
    let without_events = |tables: Vec<(&'static str, i64)>| -> Vec<(&'static str, i64)> {
        tables.into_iter().filter(|(t, _)| *t != "outbox").collect()
    };
    assert_eq!(
        without_events(order_tables(&app).await),
        without_events(before.clone()),
        "no order, payment or claim is left"
    );
    assert_eq!(
        app.payment_voids().await,
        vec![(1, true)],
        "one void, carried out once"
    );
    let charges = app.charges().await;
    assert_eq!(charges.len(), 1);
    assert_eq!(
        charges[0].status, "cancelled",
        "the approved payment was cancelled"
    );
    no_charge_without_order_or_cancellation(&app).await;

    // The cart is still there: paying again with the same submission now works, charged anew.
    let (status, order) = app.call_json(&client, "place_order", &body).await;
    assert_eq!(status, StatusCode::OK, "{order}");
    assert_eq!(app.charges().await.len(), 2);
    no_charge_without_order_or_cancellation(&app).await;
    app.teardown().await;
}

async fn a_slow_provider_opens_the_breaker_which_fails_fast_then_recovers(backend: Backend) {
    let settings = [
        ("BAEDAL_PAYMENT_TIMEOUT_MS", "300"),
        ("BAEDAL_BREAKER_WINDOW", "4"),
        ("BAEDAL_BREAKER_MIN_CALLS", "3"),
        ("BAEDAL_BREAKER_OPEN_MS", "1500"),
        ("BAEDAL_BREAKER_PROBES", "1"),
    ];
    let Some(app) = TestApp::spawn_with(backend, &settings).await else {
        return;
    };
    let client = customer(&app).await;
    let (store_id, foods) = store(&app, &client, "마포 즉석떡볶이").await;
    let before = order_tables(&app).await;

    for _ in 0..3 {
        let body = checkout(store_id, &[(foods[0].0, 1)], &new_key(), SLOW_CARD);
        let (status, error) = app.call_json(&client, "place_order", &body).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{error}");
        assert_eq!(
            error["message"],
            "결제 시스템이 혼잡합니다. 잠시 후 다시 결제해 주세요."
        );
    }
    assert_eq!(app.server.state.payments.breaker().state().as_str(), "open");

    // While open, checkouts are refused without calling the provider at all. (The slow
    // charges land at the provider after we stopped waiting: only they are in its ledger.)
    let calls_before = 3;
    let key = new_key();
    let body = checkout(store_id, &[(foods[0].0, 1)], &key, APPROVE_CARD);
    let (status, error) = app.call_json(&client, "place_order", &body).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{error}");
    tokio::time::sleep(SANDBOX_SLOW).await;
    assert_eq!(
        app.charges().await.len(),
        calls_before,
        "no call reached the provider"
    );
    let without_events = |tables: Vec<(&'static str, i64)>| -> Vec<(&'static str, i64)> {
        tables.into_iter().filter(|(t, _)| *t != "outbox").collect()
    };
    assert_eq!(
        without_events(order_tables(&app).await),
        without_events(before.clone()),
        "nothing half-done is left (only the timed-out charges' voids were queued)"
    );

    let metrics = reqwest::get(format!("{}/metrics", app.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics
            .contains(r#"baedal_circuit_breaker_transitions_total{breaker="payment",to="open"}"#),
        "{metrics}"
    );

    // After the open period a probe goes through; it succeeds and the breaker closes. The
    // same submission (same key) pays now: the cart was kept.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (status, order) = app.call_json(&client, "place_order", &body).await;
    assert_eq!(status, StatusCode::OK, "{order}");
    assert_eq!(
        app.server.state.payments.breaker().state().as_str(),
        "closed"
    );

    // The slow charges completed at the provider after we stopped waiting: all were voided,
    // by voids the worker carried out (written when checkout gave each one up).
    app.drained().await;
    tokio::time::sleep(common::SANDBOX_SLOW).await;
    assert_eq!(
        app.payment_voids().await.len(),
        3,
        "one void per timed-out charge"
    );
    no_charge_without_order_or_cancellation(&app).await;
    app.teardown().await;
}

async fn a_provider_error_asks_to_pay_later_and_the_cart_can_pay_again(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let client = customer(&app).await;
    let (store_id, foods) = store(&app, &client, "마포 즉석떡볶이").await;
    let before = order_tables(&app).await;
    let key = new_key();
    let (status, error) = app
        .call_json(
            &client,
            "place_order",
            &checkout(store_id, &[(foods[0].0, 1)], &key, ERROR_CARD),
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{error}");
    assert_eq!(error["error"], "payment_unavailable");
    app.drained().await;
    let mut expected = before.clone();
    for (table, count) in &mut expected {
        if *table == "outbox" {
            *count += 1; // the void of a charge that may exist
        }
    }
    assert_eq!(order_tables(&app).await, expected);
    let (status, _) = app
        .call_json(
            &client,
            "place_order",
            &checkout(store_id, &[(foods[0].0, 1)], &key, APPROVE_CARD),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the same submission can be paid once the provider answers"
    );
    no_charge_without_order_or_cancellation(&app).await;
    app.teardown().await;
}

async fn checkout_keys_are_kept_for_more_than_a_day(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let client = customer(&app).await;
    let (store_id, foods) = store(&app, &client, "마포 즉석떡볶이").await;
    let body = checkout(store_id, &[(foods[0].0, 1)], &new_key(), APPROVE_CARD);
    let (status, first) = app.call_json(&client, "place_order", &body).await;
    assert_eq!(status, StatusCode::OK);
    let state = app.server.state.clone();
    let age = |hours: i64| {
        let state = state.clone();
        async move {
            let mut tx = state.db.begin().await.unwrap();
            let then = app::backend::now_ms() - hours * 60 * 60 * 1000;
            sqlx::query("UPDATE checkouts SET created_at = $1")
                .bind(then)
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            app::backend::orders::purge_old_checkouts(&state)
                .await
                .unwrap()
        }
    };
    assert_eq!(age(25).await, 0, "a day-old key is kept");
    let (status, again) = app.call_json(&client, "place_order", &body).await;
    assert_eq!(
        (status, &again["id"]),
        (StatusCode::OK, &first["id"]),
        "and still answers repeats"
    );
    assert_eq!(
        age(49).await,
        1,
        "keys older than the retention are forgotten"
    );
    assert_eq!(app.count("orders").await, 1);
    app.teardown().await;
}

async fn the_delivery_address_can_be_changed_and_reorders_stores(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let client = customer(&app).await;
    let nearest = |stores: &Value| stores[0]["name"].as_str().unwrap().to_string();
    let (_, stores) = app.call(&client, "nearby_stores", &[]).await;
    assert_eq!(nearest(&stores), "마포 즉석떡볶이");

    let (status, user) = app
        .call(
            &client,
            "set_delivery_address",
            &[
                ("address", "서울 송파구 올림픽로 300"),
                ("address_detail", "101호"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["district"], "송파구");
    assert_eq!(user["address"], "서울 송파구 올림픽로 300");
    assert_eq!(user["address_detail"], "101호");
    let (_, stores) = app.call(&client, "nearby_stores", &[]).await;
    assert_eq!(nearest(&stores), "송파 화덕피자");
    let (_, me) = app.call(&client, "who_am_i", &[]).await;
    assert_eq!(me["district"], "송파구");

    // Outside Seoul, no district named, bad text: a field error each, nothing changes.
    for (address, detail, field) in [
        ("부산 해운대구 해운대로 1", "", "address"),
        ("올림픽로 300", "", "address"),
        ("", "", "address"),
        ("서울 송파구 올림픽로 300", "1\u{7}호", "address_detail"),
    ] {
        let (status, error) = app
            .call(
                &client,
                "set_delivery_address",
                &[("address", address), ("address_detail", detail)],
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{address}: {error}"
        );
        assert_eq!(error["fields"][0]["field"], field, "{address}: {error}");
    }
    let owner = app.client();
    app.sign_in(&owner, "owner@baedal.kr", DEMO_PASSWORD).await;
    let (status, _) = app
        .call(
            &owner,
            "set_delivery_address",
            &[("address", "서울 마포구 양화로 45")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, me) = app.call(&client, "who_am_i", &[]).await;
    assert_eq!(me["district"], "송파구", "refused changes change nothing");
    assert_eq!(
        me["address_detail"], "101호",
        "refused changes change nothing"
    );
    app.teardown().await;
}
