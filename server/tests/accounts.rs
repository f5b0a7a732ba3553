//! Accounts, sessions and role checks, over HTTP against the real server, on both engines.

mod common;

use common::{Backend, TestApp, DEMO_PASSWORD};
use reqwest::StatusCode;
use serde_json::Value;

on_both_backends!(
    every_demo_account_signs_in_with_its_role,
    each_role_can_sign_up_and_is_signed_in_at_once,
    a_taken_email_is_a_field_error_and_changes_nothing,
    bad_sign_up_fields_are_each_named_and_change_nothing,
    malformed_requests_are_rejected_with_400,
    wrong_password_and_unknown_email_get_the_same_answer,
    sign_in_rotates_the_session_and_sign_out_ends_it,
    protected_functions_need_a_session_and_the_right_role,
    pages_redirect_to_sign_in_or_show_403,
    concurrent_sign_ups_with_one_email_create_one_account,
    concurrent_writes_never_fail_with_database_locked,
    restart_keeps_accounts_and_does_not_seed_twice,
    owners_and_riders_sign_up_one_after_another,
);

fn field_names(body: &Value) -> Vec<String> {
    assert_eq!(
        body["error"], "invalid",
        "expected field errors, got {body}"
    );
    body["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_string())
        .collect()
}

fn customer_form(email: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("role", "customer"),
        ("email", email),
        ("password", "correct horse"),
        ("display_name", "새 고객"),
        ("phone", "010-9999-0000"),
        ("address", "서울 서초구 서초대로 77"),
        ("address_detail", "3층"),
    ]
}

async fn every_demo_account_signs_in_with_its_role(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for (email, role) in [
        ("customer@baedal.kr", "customer"),
        ("owner@baedal.kr", "owner"),
        ("rider@baedal.kr", "rider"),
        ("customer2@baedal.kr", "customer"),
        ("owner2@baedal.kr", "owner"),
        ("rider2@baedal.kr", "rider"),
    ] {
        let client = app.client();
        let user = app.sign_in(&client, email, DEMO_PASSWORD).await;
        assert_eq!(user["role"], role);
        let (status, me) = app.call(&client, "who_am_i", &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["email"], email);
    }
    app.teardown().await;
}

async fn each_role_can_sign_up_and_is_signed_in_at_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };

    let customer = app.client();
    let (status, user) = app
        .call(&customer, "sign_up", &customer_form("New@Example.com"))
        .await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["email"], "new@example.com", "e-mail is normalised");
    assert_eq!(user["district"], "서초구");
    let (status, stores) = app.call(&customer, "nearby_stores", &[]).await;
    assert_eq!(status, StatusCode::OK);
    let names: Vec<&str> = stores
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names[0], "강남 바삭치킨",
        "nearest to 서초구 first: {names:?}"
    );

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
    let (status, stores) = app.call(&owner, "my_stores", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stores.as_array().unwrap().len(), 1);
    assert_eq!(stores[0]["name"], "성수 파스타");
    assert_eq!(
        stores[0]["is_open"], false,
        "closed until it has a dish in stock"
    );

    let rider = app.client();
    let (status, _) = app
        .call(
            &rider,
            "sign_up",
            &[
                ("role", "rider"),
                ("email", "fast@example.com"),
                ("password", "correct horse"),
                ("display_name", "빠른배달"),
                ("district", "노원구"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, profile) = app.call(&rider, "rider_profile", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(profile["district"], "노원구");

    // The new accounts can sign in again later with what they chose.
    app.sign_in(&app.client(), "new@example.com", "correct horse")
        .await;
    app.teardown().await;
}

async fn a_taken_email_is_a_field_error_and_changes_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let before = app.snapshot().await;
    let (status, body) = app
        .call(
            &app.client(),
            "sign_up",
            &customer_form("CUSTOMER@baedal.kr"),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_names(&body), ["email"]);
    assert_eq!(body["fields"][0]["message"], "이미 가입된 이메일입니다.");
    assert_eq!(app.snapshot().await, before);
    app.teardown().await;
}

async fn bad_sign_up_fields_are_each_named_and_change_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let before = app.snapshot().await;
    let client = app.client();
    let long_name = "가".repeat(41);
    type Case<'a> = (Vec<(&'a str, &'a str)>, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            vec![
                ("role", ""),
                ("email", ""),
                ("password", ""),
                ("display_name", ""),
            ],
            vec!["role", "email", "password", "display_name"],
        ),
        (
            vec![
                ("role", "customer"),
                ("email", "not-an-email"),
                ("password", "short"),
                ("display_name", &long_name),
                ("address", "  "),
            ],
            vec!["email", "password", "display_name", "address"],
        ),
        (
            vec![
                ("role", "owner"),
                ("email", "o@example.com"),
                ("password", "correct horse"),
                ("display_name", "사장"),
                ("phone", "02-123-4567"),
            ],
            vec!["phone", "store_name", "store_address"],
        ),
        (
            vec![
                ("role", "admin"),
                ("email", "a@example.com"),
                ("password", "correct horse"),
                ("display_name", "관리자"),
            ],
            vec!["role"],
        ),
    ];
    for (form, expected) in cases {
        let (status, body) = app.call(&client, "sign_up", &form).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{form:?}: {body}");
        assert_eq!(field_names(&body), expected, "{form:?}");
        for field in body["fields"].as_array().unwrap() {
            assert!(!field["message"].as_str().unwrap().is_empty());
        }
    }
    let (status, body) = app
        .call(
            &client,
            "sign_up",
            &customer_form(&format!("{}@x.com", "a".repeat(250))),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_names(&body), ["email"]);
    assert_eq!(app.snapshot().await, before);
    app.teardown().await;
}

