//! What delivery costs and where stores deliver, over HTTP on both engines: 최소주문금액 and
//! 배달팁 are priced by the server from the store's terms and the customer's address whatever
//! the client sends, and charged with the dishes; stores beyond their radius are shown as not
//! deliverable and refused at checkout naming the address; an owner's new terms price the next
//! order and leave earlier ones alone; the rider reads the full address only on their own
//! delivery, with a fee from the order's own coordinates.
//!
//! The server here has no geocoder key, so addresses are placed at their district's centre
//! (the fallback); `geocoding.rs` runs the same rules against the Kakao Local fake.

mod common;

use common::{Backend, TestApp, DEMO_PASSWORD};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use server::sandbox_pay::APPROVE_CARD;

on_both_backends!(
    the_minimum_and_the_tip_are_priced_by_the_server_and_charged,
    stores_beyond_their_radius_are_marked_and_refused_naming_the_address,
    an_order_needs_a_delivery_address,
    new_terms_price_the_next_order_and_leave_earlier_ones_alone,
    the_rider_reads_the_address_on_their_own_delivery_only,
);

fn new_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// The tables a checkout writes; a refused one must leave them as they were.
async fn order_tables(app: &TestApp) -> Vec<(&'static str, i64)> {
    let mut counts = Vec::new();
    for table in ["orders", "order_lines", "payments", "outbox", "foods"] {
        counts.push((table, app.count(table).await));
    }
    counts
}

/// A demo store as `client` sees it in the list, and its menu (name → food id, price).
async fn store(app: &TestApp, client: &Client, name: &str) -> (Value, Vec<(String, i64, i64)>) {
    let stores = app.ok(client, "nearby_stores", &[]).await;
    let store = stores
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {stores}"))
        .clone();
    let id = store["id"].as_i64().unwrap().to_string();
    let menu = app.ok(client, "get_store_menu", &[("store_id", &id)]).await;
    let dishes = menu["menu"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["name"].as_str().unwrap().to_string(),
                d["id"].as_i64().unwrap(),
                d["price"].as_i64().unwrap(),
            )
        })
        .collect();
    (store, dishes)
}

fn dish(menu: &[(String, i64, i64)], name: &str) -> (i64, i64) {
    menu.iter()
        .find(|(n, ..)| n == name)
        .map(|(_, id, price)| (*id, *price))
        .unwrap_or_else(|| panic!("{name}"))
}

