//! Real addresses through a geocoder that speaks Kakao Local's documented API (a fake on a real
//! port, `common::kakao_local`), on both engines: sign-up and 배달 주소 변경 store the provider's
//! road-name address and coordinates; distances, the radius and the distance-band tip then come
//! from those coordinates; an address it cannot find or outside Seoul is a field error, an
//! outage a clear 503, and neither changes anything. Without a key the server says at start-up
//! that it falls back to district centres (`Geocoder::describe`).

mod common;

use common::kakao_local::FakeKakaoLocal;
use common::{Backend, TestApp};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use server::sandbox_pay::APPROVE_CARD;

on_both_backends!(
    addresses_are_placed_by_the_provider_and_price_the_delivery,
    unknown_foreign_and_unreachable_addresses_change_nothing,
    one_account_cannot_spend_the_address_search_quota,
);

async fn spawn(backend: Backend) -> Option<(TestApp, FakeKakaoLocal)> {
    spawn_with(backend, &[]).await
}

async fn spawn_with(
    backend: Backend,
    extra: &[(&'static str, &str)],
) -> Option<(TestApp, FakeKakaoLocal)> {
    let fake = FakeKakaoLocal::start().await;
    let settings = fake.settings();
    let settings: Vec<(&str, &str)> = settings
        .iter()
        .map(|(k, v)| (*k, v.as_str()))
        .chain(extra.iter().copied())
        .collect();
    let app = TestApp::spawn_with(backend, &settings).await?;
    Some((app, fake))
}

async fn sign_up_customer(
    app: &TestApp,
    address: &str,
    detail: &str,
) -> (Client, StatusCode, Value) {
    let client = app.client();
    let email = format!("{}@example.com", uuid::Uuid::new_v4().simple());
    let (status, body) = app
        .call(
            &client,
            "sign_up",
            &[
                ("role", "customer"),
                ("email", &email),
                ("password", "correct horse"),
                ("display_name", "송파 손님"),
                ("address", address),
                ("address_detail", detail),
            ],
        )
        .await;
    (client, status, body)
}

async fn addresses_are_placed_by_the_provider_and_price_the_delivery(backend: Backend) {
    let Some((app, fake)) = spawn(backend).await else {
        return;
    };
    // Typed the long way; stored as the provider writes it.
    let (client, status, user) =
        sign_up_customer(&app, "서울특별시 송파구 중대로 135", "가동 201호").await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["address"], "서울 송파구 중대로 135");
    assert_eq!(user["address_detail"], "가동 201호");
    assert_eq!(user["district"], "송파구");
    assert_eq!(fake.requests(), 1, "one address search, over HTTP");

    // 송파 화덕피자 (올림픽로 300) is 2.2 km away by the provider's coordinates (the district's
    // centre is 0.4 km from it): 배달팁 2,500원 + 2 started km × 500원.
    let (_, stores) = app.call(&client, "nearby_stores", &[]).await;
    let pizza = stores
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "송파 화덕피자")
        .unwrap()
        .clone();
    let distance = pizza["distance_m"].as_f64().unwrap();
    assert!((2_100.0..2_300.0).contains(&distance), "{distance}");
    assert_eq!(pizza["delivery"]["tip"], 3_500, "{pizza}");
    assert_eq!(pizza["delivery"]["deliverable"], true);
    assert_eq!(
        stores[0]["name"], "송파 화덕피자",
        "nearest deliverable first"
    );

    let store_id = pizza["id"].as_i64().unwrap();
    let (_, menu) = app
        .call(
            &client,
            "get_store_menu",
            &[("store_id", &store_id.to_string())],
        )
        .await;
    let margherita = &menu["menu"][0];
    let price = margherita["price"].as_i64().unwrap();
    let (status, order) = app
        .call_json(
            &client,
            "place_order",
            &json!({
                "store_id": store_id,
                "lines": [{"food_id": margherita["id"], "quantity": 1}],
                "idempotency_key": uuid::Uuid::new_v4().to_string(),
                "card_number": APPROVE_CARD,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{order}");
    assert_eq!(order["total"], price + 3_500);
    assert_eq!(
        order["delivery_address"],
        "서울 송파구 중대로 135, 가동 201호"
    );
    assert_eq!(app.charges().await[0].amount, price + 3_500);

    // Moving to 강서구 (24 km): the pizza no longer delivers there.
    let (status, user) = app
        .call(
            &client,
            "set_delivery_address",
            &[("address", "서울 강서구 공항대로 247")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["district"], "강서구");
    let (_, menu) = app
        .call(
            &client,
            "get_store_menu",
            &[("store_id", &store_id.to_string())],
        )
        .await;
    assert_eq!(menu["delivery"]["deliverable"], false, "{menu}");
    let (status, error) = app
        .call_json(
            &client,
            "place_order",
            &json!({
                "store_id": store_id,
                "lines": [{"food_id": margherita["id"], "quantity": 1}],
                "idempotency_key": uuid::Uuid::new_v4().to_string(),
                "card_number": APPROVE_CARD,
            }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["fields"][0]["field"], "address");
    assert!(
        error["fields"][0]["message"]
            .as_str()
            .unwrap()
            .contains("서울 강서구 공항대로 247"),
        "{error}"
    );
    assert_eq!(app.charges().await.len(), 1, "the refusal charged nothing");
    app.teardown().await;
}

async fn unknown_foreign_and_unreachable_addresses_change_nothing(backend: Backend) {
    let Some((app, fake)) = spawn(backend).await else {
        return;
    };
    let users = app.count("users").await;
    for (address, words) in [
        ("서울 송파구 없는길 999", "주소를 찾을 수 없습니다"),
        ("부산 해운대구 해운대해변로 264", "서울에서만"),
    ] {
        let (_, status, error) = sign_up_customer(&app, address, "").await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{address}: {error}"
        );
        assert_eq!(error["fields"][0]["field"], "address");
        let message = error["fields"][0]["message"].as_str().unwrap();
        assert!(message.contains(words), "{message}");
    }
    assert_eq!(
        app.count("users").await,
        users,
        "no account without an address"
    );

    // An owner's store address goes through the same search.
    let (status, error) = app
        .call(
            &app.client(),
            "sign_up",
            &[
                ("role", "owner"),
                ("email", "chef@example.com"),
                ("password", "correct horse"),
                ("display_name", "박셰프"),
                ("store_name", "해운대 횟집"),
                ("store_address", "부산 해운대구 해운대해변로 264"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["fields"][0]["field"], "store_address");
    assert_eq!(app.count("stores").await, 5);

    // The provider is down: a clear 503, the saved address untouched.
    let (client, status, user) = sign_up_customer(&app, "서울 송파구 올림픽로 240", "").await;
    assert_eq!(status, StatusCode::OK, "{user}");
    fake.set_down(true);
    let (status, error) = app
        .call(
            &client,
            "set_delivery_address",
            &[("address", "서울 송파구 중대로 135")],
        )
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{error}");
    assert!(
        error
            .to_string()
            .contains("주소 검색을 잠시 사용할 수 없습니다"),
        "{error}"
    );
    let (_, me) = app.call(&client, "who_am_i", &[]).await;
    assert_eq!(me["address"], "서울 송파구 올림픽로 240");
    fake.set_down(false);
    let (status, me) = app
        .call(
            &client,
            "set_delivery_address",
            &[("address", "서울 송파구 중대로 135")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["address"], "서울 송파구 중대로 135");
    app.teardown().await;
}

async fn one_account_cannot_spend_the_address_search_quota(backend: Backend) {
    let Some((app, fake)) = spawn_with(
        backend,
        &[("BAEDAL_LIMIT_ADDRESS_SEARCH_ACCOUNT", "2/3600")],
    )
    .await
    else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    for address in ["서울 송파구 올림픽로 240", "서울 송파구 중대로 135"] {
        let (status, me) = app
            .call(&customer, "set_delivery_address", &[("address", address)])
            .await;
        assert_eq!(status, StatusCode::OK, "{me}");
    }
    let searched = fake.requests();
    let (status, error) = app
        .call(
            &customer,
            "set_delivery_address",
            &[("address", "서울 강서구 공항대로 247")],
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{error}");
    assert_eq!(fake.requests(), searched, "the provider was not asked");
    let (_, me) = app.call(&customer, "who_am_i", &[]).await;
    assert_eq!(me["address"], "서울 송파구 중대로 135", "nothing changed");
    // Another account has its own allowance.
    let other = app.signed_in("customer2@baedal.kr").await;
    let (status, me) = app
        .call(
            &other,
            "set_delivery_address",
            &[("address", "서울 송파구 올림픽로 300")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    app.teardown().await;
}
