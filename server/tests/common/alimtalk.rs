//! A fake of NHN Cloud's AlimTalk API (v2.3) as a real HTTP server on an ephemeral port, for
//! tests: it checks what the documentation requires (path with the app key, `X-Secret-Key`,
//! `senderKey`, `templateCode`, `recipientList[].recipientNo` and `templateParameter`), answers
//! in the documented shape, and can be told to fail (500) a number of times or to be down.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

pub const APP_KEY: &str = "test-app-key";
pub const SECRET_KEY: &str = "test-secret-key";
pub const SENDER_KEY: &str = "0123456789abcdef0123456789abcdef01234567";

/// One message the fake accepted (a message a customer would have received).
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub template_code: String,
    pub recipient_no: String,
    pub params: BTreeMap<String, String>,
    pub idempotency_key: String,
}

#[derive(Default)]
struct Inner {
    delivered: Vec<Received>,
    requests: usize,
    fail_next: usize,
    down: bool,
}

#[derive(Clone)]
pub struct FakeAlimtalk {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

impl FakeAlimtalk {
    pub async fn start() -> FakeAlimtalk {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/alimtalk/v2.3/appkeys/{app_key}/messages", post(send))
            .with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeAlimtalk { url, inner }
    }

    /// The settings that point a server at this fake.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("KAKAO_ALIMTALK_URL", self.url.clone()),
            ("KAKAO_ALIMTALK_APP_KEY", APP_KEY.into()),
            ("KAKAO_ALIMTALK_SECRET_KEY", SECRET_KEY.into()),
            ("KAKAO_ALIMTALK_SENDER_KEY", SENDER_KEY.into()),
            ("BAEDAL_KAKAO_BACKOFF_MS", "50".into()),
            ("BAEDAL_KAKAO_POLL_MS", "50".into()),
            ("BAEDAL_KAKAO_BREAKER_OPEN_MS", "200".into()),
        ]
    }

    pub fn delivered(&self) -> Vec<Received> {
        self.inner.lock().unwrap().delivered.clone()
    }

    pub fn requests(&self) -> usize {
        self.inner.lock().unwrap().requests
    }

    /// Answer the next `n` requests with 500.
    pub fn fail_next(&self, n: usize) {
        self.inner.lock().unwrap().fail_next = n;
    }

    /// Answer every request with 503 until told otherwise.
    pub fn set_down(&self, down: bool) {
        self.inner.lock().unwrap().down = down;
    }

    /// Waits (up to 20 s) until `n` messages were delivered; returns them.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        for _ in 0..400 {
            let delivered = self.delivered();
            if delivered.len() >= n {
                return delivered;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("expected {n} messages, got {:?}", self.delivered());
    }
}

fn failure(status: StatusCode, code: i64, message: &str) -> Response {
    let body =
        json!({"header": {"resultCode": code, "resultMessage": message, "isSuccessful": false}});
    (status, Json(body)).into_response()
}

async fn send(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(app_key): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut inner = inner.lock().unwrap();
    inner.requests += 1;
    if inner.down {
        return failure(StatusCode::SERVICE_UNAVAILABLE, -1, "service unavailable");
    }
    if inner.fail_next > 0 {
        inner.fail_next -= 1;
        return failure(StatusCode::INTERNAL_SERVER_ERROR, -9999, "internal error");
    }
    let secret = headers.get("X-Secret-Key").and_then(|v| v.to_str().ok());
    if app_key != APP_KEY || secret != Some(SECRET_KEY) {
        return failure(
            StatusCode::UNAUTHORIZED,
            -1000,
            "invalid appkey or secret key",
        );
    }
    if body["senderKey"] != SENDER_KEY {
        return failure(StatusCode::OK, -1002, "invalid sender key");
    }
    let Some(template_code) = body["templateCode"]
        .as_str()
        .filter(|c| !c.is_empty() && c.len() <= 20)
    else {
        return failure(StatusCode::OK, -1003, "invalid template code");
    };
    let Some(recipients) = body["recipientList"].as_array().filter(|r| !r.is_empty()) else {
        return failure(StatusCode::OK, -1004, "empty recipient list");
    };
    let mut results = Vec::new();
    for (seq, recipient) in recipients.iter().enumerate() {
        let number = recipient["recipientNo"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let params: BTreeMap<String, String> =
            serde_json::from_value(recipient["templateParameter"].clone()).unwrap_or_default();
        inner.delivered.push(Received {
            template_code: template_code.to_string(),
            recipient_no: number.clone(),
            params,
            idempotency_key: headers
                .get("X-NC-API-IDEMPOTENCY-KEY")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string(),
        });
        results.push(json!({
            "recipientSeq": seq + 1,
            "recipientNo": number,
            "resultCode": 0,
            "resultMessage": "SUCCESS",
            "recipientGroupingKey": recipient["recipientGroupingKey"],
        }));
    }
    let request_id = format!("20261125{:016}", inner.requests);
    Json(json!({
        "header": {"resultCode": 0, "resultMessage": "SUCCESS", "isSuccessful": true},
        "message": {"requestId": request_id, "senderGroupingKey": null, "sendResults": results},
    }))
    .into_response()
}
