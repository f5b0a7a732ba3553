//! In-app notifications as the bell and the notification page show them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationItem {
    pub id: super::NotificationId,
    /// What happened, e.g. `order_accepted`, `new_order`, `delivery_nearby`.
    pub kind: String,
    pub title: String,
    pub body: String,
    pub order_id: Option<super::OrderId>,
    pub at_ms: i64,
    pub read: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationFeed {
    pub unread: i64,
    pub items: Vec<NotificationItem>,
}

/// A customer's KakaoTalk settings: the number messages go to (masked) and the switch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KakaoSettings {
    /// "010-****-5678", or none when no number is on file.
    pub phone_masked: Option<String>,
    pub enabled: bool,
    /// Whether this Baedal sends KakaoTalk messages at all (the channel is configured).
    pub channel_on: bool,
}
