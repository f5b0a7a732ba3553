//! Security hardening, on both engines: cross-site requests change nothing (CSRF), server
//! functions take only their declared body type, every answer carries the security headers
//! (with the page's own script nonce), `/metrics` is for operators, form-post redirects stay on
//! this site, and rate limits answer 429 with `Retry-After` until their window has passed.

mod common;

use common::{Backend, TestApp, DEMO_PASSWORD};
use reqwest::{header, Client, RequestBuilder, Response, StatusCode};
use serde_json::{json, Value};
use sqlx::Row;

on_both_backends!(
    cross_site_posts_change_nothing,
    configured_origins_are_accepted,
    server_functions_take_only_their_declared_body_type,
    every_answer_carries_the_security_headers,
    strict_transport_security_when_cookies_are_secure,
    metrics_are_for_operators,
    form_post_redirects_stay_on_this_site,
    sign_in_locks_out_after_failures_then_lets_in_again,
    sign_up_and_checkout_are_limited_per_address,
    forwarded_addresses_count_only_when_trusted,
    free_text_refuses_control_characters_and_invalid_utf8,
    undecodable_arguments_are_named,
    sessions_end_when_idle,
    sessions_end_at_their_lifetime_however_busy,
    sign_out_ends_the_session_for_every_holder,
    request_heads_over_the_read_buffer_are_refused_and_bodies_are_not,
);

/// The owner's first store (마포 즉석떡볶이 and friends), read from `my_stores`.
async fn owner_store(app: &TestApp, owner: &Client) -> i64 {
    let (status, stores) = app.call(owner, "my_stores", &[]).await;
    assert_eq!(status, StatusCode::OK, "{stores}");
    stores[0]["id"].as_i64().expect("store id")
}

async fn store_is_open(app: &TestApp, store_id: i64) -> bool {
    let open: i64 = sqlx::query("SELECT is_open FROM stores WHERE id = $1")
        .bind(store_id)
        .fetch_one(app.server.state.db.reader())
        .await
        .expect("store exists")
        .try_get(0)
        .expect("flag");
    open == 1
}

/// `set_store_open(store_id, false)` as `owner`, with extra headers.
fn close_store(app: &TestApp, owner: &Client, store_id: i64) -> RequestBuilder {
    owner
        .post(format!("{}/api/set_store_open", app.url))
        .header(header::ACCEPT, "application/json")
        .form(&[("store_id", store_id.to_string()), ("open", "false".into())])
}

async fn cross_site_posts_change_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.signed_in("owner@baedal.kr").await;
    let customer = app.signed_in("customer@baedal.kr").await;
    let store_id = owner_store(&app, &owner).await;
    let host = app.url.trim_start_matches("http://").to_string();
    let port: u16 = host.rsplit(':').next().unwrap().parse().unwrap();
    let other_port = format!("http://127.0.0.1:{}", port.wrapping_add(1));
    let refused: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "evil origin, cross-site",
            vec![
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "cross-site"),
            ],
        ),
        (
            "evil origin alone",
            vec![("origin", "https://evil.example")],
        ),
        (
            "another port of the same host",
            vec![("origin", &other_port)],
        ),
        ("a sandboxed frame", vec![("origin", "null")]),
        (
            "no origin, cross-site",
            vec![("sec-fetch-site", "cross-site")],
        ),
        (
            "no origin, same-site",
            vec![("sec-fetch-site", "same-site")],
        ),
        ("another host name", vec![("origin", "http://localhost")]),
    ];
    let before = app.snapshot().await;
    for (what, headers) in &refused {
        let mut request = close_store(&app, &owner, store_id);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{what}");
        assert_security_headers(&response, what);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "forbidden", "{what}");
        assert!(
            store_is_open(&app, store_id).await,
            "{what} closed the store"
        );
    }
    // A cross-site sign-out (a classic nuisance) and a cross-site checkout are refused too.
    let (store, food) = app.first_food(&customer).await;
    let response = customer
        .post(format!("{}/api/place_order", app.url))
        .header("origin", "https://evil.example")
        .json(&checkout(store, food))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = customer
        .post(format!("{}/api/sign_out", app.url))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let (status, me) = app.call(&customer, "who_am_i", &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], "customer@baedal.kr", "still signed in");
    assert_eq!(app.count("orders").await, 0);
    assert!(app.charges().await.is_empty());
    assert_eq!(app.snapshot().await, before);

    // Our own pages: the same request from this origin (as the browser sends it) works …
    let response = close_store(&app, &owner, store_id)
        .header("origin", &app.url)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(!store_is_open(&app, store_id).await);
    // … and so does a browser that sends only Sec-Fetch-Site, and a non-browser client.
    for headers in [vec![("sec-fetch-site", "same-origin")], vec![]] {
        let mut request = owner
            .post(format!("{}/api/set_store_open", app.url))
            .form(&[("store_id", store_id.to_string()), ("open", "true".into())]);
        for (name, value) in &headers {
            request = request.header(*name, *value);
        }
        assert_eq!(request.send().await.unwrap().status(), StatusCode::OK);
        assert!(store_is_open(&app, store_id).await);
        let (status, _) = app
            .call(
                &owner,
                "set_store_open",
                &[("store_id", &store_id.to_string()), ("open", "false")],
            )
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    app.teardown().await;
}

