//! Deliveries as riders see them: where the rider is, which orders are near, what they pay.

use super::{District, FieldError, FieldErrors, GeoPoint, OrderStatus, Won};
use serde::{Deserialize, Serialize};

/// Where the rider is: the browser's position, or the centre of a chosen district when the
/// rider declined to share it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RiderPosition {
    Located(GeoPoint),
    Area(District),
}

impl RiderPosition {
    /// From the raw form fields: `lat` and `lng` together, or neither and a district `area`
    /// (empty: the rider's home area, `home`).
    pub fn parse(
        lat: &str,
        lng: &str,
        area: &str,
        home: Option<District>,
    ) -> Result<Self, Vec<FieldError>> {
        let (lat, lng, area) = (lat.trim(), lng.trim(), area.trim());
        let mut errors = FieldErrors::default();
        if lat.is_empty() && lng.is_empty() {
            if area.is_empty() {
                return home.map(RiderPosition::Area).ok_or_else(|| {
                    vec![FieldError::new("area", "활동 지역(구)을 선택해 주세요.")]
                });
            }
            let area = errors.check(District::parse("area", area));
            errors.into_result()?;
            return Ok(RiderPosition::Area(area.expect("checked")));
        }
        let lat = errors.check(coordinate("lat", lat, 90.0, "위도"));
        let lng = errors.check(coordinate("lng", lng, 180.0, "경도"));
        errors.into_result()?;
        Ok(RiderPosition::Located(GeoPoint {
            lat: lat.expect("checked"),
            lng: lng.expect("checked"),
        }))
    }

    pub fn point(self) -> GeoPoint {
        match self {
            RiderPosition::Located(point) => point,
            RiderPosition::Area(district) => district.center(),
        }
    }

    pub fn label(self) -> String {
        match self {
            RiderPosition::Located(_) => "현재 위치".into(),
            RiderPosition::Area(district) => format!("{district} 중심"),
        }
    }
}

fn coordinate(field: &str, raw: &str, limit: f64, label: &str) -> Result<f64, FieldError> {
    match raw.parse::<f64>() {
        Ok(value) if value.is_finite() && value.abs() <= limit => Ok(value),
        Ok(_) => Err(FieldError::new(
            field,
            format!("{label}는 -{limit}부터 {limit} 사이여야 합니다."),
        )),
        Err(_) if raw.is_empty() => Err(FieldError::new(
            field,
            format!("{label}가 없습니다. 위도와 경도를 함께 보내 주세요."),
        )),
        Err(_) => Err(FieldError::new(
            field,
            format!("{label}는 숫자여야 합니다."),
        )),
    }
}

/// Where an order is dropped off: the coordinates of the address saved with it, or, for an
/// order from before addresses, its delivery district's centre (None when neither is known).
/// The rider's trip and fee, the ETA, live hints and "new delivery nearby" all ask here.
pub fn dropoff(saved: Option<GeoPoint>, district: &str) -> Option<GeoPoint> {
    saved.or_else(|| {
        super::District::parse("district", district)
            .ok()
            .map(super::District::center)
    })
}

/// What a delivery pays the rider: 3,000원, plus 500원 for every started kilometre of the
/// trip from the store to the customer beyond the first. The trip is measured between the
/// coordinates the customer's 배달팁 was priced on (the store's and the address saved with the
/// order), so the rider's fee and the customer's tip come from the same distance; the fee is
/// the platform's rule, the same at every store, while each store sets its own tip
/// (`DeliveryTerms`).
pub fn delivery_fee(trip_m: f64) -> Won {
    let extra_km = ((trip_m.max(0.0) - 1000.0) / 1000.0).ceil().max(0.0) as i64;
    Won(3_000 + 500 * extra_km)
}

/// A delivery a rider may take (cooked), or soon may (being cooked).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryOffer {
    pub order_id: super::OrderId,
    pub status: OrderStatus,
    pub store_name: String,
    pub pickup_address: String,
    /// The customer's district only: every rider nearby sees offers, and the full address is
    /// shown to the rider who claims it (`RiderDelivery::dropoff`).
    pub dropoff: String,
    /// From the rider to the customer.
    pub distance_m: f64,
    /// From the store to the customer.
    pub trip_m: f64,
    pub fee: Won,
    pub items: String,
}

impl DeliveryOffer {
    /// Only cooked food can be claimed; orders being cooked are shown so riders can head there.
    pub fn claimable(&self) -> bool {
        self.status == OrderStatus::Cooked
    }
}

/// A delivery the rider has claimed and not yet finished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiderDelivery {
    pub order_id: super::OrderId,
    pub status: OrderStatus,
    pub store_name: String,
    pub pickup_address: String,
    /// The customer's address (도로명, 상세주소); the district for orders from before addresses.
    pub dropoff: String,
    pub fee: Won,
    pub items: String,
    /// The customer's 배달 요청사항, if they left one. Only the rider carrying the order sees
    /// it: offers (`DeliveryOffer`), which every rider nearby browses, have no note. (Default:
    /// a list kept in the browser before notes existed still reads.)
    #[serde(default)]
    pub rider_note: Option<String>,
}

/// The rider's screen: nearby offers, the rider's own deliveries, and the rules in force.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiderBoard {
    /// "현재 위치" or "마포구 중심".
    pub origin: String,
    pub radius_m: f64,
    pub max_active: i64,
    pub offers: Vec<DeliveryOffer>,
    pub mine: Vec<RiderDelivery>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_come_from_coordinates_or_an_area() {
        let home = District::parse("d", "마포구").ok();
        assert_eq!(
            RiderPosition::parse("", "", "", home).unwrap(),
            RiderPosition::Area(home.unwrap())
        );
        let gangnam = RiderPosition::parse("", "", "강남구", home).unwrap();
        assert_eq!(gangnam.label(), "강남구 중심");
        let here = RiderPosition::parse("37.55", "126.92", "", home).unwrap();
        assert_eq!(
            here.point(),
            GeoPoint {
                lat: 37.55,
                lng: 126.92
            }
        );
        assert_eq!(here.label(), "현재 위치");
    }

    #[test]
    fn bad_positions_name_their_field() {
        let fields = |lat: &str, lng: &str, area: &str| -> Vec<String> {
            RiderPosition::parse(lat, lng, area, None)
                .unwrap_err()
                .into_iter()
                .map(|e| e.field)
                .collect()
        };
        assert_eq!(fields("91", "126.9", ""), ["lat"]);
        assert_eq!(fields("37.5", "abc", ""), ["lng"]);
        assert_eq!(fields("37.5", "", ""), ["lng"]);
        assert_eq!(fields("NaN", "inf", ""), ["lat", "lng"]);
        assert_eq!(fields("", "", "해운대구"), ["area"]);
        assert_eq!(fields("", "", ""), ["area"]);
    }

    #[test]
    fn fees_grow_by_started_kilometre() {
        assert_eq!(delivery_fee(0.0), Won(3_000));
        assert_eq!(delivery_fee(1_000.0), Won(3_000));
        assert_eq!(delivery_fee(1_001.0), Won(3_500));
        assert_eq!(delivery_fee(4_200.0), Won(5_000));
    }
}
