//! JSON in the browser, decoded one way only.
//!
//! serde_json's decoding is generic over where the text comes from: `from_slice` (bytes) and
//! `from_str` (a `&str`) compile to two separate copies of every type's deserialiser. Server
//! functions decode their answers with `from_slice`; Leptos's default Resource codec decodes
//! the server's hydration data with `from_str`. Since a page's Resources hold exactly the
//! server functions' answers, that was every answer type compiled twice into the wasm. Here the
//! Resources (and the few other places that read JSON in the browser) decode with `from_slice`
//! too, so each type's deserialiser exists once (docs/benchmarks.md, issue 16).

use crate::error::AppError;
use leptos::prelude::Resource;
use leptos::server::codee::{Decoder, Encoder};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Decodes JSON text the way server functions decode their answers.
pub fn from_json<T: DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    serde_json::from_slice(text.as_bytes())
}

/// The Resources' codec: JSON, decoded with [`from_json`].
pub struct Json;

impl<T: Serialize> Encoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = String;

    fn encode(value: &T) -> Result<String, serde_json::Error> {
        serde_json::to_string(value)
    }
}

impl<T: DeserializeOwned> Decoder<T> for Json {
    type Error = serde_json::Error;
    type Encoded = str;

    fn decode(text: &str) -> Result<T, serde_json::Error> {
        from_json(text)
    }
}

/// A page's data: what a server function answered, rendered on the server and sent with the
/// page, loaded again in the browser when its source changes.
pub type Loaded<T> = Resource<Result<T, AppError>, Json>;

/// Makes a [`Loaded`] (what `Resource::new` does, with [`Json`]).
#[track_caller]
pub fn load<T, S, Fut>(
    source: impl Fn() -> S + Send + Sync + 'static,
    fetcher: impl Fn(S) -> Fut + Send + Sync + 'static,
) -> Loaded<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    S: Send + Sync + Clone + PartialEq + 'static,
    Fut: std::future::Future<Output = Result<T, AppError>> + Send + 'static,
{
    Resource::new_with_options(source, fetcher, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FieldError;

    #[test]
    fn a_page_s_data_travels_through_the_codec_unchanged() {
        let answers: Vec<Result<Vec<i64>, AppError>> = vec![
            Ok(vec![1, 2, 3]),
            Err(AppError::Invalid {
                fields: vec![FieldError::new("quantity", "1개 이상이어야 합니다")],
            }),
            Err(AppError::unavailable()),
        ];
        for answer in answers {
            let text = <Json as Encoder<_>>::encode(&answer).unwrap();
            let back: Result<Vec<i64>, AppError> = <Json as Decoder<_>>::decode(&text).unwrap();
            assert_eq!(back, answer);
        }
    }

    #[test]
    fn undecodable_text_is_an_error_not_a_panic() {
        assert!(from_json::<Vec<i64>>("[1, 2").is_err());
        assert!(from_json::<Vec<i64>>("\"x\"").is_err());
    }
}
