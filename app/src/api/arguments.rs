//! Naming the argument behind a server function's decoding failure.
//!
//! Leptos decodes a server function's arguments (serde_qs for form bodies, serde_json for JSON)
//! before our code runs, and its errors say things like "invalid digit found in string"
//! without the argument. The server's guard keeps the body it let through
//! ([`ArgumentBody`]); when decoding fails, `AppError::from_server_fn_error` (implemented here
//! for the server) decodes that body again as the function's own argument type
//! (`api::ARGUMENTS`), this time tracking the path (`serde_path_to_error`), and answers 400
//! with the field named — the same `fields` list a 422 carries. Only the failing path pays for
//! the second decoding.

use crate::domain::FieldError;
use crate::error::AppError;
use axum::body::Bytes;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::de::DeserializeOwned;

/// The raw body of a server-function call, kept in the request by the server's guard.
#[derive(Debug, Clone)]
pub struct ArgumentBody(pub Bytes);

/// Explains why decoding a form-encoded body as `T` fails: the argument and the reason.
/// `None` when it decodes (or the failure belongs to no argument).
pub fn form<T: DeserializeOwned>(body: &[u8]) -> Option<FieldError> {
    // Raw bytes that are not UTF-8 (Leptos refuses the whole body): the pair holding them.
    if std::str::from_utf8(body).is_err() {
        let pair = body
            .split(|&b| b == b'&')
            .find(|pair| std::str::from_utf8(pair).is_err())?;
        let key = pair.split(|&b| b == b'=').next().unwrap_or_default();
        let key = String::from_utf8_lossy(key).into_owned();
        return Some(FieldError::new(&key, "UTF-8 문자열이 아닙니다."));
    }
    // The same settings as server_fn's own decoding (`codec::url`).
    let config = serde_qs::Config::new(5, false);
    let deserializer = serde_qs::Deserializer::with_config(&config, body).ok()?;
    let error = serde_path_to_error::deserialize::<_, T>(deserializer).err()?;
    field_error(&error.path().to_string(), &error.inner().to_string())
}

/// Explains why decoding a JSON body as `T` fails (`None` for a body that is not JSON at all:
/// no argument is to blame).
pub fn json<T: DeserializeOwned>(body: &[u8]) -> Option<FieldError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let error = serde_path_to_error::deserialize::<_, T>(&mut deserializer).err()?;
    if error.inner().is_syntax() || error.inner().is_eof() {
        return None;
    }
    field_error(&error.path().to_string(), &error.inner().to_string())
}

/// The field a serde error is about, with a reason a person can read.
fn field_error(path: &str, reason: &str) -> Option<FieldError> {
    let parent = if path == "." { "" } else { path };
    let join = |name: &str| {
        if parent.is_empty() {
            name.to_string()
        } else {
            format!("{parent}.{name}")
        }
    };
    let quoted = |prefix: &str| {
        reason
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_string)
    };
    if let Some(name) = quoted("missing field `") {
        return Some(FieldError::new(&join(&name), "값이 없습니다."));
    }
    if let Some(name) = quoted("unknown field `") {
        return Some(FieldError::new(&join(&name), "알 수 없는 항목입니다."));
    }
    if let Some(name) = quoted("duplicate field `") {
        return Some(FieldError::new(&join(&name), "한 번만 보내야 합니다."));
    }
    if parent.is_empty() {
        return None;
    }
    let integer = [
        "invalid digit",
        "cannot parse integer",
        "number too large",
        "number too small",
        "expected i64",
        "expected i32",
        "expected u64",
    ];
    let message = if integer.iter().any(|marker| reason.contains(marker)) {
        "정수여야 합니다.".to_string()
    } else if reason.contains("`true` or `false`") || reason.contains("expected a boolean") {
        "true 또는 false 여야 합니다.".to_string()
    } else {
        format!("값을 읽을 수 없습니다 ({reason}).")
    };
    Some(FieldError::new(parent, message))
}

/// On the server, the framework's own failures become `AppError` here (the browser's impl is
/// in `error.rs`): undecodable arguments get the 400 that names the argument, and since the
/// framework rejects such a request before our code runs (so `http::respond` never sees it),
/// the response gets the error's status here too.
impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let error = AppError::from_framework(value, bad_arguments);
        crate::door::http::set_error_status(&error);
        error
    }
}

/// The 400 answer for undecodable arguments: the argument named when the body kept by the
/// guard shows which one, else the decoder's own words.
pub fn bad_arguments(message: String) -> AppError {
    use axum::http::request::Parts;
    let located = leptos::prelude::use_context::<Parts>().and_then(|parts| {
        let body = parts.extensions.get::<ArgumentBody>()?;
        let (_, explain) = super::ARGUMENTS
            .iter()
            .find(|(path, _)| *path == parts.uri.path())?;
        explain(&body.0)
    });
    match located {
        Some(field) => AppError::BadRequest {
            message: format!("{}: {}", field.field, field.message),
            fields: vec![field],
        },
        None => AppError::BadRequest {
            message,
            fields: Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{FoodId, StoreId};
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Args {
        store_id: StoreId,
        #[serde(default)]
        open: bool,
        #[serde(default)]
        name: String,
    }

    fn named(body: &str) -> Option<(String, String)> {
        form::<Args>(body.as_bytes()).map(|f| (f.field, f.message))
    }

    #[test]
    fn form_errors_name_their_argument() {
        assert_eq!(named("store_id=1&open=true&name=x"), None);
        assert_eq!(
            named("store_id=abc"),
            Some(("store_id".into(), "정수여야 합니다.".into()))
        );
        assert_eq!(named("store_id=9223372036854775808").unwrap().0, "store_id");
        assert_eq!(named("store_id=").unwrap().0, "store_id");
        assert_eq!(
            named("open=true"),
            Some(("store_id".into(), "값이 없습니다.".into()))
        );
        assert_eq!(
            named("store_id=1&open=yes"),
            Some(("open".into(), "true 또는 false 여야 합니다.".into()))
        );
        assert_eq!(named("store_id[a]=1").unwrap().0, "store_id");
        assert_eq!(
            form::<Args>(b"store_id=1&name=\xff\xfe").map(|f| f.field),
            Some("name".into())
        );
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Line {
        food_id: FoodId,
        quantity: u8,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Order {
        lines: Vec<Line>,
    }

    #[test]
    fn json_errors_name_their_path() {
        let error = json::<Order>(br#"{"lines":[{"food_id":1,"quantity":300}]}"#).unwrap();
        assert_eq!(error.field, "lines[0].quantity");
        let error = json::<Order>(br#"{"lines":[{"quantity":3}]}"#).unwrap();
        assert_eq!(error.field, "lines[0].food_id");
        assert!(json::<Order>(b"not json").is_none());
        assert!(json::<Order>(br#"{"lines":[]}"#).is_none());
    }
}
