//! The Toss Payments client, against a local fake server that speaks Toss's documented API
//! (confirm, cancel, look-up by orderId; Basic auth with the secret key; `{code, message}`
//! errors). Checkout runs exactly as in production with `BAEDAL_PAYMENT_PROVIDER=toss`.

mod common;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use common::{Backend, TestApp, DEMO_PASSWORD};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

const SECRET_KEY: &str = "test_sk_baedal";
/// base64("test_sk_baedal:")
const EXPECTED_AUTH: &str = "Basic dGVzdF9za19iYWVkYWw6";

#[derive(Default)]
struct FakeToss {
    payments: Vec<Value>,
    idempotency_keys: Vec<String>,
}

type Shared = Arc<Mutex<FakeToss>>;

fn toss_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "code": code, "message": message }))).into_response()
}

async fn confirm(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(EXPECTED_AUTH) {
        return toss_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED_KEY",
            "인증되지 않은 시크릿 키 혹은 클라이언트 키 입니다.",
        );
    }
    let (Some(payment_key), Some(order_id), Some(amount)) = (
        body["paymentKey"].as_str(),
        body["orderId"].as_str(),
        body["amount"].as_i64(),
    ) else {
        return toss_error(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "잘못된 요청입니다.",
        );
    };
    if !(6..=64).contains(&order_id.len()) {
        return toss_error(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "orderId 형식이 잘못되었습니다.",
        );
    }
    let mut fake = fake.lock().unwrap();
    if let Some(key) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()) {
        fake.idempotency_keys.push(key.to_string());
    }
    if payment_key.starts_with("tgen_decline") {
        return toss_error(
            StatusCode::BAD_REQUEST,
            "REJECT_CARD_PAYMENT",
            "한도초과 혹은 잔액부족으로 결제에 실패했습니다.",
        );
    }
    if payment_key.starts_with("tgen_error") {
        return toss_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "FAILED_INTERNAL_SYSTEM_PROCESSING",
            "내부 시스템 처리 작업이 실패했습니다.",
        );
    }
    let payment = json!({
        "paymentKey": payment_key,
        "orderId": order_id,
        "status": "DONE",
        "totalAmount": amount,
        "method": "카드",
        "card": { "number": "43301234****123*" },
    });
    fake.payments.push(payment.clone());
    Json(payment).into_response()
}

async fn cancel(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Path(payment_key): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(EXPECTED_AUTH) {
        return toss_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED_KEY", "인증 실패");
    }
    let mut fake = fake.lock().unwrap();
    match fake
        .payments
        .iter_mut()
        .find(|p| p["paymentKey"] == payment_key.as_str())
    {
        Some(payment) => {
            payment["status"] = json!("CANCELED");
            payment["cancels"] = json!([{ "cancelReason": body["cancelReason"] }]);
            Json(payment.clone()).into_response()
        }
        None => toss_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND_PAYMENT",
            "존재하지 않는 결제 정보 입니다.",
        ),
    }
}

async fn by_order(State(fake): State<Shared>, Path(order_id): Path<String>) -> Response {
    let fake = fake.lock().unwrap();
    match fake
        .payments
        .iter()
        .find(|p| p["orderId"] == order_id.as_str())
    {
        Some(payment) => Json(payment.clone()).into_response(),
        None => toss_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND_PAYMENT",
            "존재하지 않는 결제 정보 입니다.",
        ),
    }
}

async fn start_fake_toss() -> (String, Shared) {
    let fake: Shared = Arc::default();
    let router = Router::new()
        .route("/v1/payments/confirm", post(confirm))
        .route("/v1/payments/{payment_key}/cancel", post(cancel))
        .route("/v1/payments/orders/{order_id}", get(by_order))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, fake)
}

on_both_backends!(
    checkout_through_toss_confirms_declines_and_cancels,
    the_checkout_page_shows_test_cards_only_with_the_sandbox,
);

