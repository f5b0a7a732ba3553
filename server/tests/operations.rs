//! Operations endpoints and request tracing, on both engines.

mod common;

use common::{Backend, TestApp};
use reqwest::StatusCode;

on_both_backends!(
    health_readiness_and_metrics,
    every_response_carries_a_request_id
);

async fn health_readiness_and_metrics(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let client = app.client();
    let health = client
        .get(format!("{}/healthz", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.text().await.unwrap(), "ok");

    let ready = client
        .get(format!("{}/readyz", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let engine = app.engine().name();
    assert_eq!(ready.text().await.unwrap(), format!("ready ({engine})"));

    let metrics = client
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    assert!(metrics.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains("# TYPE baedal_http_requests_total counter"),
        "{text}"
    );
    assert!(
        text.contains(r#"baedal_http_requests_total{route="ops",method="GET",status="200"}"#),
        "{text}"
    );
    assert!(
        text.contains(&format!(r#"baedal_database_ready{{engine="{engine}"}} 1"#)),
        "{text}"
    );
    assert!(
        text.contains("baedal_http_request_duration_seconds_bucket"),
        "{text}"
    );

    // Not ready once the database is gone.
    app.server.state.db.close().await;
    let ready = client
        .get(format!("{}/readyz", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(ready.text().await.unwrap().contains("database unreachable"));
    app.teardown().await;
}

async fn every_response_carries_a_request_id(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let client = app.client();
    let response = client
        .get(format!("{}/healthz", app.url))
        .send()
        .await
        .unwrap();
    let generated = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");
    let response = client
        .get(format!("{}/signin", app.url))
        .header("x-request-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-123");
    app.teardown().await;
}
