//! Live updates over HTTP (`GET /live`, Server-Sent Events) on both engines: who hears of
//! what, that a page is told of every step of its order, that a page on one instance hears of
//! work done by another instance's worker, and that open streams do not hold up a shutdown;
//! that unrelated streams are not even woken, that riders hear of orders in their area only,
//! that signing out ends every stream of the session at once (on every instance), and that
//! the streams of one session and one address are limited; streams multiplexed over one HTTP/2
//! connection are routed like any other.

mod common;

use common::{Backend, LiveStream, TestApp};
use reqwest::{Client, StatusCode};
use std::time::{Duration, Instant};

on_both_backends!(
    the_owner_hears_of_a_new_order_and_the_customer_of_every_step,
    nobody_hears_of_someone_elses_order,
    the_stream_needs_a_session,
    signing_out_ends_the_stream,
    open_streams_do_not_hold_up_a_shutdown,
    an_unrelated_customers_streams_are_not_even_woken,
    signing_out_in_one_tab_ends_the_sessions_other_streams_at_once,
    the_streams_of_one_session_are_limited_and_told_why,
    the_streams_of_one_address_are_limited,
    a_rider_whose_area_covers_a_cooked_order_hears_it_and_a_far_rider_does_not,
    streams_sharing_an_http2_connection_each_hear_only_their_own,
);

/// A browser multiplexes all its tabs of one site over one HTTP/2 connection (and
/// `bench-live --transport http2` holds 50,000 streams that way): streams of different people
/// on one connection are still routed by whose they are.
async fn streams_sharing_an_http2_connection_each_hear_only_their_own(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let mut connection = common::http2_connection(&app.url).await;
    let mine_token = common::session_token(&app, "customer@baedal.kr").await;
    let theirs_token = common::session_token(&app, "customer2@baedal.kr").await;
    let mut mine = LiveStream::open_http2(&mut connection, &app.url, &mine_token).await;
    let mut theirs = LiveStream::open_http2(&mut connection, &app.url, &theirs_token).await;
    let mut mine_again = LiveStream::open_http2(&mut connection, &app.url, &mine_token).await;

    let (_, _, order_id) = app.order_first_food(&customer).await;
    mine.expect_order(order_id, "placed").await;
    mine_again.expect_order(order_id, "placed").await;
    assert_eq!(
        drain(&mut theirs, Duration::from_millis(500)).await,
        0,
        "another customer's stream on the same connection heard of the order"
    );
    assert!(
        !theirs.ended(Duration::from_millis(200)).await,
        "the other customer's stream is still open (it heard nothing, it did not just end)"
    );
    app.teardown().await;
}

async fn the_owner_hears_of_a_new_order_and_the_customer_of_every_step(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.signed_in("owner@baedal.kr").await;
    let customer = app.signed_in("customer@baedal.kr").await;
    let mut owner_page = LiveStream::open(&app, &owner).await;
    let mut customer_page = LiveStream::open(&app, &customer).await;

    let (_, _, order_id) = app.order_first_food(&customer).await;
    owner_page.expect_order(order_id, "placed").await;
    customer_page.expect_order(order_id, "placed").await;

    for (action, status) in [
        ("accept", "accepted"),
        ("start_cooking", "cooking"),
        ("finish_cooking", "cooked"),
    ] {
        let (code, body) = app
            .call(
                &owner,
                "order_action",
                &[
                    ("order_id", &order_id.to_string()),
                    ("action", action),
                    ("cook_minutes", "20"),
                ],
            )
            .await;
        assert_eq!(code, StatusCode::OK, "{action}: {body}");
        customer_page.expect_order(order_id, status).await;
        owner_page.expect_order(order_id, status).await;
    }
    app.teardown().await;
}

async fn nobody_hears_of_someone_elses_order(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let other_customer = app.signed_in("customer2@baedal.kr").await;
    // owner2 owns 송파 화덕피자 and 용산 김밥나라, not the store ordered from.
    let other_owner = app.signed_in("owner2@baedal.kr").await;
    let rider = app.signed_in("rider@baedal.kr").await;
    let mut pages = vec![
        LiveStream::open(&app, &other_customer).await,
        LiveStream::open(&app, &other_owner).await,
        LiveStream::open(&app, &rider).await,
    ];
    let mut own_page = LiveStream::open(&app, &customer).await;
    let (_, _, order_id) = app.order_first_food(&customer).await;
    own_page.expect_order(order_id, "placed").await;
    for page in &mut pages {
        // The order's own page has heard; the others must have heard nothing by now.
        assert_eq!(page.next(Duration::from_millis(300)).await, None);
    }
    app.teardown().await;
}

