//! The guard in front of every request: the client's address, cross-site request refusal
//! (CSRF), the body type of server functions, same-origin redirects after no-JS form posts,
//! and the security headers of every response (with the page's CSP nonce).
//!
//! CSRF. The session cookie is `SameSite=Lax`, which does not stop sibling subdomains or other
//! ports of the same host, so every state-changing request (any method but GET, HEAD and
//! OPTIONS) must prove it comes from our own pages:
//! - with an `Origin` header: it must be the request's own origin (its `Host`) or one of
//!   `BAEDAL_ALLOWED_ORIGINS`; `null` and everything else → 403;
//! - without `Origin`: `Sec-Fetch-Site` must be `same-origin` or `none` (typed by the user);
//!   `same-site` and `cross-site` → 403;
//! - with neither: allowed. Every browser in use sends `Origin` on a cross-origin POST, and
//!   `Sec-Fetch-Site` on every request, so a request with neither is not a browser carrying a
//!   victim's cookies: it is curl, a script or a server with its own session (the integration
//!   tests' client is one). Refusing them would protect nobody.
//!
//! Server functions accept only the body type they declare (`app::api::declared_content_type`):
//! a page elsewhere can send a "simple" `text/plain` POST without a preflight, which must not
//! be parsed as JSON. Other types → 415, before the function runs. Only an empty body may come
//! without a type (a call without arguments).
//!
//! The body of a server-function call that passed is kept in the request
//! (`app::api::arguments::ArgumentBody`): if Leptos cannot decode it, the 400 names the
//! argument to blame.

use app::backend::limits::ClientAddress;
use app::error::AppError;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// The largest request body accepted (413 beyond): no form or checkout needs more.
pub const BODY_LIMIT: usize = 64 * 1024;

/// What the guard needs from the configuration.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    /// Origins (lower-case `scheme://host[:port]`) accepted besides the request's own.
    pub allowed_origins: Vec<String>,
    /// Send `Strict-Transport-Security` (the site is served over HTTPS).
    pub hsts: bool,
    /// Read the client's address from the last `X-Forwarded-For` entry.
    pub trust_forwarded: bool,
}

/// The nonce of the page being answered: the `Content-Security-Policy` header names it, and
/// the router hands it to Leptos, which puts it on every script of the page.
#[derive(Debug, Clone)]
pub struct CspNonce(pub String);

impl CspNonce {
    fn new() -> Self {
        // 122 random bits from the operating system's generator, as 32 hex digits.
        CspNonce(uuid::Uuid::new_v4().simple().to_string())
    }
}

pub async fn guard(State(guard): State<Arc<Guard>>, mut request: Request, next: Next) -> Response {
    let nonce = CspNonce::new();
    let path = request.uri().path().to_string();
    if let Some(address) = client_address(&request, guard.trust_forwarded) {
        request.extensions_mut().insert(ClientAddress(address));
    }
    request.extensions_mut().insert(nonce.clone());
    let changes_state = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let response = if changes_state {
        match refusal(&guard, &request, &path) {
            Some(refused) => refused,
            None => {
                let host = request_host(&request);
                let request = if path.starts_with("/api/") {
                    match keep_arguments(request).await {
                        Ok(request) => request,
                        Err(refused) => return with_headers(refused, &guard, &path, &nonce),
                    }
                } else {
                    request
                };
                let mut response = next.run(request).await;
                if path.starts_with("/api/") {
                    keep_redirect_on_site(&mut response, host.as_deref(), &guard);
                }
                response
            }
        }
    } else {
        next.run(request).await
    };
    with_headers(response, &guard, &path, &nonce)
}

fn with_headers(mut response: Response, guard: &Guard, path: &str, nonce: &CspNonce) -> Response {
    let document = !is_build_asset(path) || is_html(response.headers());
    add_security_headers(response.headers_mut(), guard, document, path, nonce);
    response
}

fn is_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"))
}

/// Keeps a server function's body in the request (`ArgumentBody`), so that a body Leptos
/// cannot decode is answered with the argument named. A body declared larger than
/// [`BODY_LIMIT`] is left to the body limit layer (413); a streamed one that grows past it is
/// refused here the same way.
async fn keep_arguments(request: Request) -> Result<Request, Response> {
    let declared_too_large = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|length| length > BODY_LIMIT as u64);
    if declared_too_large {
        return Ok(request);
    }
    let (mut parts, body) = request.into_parts();
    match axum::body::to_bytes(body, BODY_LIMIT).await {
        Ok(bytes) => {
            parts
                .extensions
                .insert(app::api::arguments::ArgumentBody(bytes.clone()));
            Ok(Request::from_parts(parts, axum::body::Body::from(bytes)))
        }
        Err(error) => {
            let too_large = error.into_inner().is::<http_body_util::LengthLimitError>();
            let status = if too_large {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            };
            Err(status.into_response())
        }
    }
}

