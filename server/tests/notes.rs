//! The customer's notes at checkout (요청사항) over HTTP on both engines: the note to the store
//! reaches the order's store, the note to the rider reaches the rider who claimed it, the
//! customer reads both back, and nobody else sees either; bad notes are refused naming their
//! field with nothing written, and a retry with other notes is another cart.

mod common;

use common::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use server::sandbox_pay::APPROVE_CARD;
use sqlx::Row;

on_both_backends!(
    notes_reach_the_orders_store_and_rider_and_nobody_else,
    bad_notes_are_refused_naming_the_field_and_nothing_is_written,
    a_retry_with_other_notes_is_another_cart,
);

const STORE_NOTE: &str = "덜 맵게 해 주세요";
const RIDER_NOTE: &str = "문 앞에 두고 벨 누르지 말아 주세요";

/// 마포구's reference point (customer@baedal.kr's delivery district).
const MAPO: [(&str, &str); 2] = [("lat", "37.5663"), ("lng", "126.9019")];

fn checkout(store_id: i64, food_id: i64, key: &str, store_note: Value, rider_note: Value) -> Value {
    json!({
        "store_id": store_id,
        "lines": [{"food_id": food_id, "quantity": 1}],
        "idempotency_key": key,
        "card_number": APPROVE_CARD,
        "store_note": store_note,
        "rider_note": rider_note,
    })
}

fn new_key() -> String {
    uuid::Uuid::new_v4().to_string()
}

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

/// Neither note appears anywhere in `answer` (what `who` was sent).
fn no_notes_in(answer: &Value, who: &str) {
    let text = answer.to_string();
    for note in [STORE_NOTE, RIDER_NOTE] {
        assert!(!text.contains(note), "{who} was shown {note:?}: {text}");
    }
}

fn store_order(board: &Value, order_id: i64) -> Option<Value> {
    board["stores"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|store| store["orders"].as_array().unwrap())
        .find(|order| order["id"] == order_id)
        .cloned()
}

