//! The order state machine: who may move an order from which status to which, in one place.
//!
//! Every status change in Baedal — a customer cancelling, an owner accepting or cooking, a
//! rider picking up, the system rejecting an order nobody accepted — asks `next_status` first.
//! Anything not listed here is refused with a message saying why (HTTP 409), so the rules live
//! in code that tests can enumerate, not scattered across handlers.

use super::{CookMinutes, FieldError, OrderStatus, REJECT_REASONS};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    Customer,
    Owner,
    Rider,
    System,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderAction {
    /// Owner takes the order.
    Accept,
    /// Owner refuses it (or the system, e.g. nobody accepted in time / out of stock).
    Reject,
    StartCooking,
    FinishCooking,
    /// Customer, while cooking has not started.
    Cancel,
    /// A rider claims the delivery of a cooked order.
    Claim,
    PickUp,
    Deliver,
    /// Customer taps 배송확인 (or the system after a while).
    ConfirmDelivery,
}

impl OrderAction {
    pub const ALL: [OrderAction; 9] = [
        OrderAction::Accept,
        OrderAction::Reject,
        OrderAction::StartCooking,
        OrderAction::FinishCooking,
        OrderAction::Cancel,
        OrderAction::Claim,
        OrderAction::PickUp,
        OrderAction::Deliver,
        OrderAction::ConfirmDelivery,
    ];

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| {
            serde_json::to_value(a)
                .ok()
                .and_then(|v| v.as_str().map(|s| s == raw))
                == Some(true)
        })
    }
}

/// What an owner asks of an order, parsed from the board's form: the action, for a rejection
/// the reason picked from the list the customer will be told, and for an acceptance the
/// cooking time the owner promises (the customer's ETA counts from it). Each is read only for
/// its own action; the others ignore it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerCommand {
    pub action: OrderAction,
    pub reason: Option<String>,
    pub cook_minutes: Option<CookMinutes>,
}

impl OwnerCommand {
    pub fn parse(
        action: &str,
        reason: &str,
        cook_minutes: &str,
    ) -> Result<OwnerCommand, FieldError> {
        let action = match OrderAction::parse(action) {
            Some(
                a @ (OrderAction::Accept
                | OrderAction::Reject
                | OrderAction::StartCooking
                | OrderAction::FinishCooking),
            ) => a,
            _ => {
                return Err(FieldError::new(
                    "action",
                    "accept, reject, start_cooking, finish_cooking 중 하나여야 합니다.",
                ))
            }
        };
        let reason = match action {
            OrderAction::Reject if REJECT_REASONS.contains(&reason) => Some(reason.to_string()),
            OrderAction::Reject => {
                return Err(FieldError::new(
                    "reason",
                    "거절 사유를 목록에서 골라 주세요.",
                ))
            }
            _ => None,
        };
        let cook_minutes = match action {
            OrderAction::Accept => Some(CookMinutes::parse(cook_minutes)?),
            _ => None,
        };
        Ok(OwnerCommand {
            action,
            reason,
            cook_minutes,
        })
    }
}

/// What a rider may do to an order.
pub fn parse_rider_action(action: &str) -> Result<OrderAction, FieldError> {
    match OrderAction::parse(action) {
        Some(a @ (OrderAction::Claim | OrderAction::PickUp | OrderAction::Deliver)) => Ok(a),
        _ => Err(FieldError::new(
            "action",
            "claim, pick_up, deliver 중 하나여야 합니다.",
        )),
    }
}

impl OrderStatus {
    /// No action leaves these.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            OrderStatus::Rejected | OrderStatus::Cancelled | OrderStatus::Completed
        )
    }
}

/// A move the state machine does not allow: what was asked of which order status. Its
/// `Display` says why, in the words the person who asked is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub from: OrderStatus,
    pub actor: Actor,
    pub action: OrderAction,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&refusal(self.from, self.actor, self.action))
    }
}

impl std::error::Error for Refusal {}

