//! Glue between server functions and HTTP: the caller's session and role, response status,
//! cookies. Every protected server function starts with `require(role)`: the pages hide what
//! a role may not use, but only this check makes it secure.

use super::{sessions, AppState};
use crate::domain::{CurrentUser, Role};
use crate::error::AppError;
use axum::http::{header, request::Parts, HeaderValue, StatusCode};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;
use std::future::Future;

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        tracing::error!(%error, "database error");
        AppError::Internal
    }
}

/// The shared state, provided to every server function by the router.
pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| {
        tracing::error!("AppState missing from the server function context");
        AppError::Internal
    })
}

pub fn set_error_status(error: &AppError) {
    if let Some(response) = use_context::<ResponseOptions>() {
        let status =
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        response.set_status(status);
    }
}

/// Runs a server function's body; an error gets its HTTP status and a log line.
pub async fn respond<T>(body: impl Future<Output = Result<T, AppError>>) -> Result<T, AppError> {
    let result = body.await;
    if let Err(error) = &result {
        set_error_status(error);
        if error.status() >= 500 {
            tracing::error!(%error, "server function failed");
        } else {
            tracing::info!(status = error.status(), %error, "server function refused the request");
        }
    }
    result
}

/// The session token the caller presented, if any.
pub fn session_token() -> Option<String> {
    let parts = use_context::<Parts>()?;
    sessions::token_from_headers(&parts.headers).map(str::to_string)
}

/// The signed-in caller, or `None`.
pub async fn current_user(state: &AppState) -> Result<Option<CurrentUser>, AppError> {
    let Some(token) = session_token() else {
        return Ok(None);
    };
    Ok(sessions::user(state, &token).await?)
}

/// The caller, who must be signed in (else 401), whatever their role.
pub async fn signed_in() -> Result<(AppState, CurrentUser), AppError> {
    let state = state()?;
    let user = current_user(&state)
        .await?
        .ok_or(AppError::Unauthenticated)?;
    Ok((state, user))
}

/// The caller, who must be signed in (else 401) with `role` (else 403).
pub async fn require(role: Role) -> Result<(AppState, CurrentUser), AppError> {
    let (state, user) = signed_in().await?;
    if user.role != role {
        return Err(AppError::Forbidden);
    }
    Ok((state, user))
}

pub fn set_cookie(value: &str) {
    if let (Some(response), Ok(value)) = (
        use_context::<ResponseOptions>(),
        HeaderValue::from_str(value),
    ) {
        response.append_header(header::SET_COOKIE, value);
    }
}

/// Sets the status of the page being rendered (403 and 404 pages must say so in HTTP too).
pub fn set_page_status(status: u16) {
    if let (Some(response), Ok(status)) = (
        use_context::<ResponseOptions>(),
        StatusCode::from_u16(status),
    ) {
        response.set_status(status);
    }
}
