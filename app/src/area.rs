//! The delivery area (a Seoul 구) a visitor who has no customer account here yet picked on the
//! home page, remembered in a cookie (`baedal_area`) rather than in an account. A cookie, and
//! not the browser's localStorage, because the server must know it: the list of nearby stores
//! is rendered on the server on the next visit's first request, before any script runs.
//! Signed-in customers have their own saved 동네 instead, which always wins.
//!
//! Only the format lives here (shared by the page that writes the cookie and by the server
//! that reads it); the cookie holds nothing secret and is readable by scripts.

use crate::domain::District;

pub const COOKIE_NAME: &str = "baedal_area";

/// One year: the area is where the visitor lives, not a passing choice.
pub const MAX_AGE_S: u64 = 365 * 24 * 60 * 60;

/// The cookie remembering `district` (a `Set-Cookie` value, or what a page assigns to
/// `document.cookie`). The name is percent-encoded: cookie values are ASCII.
pub fn cookie(district: District) -> String {
    let mut value = String::new();
    for byte in district.name().bytes() {
        if byte.is_ascii_alphanumeric() {
            value.push(byte as char);
        } else {
            value.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("{COOKIE_NAME}={value}; Path=/; Max-Age={MAX_AGE_S}; SameSite=Lax")
}

/// The district a `Cookie` request header remembers, if it remembers a valid one (anything
/// else is as if nothing had been chosen: the visitor is asked again).
pub fn from_cookie_header(header: &str) -> Option<District> {
    let value = header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)?
        .1;
    District::parse("area", &percent_decode(value)?).ok()
}

fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_remembered_area_survives_the_cookie_and_nothing_else_passes() {
        let songpa = District::parse("area", "송파구").unwrap();
        let set = cookie(songpa);
        assert!(set.starts_with("baedal_area=%EC%86%A1%ED%8C%8C%EA%B5%AC; Path=/;"));
        assert!(set.contains("Max-Age=31536000") && set.contains("SameSite=Lax"));
        let value = set.split(';').next().unwrap();
        assert_eq!(from_cookie_header(value), Some(songpa));
        assert_eq!(
            from_cookie_header(&format!("baedal_session=ab; {value}; x=y")),
            Some(songpa)
        );
        for header in [
            "",
            "baedal_session=ab",
            "baedal_area=",
            "baedal_area=%ED%95%B4%EC%9A%B4%EB%8C%80%EA%B5%AC",
            "baedal_area=%E",
            "baedal_area=%ZZ",
            "baedal_area=%FF",
            "other_baedal_area=%EC%86%A1%ED%8C%8C%EA%B5%AC",
        ] {
            assert_eq!(from_cookie_header(header), None, "{header}");
        }
    }
}
