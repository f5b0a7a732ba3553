//! Falling behind is visible: while the store side fails, the order's event waits, and
//! `/metrics` says how many events wait and for how long; once it recovers both go back to 0.
//! Its own test binary, with one server at a time: the gauges are process-wide.

mod common;

use common::{Backend, TestApp};

/// The gauge's value; 0 until the worker's first look (a second after it starts).
fn gauge(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix("{} ")?.parse().ok())
        .unwrap_or(0.0)
}

async fn metrics(app: &TestApp) -> String {
    reqwest::get(format!("{}/metrics", app.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn backlog_is_measured(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let customer = app.signed_in("customer@baedal.kr").await;
    app.server.state.faults.set_store_side_down(true);
    let (store_id, food_id) = app.first_food(&customer).await;
    let body = serde_json::json!({
        "store_id": store_id,
        "lines": [{"food_id": food_id, "quantity": 1}],
        "idempotency_key": uuid::Uuid::new_v4().to_string(),
        "card_number": server::sandbox_pay::APPROVE_CARD,
    });
    let (status, order) = app.call_json(&customer, "place_order", &body).await;
    assert_eq!(status, reqwest::StatusCode::OK, "{order}");
    let mut seen = (0.0, 0.0);
    for _ in 0..100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let text = metrics(&app).await;
        seen = (
            gauge(&text, "baedal_outbox_backlog_events"),
            gauge(&text, "baedal_outbox_oldest_pending_seconds"),
        );
        if seen.0 >= 1.0 && seen.1 >= 1.5 {
            break;
        }
    }
    assert!(
        seen.0 >= 1.0 && seen.1 >= 1.5,
        "the waiting order event shows: {seen:?}"
    );
    app.server.state.faults.set_store_side_down(false);
    app.drained().await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let text = metrics(&app).await;
    assert!(
        text.contains("# TYPE baedal_outbox_backlog_events gauge"),
        "{text}"
    );
    assert_eq!(gauge(&text, "baedal_outbox_backlog_events"), 0.0);
    assert_eq!(gauge(&text, "baedal_outbox_oldest_pending_seconds"), 0.0);
    app.teardown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_waiting_event_shows_in_metrics_on_both_engines() {
    backlog_is_measured(Backend::Sqlite).await;
    backlog_is_measured(Backend::Postgres).await;
}
