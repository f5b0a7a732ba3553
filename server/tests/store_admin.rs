//! Store owners over HTTP on both engines: stock entry, open/closed (a new store opens only
//! with a dish in stock), the order state machine (accept, reject with compensation, cooking,
//! cooked), auto-reject, and ownership checks.

mod common;

use common::{Backend, TestApp};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use server::sandbox_pay::APPROVE_CARD;
use sqlx::Row;
use std::time::Duration;

on_both_backends!(
    an_owner_takes_an_order_through_accept_cooking_and_cooked,
    illegal_moves_are_refused_and_change_nothing,
    a_rejection_refunds_and_restores_stock_with_the_reason_shown,
    owners_act_only_on_their_own_stores,
    stock_entry_is_checked_and_customers_see_it_at_once,
    an_order_nobody_accepts_is_rejected_and_refunded,
    owners_add_edit_and_hide_dishes,
    the_owner_board_shows_every_store_in_one_read,
    a_stock_save_against_a_number_orders_changed_is_refused,
    a_new_store_opens_only_once_it_has_a_dish_in_stock,
);

async fn act(
    app: &TestApp,
    owner: &Client,
    order_id: i64,
    action: &str,
    reason: &str,
) -> (StatusCode, Value) {
    app.call(
        owner,
        "order_action",
        &[
            ("order_id", &order_id.to_string()),
            ("action", action),
            ("reason", reason),
            ("cook_minutes", "20"),
        ],
    )
    .await
}

