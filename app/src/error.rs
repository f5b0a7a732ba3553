//! The one error type of the server-function layer.
//!
//! Every server function returns `Result<T, AppError>`. The error travels to the browser as
//! JSON (so pages can show field errors next to their fields) and carries its own HTTP status,
//! so a client calling the API directly gets a meaningful 4xx/5xx rather than a blanket 500.
//!
//! Shared by the browser and the server, this module knows nothing of HTTP requests: setting a
//! response's status and naming an undecodable argument are the door's (`door`), which uses
//! this module and is never used by it.

use crate::domain::FieldError;
#[cfg(not(feature = "ssr"))]
use leptos::server_fn::error::FromServerFnError;
use leptos::server_fn::error::ServerFnErrorErr;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[serde(
    tag = "error",
    rename_all = "snake_case",
    try_from = "wire::AppErrorWire"
)]
pub enum AppError {
    /// One or more input fields are wrong; each names the field and the reason.
    #[error("입력값을 확인해 주세요: {}", describe(fields))]
    Invalid { fields: Vec<FieldError> },
    /// The request itself is malformed (missing or undecodable arguments). `fields` names
    /// the argument when one is to blame (as `Invalid` does), e.g. `store_id` for `store_id=abc`.
    #[error("잘못된 요청입니다: {message}")]
    BadRequest {
        message: String,
        #[serde(default)]
        fields: Vec<FieldError>,
    },
    #[error("로그인이 필요합니다.")]
    Unauthenticated,
    /// Deliberately the same for an unknown e-mail and a wrong password.
    #[error("이메일 또는 비밀번호가 올바르지 않습니다.")]
    BadCredentials,
    #[error("이 기능을 사용할 권한이 없습니다.")]
    Forbidden,
    #[error("찾을 수 없습니다.")]
    NotFound,
    #[error("{message}")]
    Conflict { message: String },
    /// The card was declined: no order was made. The reason comes from the provider.
    #[error("결제가 거절되었습니다: {reason}")]
    PaymentDeclined { reason: String },
    /// The payment provider is overloaded or unreachable (or the circuit breaker is open):
    /// nothing was charged and no order was made; the customer may pay again shortly.
    #[error("{message}")]
    PaymentUnavailable { message: String },
    /// The database cannot be reached (or cannot take the work) right now: nothing was left
    /// half-done, and the same request may be sent again shortly.
    #[error("{message}")]
    Unavailable { message: String },
    /// A rate limit refused the request (sign-in, sign-up, checkout); nothing was done. The
    /// same request is welcome again after `retry_after_s` seconds (also sent as `Retry-After`).
    #[error("{message}")]
    TooManyRequests { message: String, retry_after_s: u64 },
    #[error("일시적인 오류가 발생했습니다. 잠시 후 다시 시도해 주세요.")]
    Internal,
    /// Only made in the browser, when the server could not be reached or answered nonsense.
    /// `message` is the browser's or the decoder's words, when there are any (the release wasm
    /// is built without `Debug` formatting, which the framework uses for the browser's errors).
    #[error("서버와 통신하지 못했습니다{}", detail(message))]
    Network { message: String },
}

