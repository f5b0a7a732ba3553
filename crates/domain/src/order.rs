//! Orders as customers see them: the order's status and how people read it, the order page,
//! the list of their orders, a store's menu.

use super::Won;
use serde::{Deserialize, Serialize};

/// Where an order is in its life. The allowed moves between these belong to the order state
/// machine; this type only names the states and how people read them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Placed,
    Accepted,
    Rejected,
    Cooking,
    Cooked,
    RiderAssigned,
    PickedUp,
    Delivered,
    Completed,
    Cancelled,
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 10] = [
        OrderStatus::Placed,
        OrderStatus::Accepted,
        OrderStatus::Rejected,
        OrderStatus::Cooking,
        OrderStatus::Cooked,
        OrderStatus::RiderAssigned,
        OrderStatus::PickedUp,
        OrderStatus::Delivered,
        OrderStatus::Completed,
        OrderStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Placed => "placed",
            OrderStatus::Accepted => "accepted",
            OrderStatus::Rejected => "rejected",
            OrderStatus::Cooking => "cooking",
            OrderStatus::Cooked => "cooked",
            OrderStatus::RiderAssigned => "rider_assigned",
            OrderStatus::PickedUp => "picked_up",
            OrderStatus::Delivered => "delivered",
            OrderStatus::Completed => "completed",
            OrderStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    /// The words the customer sees.
    pub fn label(self) -> &'static str {
        match self {
            OrderStatus::Placed => "주문 접수",
            OrderStatus::Accepted => "주문 수락",
            OrderStatus::Rejected => "주문 거절",
            OrderStatus::Cooking => "요리 중",
            OrderStatus::Cooked => "요리 완료",
            OrderStatus::RiderAssigned => "라이더 배정",
            OrderStatus::PickedUp => "배달 중",
            OrderStatus::Delivered => "배달 완료",
            OrderStatus::Completed => "배송 확인 완료",
            OrderStatus::Cancelled => "주문 취소",
        }
    }
}

/// One step in an order's life, as the customer's order page lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub status: OrderStatus,
    pub at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderLineView {
    pub food_id: super::FoodId,
    pub name: String,
    pub unit_price: Won,
    pub quantity: i64,
    pub subtotal: Won,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentView {
    pub provider: String,
    pub card_hint: String,
    /// "결제 완료" or "결제 취소".
    pub status_label: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderDetail {
    pub id: super::OrderId,
    pub store_id: super::StoreId,
    pub store_name: String,
    pub status: OrderStatus,
    pub lines: Vec<OrderLineView>,
    /// What was paid: the dishes plus `delivery_tip`.
    pub total: Won,
    /// 배달팁 charged with the order.
    #[serde(default = "no_tip")]
    pub delivery_tip: Won,
    /// Where it is delivered (도로명, 상세주소), when the order has an address.
    #[serde(default)]
    pub delivery_address: Option<String>,
    pub payment: PaymentView,
    pub created_at_ms: i64,
    /// Every status so far with its time (from the order-status view).
    pub timeline: Vec<TimelineEntry>,
    /// Why the order was rejected, if it was.
    pub note: Option<String>,
    /// The rider carrying it, once one claimed it.
    pub rider_name: Option<String>,
    /// The customer's 가게 요청사항, as they wrote it (trimmed).
    #[serde(default)]
    pub store_note: Option<String>,
    /// The customer's 배달 요청사항, as they wrote it (trimmed).
    #[serde(default)]
    pub rider_note: Option<String>,
    /// 도착 예정 시각 (Unix ms) from the accepted order's cooking time, then from when it was
    /// cooked and picked up (`OrderClock::expected_arrival_ms`); `None` before the store
    /// accepted and once the food arrived.
    #[serde(default)]
    pub eta_ms: Option<i64>,
}

impl OrderStatus {
    /// The customer may tap 배송확인.
    pub fn customer_can_confirm(self) -> bool {
        super::next_status(
            self,
            super::Actor::Customer,
            super::OrderAction::ConfirmDelivery,
        )
        .is_ok()
    }

    /// The customer may cancel until cooking starts.
    pub fn customer_can_cancel(self) -> bool {
        super::next_status(self, super::Actor::Customer, super::OrderAction::Cancel).is_ok()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderSummary {
    pub id: super::OrderId,
    pub store_name: String,
    pub status: OrderStatus,
    /// "즉석떡볶이 (2인) 외 2건".
    pub items: String,
    pub total: Won,
    pub created_at_ms: i64,
}

/// A store page for customers: the store and its visible menu with remaining stock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreMenu {
    pub id: super::StoreId,
    pub name: String,
    pub district: String,
    pub address: String,
    pub is_open: bool,
    pub menu: Vec<super::MenuItem>,
    pub terms: super::DeliveryTerms,
    /// The terms at the viewer's delivery address, when they have one.
    pub delivery: Option<super::DeliveryQuote>,
}

fn no_tip() -> Won {
    Won(0)
}

/// "A 외 N건" for a list of item names.
pub fn items_summary(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [only] => only.clone(),
        [first, rest @ ..] => format!("{first} 외 {}건", rest.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_read_in_korean() {
        for status in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(OrderStatus::Placed.label(), "주문 접수");
        assert_eq!(OrderStatus::PickedUp.label(), "배달 중");
    }

    #[test]
    fn item_summaries_count_the_rest() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(items_summary(&names(&["순대"])), "순대");
        assert_eq!(
            items_summary(&names(&["순대", "튀김", "밥"])),
            "순대 외 2건"
        );
    }
}
