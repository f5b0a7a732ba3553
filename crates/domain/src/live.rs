//! What the server pushes to open pages (see `backend::live`): hints to re-read, never data.

use super::OrderStatus;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LiveNotice {
    /// The stream is (re)connected: re-read once, anything may have changed meanwhile.
    Ready,
    /// An order this page shows changed (its notifications may have changed with it).
    Order {
        order_id: super::OrderId,
        status: OrderStatus,
    },
}
