//! Addresses as people type them (도로명 + 상세주소) and as a geocoder places them.
//!
//! The road-name part is what a geocoder can find; the 상세주소 (동·호수, 층) only tells the
//! rider which door, so it is never sent to the geocoder (its own documentation advises
//! against it) and never affects distances or prices.

use super::{free_text, District, FieldError, FieldErrors, GeoPoint};
use serde::{Deserialize, Serialize};

/// An address as typed, after the text rules: both parts trimmed, bounded and free of control
/// characters; the road-name part required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressInput {
    pub road: String,
    pub detail: String,
}

impl AddressInput {
    pub const ROAD_MAX: usize = 120;
    pub const DETAIL_MAX: usize = 60;

    /// `road_field` and `detail_field` name the form's fields in errors (`address`,
    /// `store_address`, …).
    pub fn parse(
        road_field: &str,
        road: &str,
        detail_field: &str,
        detail: &str,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        let road = errors.check(free_text(
            road_field,
            road,
            "도로명 주소",
            Self::ROAD_MAX,
            true,
        ));
        let detail = errors.check(free_text(
            detail_field,
            detail,
            "상세주소",
            Self::DETAIL_MAX,
            false,
        ));
        errors.into_result()?;
        Ok(AddressInput {
            road: road.expect("checked"),
            detail: detail.expect("checked"),
        })
    }

    /// The district named in the address itself ("서울 송파구 올림픽로 300" → 송파구): what the
    /// district-centre fallback places an address by when no geocoder is configured.
    pub fn district_named(&self) -> Option<District> {
        self.road
            .split_whitespace()
            .find_map(|word| District::parse("address", word).ok())
    }
}

/// An address placed on the map: the provider's normalised road-name address, the typed
/// 상세주소, its district and its coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    pub road: String,
    pub detail: String,
    pub district: District,
    pub point: GeoPoint,
    /// True when placed at its district's centre (no geocoder configured): distances are then
    /// district to district.
    pub approximate: bool,
}

impl Located {
    /// "서울 송파구 올림픽로 300, 101동 1203호" (or without the detail).
    pub fn full(&self) -> String {
        full_address(&self.road, &self.detail)
    }
}

/// The road-name address and the 상세주소 as one line.
pub fn full_address(road: &str, detail: &str) -> String {
    if detail.is_empty() {
        road.to_string()
    } else {
        format!("{road}, {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_road_part_is_required_and_both_follow_the_text_rules() {
        let address =
            AddressInput::parse("address", " 서울 송파구 올림픽로 300 ", "d", "").unwrap();
        assert_eq!(address.road, "서울 송파구 올림픽로 300");
        let fields = |r: Result<AddressInput, Vec<FieldError>>| {
            r.unwrap_err()
                .into_iter()
                .map(|e| e.field)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            fields(AddressInput::parse("address", " ", "d", "")),
            ["address"]
        );
        assert_eq!(
            fields(AddressInput::parse(
                "address",
                "서울\n송파구",
                "d",
                "1\u{0}호"
            )),
            ["address", "d"]
        );
        assert_eq!(
            fields(AddressInput::parse(
                "address",
                &"가".repeat(121),
                "d",
                &"나".repeat(61)
            )),
            ["address", "d"]
        );
    }

    #[test]
    fn the_fallback_finds_a_district_word_not_a_substring() {
        let district = |road: &str| {
            AddressInput::parse("a", road, "d", "")
                .unwrap()
                .district_named()
                .map(District::name)
        };
        assert_eq!(district("서울 송파구 올림픽로 300"), Some("송파구"));
        assert_eq!(district("서울특별시 중구 세종대로 110"), Some("중구"));
        assert_eq!(district("부산 해운대구 해운대로 1"), None);
        assert_eq!(district("강중구로 5"), None);
        assert_eq!(full_address("올림픽로 300", ""), "올림픽로 300");
        assert_eq!(full_address("올림픽로 300", "2층"), "올림픽로 300, 2층");
    }
}
