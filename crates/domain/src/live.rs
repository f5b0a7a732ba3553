//! What the server pushes to open pages (see `backend::live`): hints to re-read, never data.

use super::OrderStatus;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", try_from = "NoticeWire")]
pub enum LiveNotice {
    /// The stream is (re)connected: re-read once, anything may have changed meanwhile.
    Ready,
    /// An order this page shows changed (its notifications may have changed with it).
    Order {
        order_id: super::OrderId,
        status: OrderStatus,
    },
}

/// How a notice is read back: one flat struct, converted. serde's derive for a tagged enum
/// buffers the object in its generic `Content` tree first, code the browser would carry for
/// this alone (see `app::error`'s `wire`, which does the same for errors).
#[derive(Deserialize)]
struct NoticeWire {
    kind: NoticeKind,
    order_id: Option<super::OrderId>,
    status: Option<OrderStatus>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum NoticeKind {
    Ready,
    Order,
}

impl TryFrom<NoticeWire> for LiveNotice {
    type Error = &'static str;

    fn try_from(wire: NoticeWire) -> Result<Self, Self::Error> {
        Ok(match wire.kind {
            NoticeKind::Ready => LiveNotice::Ready,
            NoticeKind::Order => LiveNotice::Order {
                order_id: wire.order_id.ok_or("missing field `order_id`")?,
                status: wire.status.ok_or("missing field `status`")?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OrderId;

    #[test]
    fn notices_read_back_as_themselves_and_incomplete_ones_are_refused() {
        for notice in [
            LiveNotice::Ready,
            LiveNotice::Order {
                order_id: OrderId(7),
                status: OrderStatus::Cooking,
            },
        ] {
            let json = serde_json::to_string(&notice).unwrap();
            assert_eq!(
                serde_json::from_str::<LiveNotice>(&json).unwrap(),
                notice,
                "{json}"
            );
        }
        assert!(serde_json::from_str::<LiveNotice>(r#"{"kind":"order","order_id":7}"#).is_err());
        assert!(serde_json::from_str::<LiveNotice>(r#"{"kind":"later"}"#).is_err());
    }
}
