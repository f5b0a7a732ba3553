//! `sandbox-pay`: Baedal's sandbox payment provider, a separate HTTP service on its own port.
//!
//! It stands in for a real card processor so that checkout always makes a real network call,
//! with test cards that reproduce what a provider does on a bad day:
//!
//! | card number           | outcome                                        |
//! | --------------------- | ---------------------------------------------- |
//! | `4242 4242 4242 4242` | approved                                       |
//! | `4000 0000 0000 0002` | declined: 잔액이 부족합니다.                   |
//! | `4000 0000 0000 0069` | declined: 카드 한도를 초과했습니다.            |
//! | `4000 0000 0000 3000` | slow: answers after `slow` (default 5 s), approved |
//! | `4000 0000 0000 5000` | error: 500                                     |
//! | `4000 0000 0000 4000` | approved at once, but answers after `slow`     |
//! | any other 12–19 digits| approved                                       |
//!
//! Charges are idempotent by the caller's `payment_id`. `POST /v1/payments/{payment_id}/void`
//! cancels whatever that id charged, even a slow charge still in progress: the caller uses it
//! when it gave up waiting. `GET /v1/charges` lists every charge (a ledger for tests), with how
//! many voids reached it. While `outage` is set every `/v1` call answers 503, as a provider
//! that is down.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const APPROVE_CARD: &str = "4242424242424242";
pub const DECLINE_CARD: &str = "4000000000000002";
pub const LIMIT_CARD: &str = "4000000000000069";
pub const SLOW_CARD: &str = "4000000000003000";
pub const ERROR_CARD: &str = "4000000000005000";
pub const LATE_CARD: &str = "4000000000004000";

#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// How long the slow card takes.
    pub slow: Duration,
    /// Added to every charge (0 for benchmarks).
    pub latency: Duration,
    /// Set to make the provider answer every call with 503 (tests flip it).
    pub outage: Arc<AtomicBool>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            slow: Duration::from_secs(5),
            latency: Duration::ZERO,
            outage: Arc::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Charge {
    pub charge_id: String,
    pub payment_id: String,
    pub amount: i64,
    pub card_hint: String,
    pub status: String,
    /// Void calls that reached this charge.
    #[serde(default)]
    pub voids: u32,
}

#[derive(Default)]
struct Ledger {
    charges: Vec<Charge>,
    by_payment_id: HashMap<String, usize>,
    /// Payment ids voided, with how many times, also before their charge arrived.
    voided: HashMap<String, u32>,
}

#[derive(Clone)]
struct Sandbox {
    config: SandboxConfig,
    ledger: Arc<Mutex<Ledger>>,
}

#[derive(Deserialize)]
struct ChargeBody {
    payment_id: String,
    amount: i64,
    card_number: String,
    #[serde(default)]
    #[allow(dead_code)]
    description: String,
}

pub fn router(config: SandboxConfig) -> Router {
    let sandbox = Sandbox {
        config,
        ledger: Arc::default(),
    };
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/v1/charges", post(charge).get(list))
        .route("/v1/charges/{charge_id}/cancel", post(cancel))
        .route("/v1/payments/{payment_id}/void", post(void))
        .layer(axum::middleware::from_fn_with_state(
            sandbox.config.outage.clone(),
            outage,
        ))
        .with_state(sandbox)
}

async fn outage(
    State(down): State<Arc<AtomicBool>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if down.load(Ordering::SeqCst) && request.uri().path().starts_with("/v1/") {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "PROVIDER_OUTAGE",
            "결제 시스템 점검 중입니다.",
        );
    }
    next.run(request).await
}

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({ "code": code, "message": message }))).into_response()
}

