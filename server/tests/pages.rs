//! Every page of every role, loaded as browsers load them: many at once, over and over, on a
//! multi-threaded runtime. A page that renders once in a test can still hang, balloon or wedge
//! the server when sixteen people open it at the same moment; this is where that shows. Every
//! load must also preload the page's own wasm file: Leptos added those links from whichever
//! reactive owner the thread had run last, and about 4 loads in 10 went without them (the
//! page's code then came a round trip later; vendor/README.md).

mod common;

use common::{Backend, TestApp};
use reqwest::{header, Client, StatusCode};
use std::time::Duration;

/// Loads of each page, and how many run at once.
const LOADS: usize = 112;
const AT_ONCE: usize = 16;
/// The longest a single load may take before it counts as hung.
const PAGE_TIMEOUT: Duration = Duration::from_secs(5);
/// A slow load is waited for this long, so a failure says whether the page was slow or hung.
const HUNG_AFTER: Duration = Duration::from_secs(30);
/// A page of this app with its data is a few tens of KB; a render that re-fetches its data
/// again and again grows into megabytes.
const MAX_PAGE_BYTES: usize = 256 * 1024;

struct PageCase {
    path: String,
    who: &'static str,
    client: Client,
    /// Text the rendered page must contain (its data was loaded, not just the shell).
    expect: &'static str,
}

