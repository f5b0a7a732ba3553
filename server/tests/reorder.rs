//! 재주문 over HTTP on both engines: an earlier order again at today's prices and within
//! today's stock, with every change named, and nothing written until the customer pays.

mod common;

use common::{Backend, TestApp};
use reqwest::StatusCode;
use serde_json::{json, Value};
use server::sandbox_pay::APPROVE_CARD;

on_both_backends!(
    a_reorder_takes_todays_prices_leaves_out_sold_out_dishes_and_says_so,
    only_the_customer_who_ordered_can_order_it_again,
);

/// What a checkout writes; planning a reorder must leave it as it was.
async fn order_tables(app: &TestApp) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in ["orders", "order_lines", "payments", "outbox", "checkouts"] {
        counts.push(app.count(table).await);
    }
    counts
}

async fn a_reorder_takes_todays_prices_leaves_out_sold_out_dishes_and_says_so(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let owner = app.signed_in("owner@baedal.kr").await;
    let (store_id, _) = app.first_food(&customer).await;
    let (_, menu) = app
        .call(
            &customer,
            "get_store_menu",
            &[("store_id", &store_id.to_string())],
        )
        .await;
    let dish = |i: usize| -> (i64, String, i64) {
        let d = &menu["menu"][i];
        (
            d["id"].as_i64().unwrap(),
            d["name"].as_str().unwrap().to_string(),
            d["price"].as_i64().unwrap(),
        )
    };
    let (kept, kept_name, old_price) = dish(0);
    let (sold_out, sold_out_name, _) = dish(1);
    let order = json!({
        "store_id": store_id,
        "lines": [{"food_id": kept, "quantity": 2}, {"food_id": sold_out, "quantity": 1}],
        "idempotency_key": uuid::Uuid::new_v4().to_string(),
        "card_number": APPROVE_CARD,
    });
    let (status, placed) = app.call_json(&customer, "place_order", &order).await;
    assert_eq!(status, StatusCode::OK, "{placed}");
    let order_id = placed["id"].as_i64().unwrap();
    app.drained().await;

    // Since then: the first dish costs 1,000원 more, the second is sold out.
    let new_price = old_price + 1_000;
    let (status, body) = app
        .call(
            &owner,
            "save_food",
            &[
                ("store_id", &store_id.to_string()),
                ("food_id", &kept.to_string()),
                ("name", &kept_name),
                ("price", &new_price.to_string()),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app
        .call(
            &owner,
            "set_food_stock",
            &[("food_id", &sold_out.to_string()), ("stock", "0")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let before = order_tables(&app).await;
    let (status, plan) = app
        .call(&customer, "reorder", &[("order_id", &order_id.to_string())])
        .await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    assert_eq!(plan["store_id"], store_id);
    assert_eq!(plan["store_open"], true);
    let lines: Vec<(i64, i64, i64)> = plan["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["food_id"].as_i64().unwrap(),
                l["unit_price"].as_i64().unwrap(),
                l["quantity"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        vec![(kept, new_price, 2)],
        "today's price, the sold-out dish left out"
    );
    let changes: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(changes.len(), 2, "{changes:?}");
    assert!(
        changes[0].starts_with(&format!("{kept_name} 가격이 "))
            && changes[0].contains("바뀌었습니다"),
        "{changes:?}"
    );
    assert!(changes[1].starts_with(&sold_out_name) && changes[1].ends_with("품절되었습니다."));
    assert_eq!(
        order_tables(&app).await,
        before,
        "planning a reorder writes nothing"
    );

    // Paying the plan at today's price is an ordinary checkout.
    let again = json!({
        "store_id": store_id,
        "lines": [{"food_id": kept, "quantity": 2}],
        "idempotency_key": uuid::Uuid::new_v4().to_string(),
        "card_number": APPROVE_CARD,
    });
    let (status, placed) = app.call_json(&customer, "place_order", &again).await;
    assert_eq!(status, StatusCode::OK, "{placed}");
    assert_eq!(placed["total"], json!(new_price * 2));
    app.teardown().await;
}

async fn only_the_customer_who_ordered_can_order_it_again(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let other = app.signed_in("customer2@baedal.kr").await;
    let owner = app.signed_in("owner@baedal.kr").await;
    let (_, _, order_id) = app.order_first_food(&customer).await;
    let id = order_id.to_string();
    let (status, body): (StatusCode, Value) =
        app.call(&other, "reorder", &[("order_id", &id)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = app.call(&owner, "reorder", &[("order_id", &id)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = app.call(&customer, "reorder", &[("order_id", "x")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["fields"][0]["field"], "order_id", "{body}");
    app.teardown().await;
}
