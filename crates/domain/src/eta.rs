//! When the food should arrive (도착 예정 시각), and whether an order is running late.
//!
//! The owner promises a cooking time when accepting (10–60 minutes, picked on the board). From
//! then on the expected arrival is worked out from the latest fact the order has, so it moves
//! as the order does: the promise (accepted + cooking minutes) until the food is cooked, the
//! time it was cooked until a rider picks it up, the pick-up after that. Each stage adds what
//! is still ahead of it: a rider coming to take the cooked food, the ride, the hand-over.
//!
//! Everything here is a pure function of stored times, so the same order always reads the
//! same ETA and tests need no clock; only "late" asks what time it is now, and it is worked out
//! at every read, never stored.

use super::{FieldError, OrderStatus};
use serde::{Deserialize, Serialize};

/// The cooking times the owner's board offers, in minutes.
pub const COOK_MINUTE_CHOICES: [i64; 7] = [10, 15, 20, 30, 40, 50, 60];
/// What the board's picker starts at.
pub const DEFAULT_COOK_MINUTES: i64 = 20;
const MIN_COOK_MINUTES: i64 = 10;
const MAX_COOK_MINUTES: i64 = 60;

/// A city rider's average speed door to door, traffic lights and detours included: about
/// 15 km/h, i.e. 250 metres a minute over the straight-line trip distance.
pub const RIDER_METRES_PER_MINUTE: f64 = 250.0;
/// From "cooked" until a rider has the food in hand: reaching the store and taking it.
pub const PICKUP_ALLOWANCE_MINUTES: i64 = 5;
/// From arriving at the address until the food is handed over: parking, stairs, the door.
pub const HANDOVER_MINUTES: i64 = 3;

const MINUTE_MS: i64 = 60_000;

/// The cooking time an owner promised: whole minutes from 10 to 60.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CookMinutes(i64);