/// ": <message>", or nothing for an empty one.
fn detail(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

/// A part of a page whose code comes on request (a `wasm_split` with `fallible`) could not be
/// loaded: the network is down, say. Shown where the part would be, with 다시 시도 (only
/// successful loads are remembered; see `ui::on_request`).
impl From<leptos::wasm_split::SplitLoaderError> for AppError {
    fn from(_: leptos::wasm_split::SplitLoaderError) -> Self {
        AppError::Network {
            message: "화면 파일을 받지 못했습니다".into(),
        }
    }
}

/// How an `AppError` is read back from JSON: `{"error": "<kind>", ...its fields}`, the form
/// serde writes for the enum's `tag = "error"`.
///
/// Read into one flat struct and converted, not by serde's derive for the tagged enum: that
/// derive buffers the whole object in serde's generic `Content` tree before it knows the
/// variant, and that machinery was some 25 KB of the browser's wasm for this one type (and
/// `LiveNotice`, which is read the same way). What our server writes reads as before, and a
/// field a kind needs and does not get is an error, as before; a field a kind does not use must
/// still have its type (`"fields": null` reads as no fields).
mod wire {
    use super::{AppError, FieldError};
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Invalid,
        BadRequest,
        Unauthenticated,
        BadCredentials,
        Forbidden,
        NotFound,
        Conflict,
        PaymentDeclined,
        PaymentUnavailable,
        Unavailable,
        TooManyRequests,
        Internal,
        Network,
    }

    #[derive(Deserialize)]
    pub struct AppErrorWire {
        error: Kind,
        fields: Option<Vec<FieldError>>,
        message: Option<String>,
        reason: Option<String>,
        retry_after_s: Option<u64>,
    }

    impl TryFrom<AppErrorWire> for AppError {
        type Error = String;

        fn try_from(wire: AppErrorWire) -> Result<Self, String> {
            let AppErrorWire {
                error,
                fields,
                message,
                reason,
                retry_after_s,
            } = wire;
            let needed = |value: Option<String>, name: &str| {
                value.ok_or_else(|| format!("missing field `{name}`"))
            };
            let message = || needed(message.clone(), "message");
            Ok(match error {
                Kind::Invalid => AppError::Invalid {
                    fields: fields.ok_or("missing field `fields`")?,
                },
                Kind::BadRequest => AppError::BadRequest {
                    message: message()?,
                    fields: fields.unwrap_or_default(),
                },
                Kind::Unauthenticated => AppError::Unauthenticated,
                Kind::BadCredentials => AppError::BadCredentials,
                Kind::Forbidden => AppError::Forbidden,
                Kind::NotFound => AppError::NotFound,
                Kind::Conflict => AppError::Conflict {
                    message: message()?,
                },
                Kind::PaymentDeclined => AppError::PaymentDeclined {
                    reason: needed(reason, "reason")?,
                },
                Kind::PaymentUnavailable => AppError::PaymentUnavailable {
                    message: message()?,
                },
                Kind::Unavailable => AppError::Unavailable {
                    message: message()?,
                },
                Kind::TooManyRequests => AppError::TooManyRequests {
                    message: message()?,
                    retry_after_s: retry_after_s.ok_or("missing field `retry_after_s`")?,
                },
                Kind::Internal => AppError::Internal,
                Kind::Network => AppError::Network {
                    message: message()?,
                },
            })
        }
    }
}

fn describe(fields: &[FieldError]) -> String {
    fields
        .iter()
        .map(|f| format!("{} ({})", f.message, f.field))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a person is told while the database cannot be reached.
pub use crate::domain::TRY_AGAIN_SHORTLY;

impl AppError {
    pub fn unavailable() -> Self {
        AppError::Unavailable {
            message: TRY_AGAIN_SHORTLY.into(),
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        AppError::Invalid {
            fields: vec![FieldError::new(field, message)],
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            AppError::Invalid { .. } => 422,
            AppError::BadRequest { .. } => 400,
            AppError::Unauthenticated | AppError::BadCredentials => 401,
            AppError::Forbidden => 403,
            AppError::NotFound => 404,
            AppError::Conflict { .. } => 409,
            AppError::PaymentDeclined { .. } => 402,
            AppError::TooManyRequests { .. } => 429,
            AppError::PaymentUnavailable { .. } | AppError::Unavailable { .. } => 503,
            AppError::Internal => 500,
            AppError::Network { .. } => 502,
        }
    }

    /// The message for one field, if this error names it.
    pub fn field(&self, name: &str) -> Option<String> {
        match self {
            AppError::Invalid { fields } | AppError::BadRequest { fields, .. } => fields
                .iter()
                .find(|f| f.field == name)
                .map(|f| f.message.clone()),
            _ => None,
        }
    }
}

impl From<FieldError> for AppError {
    fn from(field: FieldError) -> Self {
        AppError::Invalid {
            fields: vec![field],
        }
    }
}

impl From<Vec<FieldError>> for AppError {
    fn from(fields: Vec<FieldError>) -> Self {
        AppError::Invalid { fields }
    }
}

impl AppError {
    /// What a failure of the server-function framework itself means (not of our code: the
    /// arguments could not be decoded, the server could not be reached or answered nonsense).
    /// `bad_arguments` words the 400 for arguments that could not be decoded; on the server
    /// the door names the argument there.
    pub fn from_framework(
        value: ServerFnErrorErr,
        bad_arguments: impl FnOnce(String) -> AppError,
    ) -> Self {
        // On the server, failing to decode means the request was malformed; in the browser it
        // means the server's answer could not be read.
        let request_side = cfg!(feature = "ssr");
        match value {
            ServerFnErrorErr::Args(message) | ServerFnErrorErr::MissingArg(message) => {
                bad_arguments(message)
            }
            ServerFnErrorErr::Deserialization(message) if request_side => bad_arguments(message),
            ServerFnErrorErr::Request(message)
            | ServerFnErrorErr::Deserialization(message)
            | ServerFnErrorErr::Response(message) => AppError::Network { message },
            _ => AppError::Internal,
        }
    }
}

/// In the browser. On the server this impl is `api::arguments`'s: there the 400
/// names the argument and the framework's answer gets the error's HTTP status, which takes the
/// request, so this module (shared with the browser) stays free of HTTP.
#[cfg(not(feature = "ssr"))]
impl FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        AppError::from_framework(value, |message| AppError::BadRequest {
            message,
            fields: Vec::new(),
        })
    }
}

