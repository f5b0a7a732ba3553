//! What a store charges for delivery and how far it delivers: 최소주문금액, 배달팁 (flat, or
//! growing by distance band) and the delivery radius.
//!
//! One set of rules prices the customer's screens (store list, menu, cart) and the charge at
//! checkout, so the amount shown before paying is the amount paid. The server always prices
//! from its own numbers: what a client sends as a total is never read.

use super::{FieldError, FieldErrors, Won};
use serde::{Deserialize, Serialize};

/// A store's delivery terms, as its owner set them (on the server, read from a `stores` row's
/// `min_order_won`, `tip_won`, `tip_per_km_won`, `radius_m`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "sqlx", derive(sqlx::FromRow))]
pub struct DeliveryTerms {
    /// The dishes' total must reach this (0: no minimum).
    #[cfg_attr(feature = "sqlx", sqlx(rename = "min_order_won"))]
    pub min_order: Won,
    /// 배달팁 within the first kilometre.
    #[cfg_attr(feature = "sqlx", sqlx(rename = "tip_won"))]
    pub tip: Won,
    /// Added for every started kilometre beyond the first (0: a flat tip).
    #[cfg_attr(feature = "sqlx", sqlx(rename = "tip_per_km_won"))]
    pub tip_per_km: Won,
    /// How far from the store it delivers, in metres.
    pub radius_m: i64,
}

/// The delivery terms applied to one delivery address.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DeliveryQuote {
    /// From the store to the address, in a straight line.
    pub distance_m: f64,
    pub tip: Won,
    /// Within the store's radius.
    pub deliverable: bool,
}

impl Default for DeliveryTerms {
    /// A new store's terms until its owner changes them: no minimum, no tip, 3 km.
    fn default() -> Self {
        DeliveryTerms {
            min_order: Won(0),
            tip: Won(0),
            tip_per_km: Won(0),
            radius_m: 3_000,
        }
    }
}

impl DeliveryTerms {
    pub const MAX_MIN_ORDER: i64 = 100_000;
    pub const MAX_TIP: i64 = 20_000;
    pub const MAX_TIP_PER_KM: i64 = 5_000;
    pub const MIN_RADIUS_M: i64 = 500;
    pub const MAX_RADIUS_M: i64 = 10_000;

    /// The owner's form: amounts in whole won, the radius in kilometres (one decimal).
    pub fn parse(
        min_order: &str,
        tip: &str,
        tip_per_km: &str,
        radius_km: &str,
    ) -> Result<Self, Vec<FieldError>> {
        let mut errors = FieldErrors::default();
        let min_order = errors.check(won(
            "min_order",
            min_order,
            "최소주문금액",
            Self::MAX_MIN_ORDER,
        ));
        let tip = errors.check(won("tip", tip, "배달팁", Self::MAX_TIP));
        let tip_per_km = errors.check(won(
            "tip_per_km",
            tip_per_km,
            "거리별 추가 배달팁",
            Self::MAX_TIP_PER_KM,
        ));
        let radius_m = errors.check(radius("radius_km", radius_km));
        errors.into_result()?;
        Ok(DeliveryTerms {
            min_order: min_order.expect("checked"),
            tip: tip.expect("checked"),
            tip_per_km: tip_per_km.expect("checked"),
            radius_m: radius_m.expect("checked"),
        })
    }

    /// 배달팁 for a delivery `distance_m` from the store.
    pub fn tip_for(&self, distance_m: f64) -> Won {
        Won(self.tip.0 + self.tip_per_km.0 * started_km_beyond_first(distance_m))
    }

    pub fn quote(&self, distance_m: f64) -> DeliveryQuote {
        DeliveryQuote {
            distance_m,
            tip: self.tip_for(distance_m),
            deliverable: distance_m <= self.radius_m as f64,
        }
    }

    /// The dishes' total against the minimum: the error names the cart (`lines`) and both sums.
    pub fn check_minimum(&self, dishes_total: Won) -> Result<(), FieldError> {
        if dishes_total < self.min_order {
            return Err(FieldError::new(
                "lines",
                format!(
                    "최소주문금액은 {}입니다. 주문 금액 {}에서 {} 더 담아 주세요.",
                    self.min_order,
                    dishes_total,
                    Won(self.min_order.0 - dishes_total.0)
                ),
            ));
        }
        Ok(())
    }