impl CookMinutes {
    /// From the board's form field `cook_minutes`.
    pub fn parse(raw: &str) -> Result<CookMinutes, FieldError> {
        match raw.trim().parse::<i64>() {
            Ok(minutes) if (MIN_COOK_MINUTES..=MAX_COOK_MINUTES).contains(&minutes) => {
                Ok(CookMinutes(minutes))
            }
            _ => Err(FieldError::new(
                "cook_minutes",
                format!(
                    "조리 시간은 {MIN_COOK_MINUTES}분부터 {MAX_COOK_MINUTES}분까지 분 단위로 골라 주세요."
                ),
            )),
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// What an order's ETA is worked out from: where it is, and the times it got there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrderClock {
    pub status: OrderStatus,
    pub accepted_at_ms: Option<i64>,
    /// The owner's promise, in minutes (orders accepted before promises existed have none).
    pub cook_minutes: Option<i64>,
    pub cooked_at_ms: Option<i64>,
    pub picked_up_at_ms: Option<i64>,
    /// Store to customer, in metres; `None` when the drop-off is not known.
    pub trip_m: Option<f64>,
}

impl OrderClock {
    /// When the owner promised the food would be cooked.
    pub fn cook_by_ms(&self) -> Option<i64> {
        Some(self.accepted_at_ms? + self.cook_minutes? * MINUTE_MS)
    }

    /// 도착 예정 시각, while the food is on its way to being delivered (accepted up to picked
    /// up); `None` before the store accepted, once it arrived, or when the order ended.
    pub fn expected_arrival_ms(&self) -> Option<i64> {
        let ride = ride_ms(self.trip_m?);
        let pickup = PICKUP_ALLOWANCE_MINUTES * MINUTE_MS;
        match self.status {
            OrderStatus::Accepted | OrderStatus::Cooking => {
                Some(self.cook_by_ms()? + pickup + ride)
            }
            OrderStatus::Cooked | OrderStatus::RiderAssigned => {
                Some(self.cooked_at_ms? + pickup + ride)
            }
            OrderStatus::PickedUp => Some(self.picked_up_at_ms? + ride),
            OrderStatus::Placed
            | OrderStatus::Delivered
            | OrderStatus::Completed
            | OrderStatus::Rejected
            | OrderStatus::Cancelled => None,
        }
    }

    /// Running late at `now_ms`: still cooking after the promised time, or not yet delivered
    /// after the expected arrival.
    pub fn is_late(&self, now_ms: i64) -> bool {
        let deadline = match self.status {
            OrderStatus::Accepted | OrderStatus::Cooking => self.cook_by_ms(),
            _ => self.expected_arrival_ms(),
        };
        deadline.is_some_and(|deadline| now_ms > deadline)
    }
}

/// The ride over `trip_m` metres and the hand-over at the door, in whole minutes (rounded up).
fn ride_ms(trip_m: f64) -> i64 {
    let riding = (trip_m.max(0.0) / RIDER_METRES_PER_MINUTE).ceil() as i64;
    (riding + HANDOVER_MINUTES) * MINUTE_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACCEPTED: i64 = 1_700_000_000_000;
    const MIN: i64 = MINUTE_MS;

    fn clock(status: OrderStatus) -> OrderClock {
        OrderClock {
            status,
            accepted_at_ms: Some(ACCEPTED),
            cook_minutes: Some(20),
            cooked_at_ms: None,
            picked_up_at_ms: None,
            // 2.4 km: 9.6 minutes of riding, 10 once rounded up.
            trip_m: Some(2_400.0),
        }
    }

    #[test]
    fn cooking_minutes_are_whole_minutes_from_10_to_60() {
        for good in ["10", "20", " 60 ", "45"] {
            assert!(CookMinutes::parse(good).is_ok(), "{good}");
        }
        assert_eq!(CookMinutes::parse("20").unwrap().get(), 20);
        for bad in ["", "0", "9", "61", "abc", "20.5", "-20", "2 0", "1e1"] {
            let error = CookMinutes::parse(bad).unwrap_err();
            assert_eq!(error.field, "cook_minutes", "{bad:?}");
            assert!(error.message.contains("10분부터 60분"), "{bad:?}");
        }
        for choice in COOK_MINUTE_CHOICES {
            assert!(CookMinutes::parse(&choice.to_string()).is_ok());
        }
        assert!(COOK_MINUTE_CHOICES.contains(&DEFAULT_COOK_MINUTES));
    }

    #[test]
    fn the_promise_counts_until_the_food_is_cooked() {
        // 20 cooking + 5 pick-up + 10 riding + 3 hand-over.
        let expected = ACCEPTED + 38 * MIN;
        assert_eq!(
            clock(OrderStatus::Accepted).expected_arrival_ms(),
            Some(expected)
        );
        assert_eq!(
            clock(OrderStatus::Cooking).expected_arrival_ms(),
            Some(expected)
        );
        assert_eq!(
            clock(OrderStatus::Cooking).cook_by_ms(),
            Some(ACCEPTED + 20 * MIN)
        );
    }

    #[test]
    fn later_facts_replace_the_promise() {
        let cooked_at = ACCEPTED + 12 * MIN;
        let cooked = OrderClock {
            cooked_at_ms: Some(cooked_at),
            ..clock(OrderStatus::Cooked)
        };
        assert_eq!(cooked.expected_arrival_ms(), Some(cooked_at + 18 * MIN));
        let assigned = OrderClock {
            status: OrderStatus::RiderAssigned,
            ..cooked
        };
        assert_eq!(assigned.expected_arrival_ms(), Some(cooked_at + 18 * MIN));
        let picked_up_at = cooked_at + 9 * MIN;
        let riding = OrderClock {
            status: OrderStatus::PickedUp,
            picked_up_at_ms: Some(picked_up_at),
            ..cooked
        };
        assert_eq!(riding.expected_arrival_ms(), Some(picked_up_at + 13 * MIN));
    }

    #[test]
    fn no_eta_before_acceptance_after_arrival_or_without_a_promise() {
        for status in [
            OrderStatus::Placed,
            OrderStatus::Delivered,
            OrderStatus::Completed,
            OrderStatus::Rejected,
            OrderStatus::Cancelled,
        ] {
            assert_eq!(clock(status).expected_arrival_ms(), None, "{status:?}");
            assert!(!clock(status).is_late(ACCEPTED + 1_000 * MIN), "{status:?}");
        }
        let unpromised = OrderClock {
            cook_minutes: None,
            ..clock(OrderStatus::Accepted)
        };
        assert_eq!(unpromised.expected_arrival_ms(), None);
        assert!(!unpromised.is_late(ACCEPTED + 1_000 * MIN));
        let nowhere = OrderClock {
            trip_m: None,
            ..clock(OrderStatus::Accepted)
        };
        assert_eq!(nowhere.expected_arrival_ms(), None);
        // A cooked order whose time was never recorded has no ETA rather than a wrong one.
        assert_eq!(clock(OrderStatus::Cooked).expected_arrival_ms(), None);
    }

    #[test]
    fn rides_round_up_to_whole_minutes() {
        let at = |trip_m| {
            OrderClock {
                trip_m: Some(trip_m),
                ..clock(OrderStatus::Accepted)
            }
            .expected_arrival_ms()
            .map(|eta| (eta - ACCEPTED) / MIN)
        };
        assert_eq!(at(0.0), Some(28));
        assert_eq!(at(1.0), Some(29));
        assert_eq!(at(250.0), Some(29));
        assert_eq!(at(251.0), Some(30));
        assert_eq!(at(-5.0), Some(28));
    }

    #[test]
    fn late_is_cooking_past_the_promise_or_delivering_past_the_eta() {
        let cooking = clock(OrderStatus::Cooking);
        assert!(!cooking.is_late(ACCEPTED + 20 * MIN));
        assert!(cooking.is_late(ACCEPTED + 20 * MIN + 1));
        assert!(clock(OrderStatus::Accepted).is_late(ACCEPTED + 21 * MIN));
        // Cooked a little late: the new ETA counts from the cooked time.
        let cooked = OrderClock {
            cooked_at_ms: Some(ACCEPTED + 25 * MIN),
            ..clock(OrderStatus::Cooked)
        };
        assert!(!cooked.is_late(ACCEPTED + 30 * MIN));
        assert!(cooked.is_late(ACCEPTED + 25 * MIN + 18 * MIN + 1));
        let riding = OrderClock {
            status: OrderStatus::PickedUp,
            picked_up_at_ms: Some(ACCEPTED + 30 * MIN),
            ..cooked
        };
        assert!(!riding.is_late(ACCEPTED + 43 * MIN));
        assert!(riding.is_late(ACCEPTED + 43 * MIN + 1));
    }
}