/// The status `action` by `actor` leads to from `from`, or why it is not allowed.
pub fn next_status(
    from: OrderStatus,
    actor: Actor,
    action: OrderAction,
) -> Result<OrderStatus, Refusal> {
    use Actor as A;
    use OrderAction as Do;
    use OrderStatus as S;
    let to = match (from, actor, action) {
        (S::Placed, A::Owner, Do::Accept) => S::Accepted,
        (S::Placed | S::Accepted, A::Owner | A::System, Do::Reject) => S::Rejected,
        (S::Accepted, A::Owner, Do::StartCooking) => S::Cooking,
        (S::Cooking, A::Owner, Do::FinishCooking) => S::Cooked,
        (S::Placed | S::Accepted, A::Customer, Do::Cancel) => S::Cancelled,
        (S::Cooked, A::Rider, Do::Claim) => S::RiderAssigned,
        (S::RiderAssigned, A::Rider, Do::PickUp) => S::PickedUp,
        (S::PickedUp, A::Rider, Do::Deliver) => S::Delivered,
        (S::Delivered, A::Customer | A::System, Do::ConfirmDelivery) => S::Completed,
        _ => {
            return Err(Refusal {
                from,
                actor,
                action,
            })
        }
    };
    Ok(to)
}

fn refusal(from: OrderStatus, actor: Actor, action: OrderAction) -> String {
    if from.is_final() {
        return format!("이미 '{}' 상태로 끝난 주문입니다.", from.label());
    }
    match (actor, action) {
        (Actor::Customer, OrderAction::Cancel) => {
            "요리가 시작되기 전까지만 주문을 취소할 수 있습니다.".into()
        }
        (Actor::Owner, OrderAction::StartCooking) => {
            "주문을 수락한 뒤에 요리를 시작할 수 있습니다.".into()
        }
        (Actor::Owner, OrderAction::FinishCooking) => {
            "요리를 시작한 주문만 요리 완료로 바꿀 수 있습니다.".into()
        }
        (Actor::Rider, OrderAction::PickUp) => {
            "배정된 뒤, 요리가 완료된 주문만 픽업할 수 있습니다.".into()
        }
        (Actor::Rider, OrderAction::Claim) => "요리가 완료된 주문만 배차받을 수 있습니다.".into(),
        (Actor::Rider, OrderAction::Deliver) => "픽업한 주문만 배달 완료할 수 있습니다.".into(),
        (Actor::Customer | Actor::System, OrderAction::ConfirmDelivery) => {
            "배달이 완료된 뒤에 배송확인을 할 수 있습니다.".into()
        }
        _ => format!("'{}' 상태의 주문에는 할 수 없는 동작입니다.", from.label()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_and_riders_may_ask_only_their_actions() {
        assert_eq!(
            OwnerCommand::parse("accept", "", "20"),
            Ok(OwnerCommand {
                action: OrderAction::Accept,
                reason: None,
                cook_minutes: CookMinutes::parse("20").ok(),
            })
        );
        for missing in ["", "9", "61"] {
            assert_eq!(
                OwnerCommand::parse("accept", "", missing)
                    .unwrap_err()
                    .field,
                "cook_minutes"
            );
        }
        let reason = REJECT_REASONS[0];
        let rejected = OwnerCommand::parse("reject", reason, "").unwrap();
        assert_eq!(rejected.reason.as_deref(), Some(reason));
        assert_eq!(rejected.cook_minutes, None);
        assert_eq!(
            OwnerCommand::parse("reject", "그냥", "").unwrap_err().field,
            "reason"
        );
        // Other actions ignore a cooking time, as they ignore a reason.
        assert_eq!(
            OwnerCommand::parse("start_cooking", "x", "abc"),
            Ok(OwnerCommand {
                action: OrderAction::StartCooking,
                reason: None,
                cook_minutes: None,
            })
        );
        for foreign in ["claim", "cancel", "confirm_delivery", "", "ACCEPT"] {
            assert_eq!(
                OwnerCommand::parse(foreign, "", "20").unwrap_err().field,
                "action"
            );
        }
        assert_eq!(parse_rider_action("pick_up"), Ok(OrderAction::PickUp));
        for foreign in ["accept", "cancel", "reject", ""] {
            assert_eq!(parse_rider_action(foreign).unwrap_err().field, "action");
        }
    }
    use proptest::prelude::*;

    const ACTORS: [Actor; 4] = [Actor::Customer, Actor::Owner, Actor::Rider, Actor::System];

    #[test]
    fn the_happy_path_goes_from_placed_to_completed() {
        let steps = [
            (Actor::Owner, OrderAction::Accept, OrderStatus::Accepted),
            (
                Actor::Owner,
                OrderAction::StartCooking,
                OrderStatus::Cooking,
            ),
            (
                Actor::Owner,
                OrderAction::FinishCooking,
                OrderStatus::Cooked,
            ),
            (Actor::Rider, OrderAction::Claim, OrderStatus::RiderAssigned),
            (Actor::Rider, OrderAction::PickUp, OrderStatus::PickedUp),
            (Actor::Rider, OrderAction::Deliver, OrderStatus::Delivered),
            (
                Actor::Customer,
                OrderAction::ConfirmDelivery,
                OrderStatus::Completed,
            ),
        ];
        let mut status = OrderStatus::Placed;
        for (actor, action, expected) in steps {
            status = next_status(status, actor, action).unwrap();
            assert_eq!(status, expected);
        }
    }

    #[test]
    fn roles_cannot_do_each_others_steps() {
        assert!(next_status(OrderStatus::Placed, Actor::Customer, OrderAction::Accept).is_err());
        assert!(next_status(OrderStatus::Cooked, Actor::Owner, OrderAction::PickUp).is_err());
        assert!(next_status(
            OrderStatus::Delivered,
            Actor::Rider,
            OrderAction::ConfirmDelivery
        )
        .is_err());
        let refused = next_status(OrderStatus::Cooking, Actor::Customer, OrderAction::Cancel);
        assert_eq!(
            refused.unwrap_err().to_string(),
            "요리가 시작되기 전까지만 주문을 취소할 수 있습니다."
        );
    }

    #[test]
    fn actions_parse_from_their_names() {
        assert_eq!(
            OrderAction::parse("start_cooking"),
            Some(OrderAction::StartCooking)
        );
        assert_eq!(OrderAction::parse("teleport"), None);
    }

    fn step() -> impl Strategy<Value = (Actor, OrderAction)> {
        (0..ACTORS.len(), 0..OrderAction::ALL.len())
            .prop_map(|(a, b)| (ACTORS[a], OrderAction::ALL[b]))
    }

    /// A model of the saga's stock effects around the state machine: stock is taken when the
    /// store receives the order and given back when a received order is rejected or cancelled.
    struct Model {
        initial: i64,
        stock: i64,
        sold: i64,
        restored: i64,
        taken: bool,
    }

    proptest! {
        #[test]
        fn random_action_sequences_keep_the_invariants(
            steps in proptest::collection::vec(step(), 0..40),
            quantity in 1i64..5,
            received in any::<bool>(),
        ) {
            let mut status = OrderStatus::Placed;
            let mut model = Model { initial: 10, stock: 10, sold: 0, restored: 0, taken: false };
            if received {
                model.stock -= quantity;
                model.sold += quantity;
                model.taken = true;
            }
            let mut cooking_started = false;
            for (actor, action) in steps {
                let before = status;
                match next_status(status, actor, action) {
                    Ok(next) => {
                        // Nothing leaves a final state.
                        prop_assert!(!before.is_final(), "{before:?} -> {next:?}");
                        // Cancel only before cooking.
                        if action == OrderAction::Cancel {
                            prop_assert!(!cooking_started);
                        }
                        if next == OrderStatus::Cooking {
                            cooking_started = true;
                        }
                        if matches!(next, OrderStatus::Rejected | OrderStatus::Cancelled) && model.taken {
                            model.stock += quantity;
                            model.restored += quantity;
                            model.taken = false;
                        }
                        status = next;
                    }
                    Err(refusal) => prop_assert!(!refusal.to_string().is_empty()),
                }
                // Stock is conserved: initial = current + sold - restored.
                prop_assert_eq!(model.initial, model.stock + model.sold - model.restored);
                prop_assert!(model.stock >= 0);
            }
        }
    }
}
