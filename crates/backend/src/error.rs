//! The backend's error: what went wrong in a use case, without the page's words for it.
//!
//! The variants mirror what a caller may be told (their HTTP status is decided at the
//! server-function door, `app::error::AppError`, which converts from this one by variant).
//! A database error becomes `Unavailable` when the database cannot be reached or cannot take
//! the work right now, else `Internal`; the cause is logged where the conversion happens.
//!
//! Serialised like `AppError` (`{"error": "…", …}`): the live-update stream (`live::events`),
//! which answers outside any server function, sends it as its error body.

use domain::{FieldError, TRY_AGAIN_SHORTLY};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum Error {
    /// One or more input fields are wrong; each names the field and the reason.
    #[error("invalid input: {fields:?}")]
    Invalid { fields: Vec<FieldError> },
    /// The request itself is malformed.
    #[error("bad request: {message}")]
    BadRequest {
        message: String,
        fields: Vec<FieldError>,
    },
    #[error("not signed in")]
    Unauthenticated,
    /// Deliberately the same for an unknown e-mail and a wrong password.
    #[error("bad credentials")]
    BadCredentials,
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("conflict: {message}")]
    Conflict { message: String },
    /// The card was declined: no order was made. The reason comes from the provider.
    #[error("payment declined: {reason}")]
    PaymentDeclined { reason: String },
    /// The payment provider is overloaded or unreachable (or the circuit breaker is open).
    #[error("payment unavailable: {message}")]
    PaymentUnavailable { message: String },
    /// The database cannot be reached (or cannot take the work) right now.
    #[error("unavailable: {message}")]
    Unavailable { message: String },
    /// A rate limit refused the request; welcome again after `retry_after_s` seconds.
    #[error("too many requests: {message}")]
    TooManyRequests { message: String, retry_after_s: u64 },
    #[error("internal error")]
    Internal,
}

impl Error {
    pub fn unavailable() -> Self {
        Error::Unavailable {
            message: TRY_AGAIN_SHORTLY.into(),
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Error::Invalid {
            fields: vec![FieldError::new(field, message)],
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(error: sqlx::Error) -> Self {
        if crate::db::is_unavailable(&error) {
            tracing::warn!(%error, "database unavailable");
            Error::unavailable()
        } else {
            tracing::error!(%error, "database error");
            Error::Internal
        }
    }
}

impl From<FieldError> for Error {
    fn from(field: FieldError) -> Self {
        Error::Invalid {
            fields: vec![field],
        }
    }
}

impl From<Vec<FieldError>> for Error {
    fn from(fields: Vec<FieldError>) -> Self {
        Error::Invalid { fields }
    }
}
