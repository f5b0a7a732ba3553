//! Domain types shared by the browser and the server.
//!
//! Values from the outside world (form fields, query strings) are parsed into these types once,
//! at the edge. A `Email` or `Password` that exists is valid, so the code behind the edge never
//! re-checks it. Parsing collects *every* field problem at once, because a person fixing a form
//! wants to see all of them, not one per submission.

mod account;
mod district;
mod store;

pub use account::*;
pub use district::*;
pub use store::*;

use serde::{Deserialize, Serialize};

/// One problem with one input field, in words for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

/// Collects field errors while several fields are parsed, so all are reported together.
#[derive(Debug, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn check<T>(&mut self, parsed: Result<T, FieldError>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(error);
                None
            }
        }
    }

    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    pub fn into_result(self) -> Result<(), Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }
}

/// Trims `raw` and checks its length in characters (not bytes: Korean text is 3 bytes a char).
pub(crate) fn bounded_text(
    field: &str,
    raw: &str,
    label: &str,
    max_chars: usize,
) -> Result<String, FieldError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(FieldError::new(
            field,
            format!("{label}을(를) 입력해 주세요."),
        ));
    }
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(FieldError::new(
            field,
            format!("{label}은(는) {max_chars}자 이하로 입력해 주세요. (현재 {chars}자)"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            format!("{label}에 사용할 수 없는 문자가 있습니다."),
        ));
    }
    Ok(text.to_string())
}