async fn order_status(app: &TestApp, order_id: i64) -> String {
    sqlx::query("SELECT status FROM orders WHERE id = $1")
        .bind(order_id)
        .fetch_one(app.server.state.db.reader())
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

async fn timeline(app: &TestApp, customer: &Client, order_id: i64) -> (Vec<String>, Value) {
    let order = app.order(customer, order_id).await;
    let statuses = order["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap().to_string())
        .collect();
    (statuses, order)
}

async fn an_owner_takes_an_order_through_accept_cooking_and_cooked(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let owner = app.signed_in("owner@baedal.kr").await;
    let (store_id, _, order_id) = app.order_first_food(&customer).await;

    let (status, orders) = app
        .call(
            &owner,
            "store_orders",
            &[("store_id", &store_id.to_string())],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{orders}");
    assert_eq!(orders[0]["id"], order_id);
    assert_eq!(orders[0]["status"], "placed");
    assert_eq!(orders[0]["lines"][0], "즉석떡볶이 (2인) ×1");

    for (action, expected) in [
        ("accept", "accepted"),
        ("start_cooking", "cooking"),
        ("finish_cooking", "cooked"),
    ] {
        let (status, body) = act(&app, &owner, order_id, action, "").await;
        assert_eq!(status, StatusCode::OK, "{action}: {body}");
        assert_eq!(body, expected);
    }
    app.drained().await;
    let (statuses, order) = timeline(&app, &customer, order_id).await;
    assert_eq!(statuses, ["placed", "accepted", "cooking", "cooked"]);
    assert_eq!(order["status"], "cooked");
    let (status, _) = app
        .call(
            &customer,
            "cancel_order",
            &[("order_id", &order_id.to_string())],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "too late to cancel once cooking started"
    );
    app.teardown().await;
}

async fn illegal_moves_are_refused_and_change_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let owner = app.signed_in("owner@baedal.kr").await;
    let (_, _, order_id) = app.order_first_food(&customer).await;
    let events_before: i64 = sqlx::query("SELECT COUNT(*) FROM outbox")
        .fetch_one(app.server.state.db.reader())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();

    let (status, body) = act(&app, &owner, order_id, "start_cooking", "").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(
        body["message"],
        "주문을 수락한 뒤에 요리를 시작할 수 있습니다."
    );
    let (status, _) = act(&app, &owner, order_id, "finish_cooking", "").await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = act(&app, &owner, order_id, "teleport", "").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["fields"][0]["field"], "action");
    let (status, body) = act(&app, &owner, order_id, "reject", "그냥").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["fields"][0]["field"], "reason");
    let (status, _) = act(&app, &owner, 987_654, "accept", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(order_status(&app, order_id).await, "placed");
    let events_after: i64 = sqlx::query("SELECT COUNT(*) FROM outbox")
        .fetch_one(app.server.state.db.reader())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(events_after, events_before, "refused moves write no event");

    let (status, _) = act(&app, &owner, order_id, "accept", "").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = act(&app, &owner, order_id, "accept", "").await;
    assert_eq!(status, StatusCode::CONFLICT, "accepting twice");
    app.teardown().await;
}

async fn a_rejection_refunds_and_restores_stock_with_the_reason_shown(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let owner = app.signed_in("owner@baedal.kr").await;
    let (_, food_id, order_id) = app.order_first_food(&customer).await;
    let taken = app.stock(food_id).await;
    let reason = "재료가 모두 소진되었습니다.";
    let (status, body) = act(&app, &owner, order_id, "reject", reason).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.drained().await;
    assert_eq!(app.stock(food_id).await, taken + 1, "stock is back");
    let (statuses, order) = timeline(&app, &customer, order_id).await;
    assert_eq!(statuses, ["placed", "rejected"]);
    assert_eq!(order["note"], reason);
    assert_eq!(order["payment"]["status_label"], "환불 완료");
    assert_eq!(app.charges().await[0].status, "cancelled");
    app.teardown().await;
}

async fn owners_act_only_on_their_own_stores(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let other_owner = app.signed_in("owner2@baedal.kr").await;
    let (store_id, food_id, order_id) = app.order_first_food(&customer).await;
    let stock_before = app.stock(food_id).await;

    let (status, _) = act(&app, &other_owner, order_id, "accept", "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .call(
            &other_owner,
            "store_orders",
            &[("store_id", &store_id.to_string())],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .call(
            &other_owner,
            "set_store_open",
            &[("store_id", &store_id.to_string()), ("open", "false")],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app
        .call(
            &other_owner,
            "set_food_stock",
            &[("food_id", &food_id.to_string()), ("stock", "0")],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for function in [
        "store_orders",
        "set_store_open",
        "set_food_stock",
        "order_action",
    ] {
        let (status, _) = app
            .call(
                &customer,
                function,
                &[
                    ("store_id", "1"),
                    ("open", "false"),
                    ("food_id", "1"),
                    ("stock", "0"),
                    ("order_id", "1"),
                    ("action", "accept"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{function} as a customer");
    }
    assert_eq!(order_status(&app, order_id).await, "placed");
    assert_eq!(app.stock(food_id).await, stock_before);
    let (_, stores) = app.call(&customer, "nearby_stores", &[]).await;
    assert_eq!(
        stores
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == store_id)
            .unwrap()["is_open"],
        true
    );
    app.teardown().await;
}

async fn stock_entry_is_checked_and_customers_see_it_at_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let owner = app.signed_in("owner@baedal.kr").await;
    let (_, stores) = app.call(&owner, "my_stores", &[]).await;
    let store_id = stores[0]["id"].as_i64().unwrap();
    let food_id = stores[0]["menu"][0]["id"].as_i64().unwrap();

    for bad in ["-1", "3.5", "abc", "", "100001"] {
        let (status, body) = app
            .call(
                &owner,
                "set_food_stock",
                &[("food_id", &food_id.to_string()), ("stock", bad)],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}: {body}");
        assert_eq!(body["fields"][0]["field"], "stock");
    }
    let (status, _) = app
        .call(
            &owner,
            "set_food_stock",
            &[("food_id", &food_id.to_string()), ("stock", "7")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, menu) = app
        .call(
            &customer,
            "get_store_menu",
            &[("store_id", &store_id.to_string())],
        )
        .await;
    assert_eq!(menu["menu"][0]["stock"], 7);

    let (status, _) = app
        .call(
            &owner,
            "set_store_open",
            &[("store_id", &store_id.to_string()), ("open", "false")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let body = json!({
        "store_id": store_id,
        "lines": [{"food_id": food_id, "quantity": 1}],
        "idempotency_key": uuid::Uuid::new_v4().to_string(),
        "card_number": APPROVE_CARD,
    });
    let (status, error) = app.call_json(&customer, "place_order", &body).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a closed store takes no orders: {error}"
    );
    assert_eq!(error["fields"][0]["field"], "store_id");
    let (status, _) = app
        .call(
            &owner,
            "set_store_open",
            &[("store_id", &store_id.to_string()), ("open", "true")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = app.call_json(&customer, "place_order", &body).await;
    assert_eq!(status, StatusCode::OK);
    app.teardown().await;
}

async fn an_order_nobody_accepts_is_rejected_and_refunded(backend: Backend) {
    let settings = [
        ("BAEDAL_AUTO_REJECT_AFTER_S", "1"),
        ("BAEDAL_HOUSEKEEPING_MS", "100"),
    ];
    let Some(app) = TestApp::spawn_with(backend, &settings).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let owner = app.signed_in("owner@baedal.kr").await;
    let (_, food_id, order_id) = app.order_first_food(&customer).await;
    let (_, _, accepted_id) = app.order_first_food(&customer).await;
    let (status, _) = act(&app, &owner, accepted_id, "accept", "").await;
    assert_eq!(status, StatusCode::OK);
    let taken = app.stock(food_id).await;
    for _ in 0..150 {
        if order_status(&app, order_id).await == "rejected" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.drained().await;
    assert_eq!(order_status(&app, order_id).await, "rejected");
    assert_eq!(
        order_status(&app, accepted_id).await,
        "accepted",
        "accepted orders stay"
    );
    assert_eq!(app.stock(food_id).await, taken + 1);
    let (_, order) = timeline(&app, &customer, order_id).await;
    assert!(
        order["note"].as_str().unwrap().contains("자동으로 거절"),
        "{order}"
    );
    assert_eq!(order["payment"]["status_label"], "환불 완료");
    app.teardown().await;
}

async fn owners_add_edit_and_hide_dishes(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let owner = app.signed_in("owner@baedal.kr").await;
    let other_owner = app.signed_in("owner2@baedal.kr").await;
    let (_, stores) = app.call(&owner, "my_stores", &[]).await;
    let store_id = stores[0]["id"].as_i64().unwrap().to_string();
    let foods_before = app.count("foods").await;
    for (name, price, field) in [
        (" ", "5000", "name"),
        ("어묵", "0", "price"),
        ("어묵", "-100", "price"),
        ("어묵", "1000001", "price"),
        ("어묵", "12.5", "price"),
    ] {
        let (status, body) = app
            .call(
                &owner,
                "save_food",
                &[("store_id", &store_id), ("name", name), ("price", price)],
            )
            .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name:?} {price:?}: {body}"
        );
        assert_eq!(body["fields"][0]["field"], field);
    }
    let long_name = "가".repeat(41);
    let (status, _) = app
        .call(
            &owner,
            "save_food",
            &[
                ("store_id", &store_id),
                ("name", &long_name),
                ("price", "1000"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = app
        .call(
            &other_owner,
            "save_food",
            &[("store_id", &store_id), ("name", "어묵"), ("price", "3000")],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "another owner's store");
    assert_eq!(
        app.count("foods").await,
        foods_before,
        "nothing was written"
    );

    let (status, id) = app
        .call(
            &owner,
            "save_food",
            &[
                ("store_id", &store_id),
                ("name", "어묵탕"),
                ("description", "국물 가득"),
                ("price", "4000"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{id}");
    let id = id.as_i64().unwrap().to_string();
    let listed = app
        .call(&customer, "get_store_menu", &[("store_id", &store_id)])
        .await
        .1;
    let dish = listed["menu"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "어묵탕")
        .unwrap()
        .clone();
    assert_eq!(
        (dish["price"].as_i64(), dish["stock"].as_i64()),
        (Some(4000), Some(0)),
        "new dishes start sold out"
    );

    let (status, _) = app
        .call(
            &owner,
            "save_food",
            &[
                ("store_id", &store_id),
                ("food_id", &id),
                ("name", "어묵탕 (대)"),
                ("price", "6000"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let listed = app
        .call(&customer, "get_store_menu", &[("store_id", &store_id)])
        .await
        .1;
    assert!(listed["menu"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["name"] == "어묵탕 (대)" && f["price"] == 6000));

    let (status, _) = app
        .call(
            &owner,
            "save_food",
            &[
                ("store_id", &store_id),
                ("food_id", &id),
                ("name", "어묵탕 (대)"),
                ("price", "6000"),
                ("hidden", "true"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let listed = app
        .call(&customer, "get_store_menu", &[("store_id", &store_id)])
        .await
        .1;
    assert!(
        !listed["menu"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["name"] == "어묵탕 (대)"),
        "hidden from customers"
    );

    // A dish of another store cannot be edited through one's own store.
    let (_, theirs) = app.call(&other_owner, "my_stores", &[]).await;
    let their_food = theirs[0]["menu"][0]["id"].as_i64().unwrap().to_string();
    let (status, _) = app
        .call(
            &owner,
            "save_food",
            &[
                ("store_id", &store_id),
                ("food_id", &their_food),
                ("name", "가로채기"),
                ("price", "1000"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.teardown().await;
}

/// The owner's order board reads everything in one call: every store with its sold-out
/// dishes, its orders and today's numbers, the same as the per-store functions say.
async fn the_owner_board_shows_every_store_in_one_read(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let owner = app.signed_in("owner@baedal.kr").await;
    let (store_id, food_id, order_id) = app.order_first_food(&customer).await;
    app.ok(
        &owner,
        "set_food_stock",
        &[("food_id", &food_id.to_string()), ("stock", "0")],
    )
    .await;
    let (status, board) = app.call(&owner, "owner_board", &[]).await;
    assert_eq!(status, StatusCode::OK, "{board}");
    let boards = board["stores"].as_array().expect("stores");
    let (_, stores) = app.call(&owner, "my_stores", &[]).await;
    let stores = stores.as_array().unwrap();
    assert_eq!(
        boards.len(),
        stores.len(),
        "every store, in my_stores' order"
    );
    for (board, store) in boards.iter().zip(stores) {
        for field in ["id", "name", "district", "address", "is_open"] {
            assert_eq!(
                board["store"][field], store[field],
                "{field} as my_stores says"
            );
        }
        let sold_out: Vec<&Value> = store["menu"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|dish| dish["stock"] == 0 && dish["is_hidden"] == false)
            .map(|dish| &dish["name"])
            .collect();
        assert_eq!(
            board["store"]["sold_out"]
                .as_array()
                .unwrap()
                .iter()
                .collect::<Vec<_>>(),
            sold_out,
            "the sold-out dishes customers see, in menu order"
        );
        assert!(
            board["store"].get("menu").is_none(),
            "the menu is my_stores' to send"
        );
        let id = store["id"].to_string();
        let (_, orders) = app.call(&owner, "store_orders", &[("store_id", &id)]).await;
        assert_eq!(board["orders"], orders, "orders as store_orders says");
        let (_, today) = app
            .call(&owner, "get_store_dashboard", &[("store_id", &id)])
            .await;
        assert_eq!(board["today"], today, "today as the dashboard says");
    }
    let ours = boards
        .iter()
        .find(|b| b["store"]["id"] == store_id)
        .expect("the ordered-from store");
    assert_eq!(ours["orders"][0]["id"], order_id);
    assert_eq!(ours["orders"][0]["status"], "placed");
    assert_eq!(ours["today"]["orders_today"], 1);
    let dish = stores.iter().find(|s| s["id"] == store_id).unwrap()["menu"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == food_id)
        .unwrap();
    assert!(
        ours["store"]["sold_out"]
            .as_array()
            .unwrap()
            .contains(&dish["name"]),
        "the dish set to 0 is sold out"
    );
    for other in boards.iter().filter(|b| b["store"]["id"] != store_id) {
        assert_eq!(other["orders"], json!([]));
        assert_eq!(other["today"]["orders_today"], 0);
    }
    let (status, _) = app.call(&customer, "owner_board", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = app.call(&app.client(), "owner_board", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.teardown().await;
}

/// The page sends the stock it showed; when an order took stock since, the save is refused
/// (409, with the current number) instead of selling units that are gone.
async fn a_stock_save_against_a_number_orders_changed_is_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let owner = app.signed_in("owner@baedal.kr").await;
    let (_, food_id) = app.first_food(&customer).await;
    let shown = app.stock(food_id).await;
    app.order_first_food(&customer).await;
    let now = app.stock(food_id).await;
    assert_eq!(now, shown - 1);
    let food = food_id.to_string();
    let save = |stock: &'static str, expected: String| {
        let food = food.clone();
        let owner = owner.clone();
        let app = &app;
        async move {
            app.call(
                &owner,
                "set_food_stock",
                &[
                    ("food_id", &food),
                    ("stock", stock),
                    ("expected", &expected),
                ],
            )
            .await
        }
    };
    let (status, body) = save("20", shown.to_string()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains(&format!("{now}개")),
        "{body}"
    );
    assert_eq!(app.stock(food_id).await, now, "nothing written");
    let (status, body) = save("20", "many".into()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["fields"][0]["field"], "expected");
    assert_eq!(app.stock(food_id).await, now, "nothing written");
    let (status, body) = save("20", now.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.stock(food_id).await, 20);
    // Another owner's dish is not found, whatever number is expected.
    let other = app.signed_in("owner2@baedal.kr").await;
    let (status, _) = app
        .call(
            &other,
            "set_food_stock",
            &[
                ("food_id", &food_id.to_string()),
                ("stock", "1"),
                ("expected", "20"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(app.stock(food_id).await, 20);
    app.teardown().await;
}

/// The signed-in owner's first store, as `my_stores` answers.
async fn first_store(app: &TestApp, owner: &Client) -> Value {
    let (_, stores) = app.call(owner, "my_stores", &[]).await;
    stores[0].clone()
}

/// Whether customers see the store named `name` open.
async fn listed_open(app: &TestApp, customer: &Client, name: &str) -> Value {
    let (_, stores) = app.call(customer, "nearby_stores", &[]).await;
    stores
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap()["is_open"]
        .clone()
}

async fn set_open(
    app: &TestApp,
    owner: &Client,
    store_id: &str,
    open: &str,
) -> (StatusCode, Value) {
    app.call(
        owner,
        "set_store_open",
        &[("store_id", store_id), ("open", open)],
    )
    .await
}

/// Opening is refused with the reason, and the store stays closed.
async fn opening_is_refused(app: &TestApp, owner: &Client, store_id: &str) {
    let (status, body) = set_open(app, owner, store_id, "true").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body.to_string().contains("재고가 있는 메뉴가 없어"),
        "says why: {body}"
    );
    assert_eq!(
        first_store(app, owner).await["is_open"],
        false,
        "still closed"
    );
}

/// A new dish with its first stock; its id.
async fn new_dish(
    app: &TestApp,
    owner: &Client,
    store_id: &str,
    name: &str,
    stock: &str,
    hidden: &str,
) -> i64 {
    let (status, id) = app
        .call(
            owner,
            "save_food",
            &[
                ("store_id", store_id),
                ("name", name),
                ("price", "12000"),
                ("stock", stock),
                ("hidden", hidden),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{id}");
    id.as_i64().unwrap()
}

async fn a_new_store_opens_only_once_it_has_a_dish_in_stock(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.client();
    let (status, user) = app
        .call(
            &owner,
            "sign_up",
            &[
                ("role", "owner"),
                ("email", "chef@example.com"),
                ("password", "correct horse"),
                ("display_name", "박셰프"),
                ("store_name", "성수 파스타"),
                ("store_address", "서울 성동구 성수이로 1"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    let customer = app.signed_in("customer@baedal.kr").await;
    let new_store = first_store(&app, &owner).await;
    assert_eq!(new_store["is_open"], false, "a new store starts closed");
    assert_eq!(
        listed_open(&app, &customer, "성수 파스타").await,
        false,
        "customers see it closed"
    );
    let store_id = new_store["id"].as_i64().unwrap().to_string();
    let store_id = store_id.as_str();
    opening_is_refused(&app, &owner, store_id).await;

    // The dish form takes a first stock; a bad one is refused, naming it, and writes nothing.
    let foods_before = app.count("foods").await;
    for bad in ["-1", "2.5", "많이", "100001"] {
        let (status, body) = app
            .call(
                &owner,
                "save_food",
                &[
                    ("store_id", store_id),
                    ("name", "알리오 올리오"),
                    ("price", "12000"),
                    ("stock", bad),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["fields"][0]["field"], "stock", "{body}");
    }
    assert_eq!(app.count("foods").await, foods_before);

    // Dishes with nothing to sell: sold out, or hidden from customers.
    new_dish(&app, &owner, store_id, "알리오 올리오", "0", "false").await;
    opening_is_refused(&app, &owner, store_id).await;
    new_dish(&app, &owner, store_id, "까르보나라", "5", "true").await;
    opening_is_refused(&app, &owner, store_id).await;

    let dish = new_dish(&app, &owner, store_id, "봉골레", "12", "false").await;
    let menu = first_store(&app, &owner).await["menu"].clone();
    let saved = menu
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == dish)
        .unwrap()
        .clone();
    assert_eq!(saved["stock"], 12, "the form's stock is the dish's");
    // An edit does not touch the stock (the stock table does, against what the page showed).
    let (status, body) = app
        .call(
            &owner,
            "save_food",
            &[
                ("store_id", store_id),
                ("food_id", &dish.to_string()),
                ("name", "봉골레"),
                ("price", "13000"),
                ("stock", "99"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["fields"][0]["field"], "stock");
    assert_eq!(
        first_store(&app, &owner).await["menu"],
        menu,
        "the refused edit changed nothing"
    );

    let (status, body) = set_open(&app, &owner, store_id, "true").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(first_store(&app, &owner).await["is_open"], true);
    assert_eq!(listed_open(&app, &customer, "성수 파스타").await, true);
    let (status, _) = set_open(&app, &owner, store_id, "false").await;
    assert_eq!(status, StatusCode::OK, "closing needs nothing");
    assert_eq!(first_store(&app, &owner).await["is_open"], false);
    app.teardown().await;
}