    /// Whether the store delivers to `address`, `distance_m` away: the error names the address.
    pub fn check_reach(&self, distance_m: f64, address: &str) -> Result<(), FieldError> {
        if self.quote(distance_m).deliverable {
            return Ok(());
        }
        Err(FieldError::new(
            "address",
            format!(
                "배달 가능 거리({})를 벗어난 주소입니다: {address} (가게에서 {})",
                km(self.radius_m),
                super::format_distance(distance_m)
            ),
        ))
    }

    /// "배달팁 2,000원", "배달팁 2,000원~ (1km마다 +500원)", "배달팁 무료".
    pub fn tip_label(&self) -> String {
        match (self.tip.0, self.tip_per_km.0) {
            (0, 0) => "배달팁 무료".into(),
            (_, 0) => format!("배달팁 {}", self.tip),
            (_, per_km) => format!("배달팁 {}~ (1km마다 +{})", self.tip, Won(per_km)),
        }
    }

    /// "최소주문 15,000원", or None without a minimum.
    pub fn min_order_label(&self) -> Option<String> {
        (self.min_order.0 > 0).then(|| format!("최소주문 {}", self.min_order))
    }

    /// "배달 가능 거리 3km", "2.5km".
    pub fn radius_label(&self) -> String {
        format!("배달 가능 거리 {}", km(self.radius_m))
    }
}

/// The delivery radius as an owner's form shows it: "3", "2.5".
pub fn km(metres: i64) -> String {
    if metres % 1000 == 0 {
        format!("{}km", metres / 1000)
    } else {
        let tenths = (metres.unsigned_abs().saturating_add(50) / 100) as i64;
        tenths_of_km(if metres < 0 { -tenths } else { tenths })
    }
}

/// "2.5km" from 25 tenths (halves of a tenth were rounded away from zero). Integer arithmetic,
/// not `{:.1}` on a float: fixed-precision float formatting (`core`'s `format_exact`, some
/// 6 KB) is then not in the browser's wasm. The shortest `Display` of a float stays there:
/// serde's error messages use it.
pub(crate) fn tenths_of_km(tenths: i64) -> String {
    let sign = if tenths < 0 { "-" } else { "" };
    let tenths = tenths.unsigned_abs();
    format!("{sign}{}.{}km", tenths / 10, tenths % 10)
}

fn started_km_beyond_first(distance_m: f64) -> i64 {
    ((distance_m.max(0.0) - 1000.0) / 1000.0).ceil().max(0.0) as i64
}

fn won(field: &str, raw: &str, label: &str, max: i64) -> Result<Won, FieldError> {
    let raw = raw.trim().replace(',', "");
    let raw = raw.strip_suffix('원').unwrap_or(&raw);
    match raw.parse::<i64>() {
        Ok(amount) if (0..=max).contains(&amount) => Ok(Won(amount)),
        Ok(_) => Err(FieldError::new(
            field,
            format!("{label}은 0원부터 {}까지 입력할 수 있습니다.", Won(max)),
        )),
        Err(_) => Err(FieldError::new(
            field,
            format!("{label}은 원 단위 정수로 입력해 주세요."),
        )),
    }
}

