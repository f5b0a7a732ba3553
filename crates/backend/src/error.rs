//! The backend's error: what went wrong in a use case, without the page's words for it.
//!
//! The variants mirror what a caller may be told (their HTTP status is decided at the
//! server-function door, `app::error::AppError`, which converts from this one by variant).
//! A database error is kept as it is (`Database`, with its source): the door judges it —
//! unavailable (try again shortly) or internal — and logs it, once. Use cases with more to
//! say have their own error types (`orders::CheckoutError`, `commands::TransitionError`,
//! `payments::PaymentError`).

use domain::FieldError;

#[derive(Debug, thiserror::Error)]
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
    /// The database failed; `db::is_unavailable` tells an outage from a bug.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl Error {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Error::Invalid {
            fields: vec![FieldError::new(field, message)],
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
