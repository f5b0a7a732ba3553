//! Glue between server functions and HTTP: the caller's session and role, response status,
//! cookies. Every protected server function starts with `require(role)`: the pages hide what
//! a role may not use, but only this check makes it secure.

use crate::backend::{sessions, AppState};
use crate::domain::{CurrentUser, Role};
use crate::error::AppError;
use axum::http::{header, request::Parts, HeaderValue, StatusCode};
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;
use std::future::Future;

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
        if let AppError::TooManyRequests { retry_after_s, .. } = error {
            response.insert_header(header::RETRY_AFTER, HeaderValue::from(*retry_after_s));
        }
    }
}

/// The client's address as the server's guard decided it (`None` outside a request).
pub fn client_address() -> Option<std::net::IpAddr> {
    use_context::<Parts>()?
        .extensions
        .get::<crate::backend::limits::ClientAddress>()
        .map(|address| address.0)
}

/// Runs a server function's body; an error gets its HTTP status and at most one log line.
/// "Try again shortly" answers (database or payment provider unavailable) were logged where
/// they arose, once, and are counted: during an outage they come by the thousand.
pub async fn respond<T>(body: impl Future<Output = Result<T, AppError>>) -> Result<T, AppError> {
    let result = body.await;
    if let Err(error) = &result {
        set_error_status(error);
        let unavailable = |cause| {
            crate::backend::metrics::counter_add(
                "baedal_unavailable_answers_total",
                &[("cause", cause)],
                1.0,
            )
        };
        match error {
            AppError::Unavailable { .. } => unavailable("database"),
            AppError::PaymentUnavailable { .. } => unavailable("payment"),
            _ if error.status() >= 500 => tracing::error!(%error, "server function failed"),
            _ => {
                tracing::info!(status = error.status(), %error, "server function refused the request")
            }
        }
    }
    result
}

/// The session token the caller presented, if any.
pub fn session_token() -> Option<String> {
    let parts = use_context::<Parts>()?;
    sessions::token_from_headers(&parts.headers).map(str::to_string)
}

/// The delivery area the caller's browser remembers (`area`), if it remembers a valid one.
pub fn remembered_area() -> Option<crate::domain::District> {
    use_context::<Parts>()?
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(crate::area::from_cookie_header)
}

/// Who sent a request, as looked up once by [`resolve_session`] before any page or server
/// function runs.
#[derive(Debug, Clone)]
pub struct SignedIn(pub Option<CurrentUser>);

/// Whether `path` names a file of the site (the browser assets under `/pkg/`, or anything whose
/// last segment has an extension) rather than a page or a server function.
pub fn is_static_file(path: &str) -> bool {
    path.starts_with("/pkg/")
        || path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.'))
}

/// Looks up the caller's session once per request (pages and server functions; not static
/// files) and keeps the answer in the request, so rendering a page that reads several server
/// functions costs one session lookup. A signed-out request for a page that needs sign-in is
/// redirected to sign in (303) here, before anything renders, whatever it accepts.
pub async fn resolve_session(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let path = request.uri().path();
    if is_static_file(path) {
        return next.run(request).await;
    }
    let user = match sessions::token_from_headers(request.headers()) {
        None => None,
        Some(token) => match sessions::user(&state, token).await {
            Ok(user) => user,
            Err(error) => return unavailable_answer(request.headers(), AppError::from(error)),
        },
    };
    let protected_page =
        request.method() == axum::http::Method::GET && crate::access::sign_in_required(path);
    if user.is_none() && protected_page {
        let here = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let location = crate::access::sign_in_location(here);
        return (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, location)],
            axum::body::Body::empty(),
        )
            .into_response();
    }
    request.extensions_mut().insert(SignedIn(user));
    next.run(request).await
}

/// The answer when even the session could not be looked up: a short page for browsers, the
/// error as JSON for everyone else; `Retry-After` either way.
fn unavailable_answer(
    headers: &axum::http::HeaderMap,
    error: AppError,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let retry = [(header::RETRY_AFTER, "5")];
    if wants_html {
        let page = format!(
            "<!DOCTYPE html><html lang=\"ko\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>잠시 후 다시 시도해 주세요 · 배달</title></head>\
             <body><main><h1>잠시 후 다시 시도해 주세요</h1><p>{error}</p></main></body></html>"
        );
        (status, retry, axum::response::Html(page)).into_response()
    } else {
        (status, retry, axum::Json(error)).into_response()
    }
}

/// The caller as [`resolve_session`] found them, for the page being rendered (`None` when
/// signed out or outside a request).
pub fn resolved_user() -> Option<CurrentUser> {
    use_context::<Parts>()?
        .extensions
        .get::<SignedIn>()?
        .0
        .clone()
}

/// The signed-in caller, or `None`.
pub async fn current_user(state: &AppState) -> Result<Option<CurrentUser>, AppError> {
    if let Some(SignedIn(user)) = use_context::<Parts>()
        .as_ref()
        .and_then(|parts| parts.extensions.get::<SignedIn>())
    {
        return Ok(user.clone());
    }
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
