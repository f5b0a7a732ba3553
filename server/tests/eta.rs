//! ETA (도착 예정 시각) over HTTP on both engines: the owner promises a cooking time when
//! accepting; the customer's order then carries its expected arrival, worked out again when
//! the food is cooked and when it is picked up, and the acceptance's notification tells the
//! promise; a bad cooking time is refused naming `cook_minutes` with nothing changed; the
//! owner's board flags orders running late.

mod common;

use app::domain::{
    District, GeoPoint, HANDOVER_MINUTES, PICKUP_ALLOWANCE_MINUTES, RIDER_METRES_PER_MINUTE,
};
use common::{Backend, TestApp};
use reqwest::{Client, StatusCode};
use serde_json::Value;
use sqlx::Row;

on_both_backends!(
    the_eta_is_set_at_acceptance_and_updated_when_cooked_and_picked_up,
    a_bad_cooking_time_is_refused_and_changes_nothing,
    late_orders_are_flagged_on_the_owners_board,
);

const MINUTE_MS: i64 = 60_000;

async fn owner_act(app: &TestApp, owner: &Client, order_id: i64, action: &str, minutes: &str) {
    app.ok(
        owner,
        "order_action",
        &[
            ("order_id", &order_id.to_string()),
            ("action", action),
            ("cook_minutes", minutes),
        ],
    )
    .await;
    app.drained().await;
}

async fn rider_act(app: &TestApp, rider: &Client, order_id: i64, action: &str) {
    app.ok(
        rider,
        "rider_action",
        &[("order_id", &order_id.to_string()), ("action", action)],
    )
    .await;
    app.drained().await;
}

/// The order's times and promise as stored.
#[derive(Debug, PartialEq)]
struct Times {
    status: String,
    cook_minutes: Option<i64>,
    accepted_at: Option<i64>,
    cooked_at: Option<i64>,
    picked_up_at: Option<i64>,
}

async fn times(app: &TestApp, order_id: i64) -> Times {
    let row = sqlx::query(
        "SELECT status, cook_minutes, accepted_at, cooked_at, picked_up_at FROM orders WHERE id = $1",
    )
    .bind(order_id)
    .fetch_one(app.server.state.db.reader())
    .await
    .unwrap();
    Times {
        status: row.try_get(0).unwrap(),
        cook_minutes: row.try_get(1).unwrap(),
        accepted_at: row.try_get(2).unwrap(),
        cooked_at: row.try_get(3).unwrap(),
        picked_up_at: row.try_get(4).unwrap(),
    }
}

/// The ride from the order's store to the centre of its delivery district plus the hand-over,
/// in ms, worked out here from the store's stored coordinates.
async fn ride_ms(app: &TestApp, order_id: i64) -> i64 {
    let row = sqlx::query(
        "SELECT s.lat, s.lng, o.delivery_lat, o.delivery_lng
         FROM orders o JOIN stores s ON s.id = o.store_id WHERE o.id = $1",
    )
    .bind(order_id)
    .fetch_one(app.server.state.db.reader())
    .await
    .unwrap();
    let store = GeoPoint {
        lat: row.try_get(0).unwrap(),
        lng: row.try_get(1).unwrap(),
    };
    let dropoff = GeoPoint {
        lat: row.try_get(2).unwrap(),
        lng: row.try_get(3).unwrap(),
    };
    let trip_m = store.distance_m(dropoff);
    let riding = (trip_m / RIDER_METRES_PER_MINUTE).ceil() as i64;
    (riding + HANDOVER_MINUTES) * MINUTE_MS
}

async fn eta(app: &TestApp, customer: &Client, order_id: i64) -> Option<i64> {
    app.order(customer, order_id).await["eta_ms"].as_i64()
}

/// The order as the owner's board shows it.
async fn on_board(app: &TestApp, owner: &Client, order_id: i64) -> Value {
    let board = app.ok(owner, "owner_board", &[]).await;
    board["stores"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|store| store["orders"].as_array().unwrap())
        .find(|order| order["id"] == order_id)
        .cloned()
        .unwrap_or_else(|| panic!("order {order_id} on the board: {board}"))
}

/// The order as the store's order list shows it.
async fn in_store_list(app: &TestApp, owner: &Client, store_id: i64, order_id: i64) -> Value {
    let listed = app
        .ok(
            owner,
            "store_orders",
            &[("store_id", &store_id.to_string())],
        )
        .await;
    listed
        .as_array()
        .unwrap()
        .iter()
        .find(|order| order["id"] == order_id)
        .cloned()
        .expect("in the store's list")
}

