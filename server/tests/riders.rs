//! Riders over HTTP on both engines: nearby deliveries by distance, claiming (first rider
//! wins, 50 races), the limit of active deliveries, pick-up and delivery, the customer's
//! 배송확인 and auto-completion, and every illegal move refused without changing anything.

mod common;

use common::{Backend, LiveStream, TestApp};
use reqwest::{Client, StatusCode};
use serde_json::Value;
use sqlx::Row;

on_both_backends!(
    a_delivery_goes_from_claim_to_the_customers_confirmation,
    riders_see_cooking_and_cooked_orders_near_the_customer,
    two_riders_race_for_one_delivery_fifty_times,
    a_rider_carries_at_most_the_configured_number_of_deliveries,
    one_riders_simultaneous_claims_count_each_other,
    illegal_rider_moves_are_refused_and_change_nothing,
    delivered_orders_nobody_confirms_complete_by_themselves,
);

/// Where offers place customer@baedal.kr's orders: the centre of the grid cell their address
/// (서울 마포구 양화로 45, 37.5518 126.9175) is in — offers never measure to the door.
const MAPO: (f64, f64) = (37.555, 126.91875);

async fn owner_moves(app: &TestApp, owner: &Client, order_id: i64, actions: &[&str]) {
    for action in actions {
        let (status, body) = app
            .call(
                owner,
                "order_action",
                &[
                    ("order_id", &order_id.to_string()),
                    ("action", action),
                    ("cook_minutes", "20"),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{action}: {body}");
    }
}

/// A new order of customer@baedal.kr from 마포 즉석떡볶이, taken by its owner to `actions`.
async fn order_taken_to(app: &TestApp, actions: &[&str]) -> i64 {
    let customer = app.signed_in("customer@baedal.kr").await;
    let owner = app.signed_in("owner@baedal.kr").await;
    let (_, _, order_id) = app.order_first_food(&customer).await;
    owner_moves(app, &owner, order_id, actions).await;
    order_id
}

const COOKED: &[&str] = &["accept", "start_cooking", "finish_cooking"];

async fn rider_act(
    app: &TestApp,
    rider: &Client,
    order_id: i64,
    action: &str,
) -> (StatusCode, Value) {
    app.call(
        rider,
        "rider_action",
        &[("order_id", &order_id.to_string()), ("action", action)],
    )
    .await
}

async fn board(app: &TestApp, rider: &Client, form: &[(&str, &str)]) -> Value {
    let (status, body) = app.call(rider, "rider_board", form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn offered(board: &Value, order_id: i64) -> Option<Value> {
    board["offers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["order_id"] == order_id)
        .cloned()
}

async fn order_row(app: &TestApp, order_id: i64) -> (String, Option<i64>) {
    let row = sqlx::query("SELECT status, rider_id FROM orders WHERE id = $1")
        .bind(order_id)
        .fetch_one(app.server.state.db.reader())
        .await
        .unwrap();
    (row.try_get(0).unwrap(), row.try_get(1).unwrap())
}

async fn a_delivery_goes_from_claim_to_the_customers_confirmation(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let rider = app.signed_in("rider@baedal.kr").await;
    let mut customer_page = LiveStream::open(&app, &customer).await;
    let order_id = order_taken_to(&app, COOKED).await;

    let (status, body) = rider_act(&app, &rider, order_id, "claim").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, "rider_assigned");
    customer_page.expect_order(order_id, "rider_assigned").await;
    let order = app.order(&customer, order_id).await;
    assert_eq!(order["status"], "rider_assigned");
    assert_eq!(order["rider_name"], "박배달");
    let mine = board(&app, &rider, &[]).await;
    assert_eq!(mine["mine"][0]["order_id"], order_id);
    assert!(
        offered(&mine, order_id).is_none(),
        "claimed: no longer offered"
    );

    for (action, status_after) in [("pick_up", "picked_up"), ("deliver", "delivered")] {
        let (status, body) = rider_act(&app, &rider, order_id, action).await;
        assert_eq!(status, StatusCode::OK, "{action}: {body}");
        customer_page.expect_order(order_id, status_after).await;
    }
    assert_eq!(board(&app, &rider, &[]).await["mine"], Value::Array(vec![]));

    let (status, body) = app
        .call(
            &customer,
            "confirm_delivery",
            &[("order_id", &order_id.to_string())],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    customer_page.expect_order(order_id, "completed").await;
    app.drained().await;
    let order = app.order(&customer, order_id).await;
    let timeline: Vec<&str> = order["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        timeline,
        [
            "placed",
            "accepted",
            "cooking",
            "cooked",
            "rider_assigned",
            "picked_up",
            "delivered",
            "completed"
        ]
    );
    // The rebuilt view is the same as the one folded live.
    let before = order.clone();
    app::backend::views::rebuild(&app.server.state)
        .await
        .unwrap();
    let rebuilt = app.order(&customer, order_id).await;
    assert_eq!(rebuilt, before);
    app.teardown().await;
}

async fn riders_see_cooking_and_cooked_orders_near_the_customer(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let rider = app.signed_in("rider@baedal.kr").await;
    let cooked = order_taken_to(&app, COOKED).await;
    let cooking = order_taken_to(&app, &["accept", "start_cooking"]).await;
    let accepted = order_taken_to(&app, &["accept"]).await;

    let at = |lat: f64, lng: f64| (lat.to_string(), lng.to_string());
    // At the customer's cell: both nearby, the cooked one first and claimable.
    let (lat, lng) = at(MAPO.0, MAPO.1);
    let here = board(&app, &rider, &[("lat", &lat), ("lng", &lng)]).await;
    assert_eq!(here["origin"], "현재 위치");
    let offer = offered(&here, cooked).expect("the cooked order is offered");
    assert_eq!(offer["status"], "cooked");
    assert_eq!(offer["distance_m"], 0.0);
    assert_eq!(offer["store_name"], "마포 즉석떡볶이");
    assert_eq!(offer["pickup_address"], "서울 마포구 와우산로 45, 1층");
    assert_eq!(offer["dropoff"], "마포구");
    assert!(offer["fee"].as_i64().unwrap() >= 3_000);
    assert_eq!(offered(&here, cooking).unwrap()["status"], "cooking");
    assert!(offered(&here, accepted).is_none(), "not being cooked yet");
    assert_eq!(
        here["offers"][0]["order_id"], cooked,
        "cooked first at equal distance"
    );

    // 2.9 km north of the customer: inside the 3 km radius; 3.1 km: outside.
    let (lat, lng) = at(MAPO.0 + 0.0261, MAPO.1);
    let near = board(&app, &rider, &[("lat", &lat), ("lng", &lng)]).await;
    let distance = offered(&near, cooked).expect("inside 3 km")["distance_m"]
        .as_f64()
        .unwrap();
    assert!((2_850.0..3_000.0).contains(&distance), "{distance}");
    let (lat, lng) = at(MAPO.0 + 0.0279, MAPO.1);
    let far = board(&app, &rider, &[("lat", &lat), ("lng", &lng)]).await;
    assert!(
        offered(&far, cooked).is_none(),
        "3.1 km away is outside the radius"
    );
    // 강남구 is about 13 km away.
    let gangnam = board(&app, &rider, &[("area", "강남구")]).await;
    assert_eq!(gangnam["origin"], "강남구 중심");
    assert!(offered(&gangnam, cooked).is_none());
    // No position and no area: the rider's home area (마포구).
    let home = board(&app, &rider, &[]).await;
    assert_eq!(home["origin"], "마포구 중심");
    assert!(offered(&home, cooked).is_some());

    for (form, field) in [
        (vec![("lat", "91"), ("lng", "126.9")], "lat"),
        (vec![("lat", "37.5"), ("lng", "동쪽")], "lng"),
        (vec![("lat", "37.5")], "lng"),
        (vec![("area", "해운대구")], "area"),
    ] {
        let (status, body) = app.call(&rider, "rider_board", &form).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{form:?}: {body}");
        assert_eq!(body["fields"][0]["field"], field, "{form:?}");
    }
    let customer = app.signed_in("customer@baedal.kr").await;
    let (status, _) = app.call(&customer, "rider_board", &[]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    app.teardown().await;
}

async fn two_riders_race_for_one_delivery_fifty_times(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &[("BAEDAL_RIDER_MAX_ACTIVE", "20")]).await else {
        return;
    };
    let owner = app.signed_in("owner@baedal.kr").await;
    let customer = app.signed_in("customer@baedal.kr").await;
    let riders = [
        app.signed_in("rider@baedal.kr").await,
        app.signed_in("rider2@baedal.kr").await,
    ];
    let (_, food_id) = app.first_food(&customer).await;
    let (status, _) = app
        .call(
            &owner,
            "set_food_stock",
            &[("food_id", &food_id.to_string()), ("stock", "500")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let mut wins = [0usize; 2];
    for round in 0..50 {
        let (_, _, order_id) = app.order_first_food(&customer).await;
        owner_moves(&app, &owner, order_id, COOKED).await;
        let (first, second) = tokio::join!(
            rider_act(&app, &riders[0], order_id, "claim"),
            rider_act(&app, &riders[1], order_id, "claim"),
        );
        let outcomes = [first, second];
        let winners: Vec<usize> = (0..2)
            .filter(|&i| outcomes[i].0 == StatusCode::OK)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {outcomes:?}");
        let (winner, loser) = (winners[0], 1 - winners[0]);
        assert_eq!(outcomes[loser].0, StatusCode::CONFLICT, "round {round}");
        assert_eq!(outcomes[loser].1["message"], "이미 배정된 주문입니다");
        wins[winner] += 1;
        let (status, rider_id) = order_row(&app, order_id).await;
        assert_eq!(status, "rider_assigned");
        let winner_id: i64 = sqlx::query("SELECT id FROM users WHERE email = $1")
            .bind(["rider@baedal.kr", "rider2@baedal.kr"][winner])
            .fetch_one(app.server.state.db.reader())
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
        assert_eq!(rider_id, Some(winner_id), "round {round}");
        // Keep the winner under the limit.
        for action in ["pick_up", "deliver"] {
            let (status, body) = rider_act(&app, &riders[winner], order_id, action).await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
    }
    assert_eq!(wins[0] + wins[1], 50);
    let assigned: i64 =
        sqlx::query("SELECT COUNT(*) FROM outbox WHERE event_type = 'RiderAssigned'")
            .fetch_one(app.server.state.db.reader())
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
    assert_eq!(assigned, 50, "one assignment event per delivery");
    app.teardown().await;
}

async fn a_rider_carries_at_most_the_configured_number_of_deliveries(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &[("BAEDAL_RIDER_MAX_ACTIVE", "2")]).await else {
        return;
    };
    let rider = app.signed_in("rider@baedal.kr").await;
    let orders = [
        order_taken_to(&app, COOKED).await,
        order_taken_to(&app, COOKED).await,
        order_taken_to(&app, COOKED).await,
    ];
    for order_id in &orders[..2] {
        let (status, body) = rider_act(&app, &rider, *order_id, "claim").await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, body) = rider_act(&app, &rider, orders[2], "claim").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["message"],
        "진행 중인 배달이 2건입니다. 한 번에 2건까지 배달할 수 있습니다."
    );
    assert_eq!(order_row(&app, orders[2]).await, ("cooked".into(), None));
    for action in ["pick_up", "deliver"] {
        let (status, _) = rider_act(&app, &rider, orders[0], action).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, body) = rider_act(&app, &rider, orders[2], "claim").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a finished delivery frees a place: {body}"
    );
    app.teardown().await;
}

async fn one_riders_simultaneous_claims_count_each_other(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &[("BAEDAL_RIDER_MAX_ACTIVE", "1")]).await else {
        return;
    };
    let rider = app.signed_in("rider@baedal.kr").await;
    for round in 0..10 {
        let first = order_taken_to(&app, COOKED).await;
        let second = order_taken_to(&app, COOKED).await;
        let (a, b) = tokio::join!(
            rider_act(&app, &rider, first, "claim"),
            rider_act(&app, &rider, second, "claim"),
        );
        let won: Vec<i64> = [(first, &a), (second, &b)]
            .iter()
            .filter(|(_, (status, _))| *status == StatusCode::OK)
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(won.len(), 1, "round {round}: {a:?} {b:?}");
        let refused = if won[0] == first { &b } else { &a };
        assert_eq!(refused.0, StatusCode::CONFLICT, "round {round}");
        assert_eq!(
            refused.1["message"],
            "진행 중인 배달이 1건입니다. 한 번에 1건까지 배달할 수 있습니다."
        );
        for action in ["pick_up", "deliver"] {
            let (status, _) = rider_act(&app, &rider, won[0], action).await;
            assert_eq!(status, StatusCode::OK);
        }
    }
    app.teardown().await;
}

async fn illegal_rider_moves_are_refused_and_change_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let rider = app.signed_in("rider@baedal.kr").await;
    let other_rider = app.signed_in("rider2@baedal.kr").await;
    let customer = app.signed_in("customer@baedal.kr").await;
    let owner = app.signed_in("owner@baedal.kr").await;
    let events = || async {
        sqlx::query("SELECT COUNT(*) FROM outbox")
            .fetch_one(app.server.state.db.reader())
            .await
            .unwrap()
            .try_get::<i64, _>(0)
            .unwrap()
    };

    let cooking = order_taken_to(&app, &["accept", "start_cooking"]).await;
    let before = events().await;
    let (status, body) = rider_act(&app, &rider, cooking, "claim").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["message"],
        "요리가 완료된 주문만 배차받을 수 있습니다."
    );
    let (status, body) = rider_act(&app, &rider, cooking, "pick_up").await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "pick-up before cooked: {body}"
    );
    assert_eq!(order_row(&app, cooking).await, ("cooking".into(), None));

    let cooked = order_taken_to(&app, COOKED).await;
    let (status, _) = rider_act(&app, &rider, cooked, "pick_up").await;
    assert_eq!(status, StatusCode::CONFLICT, "pick-up before claiming");
    let (status, _) = rider_act(&app, &rider, cooked, "claim").await;
    assert_eq!(status, StatusCode::OK);
    let after_claim = events().await;
    let (status, body) = rider_act(&app, &rider, cooked, "deliver").await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "delivered before pick-up: {body}"
    );
    assert_eq!(body["message"], "픽업한 주문만 배달 완료할 수 있습니다.");
    let (status, _) = rider_act(&app, &other_rider, cooked, "pick_up").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another rider's delivery");
    let (status, body) = rider_act(&app, &other_rider, cooked, "claim").await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["message"], "이미 배정된 주문입니다");
    let (status, body) = app
        .call(
            &customer,
            "confirm_delivery",
            &[("order_id", &cooked.to_string())],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "배송확인 before delivery: {body}"
    );
    let (status, body) = rider_act(&app, &rider, cooked, "teleport").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["fields"][0]["field"], "action");
    let (status, _) = rider_act(&app, &rider, 987_654, "claim").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = rider_act(&app, &owner, cooked, "pick_up").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "owners are not riders");
    let (status, _) = app
        .call(
            &owner,
            "order_action",
            &[("order_id", &cooked.to_string()), ("action", "pick_up")],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not an owner's action"
    );
    let rider_id: i64 = sqlx::query("SELECT id FROM users WHERE email = 'rider@baedal.kr'")
        .fetch_one(app.server.state.db.reader())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(
        order_row(&app, cooked).await,
        ("rider_assigned".into(), Some(rider_id))
    );
    assert_eq!(events().await, after_claim, "refused moves write no event");
    assert_eq!(
        after_claim,
        before + 4 + 1,
        "3 owner moves + OrderPlaced + the claim"
    );
    app.teardown().await;
}

async fn delivered_orders_nobody_confirms_complete_by_themselves(backend: Backend) {
    let Some(app) = TestApp::spawn_with(
        backend,
        &[
            ("BAEDAL_AUTO_COMPLETE_AFTER_S", "1"),
            ("BAEDAL_HOUSEKEEPING_MS", "100"),
        ],
    )
    .await
    else {
        return;
    };
    let rider = app.signed_in("rider@baedal.kr").await;
    let order_id = order_taken_to(&app, COOKED).await;
    for action in ["claim", "pick_up", "deliver"] {
        let (status, _) = rider_act(&app, &rider, order_id, action).await;
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(order_row(&app, order_id).await.0, "delivered");
    for _ in 0..100 {
        if order_row(&app, order_id).await.0 == "completed" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(order_row(&app, order_id).await.0, "completed");
    app.drained().await;
    let customer = app.signed_in("customer@baedal.kr").await;
    let order = app.order(&customer, order_id).await;
    assert_eq!(order["status"], "completed");
    app.teardown().await;
}