async fn the_stream_needs_a_session(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let response = app
        .client()
        .get(format!("{}/live", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    app.teardown().await;
}

async fn signing_out_ends_the_stream(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let mut page = LiveStream::open(&app, &customer).await;
    assert!(
        !page.ended(Duration::from_millis(600)).await,
        "open while signed in"
    );
    let (status, _) = app.call(&customer, "sign_out", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.ended(Duration::from_secs(5)).await,
        "closed after signing out"
    );
    app.teardown().await;
}

async fn open_streams_do_not_hold_up_a_shutdown(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.signed_in("owner@baedal.kr").await;
    let mut page = LiveStream::open(&app, &owner).await;
    tokio::time::timeout(Duration::from_secs(10), app.teardown())
        .await
        .expect("shutdown finishes with a stream open");
    // The browser sees the stream end (and would reconnect to another instance).
    assert!(
        page.ended(Duration::from_secs(2)).await,
        "the stream is closed"
    );
}

/// Several instances share PostgreSQL: a page connected to an instance that runs no worker
/// still hears of an order the other instance's worker handled.
#[tokio::test(flavor = "multi_thread")]
async fn a_page_on_one_instance_hears_of_work_done_by_another_postgres() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let web_only = app.another_instance(&[("BAEDAL_WORKER", "false")]).await;
    let owner = app.signed_in("owner@baedal.kr").await;
    let customer = app.signed_in("customer@baedal.kr").await;
    let mut owner_page = LiveStream::open_at(&web_only.url(), &owner).await;
    let (_, _, order_id) = app.order_first_food(&customer).await;
    owner_page.expect_order(order_id, "placed").await;
    web_only.shutdown().await.unwrap();
    app.teardown().await;
}

/// Waits until this instance's hub has routed more than `before` changes (PostgreSQL hints
/// arrive through LISTEN, a moment after the worker sent them).
async fn routed_after(app: &TestApp, before: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.server.state.live.published() <= before {
        assert!(Instant::now() < deadline, "no change was routed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every event `page` receives until it has been quiet for `quiet`.
async fn drain(page: &mut LiveStream, quiet: Duration) -> usize {
    let mut seen = 0;
    while page.next(quiet).await.is_some() {
        seen += 1;
    }
    seen
}

async fn an_unrelated_customers_streams_are_not_even_woken(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let live = &app.server.state.live;
    let customer = app.signed_in("customer@baedal.kr").await;
    let other = app.signed_in("customer2@baedal.kr").await;
    let mut unrelated = Vec::new();
    for _ in 0..3 {
        unrelated.push(LiveStream::open(&app, &other).await);
    }
    assert_eq!(live.streams(), 3);

    // Another customer's order goes through the store's steps: no stream of theirs is woken.
    let owner = app.signed_in("owner@baedal.kr").await;
    let (_, _, order_id) = app.order_first_food(&customer).await;
    app.drained().await;
    routed_after(&app, 0).await;
    let (code, body) = app
        .call(
            &owner,
            "order_action",
            &[
                ("order_id", &order_id.to_string()),
                ("action", "accept"),
                ("cook_minutes", "20"),
            ],
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    app.drained().await;
    routed_after(&app, 1).await;
    assert_eq!(live.wakeups(), 0, "no unrelated stream was woken");
    for page in &mut unrelated {
        assert_eq!(page.next(Duration::from_millis(200)).await, None);
    }

    // The order's own page is woken, once per change, and nobody else.
    let mut own = LiveStream::open(&app, &customer).await;
    let routed = live.published();
    let (code, body) = app
        .call(
            &owner,
            "order_action",
            &[
                ("order_id", &order_id.to_string()),
                ("action", "start_cooking"),
            ],
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    own.expect_order(order_id, "cooking").await;
    app.drained().await;
    routed_after(&app, routed).await;
    let heard = 1 + drain(&mut own, Duration::from_millis(300)).await;
    assert_eq!(live.wakeups(), heard as u64, "only the order's own page");
    for page in &mut unrelated {
        assert_eq!(page.next(Duration::from_millis(100)).await, None);
    }

    // Operators see the same counters.
    let metrics = app
        .client()
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("baedal_live_streams{} 4"), "{metrics}");
    assert!(
        metrics.contains(&format!("baedal_live_wakeups_total{{}} {heard}")),
        "{metrics}"
    );
    app.teardown().await;
}

async fn signing_out_in_one_tab_ends_the_sessions_other_streams_at_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let tabs = app.signed_in("customer@baedal.kr").await;
    // The same person signed in on another device: a session of its own.
    let phone = app.signed_in("customer@baedal.kr").await;
    let mut pages = Vec::new();
    for _ in 0..3 {
        pages.push(LiveStream::open(&app, &tabs).await);
    }
    let mut phone_page = LiveStream::open(&app, &phone).await;

    let started = Instant::now();
    let (status, _) = app.call(&tabs, "sign_out", &[]).await;
    assert_eq!(status, StatusCode::OK);
    for page in &mut pages {
        assert!(
            page.ended(Duration::from_secs(2)).await,
            "the tab's stream ended"
        );
    }
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "ended at once, took {took:?}"
    );
    assert!(
        !phone_page.ended(Duration::from_millis(300)).await,
        "the other session's stream stays open"
    );
    // The signed-out browser's reconnection is refused.
    let again = LiveStream::try_open(&app.url, &tabs, "/live").await;
    assert_eq!(
        again.err().map(|(status, _)| status),
        Some(StatusCode::UNAUTHORIZED)
    );
    app.teardown().await;
}

async fn the_streams_of_one_session_are_limited_and_told_why(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &[("BAEDAL_LIVE_MAX_PER_SESSION", "3")]).await
    else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let mut pages = Vec::new();
    for _ in 0..3 {
        pages.push(LiveStream::open(&app, &customer).await);
    }
    let (status, body) = LiveStream::try_open(&app.url, &customer, "/live")
        .await
        .err()
        .expect("the fourth stream of the session is refused");
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"], "too_many_requests", "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("한 로그인에 열린 창이 너무 많습니다")),
        "{body}"
    );
    assert_eq!(body["retry_after_s"], 30, "{body}");
    // The open streams keep working.
    let (_, _, order_id) = app.order_first_food(&customer).await;
    for page in &mut pages {
        page.expect_order(order_id, "placed").await;
    }
    // Another session of the same person has its own allowance.
    let other_session = app.signed_in("customer@baedal.kr").await;
    LiveStream::open(&app, &other_session).await;
    // Closing a tab frees its place.
    drop(pages.pop());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match LiveStream::try_open(&app.url, &customer, "/live").await {
            Ok(_) => break,
            Err((status, _)) => {
                assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
                assert!(
                    Instant::now() < deadline,
                    "the closed tab's place was not freed"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    app.teardown().await;
}

async fn the_streams_of_one_address_are_limited(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &[("BAEDAL_LIVE_MAX_PER_ADDRESS", "2")]).await
    else {
        return;
    };
    let first = app.signed_in("customer@baedal.kr").await;
    let second = app.signed_in("customer2@baedal.kr").await;
    let _a = LiveStream::open(&app, &first).await;
    let _b = LiveStream::open(&app, &second).await;
    let (status, body) = LiveStream::try_open(&app.url, &second, "/live")
        .await
        .err()
        .expect("a third stream from the address is refused");
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(body["error"], "too_many_requests", "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("이 주소에서")),
        "{body}"
    );
    app.teardown().await;
}

async fn a_rider_whose_area_covers_a_cooked_order_hears_it_and_a_far_rider_does_not(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // rider@ lives in 마포구, rider2@ in 강남구 (14 km away); the order goes to 마포구.
    let near: Client = app.signed_in("rider@baedal.kr").await;
    let far = app.signed_in("rider2@baedal.kr").await;
    let mut near_home = LiveStream::open(&app, &near).await;
    let mut far_home = LiveStream::open(&app, &far).await;
    let mut far_picked_gangnam =
        LiveStream::open_path(&app.url, &far, "/live?area=%EA%B0%95%EB%82%A8%EA%B5%AC").await;
    // rider2 is in 마포 right now (the browser's position): their list, and stream, are there.
    let mut far_rider_in_mapo =
        LiveStream::open_path(&app.url, &far, "/live?lat=37.5663&lng=126.9019").await;
    let customer = app.signed_in("customer@baedal.kr").await;
    let owner = app.signed_in("owner@baedal.kr").await;
    let (_, _, order_id) = app.order_first_food(&customer).await;
    for action in ["accept", "start_cooking", "finish_cooking"] {
        let (status, body) = app
            .call(
                &owner,
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
    near_home.expect_order(order_id, "cooked").await;
    far_rider_in_mapo.expect_order(order_id, "cooked").await;
    app.drained().await;
    assert_eq!(far_home.next(Duration::from_millis(300)).await, None);
    assert_eq!(
        far_picked_gangnam.next(Duration::from_millis(100)).await,
        None
    );
    // The list the stream follows is the list the board shows.
    let (status, board) = app
        .call(
            &far,
            "rider_board",
            &[("lat", "37.5663"), ("lng", "126.9019")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{board}");
    assert!(
        board["offers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["order_id"] == order_id),
        "{board}"
    );
    // A position the board would refuse is refused by the stream too.
    let refused = LiveStream::try_open(&app.url, &far, "/live?lat=91&lng=0").await;
    assert_eq!(
        refused.err().map(|(status, _)| status),
        Some(StatusCode::UNPROCESSABLE_ENTITY)
    );
    app.teardown().await;
}

/// Several instances share PostgreSQL: signing out on one ends the session's streams on the
/// other at once (the same NOTIFY path as order hints).
#[tokio::test(flavor = "multi_thread")]
async fn signing_out_on_one_instance_ends_the_streams_on_another_postgres() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let other = app.another_instance(&[("BAEDAL_WORKER", "false")]).await;
    let customer = app.signed_in("customer@baedal.kr").await;
    let mut there = LiveStream::open_at(&other.url(), &customer).await;
    let mut here = LiveStream::open(&app, &customer).await;
    let started = Instant::now();
    let (status, _) = app.call(&customer, "sign_out", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(here.ended(Duration::from_secs(2)).await, "ended here");
    assert!(
        there.ended(Duration::from_secs(2)).await,
        "ended on the other instance"
    );
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "at once, took {took:?}");
    other.shutdown().await.unwrap();
    app.teardown().await;
}