/// The backend's answer, in the words and with the status the caller gets. Variant for
/// variant: the backend decides what went wrong, the door how it is said.
#[cfg(feature = "ssr")]
impl From<crate::backend::Error> for AppError {
    fn from(error: crate::backend::Error) -> Self {
        use crate::backend::Error as E;
        match error {
            E::Invalid { fields } => AppError::Invalid { fields },
            E::BadRequest { message, fields } => AppError::BadRequest { message, fields },
            E::Unauthenticated => AppError::Unauthenticated,
            E::BadCredentials => AppError::BadCredentials,
            E::Forbidden => AppError::Forbidden,
            E::NotFound => AppError::NotFound,
            E::Conflict { message } => AppError::Conflict { message },
            E::PaymentDeclined { reason } => AppError::PaymentDeclined { reason },
            E::PaymentUnavailable { message } => AppError::PaymentUnavailable { message },
            E::Unavailable { message } => AppError::Unavailable { message },
            E::TooManyRequests {
                message,
                retry_after_s,
            } => AppError::TooManyRequests {
                message,
                retry_after_s,
            },
            E::Internal => AppError::Internal,
            E::Database(error) => error.into(),
        }
    }
}

/// What customers are told when payment is unavailable (breaker open, timeout, provider down).
pub const PAYMENT_BUSY: &str = "결제 시스템이 혼잡합니다. 잠시 후 다시 결제해 주세요.";

/// A checkout that made no order (or cannot tell yet), in the customer's words: 422 for the
/// cart, 409 for a reused or busy key, 402 declined, 503 while payment or the outcome is
/// uncertain (the page keeps the cart and offers to pay again shortly).
#[cfg(feature = "ssr")]
impl From<crate::backend::orders::CheckoutError> for AppError {
    fn from(error: crate::backend::orders::CheckoutError) -> Self {
        use crate::backend::orders::CheckoutError as C;
        const BEING_CHECKED: &str =
            "결제 결과를 확인하고 있습니다. 잠시 후 내 주문에서 확인해 주세요.";
        let payment = |message: &str| AppError::PaymentUnavailable {
            message: message.into(),
        };
        match error {
            C::Cart(fields) => AppError::Invalid { fields },
            C::KeyReused => AppError::Conflict {
                message: "이 결제 요청 키는 다른 장바구니에 이미 사용되었습니다.".into(),
            },
            C::StillCharging => AppError::Conflict {
                message:
                    "같은 주문의 결제가 아직 처리 중입니다. 잠시 후 내 주문에서 확인해 주세요."
                        .into(),
            },
            C::Declined { reason } => AppError::PaymentDeclined { reason },
            C::ProviderUnavailable => payment(PAYMENT_BUSY),
            C::NotSaved => {
                payment("주문을 저장하지 못해 결제를 취소합니다. 잠시 후 다시 주문해 주세요.")
            }
            C::OutcomeUnknown {
                database_down: false,
            } => payment(BEING_CHECKED),
            C::OutcomeUnknown {
                database_down: true,
            } => AppError::Unavailable {
                message: BEING_CHECKED.into(),
            },
            C::Order(error) => error.into(),
            C::Database(error) => error.into(),
        }
    }
}

/// A database error: "try again shortly" (503) while the database cannot be reached or cannot
/// take the work, else an internal error. Logged here, once, with its cause.
#[cfg(feature = "ssr")]
impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> Self {
        if crate::backend::db::is_unavailable(&error) {
            tracing::warn!(%error, "database unavailable");
            AppError::unavailable()
        } else {
            tracing::error!(%error, "database error");
            AppError::Internal
        }
    }
}