/// Why a state-changing request is refused, as its answer; `None` lets it through.
fn refusal(guard: &Guard, request: &Request, path: &str) -> Option<Response> {
    let headers = request.headers();
    let host = request_host(request);
    let same_origin = match headers.get(header::ORIGIN) {
        Some(origin) => origin
            .to_str()
            .ok()
            .is_some_and(|origin| origin_allowed(origin, host.as_deref(), &guard.allowed_origins)),
        None => match headers.get("sec-fetch-site") {
            Some(site) => matches!(site.to_str(), Ok("same-origin" | "none")),
            // Not a browser: see the module's notes.
            None => true,
        },
    };
    if !same_origin {
        tracing::info!(
            origin = ?headers.get(header::ORIGIN),
            sec_fetch_site = ?headers.get("sec-fetch-site"),
            %path,
            "refused a cross-site request"
        );
        app::backend::metrics::counter_add(
            "baedal_refused_requests_total",
            &[("cause", "csrf")],
            1.0,
        );
        let error = AppError::Forbidden;
        return Some((StatusCode::FORBIDDEN, axum::Json(error)).into_response());
    }
    if path.starts_with("/api/") {
        let expected = app::api::declared_content_type(path);
        let given = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase());
        // A call without arguments may come with no body at all, and then with no type.
        let empty_body = !headers.contains_key(header::TRANSFER_ENCODING)
            && headers
                .get(header::CONTENT_LENGTH)
                .is_none_or(|length| length.as_bytes() == b"0");
        let acceptable = match given {
            Some(given) => given == expected,
            None => empty_body,
        };
        if !acceptable {
            app::backend::metrics::counter_add(
                "baedal_refused_requests_total",
                &[("cause", "content_type")],
                1.0,
            );
            let error = AppError::BadRequest {
                message: format!("본문 형식(Content-Type)은 {expected} 이어야 합니다."),
                fields: Vec::new(),
            };
            return Some((StatusCode::UNSUPPORTED_MEDIA_TYPE, axum::Json(error)).into_response());
        }
    }
    None
}

/// The host the client addressed (`Host`, or the URI's authority on HTTP/2), lower-case.
fn request_host(request: &Request) -> Option<String> {
    request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| request.uri().authority().map(|a| a.to_string()))
        .map(|h| h.to_ascii_lowercase())
}

/// Whether `origin` is this site: the request's own host (same host and port; the scheme is
/// not compared, as behind a TLS gateway the server sees plain HTTP) or a configured origin.
fn origin_allowed(origin: &str, host: Option<&str>, allowed: &[String]) -> bool {
    let origin = origin.trim().to_ascii_lowercase();
    if allowed.contains(&origin) {
        return true;
    }
    let (Some((scheme, authority)), Some(host)) = (origin.split_once("://"), host) else {
        return false;
    };
    let default_port = match scheme {
        "http" => ":80",
        "https" => ":443",
        _ => return false,
    };
    let strip = |a: &str| a.strip_suffix(default_port).unwrap_or(a).to_string();
    !authority.is_empty() && strip(authority) == strip(host)
}

/// The client's address: the TCP peer, or — only when the gateway is trusted — the last
/// `X-Forwarded-For` entry, the one the gateway itself added (earlier ones come from the
/// client and can say anything).
fn client_address(request: &Request, trust_forwarded: bool) -> Option<IpAddr> {
    if trust_forwarded {
        let forwarded = request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
            .next_back();
        if forwarded.is_some() {
            return forwarded;
        }
    }
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip())
}

/// A no-JS form post to a server function is answered with a redirect back to the page
/// (leptos_axum sends the `Referer`; a failed call keeps its error status but also gets the
/// `Location`). A `Referer` from elsewhere must not make us send anyone there: anything but a
/// path on this site becomes `/`.
fn keep_redirect_on_site(response: &mut Response, host: Option<&str>, guard: &Guard) {
    let Some(location) = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
    else {
        return;
    };
    let on_site = match location.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let origin = format!("{scheme}://{authority}");
            let path = if path.is_empty() { "/" } else { path };
            origin_allowed(&origin, host, &guard.allowed_origins)
                .then(|| app::domain::local_path(path))
                .flatten()
        }
        None => app::domain::local_path(location),
    };
    let safe = on_site.unwrap_or("/").to_string();
    if safe != location {
        tracing::info!(%location, "redirect off this site replaced by /");
    }
    if let Ok(value) = HeaderValue::from_str(&safe) {
        response.headers_mut().insert(header::LOCATION, value);
    }
}

/// The Content-Security-Policy of every answer. Inline scripts run only with this response's
/// nonce (Leptos puts it on the hydration script and its data scripts); script files only from
/// this site (the hydration script imports `/pkg/baedal.js`; `nosniff` keeps JSON answers from
/// being run as scripts); `'wasm-unsafe-eval'` compiles the wasm; no `eval`. No
/// `'strict-dynamic'`: it is not needed, and it would let any script create inline scripts
/// (the Playwright suite proves an injected one is refused). Styles come from our stylesheet;
/// style *attributes* (the owner's hourly chart bars) are allowed, style elements are not.
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; \
         script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; style-src-attr 'unsafe-inline'; \
         img-src 'self' data:; font-src 'self'; connect-src 'self'; \
         manifest-src 'self'; worker-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Build assets (`/pkg/…`: the wasm, its scripts, the stylesheet) are loaded by our pages, never
