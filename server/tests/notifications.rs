//! Notifications over HTTP on both engines, with KakaoTalk sent to a fake of the AlimTalk API
//! (a real HTTP server): every status change others make reaches the customer in the app and
//! by 알림톡 with its template's variables (their own cancel and 배송확인 do not), owners and
//! riders hear of what concerns them, a provider
//! error is retried and delivered once, a redelivered event sends nothing new, ordering goes on
//! while the provider is down and messages catch up, failures are parked for an operator, and
//! customers can turn KakaoTalk off.

mod common;

use common::alimtalk::{FakeAlimtalk, Received};
use common::{Backend, TestApp};
use reqwest::{Client, StatusCode};
use serde_json::Value;
use sqlx::Row;
use std::time::Duration;

on_both_backends!(
    every_status_change_reaches_the_customer_in_the_app_and_by_kakaotalk,
    customers_are_not_told_of_their_own_cancel_or_confirmation,
    opening_the_feed_marks_read_what_it_showed_and_nothing_newer,
    a_provider_error_is_retried_and_the_message_arrives_once,
    a_redelivered_event_sends_nothing_new,
    ordering_goes_on_while_kakaotalk_is_down_and_messages_catch_up,
    messages_that_keep_failing_are_parked_for_an_operator,
    customers_can_turn_kakaotalk_off_and_bad_numbers_are_refused,
    without_kakaotalk_configured_the_app_still_notifies_in_the_app,
);

const CUSTOMER_PHONE: &str = "01012345678";

async fn spawn(backend: Backend, fake: &FakeAlimtalk, extra: &[(&str, &str)]) -> Option<TestApp> {
    let settings = fake.settings();
    let mut all: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    all.extend_from_slice(extra);
    TestApp::spawn_with(backend, &all).await
}

async fn move_order(app: &TestApp, who: &Client, function: &str, order_id: i64, action: &str) {
    let order = order_id.to_string();
    let mut form = vec![("order_id", order.as_str()), ("action", action)];
    if action == "accept" {
        form.push(("cook_minutes", "20"));
    }
    let (status, body) = app.call(who, function, &form).await;
    assert_eq!(status, StatusCode::OK, "{action}: {body}");
}

async fn feed(app: &TestApp, who: &Client) -> Value {
    let (status, feed) = app.call(who, "my_notifications", &[]).await;
    assert_eq!(status, StatusCode::OK, "{feed}");
    feed
}

fn kinds(feed: &Value) -> Vec<String> {
    let mut kinds: Vec<String> = feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_string())
        .collect();
    kinds.reverse(); // oldest first
    kinds
}

async fn kakao_rows(app: &TestApp, state: &str) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM notifications WHERE channel = 'kakao' AND state = $1")
        .bind(state)
        .fetch_one(app.server.state.db.reader())
        .await
        .unwrap()
        .try_get(0)
        .unwrap()
}

fn codes(messages: &[Received]) -> Vec<&str> {
    messages.iter().map(|m| m.template_code.as_str()).collect()
}