/// A status change that could not be made: 404 for an order outside the caller's scope, 403
/// for another rider's delivery, 409 with the reason when the state machine or a faster
/// request says no.
#[cfg(feature = "ssr")]
impl From<crate::backend::commands::TransitionError> for AppError {
    fn from(error: crate::backend::commands::TransitionError) -> Self {
        use crate::backend::commands::{TransitionError as T, ALREADY_CLAIMED};
        let conflict = |message: String| AppError::Conflict { message };
        match error {
            T::NotFound => AppError::NotFound,
            T::Forbidden => AppError::Forbidden,
            T::Refused(refusal) => conflict(refusal.to_string()),
            T::AlreadyClaimed => conflict(ALREADY_CLAIMED.into()),
            T::ChangedMeanwhile => {
                conflict("주문 상태가 방금 바뀌었습니다. 새로고침 후 다시 시도해 주세요.".into())
            }
            T::TooManyDeliveries { active, limit } => conflict(format!(
                "진행 중인 배달이 {active}건입니다. 한 번에 {limit}건까지 배달할 수 있습니다."
            )),
            T::Inconsistent(what) => {
                tracing::error!(what, "order status change on inconsistent data");
                AppError::Internal
            }
            T::Database(error) => error.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_round_trip_as_json_with_their_fields() {
        let error = AppError::invalid("email", "이미 가입된 이메일입니다.");
        let json = serde_json::to_string(&error).unwrap();
        assert!(json.contains(r#""error":"invalid""#), "{json}");
        assert_eq!(serde_json::from_str::<AppError>(&json).unwrap(), error);
        assert_eq!(
            error.field("email").as_deref(),
            Some("이미 가입된 이메일입니다.")
        );
        assert_eq!(error.status(), 422);
    }

    #[test]
    fn a_network_error_shows_the_browser_s_words_only_when_there_are_any() {
        let offline = AppError::Network {
            message: "Failed to fetch".into(),
        };
        assert_eq!(
            offline.to_string(),
            "서버와 통신하지 못했습니다: Failed to fetch"
        );
        let silent = AppError::Network {
            message: String::new(),
        };
        assert_eq!(silent.to_string(), "서버와 통신하지 못했습니다");
    }

    #[test]
    fn every_kind_of_error_reads_back_as_itself() {
        let errors = [
            AppError::invalid("email", "이미 가입된 이메일입니다."),
            AppError::BadRequest {
                message: "store_id".into(),
                fields: vec![FieldError::new("store_id", "숫자여야 합니다")],
            },
            AppError::Unauthenticated,
            AppError::BadCredentials,
            AppError::Forbidden,
            AppError::NotFound,
            AppError::Conflict {
                message: "이미 배정되었습니다".into(),
            },
            AppError::PaymentDeclined {
                reason: "한도 초과".into(),
            },
            AppError::PaymentUnavailable {
                message: "잠시 후".into(),
            },
            AppError::unavailable(),
            AppError::TooManyRequests {
                message: "천천히".into(),
                retry_after_s: 30,
            },
            AppError::Internal,
            AppError::Network {
                message: "offline".into(),
            },
        ];
        for error in errors {
            let json = serde_json::to_string(&error).unwrap();
            assert_eq!(
                serde_json::from_str::<AppError>(&json).unwrap(),
                error,
                "{json}"
            );
        }
    }

    #[test]
    fn an_error_missing_what_its_kind_needs_or_of_an_unknown_kind_is_refused() {
        for json in [
            r#"{"error":"conflict"}"#,
            r#"{"error":"invalid"}"#,
            r#"{"error":"payment_declined","message":"x"}"#,
            r#"{"error":"too_many_requests","message":"x"}"#,
            r#"{"error":"teapot"}"#,
            r#"{"message":"x"}"#,
        ] {
            assert!(serde_json::from_str::<AppError>(json).is_err(), "{json}");
        }
        // Absent optional parts read as before: a 400 without fields.
        assert_eq!(
            serde_json::from_str::<AppError>(r#"{"error":"bad_request","message":"m"}"#).unwrap(),
            AppError::BadRequest {
                message: "m".into(),
                fields: vec![]
            }
        );
    }

    #[test]
    fn sign_in_failures_look_the_same_whatever_the_cause() {
        assert_eq!(AppError::BadCredentials.status(), 401);
        assert_eq!(AppError::Unauthenticated.status(), 401);
        assert_eq!(AppError::Forbidden.status(), 403);
    }
}