/// The sandbox's test cards are listed on the checkout page (and the approved one filled in by
/// the page) only when the sandbox takes the payments; with Toss the page says nothing of them.
/// The server's answer, and the server-rendered page.
async fn the_checkout_page_shows_test_cards_only_with_the_sandbox(backend: Backend) {
    let (toss_url, _fake) = start_fake_toss().await;
    let toss = [
        ("BAEDAL_PAYMENT_PROVIDER", "toss"),
        ("TOSS_API_URL", toss_url.as_str()),
        ("TOSS_SECRET_KEY", SECRET_KEY),
    ];
    for (settings, sandbox) in [(&toss[..0], true), (&toss[..], false)] {
        let Some(app) = TestApp::spawn_with(backend, settings).await else {
            return;
        };
        let customer = app.client();
        app.sign_in(&customer, "customer@baedal.kr", DEMO_PASSWORD)
            .await;
        let (status, options) = app.call(&customer, "checkout_options", &[]).await;
        assert_eq!(status, StatusCode::OK, "{options}");
        assert_eq!(options, json!({ "sandbox": sandbox }));

        let (status, _, html) = app.page(&customer, "/checkout").await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("카드 번호"), "the card field is rendered");
        assert_eq!(
            html.contains("테스트 카드: 4242 4242 4242 4242 승인"),
            sandbox,
            "sandbox: {sandbox}"
        );
        assert_eq!(html.contains("data-testid=\"test-cards\""), sandbox);

        let owner = app.signed_in("owner@baedal.kr").await;
        let (status, _) = app.call(&owner, "checkout_options", &[]).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "a customer's page");
        app.teardown().await;
    }
}

async fn checkout_through_toss_confirms_declines_and_cancels(backend: Backend) {
    let (toss_url, fake) = start_fake_toss().await;
    let settings = [
        ("BAEDAL_PAYMENT_PROVIDER", "toss"),
        ("TOSS_API_URL", toss_url.as_str()),
        ("TOSS_SECRET_KEY", SECRET_KEY),
    ];
    let Some(app) = TestApp::spawn_with(backend, &settings).await else {
        return;
    };
    let client = app.client();
    app.sign_in(&client, "customer@baedal.kr", DEMO_PASSWORD)
        .await;
    let (_, stores) = app.call(&client, "nearby_stores", &[]).await;
    let store = stores
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "마포 즉석떡볶이")
        .unwrap()
        .clone();
    let (_, menu) = app
        .call(
            &client,
            "get_store_menu",
            &[("store_id", &store["id"].to_string())],
        )
        .await;
    let food = &menu["menu"][0];
    let checkout = |payment_key: &str| {
        json!({
            "store_id": store["id"],
            "lines": [{"food_id": food["id"], "quantity": 2}],
            "idempotency_key": uuid::Uuid::new_v4().to_string(),
            "card_number": payment_key,
        })
    };

    let (status, order) = app
        .call_json(&client, "place_order", &checkout("tgen_20261125approve"))
        .await;
    assert_eq!(status, StatusCode::OK, "{order}");
    assert_eq!(order["payment"]["provider"], "toss");
    assert_eq!(order["payment"]["card_hint"], "43301234****123*");
    {
        let fake = fake.lock().unwrap();
        assert_eq!(fake.payments.len(), 1);
        assert_eq!(fake.payments[0]["totalAmount"], order["total"]);
        assert!(fake.payments[0]["orderId"]
            .as_str()
            .unwrap()
            .starts_with("bd_"));
        assert!(fake.idempotency_keys[0].starts_with("confirm-bd_"));
    }

    let before = app.count("orders").await;
    let (status, error) = app
        .call_json(&client, "place_order", &checkout("tgen_decline_1"))
        .await;
    assert_eq!(status, StatusCode::PAYMENT_REQUIRED, "{error}");
    assert_eq!(
        error["reason"],
        "한도초과 혹은 잔액부족으로 결제에 실패했습니다."
    );
    let (status, error) = app
        .call_json(&client, "place_order", &checkout("tgen_error_1"))
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{error}");
    assert_eq!(app.count("orders").await, before);

    // Approved at Toss but the order cannot be saved: the payment is cancelled at Toss.
    app.server.state.faults.set_fail_order_commit(true);
    let (status, _) = app
        .call_json(&client, "place_order", &checkout("tgen_20261125lost"))
        .await;
    app.server.state.faults.set_fail_order_commit(false);
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    app.drained().await; // the void is carried out by the worker
    let fake_payments = fake.lock().unwrap().payments.clone();
    let lost = fake_payments
        .iter()
        .find(|p| p["paymentKey"] == "tgen_20261125lost")
        .unwrap();
    assert_eq!(lost["status"], "CANCELED");
    assert_eq!(app.count("orders").await, before);
    app.teardown().await;
}
