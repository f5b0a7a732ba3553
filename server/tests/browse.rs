//! Browsing before signing in, on both engines: the home page and a store's page are rendered
//! on the server for anyone (curl, search engines and link previews get the stores, the menu
//! and the page's description), the visitor's delivery area is remembered in a cookie and the
//! list is sorted from it, and sign-in is asked at checkout only.

mod common;

use common::{Backend, TestApp};
use reqwest::{header, StatusCode};
use serde_json::Value;

on_both_backends!(
    a_visitor_gets_the_home_page_and_a_stores_page_rendered_with_their_previews,
    the_delivery_area_is_chosen_on_the_page_and_remembered,
    the_store_functions_answer_anyone_and_name_a_wrong_area,
);

/// 송파구 as the area cookie holds it (percent-encoded UTF-8).
const SONGPA: &str = "%EC%86%A1%ED%8C%8C%EA%B5%AC";

/// The page at `path` as a client with no cookies but `cookie` (none: `""`) sees it.
async fn visit(app: &TestApp, path: &str, cookie: &str) -> (StatusCode, header::HeaderMap, String) {
    let mut request = app
        .client()
        .get(format!("{}{path}", app.url))
        .header(header::ACCEPT, "text/html");
    if !cookie.is_empty() {
        request = request.header(header::COOKIE, cookie);
    }
    let response = request.send().await.expect("request reaches the server");
    let (status, headers) = (response.status(), response.headers().clone());
    (status, headers, response.text().await.expect("body"))
}

/// The names of the stores listed in a page's HTML, in their order.
fn listed(html: &str, names: &[&str]) -> Vec<String> {
    let mut found: Vec<(usize, String)> = names
        .iter()
        .filter_map(|name| {
            html.find(&format!("<strong>{name}</strong>"))
                .map(|at| (at, name.to_string()))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, name)| name).collect()
}

const STORES: &[&str] = &[
    "마포 즉석떡볶이",
    "강남 바삭치킨",
    "종로 할매국밥",
    "송파 화덕피자",
];

async fn mapo_store(app: &TestApp) -> (i64, Value) {
    let (status, stores) = app
        .call(&app.client(), "nearby_stores", &[("area", "마포구")])
        .await;
    assert_eq!(status, StatusCode::OK, "{stores}");
    let id = stores
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "마포 즉석떡볶이")
        .expect("the demo store")["id"]
        .as_i64()
        .unwrap();
    let (status, menu) = app
        .call(
            &app.client(),
            "get_store_menu",
            &[("store_id", &id.to_string())],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{menu}");
    (id, menu)
}

