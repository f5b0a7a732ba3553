//! Seoul's 25 districts (구) with a reference point each.
//!
//! Addresses are chosen from this list rather than typed, so every customer, store and rider
//! has coordinates, and "near me" is a distance computation rather than a geocoding call.

use super::FieldError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPoint {
    pub lat: f64,
    pub lng: f64,
}

impl GeoPoint {
    /// A point from two nullable columns (an address not placed yet: both NULL).
    pub fn from_columns(lat: Option<f64>, lng: Option<f64>) -> Option<GeoPoint> {
        Some(GeoPoint {
            lat: lat?,
            lng: lng?,
        })
    }

    /// Great-circle distance in metres (haversine); exact enough for a city.
    pub fn distance_m(self, other: GeoPoint) -> f64 {
        const EARTH_RADIUS_M: f64 = 6_371_000.0;
        let (lat1, lat2) = (self.lat.to_radians(), other.lat.to_radians());
        let d_lat = lat2 - lat1;
        let d_lng = (other.lng - self.lng).to_radians();
        let a = (d_lat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (d_lng / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().asin()
    }
}

/// A Seoul district, identified by its Korean name (e.g. "강남구").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct District(&'static str);

const DISTRICTS: [(&str, f64, f64); 25] = [
    ("강남구", 37.5172, 127.0473),
    ("강동구", 37.5301, 127.1238),
    ("강북구", 37.6396, 127.0257),
    ("강서구", 37.5509, 126.8495),
    ("관악구", 37.4784, 126.9516),
    ("광진구", 37.5385, 127.0823),
    ("구로구", 37.4954, 126.8874),
    ("금천구", 37.4569, 126.8955),
    ("노원구", 37.6542, 127.0568),
    ("도봉구", 37.6688, 127.0471),
    ("동대문구", 37.5744, 127.0400),
    ("동작구", 37.5124, 126.9393),
    ("마포구", 37.5663, 126.9019),
    ("서대문구", 37.5791, 126.9368),
    ("서초구", 37.4837, 127.0324),
    ("성동구", 37.5633, 127.0371),
    ("성북구", 37.5894, 127.0167),
    ("송파구", 37.5145, 127.1059),
    ("양천구", 37.5169, 126.8664),
    ("영등포구", 37.5264, 126.8962),
    ("용산구", 37.5326, 126.9900),
    ("은평구", 37.6027, 126.9291),
    ("종로구", 37.5735, 126.9790),
    ("중구", 37.5641, 126.9979),
    ("중랑구", 37.6063, 127.0925),
];

impl District {
    pub fn all() -> impl Iterator<Item = District> {
        DISTRICTS.iter().map(|(name, _, _)| District(name))
    }

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(FieldError::new(field, "지역(구)을 선택해 주세요."));
        }
        DISTRICTS
            .iter()
            .find(|(name, _, _)| *name == raw)
            .map(|(name, _, _)| District(name))
            .ok_or_else(|| FieldError::new(field, format!("서울의 구가 아닙니다: {raw}")))
    }

    pub fn name(self) -> &'static str {
        self.0
    }

    pub fn center(self) -> GeoPoint {
        let (_, lat, lng) = DISTRICTS
            .iter()
            .find(|(name, _, _)| *name == self.0)
            .expect("a District is only made from the table");
        GeoPoint {
            lat: *lat,
            lng: *lng,
        }
    }
}

impl std::fmt::Display for District {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_districts_and_rejects_others() {
        assert_eq!(District::parse("d", " 마포구 ").unwrap().name(), "마포구");
        assert_eq!(District::all().count(), 25);
        assert_eq!(District::parse("d", "").unwrap_err().field, "d");
        assert!(District::parse("d", "해운대구").is_err());
    }

    #[test]
    fn distance_between_gangnam_and_jongno_is_about_nine_km() {
        let gangnam = District::parse("d", "강남구").unwrap().center();
        let jongno = District::parse("d", "종로구").unwrap().center();
        let km = gangnam.distance_m(jongno) / 1000.0;
        assert!((8.0..11.0).contains(&km), "{km} km");
        assert_eq!(gangnam.distance_m(gangnam), 0.0);
    }
}