/// shown as pages of their own: a script, a stylesheet or a wasm module runs under the policy of
/// the document that loads it, whatever its own response says. So they get only the headers
/// that act on a subresource — `nosniff`, the referrer policy (a stylesheet's own requests
/// follow its response's), HSTS — and not the document's (CSP, frame, opener and permissions
/// policies): 560 bytes less on each of a first load's five asset answers (the gateway, which
/// serves them itself, sends `nosniff` only). An HTML answer under `/pkg` (the app's 404 page
/// for a file that is not there) is a document and keeps them all. The rider's service worker
/// (`/rider-sw.js`) is not under `/pkg`: a worker does run under its own response's CSP.
pub fn is_build_asset(path: &str) -> bool {
    path.starts_with("/pkg/")
}

fn add_security_headers(
    headers: &mut HeaderMap,
    guard: &Guard,
    document: bool,
    path: &str,
    nonce: &CspNonce,
) {
    if document && !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        if let Ok(csp) = HeaderValue::from_str(&content_security_policy(&nonce.0)) {
            headers.insert(header::CONTENT_SECURITY_POLICY, csp);
        }
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    if document {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            "cross-origin-opener-policy",
            HeaderValue::from_static("same-origin"),
        );
        headers.insert(
            "permissions-policy",
            HeaderValue::from_static(permissions_policy(path)),
        );
    }
    if guard.hsts {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
}

/// Location only where a rider can land: the rider app, and the pages a rider goes on to it
/// from without a new document (sign-in, sign-up, notifications); nowhere else, and never in
/// frames of other sites. Nothing else the browser offers is used.
pub fn permissions_policy(path: &str) -> &'static str {
    let rider_reachable = ["/rider", "/signin", "/signup", "/notifications"]
        .iter()
        .any(|page| path == *page || path.starts_with(&format!("{page}/")));
    if rider_reachable {
        "geolocation=(self), camera=(), microphone=(), payment=()"
    } else {
        "geolocation=(), camera=(), microphone=(), payment=()"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_match_the_host_or_the_configured_list() {
        let allowed = vec!["https://baedal.example".to_string()];
        assert!(origin_allowed(
            "http://127.0.0.1:3000",
            Some("127.0.0.1:3000"),
            &[]
        ));
        assert!(origin_allowed("https://baedal.kr", Some("baedal.kr"), &[]));
        assert!(origin_allowed(
            "https://baedal.kr",
            Some("baedal.kr:443"),
            &[]
        ));
        assert!(origin_allowed(
            "HTTPS://Baedal.Example",
            Some("internal:3000"),
            &allowed
        ));
        assert!(!origin_allowed(
            "https://evil.example",
            Some("baedal.kr"),
            &allowed
        ));
        assert!(!origin_allowed(
            "http://127.0.0.1:3001",
            Some("127.0.0.1:3000"),
            &[]
        ));
        assert!(!origin_allowed(
            "https://shop.baedal.kr",
            Some("baedal.kr"),
            &[]
        ));
        assert!(!origin_allowed("null", Some("baedal.kr"), &[]));
        assert!(!origin_allowed("https://baedal.kr", None, &[]));
    }

    #[test]
    fn redirects_after_form_posts_stay_on_this_site() {
        let guard = Guard::default();
        let redirect = |location: &str| {
            let mut response = Response::builder()
                .status(StatusCode::FOUND)
                .header(header::LOCATION, location)
                .body(axum::body::Body::empty())
                .unwrap();
            keep_redirect_on_site(&mut response, Some("baedal.kr"), &guard);
            response.headers()[header::LOCATION]
                .to_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(redirect("/signin?next=/orders"), "/signin?next=/orders");
        assert_eq!(redirect("https://baedal.kr/orders/7"), "/orders/7");
        assert_eq!(redirect("https://baedal.kr"), "/");
        assert_eq!(redirect("https://evil.example/phish"), "/");
        assert_eq!(redirect("//evil.example/"), "/");
        assert_eq!(redirect("/\\evil.example"), "/");
        assert_eq!(redirect("https://baedal.kr//evil.example"), "/");
    }

    #[test]
    fn location_is_allowed_only_where_riders_are() {
        assert!(permissions_policy("/rider").contains("geolocation=(self)"));
        assert!(permissions_policy("/signin").contains("geolocation=(self)"));
        assert!(permissions_policy("/").contains("geolocation=()"));
        assert!(permissions_policy("/riders-club").contains("geolocation=()"));
        assert!(permissions_policy("/pkg/baedal.js").contains("geolocation=()"));
        assert!(is_build_asset("/pkg/0123abcd/baedal_bg.wasm"));
        assert!(
            !is_build_asset("/rider-sw.js") && !is_build_asset("/pkgs") && !is_build_asset("/")
        );
    }
}
