//! Domain types shared by the browser and the server.
//!
//! Values from the outside world (form fields, query strings) are parsed into these types once,
//! at the edge. A `Email` or `Password` that exists is valid, so the code behind the edge never
//! re-checks it. Parsing collects *every* field problem at once, because a person fixing a form
//! wants to see all of them, not one per submission.

mod account;
mod address;
mod checkout;
mod delivery;
mod district;
mod eta;
pub mod events;
mod ids;
mod lifecycle;
mod live;
mod notification;
pub mod notification_plan;
mod order;
mod pricing;
mod reorder;
#[cfg(feature = "sqlx")]
mod sql;
mod store;

pub use account::*;
pub use address::*;
pub use checkout::*;
pub use delivery::*;
pub use district::*;
pub use eta::*;
pub use ids::*;
pub use lifecycle::*;
pub use live::*;
pub use notification::*;
pub use order::*;
pub use pricing::*;
pub use reorder::*;
pub use store::*;

use serde::{Deserialize, Serialize};

/// What a person is told while the database cannot be reached (or cannot take the work).
pub const TRY_AGAIN_SHORTLY: &str =
    "일시적으로 서비스에 연결할 수 없습니다. 잠시 후 다시 시도해 주세요.";

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
/// Required: empty is refused. The one parser of free text, see [`free_text`].
pub(crate) fn bounded_text(
    field: &str,
    raw: &str,
    label: &str,
    max_chars: usize,
) -> Result<String, FieldError> {
    free_text(field, raw, label, max_chars, true)
}

/// Every free-text field (names, descriptions, addresses) goes through here: trimmed, at most
/// `max_chars` characters, and refused (naming the field) when it holds a control character —
/// NUL, tabs and newlines included: none of our fields is multi-line — or U+FFFD, which is
/// what undecodable bytes (invalid UTF-8) became on the way in, so the person's text was lost.
pub(crate) fn free_text(
    field: &str,
    raw: &str,
    label: &str,
    max_chars: usize,
    required: bool,
) -> Result<String, FieldError> {
    let text = raw.trim();
    if text.is_empty() && required {
        return Err(FieldError::new(
            field,
            format!("{label}{} 입력해 주세요.", josa(label, "을", "를")),
        ));
    }
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(FieldError::new(
            field,
            format!(
                "{label}{} {max_chars}자 이하로 입력해 주세요. (현재 {chars}자)",
                josa(label, "은", "는")
            ),
        ));
    }
    if text
        .chars()
        .any(|c| c.is_control() || c == char::REPLACEMENT_CHARACTER)
    {
        return Err(FieldError::new(
            field,
            format!("{label}에 사용할 수 없는 글자가 있습니다."),
        ));
    }
    Ok(text.to_string())
}

/// `raw` if it is a path on this site (`/orders/7?x=1`), safe to redirect or navigate to:
/// one leading `/`, not `//` or `/\` (other hosts, to browsers), no backslash, no scheme, no
/// control characters (browsers drop tabs and newlines from URLs, which could make `//`).
pub fn local_path(raw: &str) -> Option<&str> {
    let rest = raw.strip_prefix('/')?;
    let safe = !rest.starts_with('/')
        && !raw.contains('\\')
        && !raw.chars().any(char::is_control)
        && !raw.contains(char::is_whitespace);
    safe.then_some(raw)
}

/// The Korean particle that fits after `word`: `with_final` after a closing consonant
/// (받침), e.g. 이름**을**, else `without`, e.g. 주소**를**.
pub fn josa(word: &str, with_final: &'static str, without: &'static str) -> &'static str {
    match word.chars().last() {
        Some(c @ '가'..='힣') if !(c as u32 - '가' as u32).is_multiple_of(28) => with_final,
        _ => without,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn local_paths_stay_on_this_site() {
        for good in ["/", "/orders/7", "/stores/3?tab=menu", "/a/b%2F/c"] {
            assert_eq!(super::local_path(good), Some(good), "{good}");
        }
        for bad in [
            "",
            "orders",
            "//evil.example",
            "/\\evil.example",
            "/\\/evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\u{0}x",
            " /orders",
            "/orders\\x",
        ] {
            assert_eq!(super::local_path(bad), None, "{bad:?}");
        }
    }

    use super::*;

    #[test]
    fn particles_follow_the_last_syllable() {
        assert_eq!(josa("이름", "을", "를"), "을");
        assert_eq!(josa("상점 주소", "을", "를"), "를");
        assert_eq!(josa("상점 이름", "은", "는"), "은");
        assert_eq!(
            bounded_text("f", "", "상점 주소", 5).unwrap_err().message,
            "상점 주소를 입력해 주세요."
        );
        assert_eq!(bounded_text("f", " 가나 ", "이름", 5).unwrap(), "가나");
        assert!(bounded_text("f", "가\u{7}", "이름", 5).is_err());
        for bad in [
            "가\u{0}나",
            "가\n나",
            "가\t나",
            "가\u{1b}[31m",
            "가\u{FFFD}나",
            "a\u{85}b",
        ] {
            let error = free_text("description", bad, "설명", 200, false).unwrap_err();
            assert_eq!(error.field, "description", "{bad:?}");
        }
        assert_eq!(free_text("d", "  ", "설명", 200, false).unwrap(), "");
        assert_eq!(
            free_text("d", " 매콤 달콤 ", "설명", 200, false).unwrap(),
            "매콤 달콤"
        );
    }
}
