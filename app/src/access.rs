//! Which pages only signed-in people may open, and where a signed-out visitor is sent: one
//! answer shared by the pages (`ui::auth`, which redirects in the browser) and by the server's
//! guard (`door::http`, which answers 303 before rendering), so neither has to ask the other.
//!
//! The home page (`/`) and a store's page (`/stores/N`) are open to anyone: a shared store
//! link must show the store to the person, the search engine and the link preview that open
//! it. Sign-in is asked where it is needed — at checkout, which then comes back to the cart.

/// Whether `path` is a page only signed-in people may open. The server redirects signed-out
/// requests for these to sign in before rendering anything.
pub fn sign_in_required(path: &str) -> bool {
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    let numbered = |prefix: &str| {
        path.strip_prefix(prefix)
            .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
    };
    matches!(
        path,
        "/checkout" | "/orders" | "/store" | "/store/menu" | "/rider" | "/notifications"
    ) || numbered("/orders/")
}

/// Where a signed-out visitor of `path_and_query` is sent: the sign-in page, which comes back
/// here afterwards.
pub fn sign_in_location(path_and_query: &str) -> String {
    format!("/signin?next={}", next_value(path_and_query))
}

/// The sign-up page, which also comes back to `path_and_query` afterwards.
pub fn sign_up_location(path_and_query: &str) -> String {
    format!("/signup?next={}", next_value(path_and_query))
}

/// `path_and_query` as one query value (slashes kept readable).
fn next_value(path_and_query: &str) -> String {
    let mut next = String::with_capacity(path_and_query.len());
    for byte in path_and_query.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            next.push(byte as char);
        } else {
            next.push_str(&format!("%{byte:02X}"));
        }
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_role_page_needs_sign_in_and_the_rest_do_not() {
        for path in [
            "/checkout",
            "/checkout/",
            "/orders",
            "/orders/12",
            "/orders/12/",
            "/store",
            "/store/",
            "/store/menu",
            "/store/menu/",
            "/rider",
            "/notifications",
        ] {
            assert!(sign_in_required(path), "{path}");
        }
        for path in [
            "/",
            "/stores/3",
            "/stores/3/",
            "/signin",
            "/signup",
            "/stores/",
            "/stores/x",
            "/orders/1/2",
            "/pkg/baedal.js",
            "/favicon.svg",
            "/nope",
            "/api/sign_in",
        ] {
            assert!(!sign_in_required(path), "{path}");
        }
    }

    #[test]
    fn the_way_back_after_sign_in_survives_as_one_query_value() {
        assert_eq!(sign_in_location("/store"), "/signin?next=/store");
        assert_eq!(
            sign_in_location("/orders?from=a&b=c d"),
            "/signin?next=/orders%3Ffrom%3Da%26b%3Dc%20d"
        );
        assert_eq!(sign_up_location("/checkout"), "/signup?next=/checkout");
    }
}