fn radius(field: &str, raw: &str) -> Result<i64, FieldError> {
    let raw = raw.trim().trim_end_matches("km").trim();
    let out_of_range = || {
        FieldError::new(
            field,
            format!(
                "배달 가능 거리는 {}부터 {}까지 입력할 수 있습니다.",
                km(DeliveryTerms::MIN_RADIUS_M),
                km(DeliveryTerms::MAX_RADIUS_M)
            ),
        )
    };
    match raw.parse::<f64>() {
        Ok(value) if value.is_finite() => {
            let metres = (value * 10.0).round() as i64 * 100;
            if (DeliveryTerms::MIN_RADIUS_M..=DeliveryTerms::MAX_RADIUS_M).contains(&metres) {
                Ok(metres)
            } else {
                Err(out_of_range())
            }
        }
        _ => Err(FieldError::new(
            field,
            "배달 가능 거리는 km 단위 숫자로 입력해 주세요. (예: 3 또는 2.5)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(min_order: i64, tip: i64, tip_per_km: i64, radius_m: i64) -> DeliveryTerms {
        DeliveryTerms {
            min_order: Won(min_order),
            tip: Won(tip),
            tip_per_km: Won(tip_per_km),
            radius_m,
        }
    }

    #[test]
    fn the_tip_is_flat_or_grows_by_started_kilometre() {
        let flat = terms(0, 2_000, 0, 3_000);
        assert_eq!(flat.tip_for(0.0), Won(2_000));
        assert_eq!(flat.tip_for(2_900.0), Won(2_000));
        let banded = terms(0, 2_000, 500, 5_000);
        assert_eq!(banded.tip_for(1_000.0), Won(2_000));
        assert_eq!(banded.tip_for(1_001.0), Won(2_500));
        assert_eq!(banded.tip_for(3_200.0), Won(3_500));
    }

    #[test]
    fn addresses_beyond_the_radius_are_not_deliverable() {
        let store = terms(0, 0, 0, 3_000);
        assert!(store.quote(3_000.0).deliverable);
        assert!(!store.quote(3_000.5).deliverable);
        assert!(store
            .check_reach(2_999.0, "서울 송파구 올림픽로 300")
            .is_ok());
        let error = store
            .check_reach(12_345.0, "서울 강서구 공항대로 1")
            .unwrap_err();
        assert_eq!(error.field, "address");
        assert!(error.message.contains("3km"), "{}", error.message);
        assert!(
            error.message.contains("강서구 공항대로 1"),
            "{}",
            error.message
        );
        assert!(error.message.contains("12.3km"), "{}", error.message);
    }

    #[test]
    fn the_minimum_names_the_cart_and_what_is_missing() {
        let store = terms(15_000, 0, 0, 3_000);
        assert!(store.check_minimum(Won(15_000)).is_ok());
        let error = store.check_minimum(Won(9_000)).unwrap_err();
        assert_eq!(error.field, "lines");
        assert!(error.message.contains("15,000원"), "{}", error.message);
        assert!(error.message.contains("9,000원"), "{}", error.message);
        assert!(error.message.contains("6,000원"), "{}", error.message);
    }

    #[test]
    fn the_owners_form_parses_amounts_and_a_radius_in_km() {
        assert_eq!(
            DeliveryTerms::parse("15,000", "3000원", "500", "2.5"),
            Ok(terms(15_000, 3_000, 500, 2_500))
        );
        assert_eq!(
            DeliveryTerms::parse("0", "0", "0", "3km"),
            Ok(terms(0, 0, 0, 3_000))
        );
        let fields = |r: Result<DeliveryTerms, Vec<FieldError>>| {
            r.unwrap_err()
                .into_iter()
                .map(|e| e.field)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            fields(DeliveryTerms::parse("-1", "20001", "abc", "0.4")),
            ["min_order", "tip", "tip_per_km", "radius_km"]
        );
        assert_eq!(
            fields(DeliveryTerms::parse("", "1.5", "5001", "NaN")),
            ["min_order", "tip", "tip_per_km", "radius_km"]
        );
        assert_eq!(
            fields(DeliveryTerms::parse("0", "0", "0", "10.1")),
            ["radius_km"]
        );
    }

    #[test]
    fn labels_read_like_a_delivery_app() {
        assert_eq!(terms(0, 0, 0, 3_000).tip_label(), "배달팁 무료");
        assert_eq!(terms(0, 2_000, 0, 3_000).tip_label(), "배달팁 2,000원");
        assert_eq!(
            terms(0, 2_000, 500, 3_000).tip_label(),
            "배달팁 2,000원~ (1km마다 +500원)"
        );
        assert_eq!(terms(0, 0, 0, 3_000).min_order_label(), None);
        assert_eq!(
            terms(12_000, 0, 0, 2_500).min_order_label().unwrap(),
            "최소주문 12,000원"
        );
        assert_eq!(terms(0, 0, 0, 2_500).radius_label(), "배달 가능 거리 2.5km");
    }
}