async fn configured_origins_are_accepted(backend: Backend) {
    let Some(app) = TestApp::spawn_with(
        backend,
        &[(
            "BAEDAL_ALLOWED_ORIGINS",
            "https://baedal.example, https://www.baedal.example",
        )],
    )
    .await
    else {
        return;
    };
    let owner = app.signed_in("owner@baedal.kr").await;
    let store_id = owner_store(&app, &owner).await;
    let response = close_store(&app, &owner, store_id)
        .header("origin", "https://evil.baedal.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(store_is_open(&app, store_id).await);
    let response = close_store(&app, &owner, store_id)
        .header("origin", "https://baedal.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(!store_is_open(&app, store_id).await);
    app.teardown().await;
}

fn checkout(store_id: i64, food_id: i64) -> Value {
    json!({
        "store_id": store_id,
        "lines": [{"food_id": food_id, "quantity": 1}],
        "idempotency_key": uuid::Uuid::new_v4().to_string(),
        "card_number": server::sandbox_pay::APPROVE_CARD,
    })
}

async fn server_functions_take_only_their_declared_body_type(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let (store_id, food_id) = app.first_food(&customer).await;
    let body = checkout(store_id, food_id).to_string();
    let before = app.snapshot().await;
    // What any web page can send without a preflight, and other wrong types.
    for content_type in [
        Some("text/plain"),
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let mut request = customer
            .post(format!("{}/api/place_order", app.url))
            .header(header::ACCEPT, "application/json")
            .body(body.clone());
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        let response = request.send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type:?}"
        );
        assert_security_headers(&response, "415");
        let answer: Value = response.json().await.unwrap();
        assert!(
            answer["message"]
                .as_str()
                .unwrap()
                .contains("application/json"),
            "{answer}"
        );
    }
    assert_eq!(app.count("orders").await, 0);
    assert!(app.charges().await.is_empty(), "nothing was charged");
    assert_eq!(app.snapshot().await, before);

    // A form function refuses JSON and text/plain; nothing changes.
    for (content_type, body) in [
        (
            "application/json",
            r#"{"address":"서울 강남구 테헤란로 152"}"#,
        ),
        ("text/plain", "address=서울 강남구 테헤란로 152"),
    ] {
        let response = customer
            .post(format!("{}/api/set_delivery_address", app.url))
            .header(header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "{content_type}"
        );
    }
    let (_, me) = app.call(&customer, "who_am_i", &[]).await;
    assert_eq!(me["district"], "마포구");

    // The declared types work (so the refusals above are about the type, not the request).
    let (status, order) = app
        .call_json(&customer, "place_order", &checkout(store_id, food_id))
        .await;
    assert_eq!(status, StatusCode::OK, "{order}");
    let (status, me) = app
        .call(
            &customer,
            "set_delivery_address",
            &[("address", "서울 강남구 테헤란로 152")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me["district"], "강남구");
    app.teardown().await;
}

/// The headers every answer but a build asset (a file under `/pkg/`, see below) must carry.
fn assert_security_headers(response: &Response, what: &str) {
    let headers = response.headers();
    let get = |name: &str| {
        headers
            .get(name)
            .unwrap_or_else(|| panic!("{what}: no {name} header"))
            .to_str()
            .unwrap()
            .to_string()
    };
    let csp = get("content-security-policy");
    let script_src = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src "))
        .unwrap_or_else(|| panic!("{what}: no script-src in {csp}"));
    assert!(script_src.contains("'nonce-"), "{what}: {csp}");
    assert!(script_src.contains("'wasm-unsafe-eval'"), "{what}: {csp}");
    assert!(!csp.contains("script-src 'unsafe-inline'") && !script_src.contains("unsafe-inline"));
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    assert!(csp.contains("connect-src 'self'"), "{what}: {csp}");
    assert!(csp.contains("object-src 'none'"), "{what}: {csp}");
    assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(get("x-frame-options"), "DENY", "{what}");
    assert_eq!(
        get("referrer-policy"),
        "strict-origin-when-cross-origin",
        "{what}"
    );
    assert!(get("permissions-policy").contains("geolocation="), "{what}");
}

/// The nonce a CSP header names.
fn csp_nonce(response: &Response) -> String {
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    csp.split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce")
        .to_string()
}

async fn every_answer_carries_the_security_headers(backend: Backend) {
    // A site root of our own, so that the asset below is served by the static-file path.
    let site = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(site.path().join("pkg")).unwrap();
    std::fs::write(site.path().join("pkg/test.css"), "body { color: black }").unwrap();
    let site_root = site.path().display().to_string();
    let Some(app) = TestApp::spawn_with(backend, &[("BAEDAL_SITE_ROOT", &site_root)]).await else {
        return;
    };
    let client = app.client();
    let get = |path: &str| {
        client
            .get(format!("{}{path}", app.url))
            .header(header::ACCEPT, "text/html")
            .send()
    };

    // A page: the CSP's nonce is the one on every script of the page, fresh per answer.
    let page = get("/signin").await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_security_headers(&page, "/signin");
    let nonce = csp_nonce(&page);
    assert!(nonce.len() >= 22, "{nonce}");
    let html = page.text().await.unwrap();
    let scripts = html.matches("<script").count();
    assert!(scripts >= 1, "{html}");
    assert_eq!(
        html.matches(&format!("<script nonce=\"{nonce}\"")).count()
            + html
                .matches(&format!("<script type=\"module\" nonce=\"{nonce}\""))
                .count(),
        scripts,
        "every script carries the header's nonce: {html}"
    );
    let again = get("/signin").await.unwrap();
    assert_ne!(csp_nonce(&again), nonce, "a nonce is used once");

    // A signed-in page with streamed data, the sign-in redirect, a 404 page.
    let customer = app.signed_in("customer@baedal.kr").await;
    let home = customer
        .get(format!("{}/", app.url))
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    assert_security_headers(&home, "/");
    assert!(home.headers()["permissions-policy"]
        .to_str()
        .unwrap()
        .contains("geolocation=()"));
    let nonce = csp_nonce(&home);
    let html = home.text().await.unwrap();
    assert!(html.contains(&format!("nonce=\"{nonce}\"")), "{html}");
    let redirect = get("/orders").await.unwrap();
    assert_eq!(redirect.status(), StatusCode::SEE_OTHER);
    assert_security_headers(&redirect, "303 to sign in");
    let missing = get("/no/such/page").await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_security_headers(&missing, "404 page");

    // The rider's page may ask for the location; other answers may not.
    let rider = app.signed_in("rider@baedal.kr").await;
    let rider_page = rider
        .get(format!("{}/rider", app.url))
        .header(header::ACCEPT, "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(rider_page.status(), StatusCode::OK);
    assert_security_headers(&rider_page, "/rider");
    assert!(rider_page.headers()["permissions-policy"]
        .to_str()
        .unwrap()
        .contains("geolocation=(self)"));

    // An asset from the site root.
    let asset = get("/pkg/test.css").await.unwrap();
    assert_eq!(asset.status(), StatusCode::OK);
    assert!(asset.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    // A subresource: the headers that act on one, not the document's (a stylesheet, a script
    // or a wasm module runs under the policy of the page that loads it).
    let headers = asset.headers();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(
        headers["referrer-policy"],
        "strict-origin-when-cross-origin"
    );
    for document_only in [
        "content-security-policy",
        "x-frame-options",
        "cross-origin-opener-policy",
        "permissions-policy",
    ] {
        assert!(
            !headers.contains_key(document_only),
            "/pkg/test.css: {document_only}"
        );
    }

    // A file that is not there: the app's 404 page, a document, with all of a page's headers.
    let missing = get("/pkg/no-such-file.js").await.unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_security_headers(&missing, "/pkg/no-such-file.js");

    // Server functions (answer and refusal), operations, the live stream.
    let api = client
        .post(format!("{}/api/who_am_i", app.url))
        .header(header::ACCEPT, "application/json")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::OK);
    assert_security_headers(&api, "/api/who_am_i");
    let refused = client
        .post(format!("{}/api/my_orders", app.url))
        .header(header::ACCEPT, "application/json")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_security_headers(&refused, "401 from a server function");
    for (path, status) in [
        ("/healthz", StatusCode::OK),
        ("/readyz", StatusCode::OK),
        ("/metrics", StatusCode::OK),
        ("/live", StatusCode::UNAUTHORIZED),
    ] {
        let response = client
            .get(format!("{}{path}", app.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{path}");
        assert_security_headers(&response, path);
        assert!(
            !response.headers().contains_key("strict-transport-security"),
            "no HSTS over plain HTTP"
        );
    }
    // Too large a body (413) is answered before any handler, still with the headers.
    let huge = client
        .post(format!("{}/api/sign_in", app.url))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(vec![b'a'; 100 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_security_headers(&huge, "413");
    app.teardown().await;
}

/// The server caps hyper's read buffer at 8 KiB (`server::listener`, for the memory of every
/// open page): a request head up to that is served, a longer one gets 431 and changes nothing,
/// and bodies larger than the buffer still arrive whole.
async fn request_heads_over_the_read_buffer_are_refused_and_bodies_are_not(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let client = Client::new();
    let healthz = |padding: usize| {
        client
            .get(format!("{}/healthz", app.url))
            .header("x-padding", "a".repeat(padding))
            .send()
    };
    assert_eq!(healthz(7 * 1024).await.unwrap().status(), StatusCode::OK);
    let refused = healthz(server::listener::READ_BUFFER).await.unwrap();
    assert_eq!(
        refused.status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    assert_eq!(healthz(0).await.unwrap().status(), StatusCode::OK);

    // A 40 KiB form (five read buffers) reaches the server function whole: a password that
    // long is refused by name (422), not cut off or refused as too large.
    let form: Vec<_> = customer_form("long-body@example.com")
        .into_iter()
        .map(|(field, value)| match field {
            "password" => (field, "p".repeat(40 * 1024)),
            _ => (field, value),
        })
        .collect();
    let response = client
        .post(format!("{}/api/sign_up", app.url))
        .header(header::ACCEPT, "application/json")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = response.text().await.unwrap();
    assert!(body.contains("password"), "the field is named: {body}");
    app.teardown().await;
}

async fn strict_transport_security_when_cookies_are_secure(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &[("BAEDAL_SECURE_COOKIES", "true")]).await else {
        return;
    };
    for path in ["/signin", "/healthz"] {
        let response = app
            .client()
            .get(format!("{}{path}", app.url))
            .send()
            .await
            .unwrap();
        let hsts = response.headers()["strict-transport-security"]
            .to_str()
            .unwrap();
        assert!(hsts.starts_with("max-age="), "{path}: {hsts}");
    }
    app.teardown().await;
}

async fn metrics_are_for_operators(backend: Backend) {
    // Without a token: this machine only, and never through a proxy.
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let client = app.client();
    let metrics = |headers: Vec<(&'static str, &'static str)>| {
        let mut request = client.get(format!("{}/metrics", app.url));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    let local = metrics(vec![]).await.unwrap();
    assert_eq!(local.status(), StatusCode::OK);
    assert!(local
        .text()
        .await
        .unwrap()
        .contains("baedal_http_requests_total"));
    let proxied = metrics(vec![("x-forwarded-for", "203.0.113.9")])
        .await
        .unwrap();
    assert_eq!(proxied.status(), StatusCode::UNAUTHORIZED);
    assert!(!proxied.text().await.unwrap().contains("baedal_"));
    app.teardown().await;

    // With a token: only with it, even from this machine.
    let Some(app) = TestApp::spawn_with(backend, &[("BAEDAL_METRICS_TOKEN", "s3cret-token")]).await
    else {
        return;
    };
    let client = app.client();
    for authorization in [
        None,
        Some("Bearer wrong-token"),
        Some("s3cret-token"),
        Some("Basic s3cret-token"),
    ] {
        let mut request = client.get(format!("{}/metrics", app.url));
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{authorization:?}"
        );
        assert!(!response.text().await.unwrap().contains("baedal_"));
    }
    let response = client
        .get(format!("{}/metrics", app.url))
        .bearer_auth("s3cret-token")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response
        .text()
        .await
        .unwrap()
        .contains("baedal_http_requests_total"));
    app.teardown().await;
}

async fn form_post_redirects_stay_on_this_site(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // A no-JS form post (Accept: text/html) is sent back to its page, the Referer — but only
    // to a page of this site. (A failed one keeps its error status, and with it the Location.)
    let post = |referer: String, password: &'static str| {
        app.client()
            .post(format!("{}/api/sign_in", app.url))
            .header(header::ACCEPT, "text/html")
            .header(header::REFERER, referer)
            .form(&[("email", "customer@baedal.kr"), ("password", password)])
            .send()
    };
    for (referer, expected) in [
        ("https://evil.example/phish".to_string(), "/"),
        ("//evil.example/phish".to_string(), "/"),
        ("/\\evil.example".to_string(), "/"),
        (format!("{}//evil.example/x", app.url), "/"),
        (
            format!("{}/signin?next=%2Forders", app.url),
            "/signin?next=%2Forders",
        ),
    ] {
        for password in ["wrong password", DEMO_PASSWORD] {
            let response = post(referer.clone(), password).await.unwrap();
            let expected_status = if password == DEMO_PASSWORD {
                StatusCode::FOUND
            } else {
                StatusCode::UNAUTHORIZED
            };
            assert_eq!(response.status(), expected_status, "{referer}");
            let location = response.headers()[header::LOCATION].to_str().unwrap();
            // Leptos adds the error to the page's address, for the page to show.
            let page = location.split("&__path=").next().unwrap();
            assert_eq!(page, expected, "Referer {referer}, password {password:?}");
            assert!(!location.contains("evil"), "{location}");
        }
    }
    app.teardown().await;
}

async fn sign_in_locks_out_after_failures_then_lets_in_again(backend: Backend) {
    let Some(app) = TestApp::spawn_with(
        backend,
        &[
            ("BAEDAL_LIMIT_SIGNIN_ACCOUNT", "3/2"),
            ("BAEDAL_LIMIT_SIGNIN_ADDRESS", "6/2"),
        ],
    )
    .await
    else {
        return;
    };
    let client = app.client();
    let (app_ref, client_ref) = (&app, &client);
    let sign_in = |email: &'static str, password: &'static str| async move {
        app_ref
            .call(
                client_ref,
                "sign_in",
                &[("email", email), ("password", password)],
            )
            .await
    };
    for _ in 0..3 {
        let (status, _) = sign_in("owner@baedal.kr", "wrong password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // Locked: even the right password is refused, with the wait and words for a person.
    let response = client
        .post(format!("{}/api/sign_in", app.url))
        .header(header::ACCEPT, "application/json")
        .form(&[("email", "owner@baedal.kr"), ("password", DEMO_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = response.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "too_many_requests");
    assert_eq!(
        body["message"],
        "요청이 너무 많습니다. 잠시 후 다시 시도해 주세요."
    );
    assert_eq!(app.count("sessions").await, 0, "no session was made");
    // Another account from the same address is not locked (yet).
    let (status, _) = sign_in("customer@baedal.kr", DEMO_PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    // Failures across accounts lock the address.
    for email in ["rider@baedal.kr", "rider2@baedal.kr", "nobody@baedal.kr"] {
        let (status, _) = sign_in(email, "wrong password").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{email}");
    }
    let (status, body) = sign_in("customer2@baedal.kr", DEMO_PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");

    // After the window, the right password works again.
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, user) = sign_in("owner@baedal.kr", DEMO_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["email"], "owner@baedal.kr");
    app.teardown().await;
}

fn customer_form(email: &str) -> Vec<(&'static str, String)> {
    vec![
        ("role", "customer".into()),
        ("email", email.into()),
        ("password", "correct horse".into()),
        ("display_name", "손님".into()),
        ("address", "서울 마포구 양화로 45".into()),
    ]
}

async fn sign_up_and_checkout_are_limited_per_address(backend: Backend) {
    let Some(app) = TestApp::spawn_with(
        backend,
        &[
            ("BAEDAL_LIMIT_SIGNUP_ADDRESS", "2/2"),
            ("BAEDAL_LIMIT_CHECKOUT_ADDRESS", "2/2"),
        ],
    )
    .await
    else {
        return;
    };
    let sign_up = |email: String| {
        let client = app.client();
        let url = format!("{}/api/sign_up", app.url);
        async move {
            let response = client
                .post(url)
                .header(header::ACCEPT, "application/json")
                .form(&customer_form(&email))
                .send()
                .await
                .unwrap();
            let status = response.status();
            let retry = response.headers().get(header::RETRY_AFTER).cloned();
            (status, retry)
        }
    };
    let users = app.count("users").await;
    assert_eq!(sign_up("a@example.com".into()).await.0, StatusCode::OK);
    assert_eq!(sign_up("b@example.com".into()).await.0, StatusCode::OK);
    let (status, retry) = sign_up("c@example.com".into()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry.is_some());
    assert_eq!(app.count("users").await, users + 2);

    let customer = app.signed_in("customer@baedal.kr").await;
    let (store_id, food_id) = app.first_food(&customer).await;
    for _ in 0..2 {
        let (status, order) = app
            .call_json(&customer, "place_order", &checkout(store_id, food_id))
            .await;
        assert_eq!(status, StatusCode::OK, "{order}");
    }
    let (status, body) = app
        .call_json(&customer, "place_order", &checkout(store_id, food_id))
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(app.count("orders").await, 2);
    assert_eq!(
        app.charges().await.len(),
        2,
        "the refused checkout charged nothing"
    );

    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(sign_up("c@example.com".into()).await.0, StatusCode::OK);
    let (status, order) = app
        .call_json(&customer, "place_order", &checkout(store_id, food_id))
        .await;
    assert_eq!(status, StatusCode::OK, "{order}");
    app.teardown().await;
}

async fn forwarded_addresses_count_only_when_trusted(backend: Backend) {
    let limit = [("BAEDAL_LIMIT_SIGNUP_ADDRESS", "1/60")];
    let sign_up = |app: &TestApp, email: &str, forwarded: &'static str| {
        app.client()
            .post(format!("{}/api/sign_up", app.url))
            .header(header::ACCEPT, "application/json")
            .header("x-forwarded-for", forwarded)
            .form(&customer_form(email))
            .send()
    };
    // Not trusted: a client cannot escape its limit by claiming another address.
    let Some(app) = TestApp::spawn_with(backend, &limit).await else {
        return;
    };
    let first = sign_up(&app, "a@example.com", "198.51.100.1")
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let second = sign_up(&app, "b@example.com", "198.51.100.2")
        .await
        .unwrap();
    assert_eq!(second.status(), StatusCode::TOO_MANY_REQUESTS);
    app.teardown().await;

    // Trusted: the gateway's entry (the last one) is the client; earlier ones are ignored.
    let mut settings = limit.to_vec();
    settings.push(("BAEDAL_TRUST_FORWARDED", "true"));
    let Some(app) = TestApp::spawn_with(backend, &settings).await else {
        return;
    };
    let first = sign_up(&app, "a@example.com", "198.51.100.1")
        .await
        .unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let other_client = sign_up(&app, "b@example.com", "198.51.100.2")
        .await
        .unwrap();
    assert_eq!(other_client.status(), StatusCode::OK);
    let spoofed = sign_up(&app, "c@example.com", "203.0.113.7, 198.51.100.1")
        .await
        .unwrap();
    assert_eq!(spoofed.status(), StatusCode::TOO_MANY_REQUESTS);
    app.teardown().await;
}

async fn free_text_refuses_control_characters_and_invalid_utf8(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.signed_in("owner@baedal.kr").await;
    let store_id = owner_store(&app, &owner).await.to_string();
    let foods = app.count("foods").await;
    // Raw bodies, so that bytes no form encoder would send reach the server as they are.
    let cases = [
        ("description", "description=%EA%B5%AD%00%EB%AC%BC"), // NUL
        ("description", "description=a%0Ab"),                 // newline
        ("description", "description=a%1B%5B31mb"),           // escape sequence
        ("description", "description=%FF%FE"),                // invalid UTF-8
        ("name", "name=%EB%96%A1%C3%28"),                     // invalid UTF-8 in the name
        ("name", "name=a%00"),
    ];
    for (field, variable) in cases {
        let mut body = format!("store_id={store_id}&price=5000");
        if !variable.starts_with("name=") {
            body.push_str("&name=%EB%96%A1%EB%B3%B6%EC%9D%B4");
        }
        body.push('&');
        body.push_str(variable);
        let response = owner
            .post(format!("{}/api/save_food", app.url))
            .header(header::ACCEPT, "application/json")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let status = response.status();
        let answer: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert_eq!(answer["fields"][0]["field"], field, "{body}: {answer}");
    }
    assert_eq!(app.count("foods").await, foods, "nothing was stored");
    // Ordinary Korean text with spaces is fine.
    let (status, id) = app
        .call(
            &owner,
            "save_food",
            &[
                ("store_id", store_id.as_str()),
                ("name", "떡볶이 세트"),
                ("description", "국물 가득, 매콤 달콤"),
                ("price", "5000"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{id}");
    assert_eq!(app.count("foods").await, foods + 1);
    app.teardown().await;
}

async fn undecodable_arguments_are_named(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let owner = app.signed_in("owner@baedal.kr").await;
    let store_id = owner_store(&app, &owner).await.to_string();
    let before = app.snapshot().await;
    type Case<'a> = (&'a str, Vec<(&'a str, &'a str)>, &'a str);
    let cases: Vec<Case> = vec![
        (
            "set_store_open",
            vec![("store_id", "abc"), ("open", "false")],
            "store_id",
        ),
        (
            "set_store_open",
            vec![("store_id", "99999999999999999999"), ("open", "false")],
            "store_id",
        ),
        (
            "set_store_open",
            vec![("store_id", &store_id), ("open", "maybe")],
            "open",
        ),
        ("set_store_open", vec![("open", "false")], "store_id"),
        (
            "set_food_stock",
            vec![("food_id", "1.5"), ("stock", "3")],
            "food_id",
        ),
        ("set_food_stock", vec![("food_id", "1")], "stock"),
        (
            "order_action",
            vec![("order_id", "-"), ("action", "accept")],
            "order_id",
        ),
        (
            "save_food",
            vec![
                ("store_id", &store_id),
                ("name", "a"),
                ("price", "1"),
                ("hidden", "2"),
            ],
            "hidden",
        ),
        ("get_store_dashboard", vec![("store_id", "")], "store_id"),
    ];
    for (function, form, field) in cases {
        let (status, body) = app.call(&owner, function, &form).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{function} {form:?}: {body}"
        );
        assert_eq!(body["error"], "bad_request", "{body}");
        assert_eq!(
            body["fields"][0]["field"], field,
            "{function} {form:?}: {body}"
        );
        assert!(body["message"].as_str().unwrap().contains(field), "{body}");
    }
    assert_eq!(app.snapshot().await, before);
    assert!(store_is_open(&app, store_id.parse().unwrap()).await);
    // A body that is not JSON at all blames no argument, but is still a 400.
    let response = owner
        .post(format!("{}/api/place_order", app.url))
        .header(header::CONTENT_TYPE, "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    app.teardown().await;
}

/// Signs in as `email` and returns the session cookie (`name=value`) the server set.
async fn session_cookie(app: &TestApp, email: &str) -> String {
    let response = app
        .client()
        .post(format!("{}/api/sign_in", app.url))
        .header(header::ACCEPT, "application/json")
        .form(&[("email", email), ("password", DEMO_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers()[header::SET_COOKIE].to_str().unwrap();
    cookie.split(';').next().unwrap().to_string()
}

/// Who the server says holds `cookie` (`who_am_i`): the e-mail, or `None` when signed out.
async fn holder(app: &TestApp, cookie: &str) -> Option<String> {
    let response = app
        .client()
        .post(format!("{}/api/who_am_i", app.url))
        .header(header::ACCEPT, "application/json")
        .header(header::COOKIE, cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let me: Value = response.json().await.unwrap();
    me["email"].as_str().map(str::to_string)
}

/// A protected call and a protected page with `cookie`: (server function status, page status).
async fn protected(app: &TestApp, cookie: &str) -> (StatusCode, StatusCode) {
    let call = app
        .client()
        .post(format!("{}/api/my_orders", app.url))
        .header(header::ACCEPT, "application/json")
        .header(header::COOKIE, cookie)
        .send()
        .await
        .unwrap();
    let page = app
        .client()
        .get(format!("{}/orders", app.url))
        .header(header::ACCEPT, "text/html")
        .header(header::COOKIE, cookie)
        .send()
        .await
        .unwrap();
    (call.status(), page.status())
}

async fn last_seen(app: &TestApp) -> Vec<i64> {
    sqlx::query("SELECT last_seen_at FROM sessions ORDER BY last_seen_at")
        .fetch_all(app.server.state.db.reader())
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get(0).unwrap())
        .collect()
}

async fn sessions_end_when_idle(backend: Backend) {
    // Default idle timeout: use is recorded at most once a minute, not on every request.
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let cookie = session_cookie(&app, "customer@baedal.kr").await;
    let seen = last_seen(&app).await;
    assert_eq!(seen.len(), 1);
    for _ in 0..5 {
        assert_eq!(
            holder(&app, &cookie).await.as_deref(),
            Some("customer@baedal.kr")
        );
    }
    assert_eq!(last_seen(&app).await, seen, "no write per request");
    app.teardown().await;

    let Some(app) = TestApp::spawn_with(backend, &[("BAEDAL_SESSION_IDLE_S", "3")]).await else {
        return;
    };
    let cookie = session_cookie(&app, "customer@baedal.kr").await;
    let first_seen = last_seen(&app).await;
    // Used every second for longer than the idle timeout: still signed in.
    for _ in 0..5 {
        tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
        assert_eq!(
            holder(&app, &cookie).await.as_deref(),
            Some("customer@baedal.kr"),
            "a session in use stays"
        );
    }
    assert!(last_seen(&app).await[0] > first_seen[0], "use was recorded");
    assert_eq!(
        protected(&app, &cookie).await,
        (StatusCode::OK, StatusCode::OK)
    );
    // Then left alone past the idle timeout: signed out everywhere.
    tokio::time::sleep(std::time::Duration::from_millis(3500)).await;
    assert_eq!(holder(&app, &cookie).await, None);
    assert_eq!(
        protected(&app, &cookie).await,
        (StatusCode::UNAUTHORIZED, StatusCode::SEE_OTHER)
    );
    // The ended row is swept at the next sign-in.
    let fresh = session_cookie(&app, "owner@baedal.kr").await;
    assert_eq!(app.count("sessions").await, 1);
    assert_eq!(
        holder(&app, &fresh).await.as_deref(),
        Some("owner@baedal.kr")
    );
    app.teardown().await;
}

async fn sessions_end_at_their_lifetime_however_busy(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &[("BAEDAL_SESSION_MAX_S", "3")]).await else {
        return;
    };
    let cookie = session_cookie(&app, "owner@baedal.kr").await;
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_millis(2000) {
        assert_eq!(
            holder(&app, &cookie).await.as_deref(),
            Some("owner@baedal.kr")
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    while started.elapsed() < std::time::Duration::from_millis(3300) {
        let _ = holder(&app, &cookie).await;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    assert_eq!(
        holder(&app, &cookie).await,
        None,
        "busy, but past its lifetime"
    );
    let call = app
        .client()
        .post(format!("{}/api/my_stores", app.url))
        .header(header::ACCEPT, "application/json")
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(call.status(), StatusCode::UNAUTHORIZED);
    app.teardown().await;
}

async fn sign_out_ends_the_session_for_every_holder(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &[("BAEDAL_LIVE_RECHECK_MS", "200")]).await else {
        return;
    };
    let cookie = session_cookie(&app, "customer@baedal.kr").await;
    let other = session_cookie(&app, "customer@baedal.kr").await;
    // A live stream and a second client holding the same cookie.
    let mut headers = header::HeaderMap::new();
    headers.insert(header::COOKIE, cookie.parse().unwrap());
    let holder_client = Client::builder().default_headers(headers).build().unwrap();
    let mut stream = common::LiveStream::open(&app, &holder_client).await;
    let response = app
        .client()
        .post(format!("{}/api/sign_out", app.url))
        .header(header::ACCEPT, "application/json")
        .header(header::COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(holder(&app, &cookie).await, None);
    assert_eq!(
        protected(&app, &cookie).await,
        (StatusCode::UNAUTHORIZED, StatusCode::SEE_OTHER)
    );
    assert!(
        stream.ended(std::time::Duration::from_secs(5)).await,
        "the live stream ended"
    );
    // The same person's other session (another device) is untouched.
    assert_eq!(
        holder(&app, &other).await.as_deref(),
        Some("customer@baedal.kr")
    );
    app.teardown().await;
}