async fn malformed_requests_are_rejected_with_400(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let before = app.snapshot().await;
    let client = app.client();
    let (status, body) = app
        .call(
            &client,
            "sign_up",
            &[("role", "customer"), ("email", "x@y.com")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "bad_request");
    assert!(
        body["message"].as_str().unwrap().contains("password"),
        "names the missing field: {body}"
    );
    let (status, _) = app.call(&client, "sign_in", &[("email", "x@y.com")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(app.snapshot().await, before);
    app.teardown().await;
}

async fn wrong_password_and_unknown_email_get_the_same_answer(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let before = app.snapshot().await;
    let client = app.client();
    let (status, wrong_password) = app
        .call(
            &client,
            "sign_in",
            &[
                ("email", "customer@baedal.kr"),
                ("password", "not-the-password"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, unknown_email) = app
        .call(
            &client,
            "sign_in",
            &[
                ("email", "nobody@baedal.kr"),
                ("password", "not-the-password"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_password, unknown_email);
    assert_eq!(wrong_password["error"], "bad_credentials");

    let (status, body) = app
        .call(
            &client,
            "sign_in",
            &[("email", "customer@"), ("password", "")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_names(&body), ["email", "password"]);
    let (_, me) = app.call(&client, "who_am_i", &[]).await;
    assert_eq!(me, Value::Null, "no session after failed sign-ins");
    assert_eq!(app.snapshot().await, before);
    app.teardown().await;
}

fn session_cookie(response: &reqwest::Response) -> String {
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("baedal_session="))
        .expect("a session cookie is set");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    cookie.split(';').next().unwrap().to_string()
}

async fn sign_in_rotates_the_session_and_sign_out_ends_it(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let raw = reqwest::Client::new();
    let sign_in = |cookie: Option<String>| {
        let mut request = raw
            .post(format!("{}/api/sign_in", app.url))
            .form(&[("email", "owner@baedal.kr"), ("password", DEMO_PASSWORD)]);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        request.send()
    };
    let first = session_cookie(&sign_in(None).await.unwrap());
    let second = session_cookie(&sign_in(Some(first.clone())).await.unwrap());
    assert_ne!(first, second, "signing in issues a new session");

    let who = |cookie: String| {
        raw.post(format!("{}/api/who_am_i", app.url))
            .header("cookie", cookie)
            .send()
    };
    let old: Value = who(first.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(
        old,
        Value::Null,
        "the session presented at sign-in is dropped"
    );
    let current: Value = who(second.clone()).await.unwrap().json().await.unwrap();
    assert_eq!(current["email"], "owner@baedal.kr");

    let out = raw
        .post(format!("{}/api/sign_out", app.url))
        .header("cookie", second.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::OK);
    let cleared = out
        .headers()
        .get("set-cookie")
        .expect("sign-out clears the cookie")
        .to_str()
        .unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let after: Value = who(second).await.unwrap().json().await.unwrap();
    assert_eq!(after, Value::Null, "a copied cookie is dead after sign-out");
    app.teardown().await;
}

async fn protected_functions_need_a_session_and_the_right_role(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let anonymous = app.client();
    let customer = app.client();
    let owner = app.client();
    let rider = app.client();
    app.sign_in(&customer, "customer@baedal.kr", DEMO_PASSWORD)
        .await;
    app.sign_in(&owner, "owner@baedal.kr", DEMO_PASSWORD).await;
    app.sign_in(&rider, "rider@baedal.kr", DEMO_PASSWORD).await;

    // (The stores and their menus are open to anyone: browse.rs.)
    for (function, allowed) in [
        ("my_orders", &customer),
        ("my_stores", &owner),
        ("rider_profile", &rider),
    ] {
        let (status, body) = app.call(&anonymous, function, &[]).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{function} without a session"
        );
        assert_eq!(body["error"], "unauthenticated");
        for other in [&customer, &owner, &rider] {
            let (status, body) = app.call(other, function, &[]).await;
            if std::ptr::eq(other, allowed) {
                assert_eq!(status, StatusCode::OK, "{function}: {body}");
            } else {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{function} with another role"
                );
                assert_eq!(body["error"], "forbidden");
            }
        }
    }
    // An owner sees only their own stores.
    let (_, stores) = app.call(&owner, "my_stores", &[]).await;
    let names: Vec<&str> = stores
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["마포 즉석떡볶이", "강남 바삭치킨", "종로 할매국밥"]);
    app.teardown().await;
}

async fn pages_redirect_to_sign_in_or_show_403(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let anonymous = app.client();
    for path in ["/checkout", "/orders", "/store", "/store/menu", "/rider"] {
        let (status, location, _) = app.page(&anonymous, path).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(
            location.as_deref(),
            Some(format!("/signin?next={path}").as_str())
        );
    }
    let (status, _, html) = app.page(&anonymous, "/signin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("로그인"));
    // The home page is open to visitors (browse.rs).
    let (status, location, _) = app.page(&anonymous, "/").await;
    assert_eq!((status, location), (StatusCode::OK, None));

    let customer = app.client();
    app.sign_in(&customer, "customer@baedal.kr", DEMO_PASSWORD)
        .await;
    let (status, _, html) = app.page(&customer, "/").await;
    assert_eq!(status, StatusCode::OK);
    let nearest = html
        .find("마포 즉석떡볶이")
        .expect("the customer's district store is listed");
    let farther = html
        .find("송파 화덕피자")
        .expect("farther stores are listed");
    assert!(nearest < farther, "stores are sorted by distance");
    assert!(html.contains("준비 중"), "a closed store is marked");

    for path in ["/store", "/store/menu"] {
        let (status, _, html) = app.page(&customer, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(html.contains("이 화면을 볼 권한이 없습니다"), "{path}");
    }

    let owner = app.client();
    app.sign_in(&owner, "owner@baedal.kr", DEMO_PASSWORD).await;
    let (status, _, html) = app.page(&owner, "/store").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("강남 바삭치킨") && html.contains("신규"),
        "the order board of every store shown"
    );
    assert!(
        !html.contains("볶음밥 재고"),
        "the stock is the menu page's"
    );
    let (status, _, html) = app.page(&owner, "/store/menu").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("강남 바삭치킨") && html.contains("볶음밥 재고"),
        "menu with stock entry shown"
    );
    for path in ["/store", "/store/menu"] {
        let (_, _, html) = app.page(&owner, path).await;
        assert!(
            !html.contains("송파 화덕피자"),
            "another owner's store is not shown on {path}"
        );
    }
    let (status, _, _) = app.page(&owner, "/rider").await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, _, html) = app.page(&anonymous, "/no-such-page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("페이지를 찾을 수 없습니다"));
    app.teardown().await;
}

async fn concurrent_sign_ups_with_one_email_create_one_account(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let users_before = app.count("users").await;
    let attempts = (0..10).map(|_| {
        let client = app.client();
        let app = &app;
        async move {
            app.call(&client, "sign_up", &customer_form("race@example.com"))
                .await
        }
    });
    let results = futures::future::join_all(attempts).await;
    let won = results
        .iter()
        .filter(|(status, _)| *status == StatusCode::OK)
        .count();
    let refused = results
        .iter()
        .filter(|(status, body)| {
            *status == StatusCode::UNPROCESSABLE_ENTITY && field_names(body) == ["email"]
        })
        .count();
    assert_eq!((won, refused), (1, 9), "{results:?}");
    assert_eq!(app.count("users").await, users_before + 1);
    app.teardown().await;
}

async fn concurrent_writes_never_fail_with_database_locked(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let users_before = app.count("users").await;
    let emails: Vec<String> = (0..24).map(|i| format!("crowd{i}@example.com")).collect();
    let attempts = emails.iter().map(|email| {
        let client = app.client();
        let app = &app;
        async move {
            let (status, body) = app.call(&client, "sign_up", &customer_form(email)).await;
            assert_eq!(status, StatusCode::OK, "{email}: {body}");
            app.sign_in(&client, email, "correct horse").await;
            app.call(&client, "sign_out", &[]).await.0
        }
    });
    let statuses = futures::future::join_all(attempts).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(app.count("users").await, users_before + 24);
    app.teardown().await;
}

async fn restart_keeps_accounts_and_does_not_seed_twice(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let (status, _) = app
        .call(&app.client(), "sign_up", &customer_form("stay@example.com"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let before = app.snapshot().await;
    let app = app.restart().await;
    let mut after = app.snapshot().await;
    after.retain(|(table, _)| *table != "sessions");
    let mut before = before;
    before.retain(|(table, _)| *table != "sessions");
    assert_eq!(after, before);
    app.sign_in(&app.client(), "stay@example.com", "correct horse")
        .await;
    app.teardown().await;
}

/// Owners have no coordinates, riders do: the same insert runs with and without a location on
/// the same pooled connections.
async fn owners_and_riders_sign_up_one_after_another(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    for i in 0..8 {
        let owner_email = format!("owner{i}@example.com");
        let owner = [
            ("role", "owner"),
            ("email", owner_email.as_str()),
            ("password", "correct horse"),
            ("display_name", "사장"),
            ("store_name", "새 가게"),
            ("store_address", "서울 중구 세종대로 1"),
        ];
        let (status, body) = app.call(&app.client(), "sign_up", &owner).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let rider_email = format!("rider{i}@example.com");
        let rider = [
            ("role", "rider"),
            ("email", rider_email.as_str()),
            ("password", "correct horse"),
            ("display_name", "라이더"),
            ("district", "중구"),
        ];
        let (status, body) = app.call(&app.client(), "sign_up", &rider).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    app.teardown().await;
}

/// Several instances share PostgreSQL, and each remembers the sessions it looked up for a few
/// seconds (`session_cache`, 10 s): changing one's 동네 or signing out on one instance is seen
/// by another at once, pushed over the live-update channel rather than waited out.
#[tokio::test(flavor = "multi_thread")]
async fn another_instance_forgets_a_changed_district_and_a_signed_out_session_postgres() {
    let Some(app) = TestApp::spawn(Backend::Postgres).await else {
        return;
    };
    let other = app.another_instance(&[("BAEDAL_WORKER", "false")]).await;
    let raw = reqwest::Client::new();
    let signed_in = raw
        .post(format!("{}/api/sign_in", app.url))
        .form(&[("email", "customer@baedal.kr"), ("password", DEMO_PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookie = session_cookie(&signed_in);
    let who = |url: String| {
        raw.post(format!("{url}/api/who_am_i"))
            .header("cookie", cookie.clone())
            .send()
    };
    let seen: Value = who(other.url()).await.unwrap().json().await.unwrap();
    assert_eq!(seen["district"], "마포구");
    assert_eq!(
        other.state.live.sessions().len(),
        1,
        "the other instance remembers it"
    );

    let changed = raw
        .post(format!("{}/api/set_delivery_address", app.url))
        .header("cookie", cookie.clone())
        .form(&[("address", "서울 송파구 올림픽로 300")])
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    let mut district = Value::Null;
    for _ in 0..40 {
        let seen: Value = who(other.url()).await.unwrap().json().await.unwrap();
        district = seen["district"].clone();
        if district == "송파구" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        district, "송파구",
        "the other instance sees the new 동네 within 2 s"
    );

    let out = raw
        .post(format!("{}/api/sign_out", app.url))
        .header("cookie", cookie.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::OK);
    let mut seen = Value::Bool(true);
    for _ in 0..40 {
        seen = who(other.url()).await.unwrap().json().await.unwrap();
        if seen.is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        seen,
        Value::Null,
        "signed out on the other instance within 2 s"
    );
    other.shutdown().await.unwrap();
    app.teardown().await;
}
