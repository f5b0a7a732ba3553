//! Stores and their menus, as the pages show them.

use serde::{Deserialize, Serialize};

/// An amount of Korean won. Shown as "12,000원".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(transparent))]
pub struct Won(pub i64);

impl std::fmt::Display for Won {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let digits = self.0.unsigned_abs().to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, digit) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(digit);
        }
        let sign = if self.0 < 0 { "-" } else { "" };
        write!(f, "{sign}{grouped}원")
    }
}

/// A store in the customer's list, with its distance from the customer's address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreSummary {
    pub id: super::StoreId,
    pub name: String,
    pub district: String,
    pub address: String,
    pub is_open: bool,
    pub distance_m: f64,
    pub menu_count: i64,
    pub terms: super::DeliveryTerms,
    /// The terms at this customer's address: 배달팁 and whether the store delivers there.
    pub delivery: super::DeliveryQuote,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MenuItem {
    pub id: super::FoodId,
    pub name: String,
    pub description: String,
    pub price: Won,
    /// How many more can be cooked today, as entered by the owner.
    pub stock: i64,
    pub is_hidden: bool,
}

/// One of the signed-in owner's stores, with its whole menu.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnedStore {
    pub id: super::StoreId,
    pub name: String,
    pub district: String,
    pub address: String,
    pub is_open: bool,
    pub terms: super::DeliveryTerms,
    pub menu: Vec<MenuItem>,
}

/// An order as the store sees it in its queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreOrder {
    pub id: super::OrderId,
    pub status: super::OrderStatus,
    /// "즉석떡볶이 (2인) ×2" per line.
    pub lines: Vec<String>,
    pub total: Won,
    pub created_at_ms: i64,
    pub delivery_district: String,
    /// The customer's 가게 요청사항, if they left one.
    #[serde(default)]
    pub store_note: Option<String>,
    /// When the owner promised the food cooked (accepted + the cooking time they picked).
    #[serde(default)]
    pub cook_by_ms: Option<i64>,
    /// The customer's 도착 예정 시각, as their order page shows it.
    #[serde(default)]
    pub eta_ms: Option<i64>,
    /// Running late at the time of the read: cooking past the promise, or not delivered by
    /// the ETA (`OrderClock::is_late`).
    #[serde(default)]
    pub late: bool,
}

/// Today's numbers for a store (Korea time): orders and sales that were not rejected or
/// cancelled, and orders per hour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreDashboard {
    pub orders_today: i64,
    pub sales_today: Won,
    /// 24 counts, hour 0 to 23 (KST).
    pub orders_per_hour: Vec<i64>,
}

/// A store as the owner's order board shows it: what it is, whether it is open, and which of
/// the dishes customers see are sold out (the menu and its stock have a page of their own,
/// `/store/menu`, read with `my_stores`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreHead {
    pub id: super::StoreId,
    pub name: String,
    pub district: String,
    pub address: String,
    pub is_open: bool,
    /// The names of the dishes shown to customers with nothing left to cook, in menu order.
    pub sold_out: Vec<String>,
}

impl From<OwnedStore> for StoreHead {
    fn from(store: OwnedStore) -> Self {
        let sold_out = store
            .menu
            .into_iter()
            .filter(|item| item.stock == 0 && !item.is_hidden)
            .map(|item| item.name)
            .collect();
        StoreHead {
            id: store.id,
            name: store.name,
            district: store.district,
            address: store.address,
            is_open: store.is_open,
            sold_out,
        }
    }
}

/// Everything the owner's order board shows for one of their stores: the store, the orders of
/// the last 24 hours (newest first) and today's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreBoard {
    pub store: StoreHead,
    pub orders: Vec<StoreOrder>,
    pub today: StoreDashboard,
}

/// The owner's order board (`/store`), read in one request whatever the number of stores
/// (oldest store first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnerBoard {
    pub stores: Vec<StoreBoard>,
}