/// A charge is processed to the end even when the caller stops waiting (a real provider does
/// not notice a client that hung up): the work runs on its own task.
async fn charge(State(sandbox): State<Sandbox>, Json(body): Json<ChargeBody>) -> Response {
    tokio::spawn(process_charge(sandbox, body))
        .await
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

async fn process_charge(sandbox: Sandbox, body: ChargeBody) -> Response {
    let digits: String = body
        .card_number
        .chars()
        .filter(|c| c.is_ascii_digit())
        .collect();
    if digits.len() < 12 || digits.len() > 19 || body.amount <= 0 {
        return refuse(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "잘못된 카드 번호 또는 금액입니다.",
        );
    }
    if !sandbox.config.latency.is_zero() {
        tokio::time::sleep(sandbox.config.latency).await;
    }
    match digits.as_str() {
        DECLINE_CARD => {
            return refuse(
                StatusCode::PAYMENT_REQUIRED,
                "REJECT_CARD_PAYMENT",
                "잔액이 부족합니다.",
            )
        }
        LIMIT_CARD => {
            return refuse(
                StatusCode::PAYMENT_REQUIRED,
                "EXCEED_MAX_AMOUNT",
                "카드 한도를 초과했습니다.",
            )
        }
        ERROR_CARD => {
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "FAILED_INTERNAL_SYSTEM_PROCESSING",
                "일시적인 오류입니다.",
            )
        }
        SLOW_CARD => tokio::time::sleep(sandbox.config.slow).await,
        _ => {}
    }
    let (status, charge) = match record_charge(&sandbox, &body, &digits) {
        Recorded::New { status, charge } => (status, charge),
        Recorded::Repeated(answer) => return answer,
    };
    if digits == LATE_CARD {
        // Approved and recorded; the answer is what is late.
        tokio::time::sleep(sandbox.config.slow).await;
    }
    if status == "cancelled" {
        return refuse(
            StatusCode::CONFLICT,
            "ALREADY_CANCELED",
            "이미 취소된 결제입니다.",
        );
    }
    Json(charge).into_response()
}

enum Recorded {
    New {
        status: &'static str,
        charge: Charge,
    },
    /// A charge with this payment id existed: the answer it gets.
    Repeated(Response),
}

/// Records a new charge in the ledger, or answers a repeated one as the first was answered.
fn record_charge(sandbox: &Sandbox, body: &ChargeBody, digits: &str) -> Recorded {
    let mut ledger = sandbox.ledger.lock().expect("ledger lock");
    if let Some(&index) = ledger.by_payment_id.get(&body.payment_id) {
        let existing = ledger.charges[index].clone();
        if existing.status == "cancelled" {
            return Recorded::Repeated(refuse(
                StatusCode::CONFLICT,
                "ALREADY_CANCELED",
                "이미 취소된 결제입니다.",
            ));
        }
        if existing.amount != body.amount {
            return Recorded::Repeated(refuse(
                StatusCode::CONFLICT,
                "DUPLICATED_ORDER_ID",
                "같은 결제 번호로 다른 금액이 요청되었습니다.",
            ));
        }
        return Recorded::Repeated(Json(existing).into_response());
    }
    let voids = ledger.voided.get(&body.payment_id).copied().unwrap_or(0);
    let status = if voids > 0 { "cancelled" } else { "approved" };
    let charge = Charge {
        charge_id: format!("ch_{}", uuid::Uuid::new_v4().simple()),
        payment_id: body.payment_id.clone(),
        amount: body.amount,
        card_hint: format!("{}-****-****-{}", &digits[..4], &digits[digits.len() - 4..]),
        status: status.into(),
        voids,
    };
    let index = ledger.charges.len();
    ledger.charges.push(charge.clone());
    ledger.by_payment_id.insert(body.payment_id.clone(), index);
    Recorded::New { status, charge }
}

async fn cancel(State(sandbox): State<Sandbox>, Path(charge_id): Path<String>) -> Response {
    let mut ledger = sandbox.ledger.lock().expect("ledger lock");
    match ledger.charges.iter_mut().find(|c| c.charge_id == charge_id) {
        Some(charge) => {
            charge.status = "cancelled".into();
            Json(charge.clone()).into_response()
        }
        None => refuse(
            StatusCode::NOT_FOUND,
            "NOT_FOUND_PAYMENT",
            "결제를 찾을 수 없습니다.",
        ),
    }
}

async fn void(State(sandbox): State<Sandbox>, Path(payment_id): Path<String>) -> Response {
    let mut ledger = sandbox.ledger.lock().expect("ledger lock");
    *ledger.voided.entry(payment_id.clone()).or_default() += 1;
    if let Some(&index) = ledger.by_payment_id.get(&payment_id) {
        let charge = &mut ledger.charges[index];
        charge.status = "cancelled".into();
        charge.voids += 1;
    }
    Json(json!({ "payment_id": payment_id, "status": "voided" })).into_response()
}

async fn list(State(sandbox): State<Sandbox>) -> Json<Vec<Charge>> {
    Json(sandbox.ledger.lock().expect("ledger lock").charges.clone())
}

/// Serves the sandbox on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    config: SandboxConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router(config))
        .with_graceful_shutdown(shutdown)
        .await
}