async fn the_eta_is_set_at_acceptance_and_updated_when_cooked_and_picked_up(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let owner = app.signed_in("owner@baedal.kr").await;
    let rider = app.signed_in("rider@baedal.kr").await;
    let (store_id, _, order_id) = app.order_first_food(&customer).await;
    // The demo customer lives 0.5 km from the store: the store moves to 종로구's reference
    // point for the trip to have a length that shows.
    let jongno = District::parse("district", "종로구").unwrap().center();
    sqlx::query("UPDATE stores SET lat = $1, lng = $2 WHERE id = $3")
        .bind(jongno.lat)
        .bind(jongno.lng)
        .bind(store_id)
        .execute(app.server.state.db.writer())
        .await
        .unwrap();
    let ride = ride_ms(&app, order_id).await;
    assert!(ride > 20 * MINUTE_MS, "about 5.6 km: {ride}");
    let pickup = PICKUP_ALLOWANCE_MINUTES * MINUTE_MS;

    // No ETA before the store accepts.
    assert_eq!(eta(&app, &customer, order_id).await, None);
    assert_eq!(
        on_board(&app, &owner, order_id).await["eta_ms"],
        Value::Null
    );

    // Accepted with 20 minutes: cooked by accepted + 20 min, then the pick-up and the ride.
    let before = app::backend::now_ms();
    owner_act(&app, &owner, order_id, "accept", "20").await;
    let after = app::backend::now_ms();
    let stored = times(&app, order_id).await;
    assert_eq!(stored.cook_minutes, Some(20));
    let accepted_at = stored.accepted_at.expect("acceptance time recorded");
    assert!((before..=after).contains(&accepted_at));
    let promised = accepted_at + 20 * MINUTE_MS + pickup + ride;
    assert_eq!(eta(&app, &customer, order_id).await, Some(promised));
    let order = app.order(&customer, order_id).await;
    assert_eq!(order["status"], "accepted");
    // The customer is told the promise with the acceptance.
    let feed = app.ok(&customer, "my_notifications", &[]).await;
    let told = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["kind"] == "order_accepted" && item["order_id"] == order_id)
        .unwrap_or_else(|| panic!("told of the acceptance: {feed}"));
    assert!(
        told["body"]
            .as_str()
            .unwrap()
            .ends_with("예상 조리 시간은 20분입니다."),
        "{told}"
    );
    // The owner sees the same promise and ETA, and nothing late yet.
    let board_order = on_board(&app, &owner, order_id).await;
    assert_eq!(board_order["cook_by_ms"], accepted_at + 20 * MINUTE_MS);
    assert_eq!(board_order["eta_ms"], promised);
    assert_eq!(board_order["late"], false);

    // Starting to cook changes nothing; finishing does: the ETA counts from the cooked time.
    owner_act(&app, &owner, order_id, "start_cooking", "").await;
    assert_eq!(eta(&app, &customer, order_id).await, Some(promised));
    owner_act(&app, &owner, order_id, "finish_cooking", "").await;
    let cooked_at = times(&app, order_id).await.cooked_at.expect("cooked time");
    let from_cooked = cooked_at + pickup + ride;
    assert!(from_cooked < promised, "cooked well before the promise");
    assert_eq!(eta(&app, &customer, order_id).await, Some(from_cooked));

    // A rider claims it: still from the cooked time. Picked up: from the pick-up.
    rider_act(&app, &rider, order_id, "claim").await;
    assert_eq!(eta(&app, &customer, order_id).await, Some(from_cooked));
    rider_act(&app, &rider, order_id, "pick_up").await;
    let picked_up_at = times(&app, order_id)
        .await
        .picked_up_at
        .expect("pick-up time");
    assert_eq!(
        eta(&app, &customer, order_id).await,
        Some(picked_up_at + ride)
    );
    assert_eq!(
        on_board(&app, &owner, order_id).await["eta_ms"],
        picked_up_at + ride
    );

    // Delivered: nothing is expected any more.
    rider_act(&app, &rider, order_id, "deliver").await;
    assert_eq!(eta(&app, &customer, order_id).await, None);
    let stored = times(&app, order_id).await;
    assert_eq!(
        (stored.cook_minutes, stored.accepted_at),
        (Some(20), Some(accepted_at)),
        "the promise stays on the order"
    );
    app.teardown().await;
}