async fn every_status_change_reaches_the_customer_in_the_app_and_by_kakaotalk(backend: Backend) {
    let fake = FakeAlimtalk::start().await;
    let Some(app) = spawn(backend, &fake, &[]).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let owner = app.signed_in("owner@baedal.kr").await;
    let rider = app.signed_in("rider@baedal.kr").await;
    let far_rider = app.signed_in("rider2@baedal.kr").await; // home area 강남구, 13 km away
    let (_, _, order_id) = app.order_first_food(&customer).await;
    for action in ["accept", "start_cooking", "finish_cooking"] {
        move_order(&app, &owner, "order_action", order_id, action).await;
    }
    for action in ["claim", "pick_up", "deliver"] {
        move_order(&app, &rider, "rider_action", order_id, action).await;
    }
    let (status, _) = app
        .call(
            &customer,
            "confirm_delivery",
            &[("order_id", &order_id.to_string())],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.drained().await;

    let expected = [
        "BD_ORDER_PLACED",
        "BD_ORDER_ACCEPTED",
        "BD_COOKING_STARTED",
        "BD_COOKING_FINISHED",
        "BD_RIDER_ASSIGNED",
        "BD_PICKED_UP",
        "BD_DELIVERED",
    ];
    let messages = fake.wait_for(expected.len()).await;
    assert_eq!(codes(&messages), expected);
    for message in &messages {
        assert_eq!(message.recipient_no, CUSTOMER_PHONE);
        assert_eq!(message.params["주문번호"], order_id.to_string());
        assert_eq!(message.params["가게명"], "마포 즉석떡볶이");
    }
    assert_eq!(messages[0].params["결제금액"], "14,000원");
    assert_eq!(messages[4].params["라이더"], "박배달");

    assert_eq!(
        kinds(&feed(&app, &customer).await),
        [
            "order_placed",
            "order_accepted",
            "cooking_started",
            "cooking_finished",
            "rider_assigned",
            "picked_up",
            "delivered"
        ],
        "every step but the customer's own 배송확인"
    );
    assert_eq!(kinds(&feed(&app, &owner).await), ["new_order"]);
    assert_eq!(kinds(&feed(&app, &rider).await), ["delivery_nearby"]);
    assert_eq!(kinds(&feed(&app, &far_rider).await), Vec::<String>::new());

    // The bell's number, and reading them.
    let (_, unread) = app.call(&customer, "unread_notifications", &[]).await;
    assert_eq!(unread, 7);
    let newest = feed(&app, &customer).await["items"][0]["id"]
        .as_i64()
        .unwrap();
    let (status, left) = app
        .call(
            &customer,
            "mark_notifications_read",
            &[("up_to_id", &newest.to_string())],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(left, 0);
    assert!(feed(&app, &customer).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n["read"] == true));
    let (_, owner_unread) = app.call(&owner, "unread_notifications", &[]).await;
    assert_eq!(owner_unread, 1, "reading one's own changes nobody else's");
    let (status, _) = app.call(&app.client(), "my_notifications", &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    app.teardown().await;
}

async fn customers_are_not_told_of_their_own_cancel_or_confirmation(backend: Backend) {
    let fake = FakeAlimtalk::start().await;
    let Some(app) = spawn(backend, &fake, &[]).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let owner = app.signed_in("owner@baedal.kr").await;
    let rider = app.signed_in("rider@baedal.kr").await;

    // The customer cancels: the owner is told, the customer only of the refund.
    let (_, _, cancelled) = app.order_first_food(&customer).await;
    let (status, body) = app
        .call(
            &customer,
            "cancel_order",
            &[("order_id", &cancelled.to_string())],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.drained().await;
    assert_eq!(
        codes(&fake.wait_for(2).await),
        ["BD_ORDER_PLACED", "BD_REFUNDED"]
    );
    assert_eq!(
        kinds(&feed(&app, &customer).await),
        ["order_placed", "refunded"]
    );
    assert_eq!(
        kinds(&feed(&app, &owner).await),
        ["new_order", "order_cancelled"]
    );

    // The customer taps 배송확인: nobody is told; the rider and the owner were told what they
    // were told before.
    let deliver = |order_id: i64| {
        let (app, owner, rider) = (&app, &owner, &rider);
        async move {
            for action in ["accept", "start_cooking", "finish_cooking"] {
                move_order(app, owner, "order_action", order_id, action).await;
            }
            for action in ["claim", "pick_up", "deliver"] {
                move_order(app, rider, "rider_action", order_id, action).await;
            }
        }
    };
    let (_, _, confirmed) = app.order_first_food(&customer).await;
    deliver(confirmed).await;
    let (status, body) = app
        .call(
            &customer,
            "confirm_delivery",
            &[("order_id", &confirmed.to_string())],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.drained().await;
    let steps = [
        "order_placed",
        "order_accepted",
        "cooking_started",
        "cooking_finished",
        "rider_assigned",
        "picked_up",
        "delivered",
    ];
    let mut expected = vec!["order_placed", "refunded"];
    expected.extend(steps);
    assert_eq!(kinds(&feed(&app, &customer).await), expected);
    assert_eq!(
        kinds(&feed(&app, &owner).await),
        ["new_order", "order_cancelled", "new_order"]
    );
    assert_eq!(kinds(&feed(&app, &rider).await), ["delivery_nearby"]);

    // Completed by the system after a while: that the customer did not do, so they are told.
    let (_, _, by_system) = app.order_first_food(&customer).await;
    deliver(by_system).await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let moved = app::backend::commands::auto_complete_delivered(&app.server.state, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(moved, 1);
    app.drained().await;
    let feed_now = kinds(&feed(&app, &customer).await);
    assert_eq!(feed_now.last().map(String::as_str), Some("completed"));
    assert_eq!(feed_now.iter().filter(|k| *k == "completed").count(), 1);

    let all = 2 + steps.len() * 2 + 1;
    let messages = fake.wait_for(all).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fake.delivered().len(), all, "nothing more by KakaoTalk");
    let sent = codes(&messages);
    assert_eq!(sent.iter().filter(|c| **c == "BD_COMPLETED").count(), 1);
    assert!(!sent.contains(&"BD_ORDER_CANCELLED"), "{sent:?}");
    app.teardown().await;
}

/// What the notification page does when it opens: it reads the feed, then marks read up to the
/// newest item it showed. Whatever arrived in between stays unread for the bell.
async fn opening_the_feed_marks_read_what_it_showed_and_nothing_newer(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let owner = app.signed_in("owner@baedal.kr").await;
    let (_, _, order_id) = app.order_first_food(&customer).await;
    app.drained().await;
    let shown = feed(&app, &customer).await;
    assert_eq!(shown["unread"], 1);
    let newest_shown = shown["items"][0]["id"].as_i64().unwrap();

    // The store accepts while the page is still on its way.
    move_order(&app, &owner, "order_action", order_id, "accept").await;
    app.drained().await;
    let (status, left) = app
        .call(
            &customer,
            "mark_notifications_read",
            &[("up_to_id", &newest_shown.to_string())],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{left}");
    assert_eq!(left, 1, "the newer one stays unread");
    let (_, bell) = app.call(&customer, "unread_notifications", &[]).await;
    assert_eq!(bell, 1);
    let now = feed(&app, &customer).await;
    assert_eq!(now["items"][0]["kind"], "order_accepted");
    assert_eq!(now["items"][0]["read"], false);
    assert_eq!(now["items"][1]["id"], newest_shown);
    assert_eq!(now["items"][1]["read"], true);

    // The next opening shows it and reads it; the bell is empty.
    let newest = now["items"][0]["id"].as_i64().unwrap();
    let (_, left) = app
        .call(
            &customer,
            "mark_notifications_read",
            &[("up_to_id", &newest.to_string())],
        )
        .await;
    assert_eq!(left, 0);
    let (_, bell) = app.call(&customer, "unread_notifications", &[]).await;
    assert_eq!(bell, 0);
    // Checks kept: signed out is 401, and a number that is not an id is refused naming it.
    let (status, _) = app
        .call(
            &app.client(),
            "mark_notifications_read",
            &[("up_to_id", &newest.to_string())],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = app
        .call(&customer, "mark_notifications_read", &[("up_to_id", "x")])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    app.teardown().await;
}

async fn a_provider_error_is_retried_and_the_message_arrives_once(backend: Backend) {
    let fake = FakeAlimtalk::start().await;
    let Some(app) = spawn(backend, &fake, &[]).await else {
        return;
    };
    fake.fail_next(1);
    let customer = app.signed_in("customer@baedal.kr").await;
    app.order_first_food(&customer).await;
    let messages = fake.wait_for(1).await;
    assert_eq!(codes(&messages), ["BD_ORDER_PLACED"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fake.delivered().len(), 1, "delivered exactly once");
    assert_eq!(fake.requests(), 2, "one 500, then one success");
    let row = sqlx::query("SELECT state, attempts FROM notifications WHERE channel = 'kakao'")
        .fetch_one(app.server.state.db.reader())
        .await
        .unwrap();
    assert_eq!(row.try_get::<String, _>(0).unwrap(), "sent");
    assert_eq!(row.try_get::<i64, _>(1).unwrap(), 2);
    app.teardown().await;
}

async fn a_redelivered_event_sends_nothing_new(backend: Backend) {
    let fake = FakeAlimtalk::start().await;
    let Some(app) = spawn(backend, &fake, &[]).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let owner = app.signed_in("owner@baedal.kr").await;
    let (_, _, order_id) = app.order_first_food(&customer).await;
    move_order(&app, &owner, "order_action", order_id, "accept").await;
    app.drained().await;
    fake.wait_for(2).await;
    let rows_before = app.count("notifications").await;

    // The worker crashed after the effect but before the acknowledgement: the event comes again.
    let accepted: i64 = sqlx::query("SELECT id FROM outbox WHERE event_type = 'OrderAccepted'")
        .fetch_one(app.server.state.db.reader())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    sqlx::query("UPDATE outbox SET processed_at = NULL, locked_until = NULL WHERE id = $1")
        .bind(accepted)
        .execute(app.server.state.db.writer())
        .await
        .unwrap();
    app.server.state.outbox_wakeup.notify_one();
    app.drained().await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    assert_eq!(
        app.count("notifications").await,
        rows_before,
        "no new notification rows"
    );
    assert_eq!(
        codes(&fake.delivered()),
        ["BD_ORDER_PLACED", "BD_ORDER_ACCEPTED"]
    );
    assert_eq!(
        kinds(&feed(&app, &customer).await),
        ["order_placed", "order_accepted"]
    );
    app.teardown().await;
}

async fn ordering_goes_on_while_kakaotalk_is_down_and_messages_catch_up(backend: Backend) {
    let fake = FakeAlimtalk::start().await;
    let Some(app) = spawn(backend, &fake, &[]).await else {
        return;
    };
    fake.set_down(true);
    let customer = app.signed_in("customer@baedal.kr").await;
    let owner = app.signed_in("owner@baedal.kr").await;
    let mut orders = Vec::new();
    for _ in 0..3 {
        let (_, _, order_id) = app.order_first_food(&customer).await;
        move_order(&app, &owner, "order_action", order_id, "accept").await;
        orders.push(order_id);
    }
    app.drained().await;
    // Orders went through; customers see their status; the app feed has everything.
    for order_id in &orders {
        let order = app.order(&customer, *order_id).await;
        assert_eq!(order["status"], "accepted");
    }
    assert_eq!(
        feed(&app, &customer).await["items"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(fake.requests() >= 1, "the sender kept trying");
    assert_eq!(fake.delivered().len(), 0);
    assert_eq!(kakao_rows(&app, "pending").await, 6);
    let error: Option<String> = sqlx::query(
        "SELECT last_error FROM notifications WHERE channel = 'kakao' AND last_error IS NOT NULL",
    )
    .fetch_optional(app.server.state.db.reader())
    .await
    .unwrap()
    .map(|row| row.try_get(0).unwrap());
    assert!(error.is_some_and(|e| e.contains("503") || e.contains("circuit breaker")));

    fake.set_down(false);
    let messages = fake.wait_for(6).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fake.delivered().len(), 6, "each message once");
    let mut keys: Vec<&str> = messages
        .iter()
        .map(|m| m.idempotency_key.as_str())
        .collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), 6);
    assert_eq!(kakao_rows(&app, "sent").await, 6);
    app.teardown().await;
}

async fn messages_that_keep_failing_are_parked_for_an_operator(backend: Backend) {
    let fake = FakeAlimtalk::start().await;
    let Some(app) = spawn(backend, &fake, &[("BAEDAL_KAKAO_MAX_ATTEMPTS", "2")]).await else {
        return;
    };
    fake.fail_next(1000);
    let customer = app.signed_in("customer@baedal.kr").await;
    app.order_first_food(&customer).await;
    for _ in 0..200 {
        if kakao_rows(&app, "failed").await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let failed = app::backend::notifications::failed(&app.server.state)
        .await
        .unwrap();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].to, "010-****-5678", "the number is masked");
    assert_eq!(failed[0].attempts, 2);
    assert!(
        failed[0].last_error.as_deref().unwrap().contains("500"),
        "{failed:?}"
    );
    let requests = fake.requests();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        fake.requests(),
        requests,
        "a failed message is not retried by itself"
    );

    fake.fail_next(0);
    assert!(
        app::backend::notifications::retry_failed(&app.server.state, failed[0].id)
            .await
            .unwrap()
    );
    assert_eq!(codes(&fake.wait_for(1).await), ["BD_ORDER_PLACED"]);
    app.teardown().await;
}

async fn customers_can_turn_kakaotalk_off_and_bad_numbers_are_refused(backend: Backend) {
    let fake = FakeAlimtalk::start().await;
    let Some(app) = spawn(backend, &fake, &[]).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let (_, settings) = app.call(&customer, "kakao_settings", &[]).await;
    assert_eq!(settings["phone_masked"], "010-****-5678");
    assert_eq!(settings["enabled"], true);
    assert_eq!(settings["channel_on"], true);

    for bad in ["02-123-4567", "010-12-34", "공일공"] {
        let (status, body) = app
            .call(
                &customer,
                "save_kakao_settings",
                &[("phone", bad), ("enabled", "true")],
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
        assert_eq!(body["fields"][0]["field"], "phone");
    }
    let (_, unchanged) = app.call(&customer, "kakao_settings", &[]).await;
    assert_eq!(unchanged, settings, "refused input changes nothing");

    let (status, off) = app
        .call(&customer, "save_kakao_settings", &[("enabled", "false")])
        .await;
    assert_eq!(status, StatusCode::OK, "{off}");
    assert_eq!(off["enabled"], false);
    app.order_first_food(&customer).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fake.delivered().len(), 0, "no KakaoTalk once turned off");
    assert_eq!(
        kakao_rows(&app, "pending").await + kakao_rows(&app, "sent").await,
        0
    );
    assert_eq!(
        kinds(&feed(&app, &customer).await),
        ["order_placed"],
        "the app still tells"
    );

    let (status, on) = app
        .call(
            &customer,
            "save_kakao_settings",
            &[("phone", "010-9876-5432"), ("enabled", "true")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{on}");
    assert_eq!(on["phone_masked"], "010-****-5432");
    app.order_first_food(&customer).await;
    let messages = fake.wait_for(1).await;
    assert_eq!(messages[0].recipient_no, "01098765432");

    let owner = app.signed_in("owner@baedal.kr").await;
    let (status, _) = app
        .call(&owner, "save_kakao_settings", &[("enabled", "false")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "customers' setting");
    app.teardown().await;
}

async fn without_kakaotalk_configured_the_app_still_notifies_in_the_app(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    app.order_first_food(&customer).await;
    assert_eq!(kinds(&feed(&app, &customer).await), ["order_placed"]);
    let (_, settings) = app.call(&customer, "kakao_settings", &[]).await;
    assert_eq!(settings["channel_on"], false);
    let kakao: i64 = sqlx::query("SELECT COUNT(*) FROM notifications WHERE channel = 'kakao'")
        .fetch_one(app.server.state.db.reader())
        .await
        .unwrap()
        .try_get(0)
        .unwrap();
    assert_eq!(kakao, 0);
    app.teardown().await;
}