/// The start of "today" in Korea (UTC+9, no daylight saving), in Unix milliseconds.
pub fn korea_day_start(now_ms: i64) -> i64 {
    const HOUR: i64 = 60 * 60 * 1000;
    let local = now_ms + 9 * HOUR;
    local - local.rem_euclid(24 * HOUR) - 9 * HOUR
}

/// The hour of the day (0–23) in Korea.
pub fn korea_hour(at_ms: i64) -> usize {
    const HOUR: i64 = 60 * 60 * 1000;
    ((at_ms + 9 * HOUR).rem_euclid(24 * HOUR) / HOUR) as usize
}

/// "14:05": the time of day in Korea.
pub fn korea_clock(at_ms: i64) -> String {
    let minutes = (at_ms.div_euclid(60_000) + 9 * 60).rem_euclid(24 * 60);
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// "11/25 14:05": the date and time in Korea.
pub fn korea_date_time(at_ms: i64) -> String {
    let days = (at_ms.div_euclid(60_000) + 9 * 60).div_euclid(24 * 60);
    // Howard Hinnant's days-to-civil, month and day only.
    let z = days + 719_468;
    let doe = z - z.div_euclid(146_097) * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    format!("{month}/{day} {}", korea_clock(at_ms))
}

/// Why a store may reject an order (shown to the customer).
pub const REJECT_REASONS: [&str; 5] = [
    "재료가 모두 소진되었습니다.",
    "주문이 밀려 조리가 어렵습니다.",
    "곧 영업을 마감합니다.",
    "배달이 어려운 지역입니다.",
    "가게 사정으로 주문을 받을 수 없습니다.",
];

/// A stock amount typed by an owner: a whole number from 0 to 100,000.
pub fn parse_stock(field: &str, raw: &str) -> Result<i64, super::FieldError> {
    let raw = raw.trim();
    match raw.parse::<i64>() {
        Ok(stock) if (0..=100_000).contains(&stock) => Ok(stock),
        Ok(_) => Err(super::FieldError::new(
            field,
            "재고는 0개부터 100,000개까지 입력할 수 있습니다.",
        )),
        Err(_) => Err(super::FieldError::new(
            field,
            "재고는 0 이상의 정수로 입력해 주세요.",
        )),
    }
}

/// A dish as an owner enters it, after parsing.
#[derive(Debug, Clone, PartialEq)]
pub struct FoodInput {
    pub name: String,
    pub description: String,
    pub price: Won,
    pub hidden: bool,
}

impl FoodInput {
    pub const MAX_PRICE: i64 = 1_000_000;

    pub fn parse(
        name: &str,
        description: &str,
        price: &str,
        hidden: bool,
    ) -> Result<Self, Vec<super::FieldError>> {
        let mut errors = super::FieldErrors::default();
        let name = errors.check(super::bounded_text("name", name, "메뉴 이름", 40));
        let description = errors.check(super::free_text(
            "description",
            description,
            "설명",
            200,
            false,
        ));
        let price = match price.trim().parse::<i64>() {
            Ok(won) if won <= 0 => {
                errors.push(super::FieldError::new(
                    "price",
                    "가격은 0원보다 커야 합니다.",
                ));
                None
            }
            Ok(won) if won > Self::MAX_PRICE => {
                errors.push(super::FieldError::new(
                    "price",
                    "가격은 1,000,000원 이하로 입력해 주세요.",
                ));
                None
            }
            Ok(won) => Some(Won(won)),
            Err(_) => {
                errors.push(super::FieldError::new(
                    "price",
                    "가격은 원 단위 정수로 입력해 주세요.",
                ));
                None
            }
        };
        errors.into_result()?;
        Ok(FoodInput {
            name: name.expect("checked"),
            description: description.expect("checked"),
            price: price.expect("checked"),
            hidden,
        })
    }
}

/// Distance for people: "850m", "3.2km".
pub fn format_distance(metres: f64) -> String {
    if metres < 1000.0 {
        format!("{}m", (metres / 10.0).round() as i64 * 10)
    } else {
        crate::pricing::tenths_of_km((metres / 100.0).round() as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn won_is_grouped_by_thousands() {
        assert_eq!(Won(0).to_string(), "0원");
        assert_eq!(Won(900).to_string(), "900원");
        assert_eq!(Won(18_000).to_string(), "18,000원");
        assert_eq!(Won(1_234_567).to_string(), "1,234,567원");
        assert_eq!(Won(-5_000).to_string(), "-5,000원");
    }

    #[test]
    fn the_board_names_only_the_sold_out_dishes_customers_see() {
        let dish = |id, name: &str, stock, is_hidden| MenuItem {
            id: crate::FoodId(id),
            name: name.into(),
            description: String::new(),
            price: Won(1_000),
            stock,
            is_hidden,
        };
        let store = OwnedStore {
            id: crate::StoreId(7),
            name: "마포 즉석떡볶이".into(),
            district: "마포구".into(),
            address: "서울 마포구 1".into(),
            is_open: true,
            terms: crate::DeliveryTerms::default(),
            menu: vec![
                dish(1, "떡볶이", 0, false),
                dish(2, "순대", 3, false),
                dish(3, "비밀 메뉴", 0, true),
                dish(4, "튀김", 0, false),
            ],
        };
        let head = StoreHead::from(store);
        assert_eq!(head.sold_out, ["떡볶이", "튀김"]);
        assert_eq!((head.id, head.is_open), (crate::StoreId(7), true));
    }

    #[test]
    fn stock_is_a_whole_number_within_bounds() {
        assert_eq!(parse_stock("stock", " 12 "), Ok(12));
        assert_eq!(parse_stock("stock", "0"), Ok(0));
        for bad in ["-1", "3.5", "abc", "", "100001"] {
            assert!(parse_stock("stock", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn dishes_need_a_name_and_a_sane_price() {
        assert!(FoodInput::parse("김밥", "", "4500", false).is_ok());
        let fields = |r: Result<FoodInput, Vec<crate::FieldError>>| {
            r.unwrap_err()
                .into_iter()
                .map(|e| e.field)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            fields(FoodInput::parse(" ", "", "0", false)),
            ["name", "price"]
        );
        assert_eq!(
            fields(FoodInput::parse("김밥", &"설".repeat(201), "-5", false)),
            ["description", "price"]
        );
        assert_eq!(
            fields(FoodInput::parse(&"가".repeat(41), "", "1000001", false)),
            ["name", "price"]
        );
        assert_eq!(
            fields(FoodInput::parse("김밥", "", "4500.5", false)),
            ["price"]
        );
    }

    #[test]
    fn korean_days_start_at_midnight_kst() {
        // 2026-11-25 14:00 UTC = 23:00 KST, same day; 15:30 UTC = 00:30 KST the next day.
        let at = |h: i64, m: i64| 1_795_564_800_000 + (h * 60 + m) * 60_000; // 2026-11-25 00:00 UTC
        assert_eq!(korea_hour(at(14, 0)), 23);
        assert_eq!(korea_hour(at(15, 30)), 0);
        assert_eq!(korea_day_start(at(14, 0)), at(-9, 0));
        assert_eq!(korea_day_start(at(15, 30)), at(15, 0));
    }

    #[test]
    fn distances_read_naturally() {
        assert_eq!(format_distance(847.0), "850m");
        // 2026-11-25 05:30 UTC is 14:30 in Seoul; 2026-12-31 15:00 UTC is 1 January there.
        assert_eq!(korea_clock(1_795_584_600_000), "14:30");
        assert_eq!(korea_date_time(1_795_584_600_000), "11/25 14:30");
        assert_eq!(korea_date_time(1_798_729_200_000), "1/1 00:00");
        assert_eq!(format_distance(3_240.0), "3.2km");
        assert_eq!(format_distance(1_049.0), "1.0km");
        assert_eq!(format_distance(9_960.0), "10.0km");
        assert_eq!(crate::km(2_500), "2.5km");
        assert_eq!(crate::km(3_000), "3km");
        assert_eq!(crate::km(500), "0.5km");
        assert_eq!(crate::km(-2_500), "-2.5km");
    }
}