async fn a_visitor_gets_the_home_page_and_a_stores_page_rendered_with_their_previews(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // The home page, never seen before: 200 with the picker and the page's preview.
    let (status, headers, html) = visit(&app, "/", "").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(headers.get(header::LOCATION).is_none());
    assert!(html.contains("배달 받을 지역을 선택해 주세요"), "{html}");
    assert!(
        html.contains("<title>우리 동네 가게 · 배달</title>"),
        "{html}"
    );
    assert!(
        html.contains(r#"<meta name="description" content="서울 25개 구"#),
        "{html}"
    );
    assert!(html.contains(r#"<meta property="og:title" content="배달 — 우리 동네 가게""#));
    assert!(html.contains(r#"<meta property="og:description" content="서울 25개 구"#));
    assert!(
        html.contains(r#"href="/signin?next=/""#),
        "the visitor's way in: {html}"
    );
    assert!(html.contains(r#"href="/signup?next=/""#));
    assert!(!html.contains("로그아웃") && !html.contains(r#"data-testid="bell""#));
    assert!(listed(&html, STORES).is_empty(), "no area, no list yet");

    // A store's page, as a shared link is opened by curl or a link preview: the store, every
    // dish on its menu, and a title and description naming them.
    let (store_id, menu) = mapo_store(&app).await;
    let (status, _, html) = visit(&app, &format!("/stores/{store_id}"), "").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("<title>마포 즉석떡볶이 · 배달</title>"),
        "{html}"
    );
    assert!(html.contains(r#"<meta property="og:title" content="마포 즉석떡볶이 · 배달""#));
    let dishes = menu["menu"].as_array().unwrap();
    assert!(!dishes.is_empty());
    for dish in dishes {
        let name = dish["name"].as_str().unwrap();
        assert!(html.contains(name), "{name} on the page");
    }
    let first = dishes[0]["name"].as_str().unwrap();
    let description = format!(
        r#"<meta name="description" content="{} · {} · 메뉴: {first} "#,
        menu["district"].as_str().unwrap(),
        menu["address"].as_str().unwrap()
    );
    assert!(html.contains(&description), "{description} in {html}");
    assert!(html.contains(r#"<meta property="og:description" content="마포구 · "#));
    assert!(html.contains("남은 수량"), "the stock is shown");

    // No such store: a 404 page that says so.
    for path in ["/stores/999999", "/stores/0", "/stores/abc"] {
        let (status, _, html) = visit(&app, path, "").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(html.contains("가게를 찾을 수 없습니다"), "{path}: {html}");
    }
    // Paying still needs an account: checkout sends the visitor to sign in and back.
    let (status, headers, _) = visit(&app, "/checkout", "").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/signin?next=/checkout");

    // Signed in, a customer gets their own home (their 동네's list) and the store's page;
    // an owner or a rider gets the 403 page they got before, not a customer's page.
    let customer = app.signed_in("customer@baedal.kr").await;
    let (status, _, html) = app.page(&customer, &format!("/stores/{store_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("마포 즉석떡볶이") && html.contains("로그아웃"));
    for email in ["owner@baedal.kr", "rider@baedal.kr"] {
        let other = app.signed_in(email).await;
        for path in ["/".to_string(), format!("/stores/{store_id}")] {
            let (status, _, html) = app.page(&other, &path).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{email} {path}");
            assert!(html.contains("이 화면을 볼 권한이 없습니다"));
        }
    }
    app.teardown().await;
}

async fn the_delivery_area_is_chosen_on_the_page_and_remembered(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // The remembered area: the server renders the list sorted from it at once.
    let cookie = format!("baedal_area={SONGPA}");
    let (status, _, html) = visit(&app, "/", &cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("배달 지역: 송파구"), "{html}");
    assert!(!html.contains("배달 받을 지역을 선택해 주세요"));
    let order = listed(&html, STORES);
    assert_eq!(order.len(), STORES.len(), "{html}");
    assert_eq!(order[0], "송파 화덕피자", "sorted from 송파구: {order:?}");
    let (_, _, from_mapo) = visit(&app, "/", "baedal_area=%EB%A7%88%ED%8F%AC%EA%B5%AC").await;
    assert_eq!(listed(&from_mapo, STORES)[0], "마포 즉석떡볶이");

    // The picker without scripts (`/?area=…`): the list, and the answer remembers the area.
    let (status, headers, html) = visit(&app, &format!("/?area={SONGPA}"), "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed(&html, STORES)[0], "송파 화덕피자");
    let remembered = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("baedal_area="))
        .expect("the area is remembered");
    assert_eq!(
        remembered,
        format!("baedal_area={SONGPA}; Path=/; Max-Age=31536000; SameSite=Lax")
    );

    // A wrong area asked for: 400, naming it, with the picker to choose again.
    let (status, headers, html) = visit(&app, "/?area=%EB%B6%80%EC%82%B0", "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{html}");
    assert!(html.contains(r#"data-field="area""#) && html.contains("서울의 구가 아닙니다: 부산"));
    assert!(headers.get(header::SET_COOKIE).is_none());
    // A cookie that remembers nothing valid is as good as none: the visitor is asked again.
    for cookie in [
        "baedal_area=%EB%B6%80%EC%82%B0",
        "baedal_area=%FF",
        "baedal_area=",
    ] {
        let (status, _, html) = visit(&app, "/", cookie).await;
        assert_eq!(status, StatusCode::OK, "{cookie}");
        assert!(html.contains("배달 받을 지역을 선택해 주세요"), "{cookie}");
    }

    // A signed-in customer's list comes from their saved 동네 (마포구), whatever the cookie.
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    jar.add_cookie_str(&cookie, &app.url.parse().unwrap());
    let customer = reqwest::Client::builder()
        .cookie_provider(jar)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    app.sign_in(&customer, "customer@baedal.kr", common::DEMO_PASSWORD)
        .await;
    let (status, _, html) = app.page(&customer, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("서울 마포구 양화로 45, 101동 1203호"),
        "the customer's own address, not the visitor's picker: {html}"
    );
    assert_eq!(listed(&html, STORES)[0], "마포 즉석떡볶이", "{html}");
    app.teardown().await;
}

async fn the_store_functions_answer_anyone_and_name_a_wrong_area(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let anyone = app.client();
    let names = |stores: &Value| -> Vec<String> {
        stores
            .as_array()
            .unwrap_or_else(|| panic!("a list: {stores}"))
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (status, stores) = app
        .call(&anyone, "nearby_stores", &[("area", "송파구")])
        .await;
    assert_eq!(status, StatusCode::OK, "{stores}");
    assert_eq!(names(&stores)[0], "송파 화덕피자");
    // No area given: the one the browser remembers.
    let response = anyone
        .post(format!("{}/api/nearby_stores", app.url))
        .header(header::ACCEPT, "application/json")
        .header(header::COOKIE, format!("baedal_area={SONGPA}"))
        .form(&[("x", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let stores: Value = response.json().await.unwrap();
    assert_eq!(names(&stores)[0], "송파 화덕피자");
    // None at all, or a wrong one: refused, naming `area`.
    for form in [vec![], vec![("area", "해운대구")], vec![("area", " ")]] {
        let (status, body) = app.call(&anyone, "nearby_stores", &form).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{form:?}: {body}");
        assert_eq!(body["fields"][0]["field"], "area", "{form:?}: {body}");
    }
    let response = anyone
        .post(format!("{}/api/nearby_stores", app.url))
        .header(header::ACCEPT, "application/json")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body([b"area=".to_vec(), vec![0xff, 0xfe]].concat())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["fields"][0]["field"], "area", "{body}");

    // A customer's list is from their saved 동네; an owner looking around names an area.
    let customer = app.signed_in("customer@baedal.kr").await;
    let (_, stores) = app
        .call(&customer, "nearby_stores", &[("area", "송파구")])
        .await;
    assert_eq!(names(&stores)[0], "마포 즉석떡볶이");
    let owner = app.signed_in("owner@baedal.kr").await;
    let (status, stores) = app
        .call(&owner, "nearby_stores", &[("area", "종로구")])
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(&stores)[0], "종로 할매국밥");

    // A store's menu for anyone, even with a session cookie no session has.
    let (store_id, menu) = mapo_store(&app).await;
    assert_eq!(menu["name"], "마포 즉석떡볶이");
    let response = anyone
        .post(format!("{}/api/get_store_menu", app.url))
        .header(header::ACCEPT, "application/json")
        .header(
            header::COOKIE,
            format!("baedal_session={}", "ab".repeat(32)),
        )
        .form(&[("store_id", store_id.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (status, _) = app
        .call(&anyone, "get_store_menu", &[("store_id", "999999")])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Paying is still for customers only.
    let food = menu["menu"][0]["id"].as_i64().unwrap();
    let checkout = serde_json::json!({
        "store_id": store_id,
        "lines": [{"food_id": food, "quantity": 1}],
        "idempotency_key": uuid::Uuid::new_v4().to_string(),
        "card_number": server::sandbox_pay::APPROVE_CARD,
    });
    let (status, _) = app.call_json(&anyone, "place_order", &checkout).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = app.call_json(&owner, "place_order", &checkout).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("orders").await, 0);
    app.teardown().await;
}