async fn the_minimum_and_the_tip_are_priced_by_the_server_and_charged(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // 강남 바삭치킨: 최소주문 15,000원, 배달팁 3,000원 + 500원/km beyond the first, 4 km. The
    // customer lives 0.5 km away (demo coordinates).
    let client = app.signed_in("customer2@baedal.kr").await;
    let (chicken, menu) = store(&app, &client, "강남 바삭치킨").await;
    assert_eq!(chicken["terms"]["min_order"], 15_000);
    assert_eq!(chicken["delivery"]["tip"], 3_000, "{chicken}");
    assert_eq!(chicken["delivery"]["deliverable"], true);
    let store_id = chicken["id"].as_i64().unwrap();
    let (cheese_balls, cheese_price) = dish(&menu, "치즈볼 (5개)");
    let (fried, fried_price) = dish(&menu, "후라이드치킨");

    // Below the minimum: 422 naming the cart with both sums, nothing written or charged.
    let before = order_tables(&app).await;
    let (status, error) = app
        .call_json(
            &client,
            "place_order",
            &json!({
                "store_id": store_id,
                "lines": [{"food_id": cheese_balls, "quantity": 1}],
                "idempotency_key": new_key(),
                "card_number": APPROVE_CARD,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["fields"][0]["field"], "lines", "{error}");
    let message = error["fields"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("15,000원") && message.contains(&format!("{}", cheese_price / 1000)),
        "{message}"
    );
    assert_eq!(order_tables(&app).await, before);
    assert!(app.charges().await.is_empty());

    // Whatever the client says the tip or total is, the server prices both.
    let (status, order) = app
        .call_json(
            &client,
            "place_order",
            &json!({
                "store_id": store_id,
                "lines": [{"food_id": fried, "quantity": 1}],
                "idempotency_key": new_key(),
                "card_number": APPROVE_CARD,
                "delivery_tip": 0,
                "tip": 0,
                "total": 1,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{order}");
    assert_eq!(order["delivery_tip"], 3_000);
    assert_eq!(order["total"], fried_price + 3_000);
    assert_eq!(order["delivery_address"], "서울 강남구 테헤란로 152, 12층");
    let charges = app.charges().await;
    assert_eq!(charges.len(), 1);
    assert_eq!(charges[0].amount, fried_price + 3_000, "the tip is charged");
    let id = order["id"].as_i64().unwrap().to_string();
    let read = app.ok(&client, "get_order", &[("order_id", &id)]).await;
    assert_eq!(read["delivery_tip"], 3_000);
    assert_eq!(read["total"], fried_price + 3_000);

    // A band further (서초구's centre, 1.8 km): 3,500원.
    app.ok(
        &client,
        "set_delivery_address",
        &[("address", "서울 서초구 서초대로 77")],
    )
    .await;
    let (chicken, _) = store(&app, &client, "강남 바삭치킨").await;
    assert_eq!(chicken["delivery"]["tip"], 3_500, "{chicken}");
    let (status, order) = app
        .call_json(
            &client,
            "place_order",
            &json!({
                "store_id": store_id,
                "lines": [{"food_id": fried, "quantity": 1}],
                "idempotency_key": new_key(),
                "card_number": APPROVE_CARD,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{order}");
    assert_eq!(order["total"], fried_price + 3_500);
    assert_eq!(app.charges().await[1].amount, fried_price + 3_500);

    // A cancellation refunds everything paid, the tip included.
    let id = order["id"].as_i64().unwrap().to_string();
    app.drained().await;
    app.ok(&client, "cancel_order", &[("order_id", &id)]).await;
    app.drained().await;
    let refunded: i64 = sqlx::query_scalar(
        "SELECT amount_won FROM payments WHERE order_id = $1 AND status = 'cancelled'",
    )
    .bind(order["id"].as_i64().unwrap())
    .fetch_one(app.server.state.db.reader())
    .await
    .expect("the payment is cancelled (refunded in full)");
    assert_eq!(refunded, fried_price + 3_500);
    app.teardown().await;
}

async fn stores_beyond_their_radius_are_marked_and_refused_naming_the_address(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // The demo customer lives in 마포구; 강남 바삭치킨 delivers within 4 km of 테헤란로.
    let client = app.signed_in("customer@baedal.kr").await;
    let stores = app.ok(&client, "nearby_stores", &[]).await;
    let stores = stores.as_array().unwrap();
    let deliverable: Vec<bool> = stores
        .iter()
        .map(|s| s["delivery"]["deliverable"].as_bool().unwrap())
        .collect();
    assert!(
        deliverable.windows(2).all(|w| w[0] >= w[1]),
        "deliverable stores first: {deliverable:?}"
    );
    assert_eq!(stores[0]["name"], "마포 즉석떡볶이");
    let (chicken, menu) = store(&app, &client, "강남 바삭치킨").await;
    assert_eq!(chicken["delivery"]["deliverable"], false, "{chicken}");
    let id = chicken["id"].as_i64().unwrap();
    let page = app
        .ok(&client, "get_store_menu", &[("store_id", &id.to_string())])
        .await;
    assert_eq!(page["delivery"]["deliverable"], false);

    let before = order_tables(&app).await;
    let (fried, _) = dish(&menu, "후라이드치킨");
    let (status, error) = app
        .call_json(
            &client,
            "place_order",
            &json!({
                "store_id": id,
                "lines": [{"food_id": fried, "quantity": 1}],
                "idempotency_key": new_key(),
                "card_number": APPROVE_CARD,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["fields"][0]["field"], "address");
    let message = error["fields"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("서울 마포구 양화로 45") && message.contains("4km"),
        "{message}"
    );
    assert_eq!(order_tables(&app).await, before, "nothing written");
    assert!(app.charges().await.is_empty(), "nothing charged");
    app.teardown().await;
}

async fn an_order_needs_a_delivery_address(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let client = app.signed_in("customer@baedal.kr").await;
    let (store_id, food_id) = app.first_food(&client).await;
    // An account from before addresses existed: no address, its district's centre.
    sqlx::query(
        "UPDATE users SET address = NULL, address_detail = NULL, lat = 37.5663, lng = 126.9019
         WHERE email = 'customer@baedal.kr'",
    )
    .execute(app.server.state.db.writer())
    .await
    .unwrap();
    let before = order_tables(&app).await;
    let (status, error) = app
        .call_json(
            &client,
            "place_order",
            &json!({
                "store_id": store_id,
                "lines": [{"food_id": food_id, "quantity": 1}],
                "idempotency_key": new_key(),
                "card_number": APPROVE_CARD,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["fields"][0]["field"], "address");
    assert_eq!(order_tables(&app).await, before);
    let (status, error) = app.call(&client, "nearby_stores", &[]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["fields"][0]["field"], "address");
    let (status, page) = app
        .call(
            &client,
            "get_store_menu",
            &[("store_id", &store_id.to_string())],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        page["delivery"],
        Value::Null,
        "no quote without an address: {page}"
    );
    // The home page asks for one: its address form is open and in the server's HTML, so it can
    // be filled in at once, scripts or not (signed in anew: a session keeps the account as it
    // was at sign-in).
    let fresh = app.signed_in("customer@baedal.kr").await;
    let (status, _, home) = app.page(&fresh, "/").await;
    // 422, as `nearby_stores` answers: the store list cannot be made without an address.
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        home.contains("미설정: 도로명 주소를 입력해 주세요"),
        "{home}"
    );
    assert!(
        home.contains(r#"<details open class="address-change">"#),
        "{home}"
    );
    assert!(home.contains(r#"data-testid="address-road""#), "{home}");

    // Setting one makes both work again.
    app.ok(
        &client,
        "set_delivery_address",
        &[
            ("address", "서울 마포구 양화로 45"),
            ("address_detail", "2층"),
        ],
    )
    .await;
    let (status, order) = app
        .call_json(
            &client,
            "place_order",
            &json!({
                "store_id": store_id,
                "lines": [{"food_id": food_id, "quantity": 1}],
                "idempotency_key": new_key(),
                "card_number": APPROVE_CARD,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{order}");
    assert_eq!(order["delivery_address"], "서울 마포구 양화로 45, 2층");
    app.teardown().await;
}

async fn new_terms_price_the_next_order_and_leave_earlier_ones_alone(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let client = app.signed_in("customer@baedal.kr").await;
    let owner = app.signed_in("owner@baedal.kr").await;
    let other_owner = app.signed_in("owner2@baedal.kr").await;
    let (store_id, food_id) = app.first_food(&client).await;
    let store = store_id.to_string();
    let (_, _, first_id) = app.order_first_food(&client).await;
    let first = app.order(&client, first_id).await;
    assert_eq!(
        first["delivery_tip"], 0,
        "마포 즉석떡볶이 starts with free delivery"
    );

    // Another owner cannot change this store's terms; bad terms change nothing.
    let terms = [
        ("store_id", store.as_str()),
        ("min_order", "20000"),
        ("tip", "2000"),
        ("tip_per_km", "0"),
        ("radius_km", "2.5"),
    ];
    let (status, _) = app.call(&other_owner, "save_delivery_terms", &terms).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, error) = app
        .call(
            &owner,
            "save_delivery_terms",
            &[
                ("store_id", store.as_str()),
                ("min_order", "-1"),
                ("tip", "2000"),
                ("tip_per_km", "0"),
                ("radius_km", "11"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> = error["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["min_order", "radius_km"]);
    let (_, page) = app
        .call(&client, "get_store_menu", &[("store_id", &store)])
        .await;
    assert_eq!(
        page["terms"]["min_order"], 0,
        "refused terms change nothing"
    );

    // A repeat of a submission from before the terms change answers as it did.
    let body = json!({
        "store_id": store_id,
        "lines": [{"food_id": food_id, "quantity": 1}],
        "idempotency_key": new_key(),
        "card_number": APPROVE_CARD,
    });
    let (status, before_change) = app.call_json(&client, "place_order", &body).await;
    assert_eq!(status, StatusCode::OK, "{before_change}");
    let saved = app.ok(&owner, "save_delivery_terms", &terms).await;
    let (status, repeated) = app.call_json(&client, "place_order", &body).await;
    assert_eq!(status, StatusCode::OK, "the same submission: {repeated}");
    assert_eq!(repeated["id"], before_change["id"]);
    assert_eq!(repeated["delivery_tip"], 0);
    assert_eq!(saved["radius_m"], 2_500);
    let mine = app.ok(&owner, "my_stores", &[]).await;
    let mine = mine
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == store_id)
        .unwrap()
        .clone();
    assert_eq!(mine["terms"]["tip"], 2_000);

    let page = app
        .ok(&client, "get_store_menu", &[("store_id", &store)])
        .await;
    assert_eq!(page["terms"]["min_order"], 20_000);
    assert_eq!(page["delivery"]["tip"], 2_000);
    let (status, order) = app
        .call_json(
            &client,
            "place_order",
            &json!({
                "store_id": store_id,
                "lines": [{"food_id": food_id, "quantity": 2}],
                "idempotency_key": new_key(),
                "card_number": APPROVE_CARD,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{order}");
    assert_eq!(order["delivery_tip"], 2_000);
    let earlier = app.order(&client, first_id).await;
    assert_eq!(earlier["delivery_tip"], 0, "an earlier order keeps its tip");
    assert_eq!(earlier["total"], first["total"]);
    app.teardown().await;
}

async fn the_rider_reads_the_address_on_their_own_delivery_only(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let client = app.signed_in("customer@baedal.kr").await;
    let owner = app.signed_in("owner@baedal.kr").await;
    let rider = app.client();
    app.sign_in(&rider, "rider@baedal.kr", DEMO_PASSWORD).await;
    let (_, _, order_id) = app.order_first_food(&client).await;
    let id = order_id.to_string();
    for action in ["accept", "start_cooking", "finish_cooking"] {
        app.ok(
            &owner,
            "order_action",
            &[
                ("order_id", &id),
                ("action", action),
                ("cook_minutes", "20"),
            ],
        )
        .await;
        app.drained().await;
    }
    // 마포구's reference point, where the demo rider waits.
    let here = [("lat", "37.5663"), ("lng", "126.9019")];
    let board = app.ok(&rider, "rider_board", &here).await;
    let offer = &board["offers"][0];
    assert_eq!(offer["order_id"].to_string(), id);
    assert_eq!(
        offer["dropoff"], "마포구",
        "an offer names the district only"
    );
    // 와우산로 45 → 양화로 45 is about 0.5 km: the base fee.
    assert!(offer["trip_m"].as_f64().unwrap() < 1_000.0, "{offer}");
    assert_eq!(offer["fee"], 3_000);
    assert!(!offer.to_string().contains("양화로"), "{offer}");
    app.ok(
        &rider,
        "rider_action",
        &[("order_id", &id), ("action", "claim")],
    )
    .await;
    let board = app.ok(&rider, "rider_board", &here).await;
    let mine = &board["mine"][0];
    assert_eq!(mine["dropoff"], "서울 마포구 양화로 45, 101동 1203호");
    assert_eq!(mine["pickup_address"], "서울 마포구 와우산로 45, 1층");
    assert_eq!(mine["fee"], 3_000);
    app.teardown().await;
}
