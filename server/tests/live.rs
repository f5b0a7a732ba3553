//! Live updates over HTTP (`GET /live`, Server-Sent Events) on both engines: who hears of
//! what, that a page is told of every step of its order, that a page on one instance hears of
//! work done by another instance's worker, and that open streams do not hold up a shutdown.

mod common;

use common::{Backend, LiveStream, TestApp};
use reqwest::StatusCode;
use std::time::Duration;

on_both_backends!(
    the_owner_hears_of_a_new_order_and_the_customer_of_every_step,
    nobody_hears_of_someone_elses_order,
    the_stream_needs_a_session,
    signing_out_ends_the_stream,
    open_streams_do_not_hold_up_a_shutdown,
);

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
                &[("order_id", &order_id.to_string()), ("action", action)],
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
    let Some(app) = TestApp::spawn_with(backend, &[("BAEDAL_LIVE_RECHECK_MS", "200")]).await else {
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
#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
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
