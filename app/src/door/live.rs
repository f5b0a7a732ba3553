//! `GET /live`: the HTTP side of live updates (Server-Sent Events). The hub, the keys a page
//! listens on and the stream itself are the backend's (`backend::live`); here a stream is
//! opened for the caller's session and its hints are written as SSE events, and a refusal is
//! answered as server functions answer errors (`AppError` as JSON, with its status).

use crate::backend::live::{self, NotOpened, Place, Refused};
use crate::backend::{sessions, AppState};
use crate::domain::LiveNotice;
use crate::error::AppError;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

fn sse_event(notice: LiveNotice) -> Result<SseEvent, Infallible> {
    Ok(SseEvent::default().data(serde_json::to_string(&notice).expect("notices serialise")))
}

/// The error as JSON with its status (and `Retry-After` when it has one), as server functions
/// answer it.
fn error_response(error: AppError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let retry_after = match &error {
        AppError::TooManyRequests { retry_after_s, .. } => Some(*retry_after_s),
        _ => None,
    };
    let mut response = (status, axum::Json(error)).into_response();
    if let Some(seconds) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, seconds.into());
    }
    response
}

/// `GET /live`: the signed-in person's hints as an event stream. The first event is `ready`
/// (the page then re-reads once, covering anything missed while connecting).
///
/// More than `BAEDAL_LIVE_MAX_PER_SESSION` streams of one session, or
/// `BAEDAL_LIVE_MAX_PER_ADDRESS` from one client address, are refused with 429 (the newest is
/// refused; the open ones keep working, and the refused page re-reads by polling).
pub async fn events(
    State(state): State<AppState>,
    Query(place): Query<Place>,
    request: axum::extract::Request,
) -> Response {
    let token = sessions::token_from_headers(request.headers());
    // The client's address as the guard decided it (the gateway's `X-Forwarded-For` entry
    // when `BAEDAL_TRUST_FORWARDED` is set, so that behind a gateway every client does not
    // share the gateway's address), else the TCP peer.
    let address = request
        .extensions()
        .get::<crate::backend::limits::ClientAddress>()
        .map(|address| address.0)
        .or_else(|| {
            request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|info| info.0.ip())
        });
    match live::open(&state, token, &place, address).await {
        Ok(notices) => Sse::new(notices.map(sse_event))
            .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
            .into_response(),
        Err(NotOpened::Failed(error)) => error_response(error.into()),
        Err(NotOpened::Refused(refused)) => too_many(refused),
    }
}

/// 429 (`AppError::TooManyRequests`, with `Retry-After`): which limit, and that the page
/// keeps working.
fn too_many(refused: Refused) -> Response {
    let message = match refused {
        Refused::Session => {
            "실시간 알림 연결이 너무 많습니다(한 로그인에 열린 창이 너무 많습니다). 다른 창을 닫으면 다시 연결됩니다. 이 창은 자동으로 새로고침합니다."
        }
        Refused::Address => {
            "이 주소에서 열린 실시간 알림 연결이 너무 많습니다. 이 창은 자동으로 새로고침합니다."
        }
    };
    error_response(AppError::TooManyRequests {
        message: message.into(),
        retry_after_s: RETRY_AFTER_S,
    })
}

/// When a refused page tries its stream again (`ui::live` retries every 30 s).
const RETRY_AFTER_S: u64 = 30;
