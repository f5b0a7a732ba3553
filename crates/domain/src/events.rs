//! What happens to an order, as events: written by the backend's transactional outbox in the
//! same transaction as the change each announces, and handled by its sagas. Pure data (serde),
//! so the notification plan (`notification_plan`) can be worked out and tested here.

use crate::{FoodId, OrderId, StoreId, UserId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlacedLine {
    pub food_id: FoodId,
    pub quantity: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Event {
    OrderPlaced {
        order_id: OrderId,
        customer_id: UserId,
        store_id: StoreId,
        total_won: i64,
        lines: Vec<PlacedLine>,
    },
    /// The order will not be cooked: out of stock, or (later) refused by the store. The order
    /// row already says so; the handler gives back stock that was taken and asks for a refund.
    OrderRejected {
        order_id: OrderId,
        reason: String,
    },
    /// The customer cancelled before cooking started (the order row already says so).
    OrderCancelled {
        order_id: OrderId,
    },
    /// The store accepted the order.
    OrderAccepted {
        order_id: OrderId,
    },
    CookingStarted {
        order_id: OrderId,
    },
    /// Cooked: riders may now see the delivery.
    CookingFinished {
        order_id: OrderId,
    },
    /// A rider claimed the cooked order.
    RiderAssigned {
        order_id: OrderId,
        rider_id: UserId,
        rider_name: String,
    },
    /// The rider picked the food up at the store: 배달 중.
    OrderPickedUp {
        order_id: OrderId,
    },
    /// The rider handed the food over.
    OrderDelivered {
        order_id: OrderId,
    },
    /// The customer tapped 배송확인 (or nobody did in time): the order is complete.
    OrderCompleted {
        order_id: OrderId,
        /// The customer's own tap (not the system's after a while). Events stored before this
        /// field existed decode as `false`, and so keep telling the customer as they did.
        #[serde(default)]
        by_customer: bool,
    },
    /// Money must go back to the customer: the order was rejected or cancelled.
    RefundRequested {
        order_id: OrderId,
        reason: String,
    },
    /// A checkout charged (or may have charged) the card but no order came of it: the
    /// provider's answer never arrived, the order could not be saved, or the request died on
    /// the way. The payment is voided by our payment id, which undoes an approval even if it
    /// arrives later; voiding what was never approved changes nothing.
    PaymentVoidRequested {
        payment_id: String,
        reason: String,
    },
}

/// The stream of events that belong to no order (payment voids of checkouts that never became
/// one). Unlike an order's events they need no order among themselves: the worker takes each
/// as soon as it is due.
pub const NO_ORDER: OrderId = OrderId(0);

impl Event {
    pub fn name(&self) -> &'static str {
        match self {
            Event::OrderPlaced { .. } => "OrderPlaced",
            Event::OrderRejected { .. } => "OrderRejected",
            Event::OrderCancelled { .. } => "OrderCancelled",
            Event::OrderAccepted { .. } => "OrderAccepted",
            Event::CookingStarted { .. } => "CookingStarted",
            Event::CookingFinished { .. } => "CookingFinished",
            Event::RefundRequested { .. } => "RefundRequested",
            Event::RiderAssigned { .. } => "RiderAssigned",
            Event::OrderPickedUp { .. } => "OrderPickedUp",
            Event::OrderDelivered { .. } => "OrderDelivered",
            Event::OrderCompleted { .. } => "OrderCompleted",
            Event::PaymentVoidRequested { .. } => "PaymentVoidRequested",
        }
    }

    /// Whether handling this event gives money back: those keep being retried far longer than
    /// other events (about an hour at the default backoff) before an operator is asked.
    pub fn moves_money_back(&self) -> bool {
        matches!(
            self,
            Event::RefundRequested { .. } | Event::PaymentVoidRequested { .. }
        )
    }

    pub fn order_id(&self) -> OrderId {
        match self {
            Event::OrderPlaced { order_id, .. }
            | Event::OrderRejected { order_id, .. }
            | Event::OrderCancelled { order_id }
            | Event::OrderAccepted { order_id }
            | Event::CookingStarted { order_id }
            | Event::CookingFinished { order_id }
            | Event::RefundRequested { order_id, .. }
            | Event::RiderAssigned { order_id, .. }
            | Event::OrderPickedUp { order_id }
            | Event::OrderDelivered { order_id }
            | Event::OrderCompleted { order_id, .. } => *order_id,
            Event::PaymentVoidRequested { .. } => NO_ORDER,
        }
    }
}