/// Whether the page's `<head>` preloads a page's own wasm file (every page is a lazy route, see
/// `app::ui`) and the loader that instantiates it.
fn preloads_page_code(html: &str) -> bool {
    let head = html.split("</head>").next().unwrap_or_default();
    let links: Vec<&str> = head
        .split("<link ")
        .skip(1)
        .map(|link| link.split('>').next().unwrap_or_default())
        .collect();
    let page_file = links.iter().any(|link| {
        link.contains(r#"rel="preload""#) && link.contains("/split___") && link.contains(".wasm")
    });
    let loader = links
        .iter()
        .any(|link| link.contains(r#"rel="modulepreload""#) && link.contains("/__wasm_split."));
    page_file && loader
}

/// Loads `case` `LOADS` times, `AT_ONCE` at a time; returns every failure, described.
async fn hammer(url: &str, case: &PageCase) -> Vec<String> {
    use futures::stream::{self, StreamExt};
    let target = format!("{url}{}", case.path);
    let failures: Vec<String> = stream::iter(0..LOADS)
        .map(|_| {
            let client = case.client.clone();
            let target = target.clone();
            async move {
                let load = async {
                    let response = client
                        .get(&target)
                        .header(header::ACCEPT, "text/html")
                        .send()
                        .await
                        .map_err(|e| format!("request failed: {e}"))?;
                    let status = response.status();
                    let body = response
                        .text()
                        .await
                        .map_err(|e| format!("body failed: {e}"))?;
                    Ok::<_, String>((status, body))
                };
                let started = std::time::Instant::now();
                match tokio::time::timeout(HUNG_AFTER, load).await {
                    Err(_) => Some(format!("no answer within {HUNG_AFTER:?} (hung)")),
                    Ok(_) if started.elapsed() > PAGE_TIMEOUT => Some(format!(
                        "answered only after {:.1} s",
                        started.elapsed().as_secs_f64()
                    )),
                    Ok(Err(error)) => Some(error),
                    Ok(Ok((status, _))) if status != StatusCode::OK => Some(format!("{status}")),
                    Ok(Ok((_, body))) if body.len() > MAX_PAGE_BYTES => {
                        Some(format!("{} bytes", body.len()))
                    }
                    Ok(Ok((_, body))) if !body.contains(case.expect) => {
                        Some(format!("no {:?} in the page", case.expect))
                    }
                    Ok(Ok((_, body))) if !body.contains("</html>") => {
                        Some("the document is cut short".into())
                    }
                    Ok(Ok((_, body))) if !preloads_page_code(&body) => {
                        Some("no preload of the page's wasm file and the loader".into())
                    }
                    Ok(Ok(_)) => None,
                }
            }
        })
        .buffer_unordered(AT_ONCE)
        .filter_map(|failure| async move { failure })
        .collect()
        .await;
    failures
}

async fn every_page_of_every_role_answers_under_concurrent_loads(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    let (store_id, _, order_id) = app.order_first_food(&customer).await;
    let owner_of_three = app.signed_in("owner@baedal.kr").await;
    let owner_of_one = app.client();
    let (status, body) = app
        .call(
            &owner_of_one,
            "sign_up",
            &[
                ("role", "owner"),
                ("email", "one-store@example.com"),
                ("password", "correct horse"),
                ("display_name", "한가게"),
                ("store_name", "성수 파스타"),
                ("store_address", "서울 성동구 성수이로 1"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let rider = app.signed_in("rider@baedal.kr").await;
    let (_, stores) = app.call(&owner_of_three, "my_stores", &[]).await;
    assert_eq!(stores.as_array().map(Vec::len), Some(3), "{stores}");

    let case = |path: &str, who: &'static str, client: &Client, expect: &'static str| PageCase {
        path: path.to_string(),
        who,
        client: client.clone(),
        expect,
    };
    let anyone = app.client();
    // A visitor who picked 송파구 (the area cookie, percent-encoded).
    let visitor_in_songpa = {
        let mut headers = header::HeaderMap::new();
        headers.insert(
            header::COOKIE,
            header::HeaderValue::from_static("baedal_area=%EC%86%A1%ED%8C%8C%EA%B5%AC"),
        );
        Client::builder()
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    };
    let cases = [
        case("/", "customer", &customer, "마포 즉석떡볶이"),
        case(
            &format!("/stores/{store_id}"),
            "customer",
            &customer,
            "남은 수량",
        ),
        case("/checkout", "customer", &customer, "주문하기"),
        case("/orders", "customer", &customer, "마포 즉석떡볶이"),
        case(
            &format!("/orders/{order_id}"),
            "customer",
            &customer,
            "결제 금액",
        ),
        case("/notifications", "customer", &customer, "카카오톡 알림"),
        case(
            "/store",
            "owner of 3 stores",
            &owner_of_three,
            "종로 할매국밥",
        ),
        case("/store", "owner of 1 store", &owner_of_one, "성수 파스타"),
        case(
            "/store/menu",
            "owner of 3 stores",
            &owner_of_three,
            "배달 조건",
        ),
        case("/rider", "rider", &rider, "배달 목록"),
        case("/notifications", "rider", &rider, "알림"),
        case("/signin", "signed out", &anyone, "로그인"),
        case("/", "signed out", &anyone, "배달 받을 지역을 선택해 주세요"),
        case(
            "/",
            "signed out in 송파구",
            &visitor_in_songpa,
            "송파 화덕피자",
        ),
        case(
            &format!("/stores/{store_id}"),
            "signed out",
            &anyone,
            "남은 수량",
        ),
    ];

    let mut report = Vec::new();
    for case in &cases {
        let failures = hammer(&app.url, case).await;
        if !failures.is_empty() {
            let mut kinds = failures.clone();
            kinds.sort();
            kinds.dedup();
            report.push(format!(
                "{} as {}: {} of {LOADS} loads failed ({})",
                case.path,
                case.who,
                failures.len(),
                kinds.join("; ")
            ));
        }
    }
    let health = tokio::time::timeout(
        Duration::from_secs(5),
        reqwest::get(format!("{}/healthz", app.url)),
    )
    .await;
    let healthy = matches!(&health, Ok(Ok(r)) if r.status() == StatusCode::OK);
    assert!(
        report.is_empty() && healthy,
        "pages under concurrent loads:\n{}\n/healthz afterwards answered: {healthy}",
        report.join("\n")
    );
    app.teardown().await;
}

/// A signed-out visitor asking for a protected page is redirected to sign in, with a real
/// redirect whatever the client accepts (browsers, curl, link previews). The home page and the
/// stores' pages are open to anyone (see browse.rs).
async fn signed_out_visitors_get_a_real_redirect_to_sign_in(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let anyone = app.client();
    for path in [
        "/checkout",
        "/orders",
        "/orders/1",
        "/store",
        "/store/menu",
        "/rider",
        "/notifications",
    ] {
        for accept in ["text/html", "*/*", "application/json"] {
            let response = anyone
                .get(format!("{}{path}", app.url))
                .header(header::ACCEPT, accept)
                .send()
                .await
                .expect("request reaches the server");
            assert!(
                matches!(response.status(), StatusCode::SEE_OTHER | StatusCode::FOUND),
                "{path} with Accept {accept}: {}",
                response.status()
            );
            let location = response.headers()[header::LOCATION].to_str().unwrap();
            assert_eq!(location, format!("/signin?next={path}"), "{path}");
        }
    }
    // What must be escaped in a query is.
    let response = anyone
        .get(format!("{}/orders?from=a%26b", app.url))
        .send()
        .await
        .expect("request reaches the server");
    assert_eq!(
        response.headers()[header::LOCATION],
        "/signin?next=/orders%3Ffrom%3Da%2526b"
    );
    let (status, _, body) = app.page(&anyone, "/signin").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("로그인"));
    // A signed-in person of another role gets the page's 403, not a redirect.
    let rider = app.signed_in("rider@baedal.kr").await;
    let (status, location, body) = app.page(&rider, "/store").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(location, None);
    assert!(body.contains("이 화면을 볼 권한이 없습니다"));
    app.teardown().await;
}

/// Building another server's router in the same process (a restarted or second instance in
/// a test, or any embedding) must not hang pages being rendered meanwhile: Leptos suppresses
/// resource loading process-wide while it lists routes (leptos-rs/leptos#4773), so the route
/// list is made once per process. Without that, this test hangs loads at once.
async fn pages_keep_answering_while_another_router_is_built(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    app.order_first_food(&customer).await;
    let config = server::Config::from_lookup(|name| match name {
        "BAEDAL_ADDR" => Some("127.0.0.1:0".into()),
        "DATABASE_URL" => Some(app.database_url.clone()),
        "BAEDAL_SITE_ROOT" => Some("../target/site".into()),
        _ => None,
    })
    .expect("configuration");
    let building = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let builder = {
        let (state, addr, building) = (app.server.state.clone(), app.server.addr, building.clone());
        std::thread::spawn(move || {
            let mut built = 0;
            while building.load(std::sync::atomic::Ordering::SeqCst) {
                drop(server::router(
                    &config,
                    state.clone(),
                    addr,
                    Default::default(),
                ));
                built += 1;
            }
            built
        })
    };
    let case = PageCase {
        path: "/orders".into(),
        who: "customer",
        client: customer.clone(),
        expect: "마포 즉석떡볶이",
    };
    let failures = hammer(&app.url, &case).await;
    building.store(false, std::sync::atomic::Ordering::SeqCst);
    let built = builder.join().expect("router builder");
    assert!(built > 0, "no router was built meanwhile");
    assert!(
        failures.is_empty(),
        "{} of {LOADS} loads failed while {built} routers were built: {failures:?}",
        failures.len()
    );
    app.teardown().await;
}

on_both_backends!(
    every_page_of_every_role_answers_under_concurrent_loads,
    pages_keep_answering_while_another_router_is_built,
    signed_out_visitors_get_a_real_redirect_to_sign_in,
);