async fn a_bad_cooking_time_is_refused_and_changes_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let owner = app.signed_in("owner@baedal.kr").await;
    let (_, _, order_id) = app.order_first_food(&customer).await;
    let order = order_id.to_string();
    let events = app.count("outbox").await;
    let placed = times(&app, order_id).await;
    assert_eq!(placed.status, "placed");

    let mut cases: Vec<Vec<(&str, &str)>> = ["0", "9", "61", "abc", "", " ", "20.5", "-20", "1e1"]
        .into_iter()
        .map(|minutes| {
            vec![
                ("order_id", order.as_str()),
                ("action", "accept"),
                ("cook_minutes", minutes),
            ]
        })
        .collect();
    // Left out altogether.
    cases.push(vec![("order_id", order.as_str()), ("action", "accept")]);
    for form in cases {
        let (status, body) = app.call(&owner, "order_action", &form).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{form:?}: {body}");
        assert_eq!(
            body["fields"][0]["field"], "cook_minutes",
            "{form:?}: {body}"
        );
        assert!(
            body["fields"][0]["message"]
                .as_str()
                .unwrap()
                .contains("10분부터 60분"),
            "{body}"
        );
    }
    app.drained().await;
    assert_eq!(times(&app, order_id).await, placed, "nothing recorded");
    assert_eq!(app.count("outbox").await, events, "no event");
    assert_eq!(app.order(&customer, order_id).await["status"], "placed");
    assert_eq!(eta(&app, &customer, order_id).await, None);

    // The edges are allowed; a cooking time sent with another action is ignored.
    owner_act(&app, &owner, order_id, "accept", "60").await;
    assert_eq!(times(&app, order_id).await.cook_minutes, Some(60));
    owner_act(&app, &owner, order_id, "start_cooking", "abc").await;
    assert_eq!(times(&app, order_id).await.cook_minutes, Some(60));
    let (_, _, other) = app.order_first_food(&customer).await;
    owner_act(&app, &owner, other, "accept", "10").await;
    assert_eq!(times(&app, other).await.cook_minutes, Some(10));
    app.teardown().await;
}

async fn late_orders_are_flagged_on_the_owners_board(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let owner = app.signed_in("owner@baedal.kr").await;
    let (store_id, _, order_id) = app.order_first_food(&customer).await;
    let (_, _, on_time) = app.order_first_food(&customer).await;
    owner_act(&app, &owner, order_id, "accept", "10").await;
    owner_act(&app, &owner, on_time, "accept", "60").await;
    assert_eq!(on_board(&app, &owner, order_id).await["late"], false);

    // Eleven minutes ago, with ten promised: cooking is late (the flag is worked out at each
    // read; the order row only moves its acceptance back in time).
    let eleven_minutes_ago = app::backend::now_ms() - 11 * MINUTE_MS;
    sqlx::query("UPDATE orders SET accepted_at = $1 WHERE id = $2")
        .bind(eleven_minutes_ago)
        .bind(order_id)
        .execute(app.server.state.db.writer())
        .await
        .unwrap();
    let late = on_board(&app, &owner, order_id).await;
    assert_eq!(late["late"], true, "{late}");
    assert_eq!(late["cook_by_ms"], eleven_minutes_ago + 10 * MINUTE_MS);
    assert_eq!(
        in_store_list(&app, &owner, store_id, order_id).await["late"],
        true
    );
    assert_eq!(on_board(&app, &owner, on_time).await["late"], false);
    owner_act(&app, &owner, order_id, "start_cooking", "").await;
    assert_eq!(on_board(&app, &owner, order_id).await["late"], true);

    // Cooked now: the ETA counts from now, so no longer late ...
    owner_act(&app, &owner, order_id, "finish_cooking", "").await;
    assert_eq!(on_board(&app, &owner, order_id).await["late"], false);
    // ... until nobody has delivered it by the ETA.
    sqlx::query("UPDATE orders SET cooked_at = $1 WHERE id = $2")
        .bind(app::backend::now_ms() - 120 * MINUTE_MS)
        .bind(order_id)
        .execute(app.server.state.db.writer())
        .await
        .unwrap();
    assert_eq!(on_board(&app, &owner, order_id).await["late"], true);
    app.teardown().await;
}
