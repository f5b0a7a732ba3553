//! How answers may be cached and compressed.
//!
//! Why here and not per handler: every answer needs a caching decision, and the safe one differs
//! only by kind. The browser assets of a build live under `/pkg/<version>/` (a content hash made
//! by `scripts/build.sh`), so a URL never changes meaning: browsers keep them a year without
//! asking again (`immutable`), and a new build is a new URL. Everything else — pages, server
//! functions, the rider's service worker and manifest — must be asked for again every time
//! (`no-cache`); pages and answers carry someone's data, so shared caches must not keep them
//! (`private`).
//!
//! Compression: the assets are compressed once at build time (brotli and gzip siblings that
//! `ServeDir` picks by `Accept-Encoding`); pages and JSON are compressed on the fly by
//! `tower_http`'s compression layer, which leaves the live event stream alone (its predicate
//! skips `text/event-stream`, and `/live` is routed outside it anyway).

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
pub const REVALIDATE: &str = "no-cache";
pub const PRIVATE: &str = "private, no-cache";

/// Whether `path` is a versioned build asset: `/pkg/<version>/<file>`.
pub fn is_versioned_asset(path: &str) -> bool {
    let mut parts = path.strip_prefix("/pkg/").unwrap_or("").splitn(2, '/');
    matches!(
        (parts.next(), parts.next()),
        (Some(version), Some(file))
            if !version.is_empty()
                && version.bytes().all(|b| b.is_ascii_hexdigit())
                && !file.is_empty()
                && !file.contains('/')
    )
}

/// Sets `Cache-Control` (and `Vary` for files that come in several encodings) on every answer
/// that did not choose its own.
pub async fn cache_policy(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let static_file = app::door::http::is_static_file(&path);
    if static_file {
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        let policy = if !response.status().is_success() {
            REVALIDATE
        } else if is_versioned_asset(&path) {
            IMMUTABLE
        } else if static_file {
            REVALIDATE
        } else {
            PRIVATE
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::is_versioned_asset;

    #[test]
    fn only_files_directly_under_a_hex_version_are_immutable() {
        assert!(is_versioned_asset("/pkg/0123456789abcdef/baedal_bg.wasm"));
        assert!(is_versioned_asset("/pkg/0123abcd/baedal.css.br"));
        assert!(!is_versioned_asset("/pkg/baedal.js"));
        assert!(!is_versioned_asset("/pkg//baedal.js"));
        assert!(!is_versioned_asset("/pkg/not-a-hash/baedal.js"));
        assert!(!is_versioned_asset("/pkg/0123/sub/baedal.js"));
        assert!(!is_versioned_asset("/rider-sw.js"));
        assert!(!is_versioned_asset("/pkg/0123/"));
    }
}