async fn notes_reach_the_orders_store_and_rider_and_nobody_else(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let other_customer = app.signed_in("customer2@baedal.kr").await;
    let owner = app.signed_in("owner@baedal.kr").await;
    let other_owner = app.signed_in("owner2@baedal.kr").await;
    let rider = app.signed_in("rider@baedal.kr").await;
    let other_rider = app.signed_in("rider2@baedal.kr").await;

    let (store_id, food_id) = app.first_food(&customer).await;
    let body = checkout(
        store_id,
        food_id,
        &new_key(),
        json!(format!("  {STORE_NOTE} ")),
        json!(format!("{RIDER_NOTE}\n")),
    );
    let (status, placed) = app.call_json(&customer, "place_order", &body).await;
    assert_eq!(status, StatusCode::OK, "{placed}");
    assert_eq!(placed["store_note"], STORE_NOTE, "trimmed");
    assert_eq!(placed["rider_note"], RIDER_NOTE, "trimmed");
    let order_id = placed["id"].as_i64().unwrap();
    app.drained().await;

    // Stored with the order, trimmed.
    let row = sqlx::query("SELECT store_note, rider_note FROM orders WHERE id = $1")
        .bind(order_id)
        .fetch_one(app.server.state.db.reader())
        .await
        .unwrap();
    assert_eq!(row.try_get::<String, _>(0).unwrap(), STORE_NOTE);
    assert_eq!(row.try_get::<String, _>(1).unwrap(), RIDER_NOTE);

    // The customer reads both back, as written.
    let order = app.order(&customer, order_id).await;
    assert_eq!(order["store_note"], STORE_NOTE);
    assert_eq!(order["rider_note"], RIDER_NOTE);

    // Another customer: not their order, and nothing of it in their list.
    let (status, body) = app
        .call(
            &other_customer,
            "get_order",
            &[("order_id", &order_id.to_string())],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    no_notes_in(&body, "another customer");
    no_notes_in(
        &app.ok(&other_customer, "my_orders", &[]).await,
        "another customer's list",
    );

    // The order's store sees the note to the store, on its board and in its order list, and
    // not the note to the rider.
    let board = app.ok(&owner, "owner_board", &[]).await;
    let on_board = store_order(&board, order_id).expect("on the store's board");
    assert_eq!(on_board["store_note"], STORE_NOTE);
    assert!(!board.to_string().contains(RIDER_NOTE), "{board}");
    let listed = app
        .ok(
            &owner,
            "store_orders",
            &[("store_id", &store_id.to_string())],
        )
        .await;
    let listed = listed.as_array().unwrap();
    let mine = listed.iter().find(|o| o["id"] == order_id).unwrap();
    assert_eq!(mine["store_note"], STORE_NOTE);
    assert!(!Value::from(listed.clone()).to_string().contains(RIDER_NOTE));

    // Another owner sees neither.
    let board = app.ok(&other_owner, "owner_board", &[]).await;
    assert!(store_order(&board, order_id).is_none());
    no_notes_in(&board, "another owner");
    let (status, body) = app
        .call(
            &other_owner,
            "store_orders",
            &[("store_id", &store_id.to_string())],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    no_notes_in(&body, "another owner");

    for action in ["accept", "start_cooking", "finish_cooking"] {
        app.ok(
            &owner,
            "order_action",
            &[
                ("order_id", &order_id.to_string()),
                ("action", action),
                ("cook_minutes", "20"),
            ],
        )
        .await;
    }

    // Offered to riders nearby: without either note, to every rider.
    for (who, client) in [("the rider", &rider), ("another rider", &other_rider)] {
        let board = app.ok(client, "rider_board", &MAPO).await;
        let offer = board["offers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["order_id"] == order_id)
            .unwrap_or_else(|| panic!("offered to {who}: {board}"));
        assert!(offer.get("rider_note").is_none(), "{offer}");
        no_notes_in(&board, who);
    }

    // Claimed: its rider sees the note to the rider (and not the store's); others nothing.
    app.ok(
        &rider,
        "rider_action",
        &[("order_id", &order_id.to_string()), ("action", "claim")],
    )
    .await;
    let board = app.ok(&rider, "rider_board", &MAPO).await;
    assert_eq!(board["mine"][0]["order_id"], order_id, "{board}");
    assert_eq!(board["mine"][0]["rider_note"], RIDER_NOTE);
    assert!(!board.to_string().contains(STORE_NOTE), "{board}");
    no_notes_in(
        &app.ok(&other_rider, "rider_board", &MAPO).await,
        "another rider",
    );
    no_notes_in(
        &app.ok(&other_rider, "rider_board", &[]).await,
        "another rider at home",
    );

    // An order without notes has none anywhere (null, not empty text).
    let (_, _, plain) = app.order_first_food(&customer).await;
    let order = app.order(&customer, plain).await;
    assert_eq!(order["store_note"], Value::Null);
    assert_eq!(order["rider_note"], Value::Null);
    let board = app.ok(&owner, "owner_board", &[]).await;
    assert_eq!(
        store_order(&board, plain).unwrap()["store_note"],
        Value::Null
    );
    app.teardown().await;
}

async fn bad_notes_are_refused_naming_the_field_and_nothing_is_written(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let (store_id, food_id) = app.first_food(&customer).await;
    let before = order_tables(&app).await;
    let hundred = "맵".repeat(100);
    let long = "맵".repeat(101);
    let cases: Vec<(Value, Value, Vec<&str>)> = vec![
        (json!(long), json!(null), vec!["store_note"]),
        (json!(""), json!(long), vec!["rider_note"]),
        (json!("a".repeat(101)), json!(hundred), vec!["store_note"]),
        (json!("덜\u{0}맵게"), json!(RIDER_NOTE), vec!["store_note"]),
        (
            json!(STORE_NOTE),
            json!("벨\u{1b}[31m누르지 마세요"),
            vec!["rider_note"],
        ),
        (json!("덜\n맵게"), json!(null), vec!["store_note"]),
        (json!(null), json!("문\t앞"), vec!["rider_note"]),
        (json!("가\u{FFFD}나"), json!(null), vec!["store_note"]),
        (json!(3), json!(["문 앞"]), vec!["store_note", "rider_note"]),
        (
            json!(long),
            json!("\u{7f}"),
            vec!["store_note", "rider_note"],
        ),
    ];
    for (store_note, rider_note, fields) in cases {
        let body = checkout(
            store_id,
            food_id,
            &new_key(),
            store_note.clone(),
            rider_note.clone(),
        );
        let (status, error) = app.call_json(&customer, "place_order", &body).await;
        let case = format!("{store_note} / {rider_note}");
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{case}: {error}");
        assert_eq!(error["error"], "invalid", "{case}");
        let named: Vec<&str> = error["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap())
            .collect();
        assert_eq!(named, fields, "{case}: {error}");
    }
    assert_eq!(order_tables(&app).await, before, "nothing written");
    assert!(app.charges().await.is_empty(), "nothing charged");

    // 100 characters (300 bytes) is the limit, not over it.
    let body = checkout(
        store_id,
        food_id,
        &new_key(),
        json!(hundred),
        json!(hundred),
    );
    let (status, placed) = app.call_json(&customer, "place_order", &body).await;
    assert_eq!(status, StatusCode::OK, "{placed}");
    assert_eq!(placed["store_note"], hundred.as_str());
    assert_eq!(
        app.order(&customer, placed["id"].as_i64().unwrap()).await["rider_note"],
        hundred.as_str()
    );
    app.teardown().await;
}

async fn a_retry_with_other_notes_is_another_cart(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let (store_id, food_id) = app.first_food(&customer).await;
    let key = new_key();
    let first = checkout(store_id, food_id, &key, json!(STORE_NOTE), json!(""));
    let (status, placed) = app.call_json(&customer, "place_order", &first).await;
    assert_eq!(status, StatusCode::OK, "{placed}");

    // The same submission again (spaces around a note are not a difference): the same order.
    let again = checkout(
        store_id,
        food_id,
        &key,
        json!(format!(" {STORE_NOTE}")),
        json!(null),
    );
    let (status, repeated) = app.call_json(&customer, "place_order", &again).await;
    assert_eq!(status, StatusCode::OK, "{repeated}");
    assert_eq!(repeated["id"], placed["id"]);

    let before = order_tables(&app).await;
    for (store_note, rider_note) in [
        (json!("더 맵게 해 주세요"), json!("")),
        (json!(STORE_NOTE), json!(RIDER_NOTE)),
        (json!(null), json!(null)),
    ] {
        let other = checkout(store_id, food_id, &key, store_note, rider_note);
        let (status, error) = app.call_json(&customer, "place_order", &other).await;
        assert_eq!(status, StatusCode::CONFLICT, "{other}: {error}");
        assert_eq!(error["error"], "conflict");
    }
    assert_eq!(order_tables(&app).await, before);
    assert_eq!(app.charges().await.len(), 1);
    let order = app.order(&customer, placed["id"].as_i64().unwrap()).await;
    assert_eq!(order["store_note"], STORE_NOTE);
    assert_eq!(order["rider_note"], Value::Null);
    app.teardown().await;
}
