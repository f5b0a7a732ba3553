//! In-app notifications, for anyone signed in.

use crate::domain::{NotificationFeed, NotificationId};
use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use crate::door::http;

/// The signed-in person's in-app notifications (newest 50) and the unread count.
#[server(endpoint = "my_notifications")]
pub async fn my_notifications() -> Result<NotificationFeed, AppError> {
    http::respond(async move {
        let (state, user) = http::signed_in().await?;
        let (items, unread) = crate::backend::notifications::feed(&state.db, user.id, 50).await?;
        Ok(NotificationFeed { unread, items })
    })
    .await
}

/// How many of the signed-in person's notifications are unread (the bell's number).
#[server(endpoint = "unread_notifications")]
pub async fn unread_notifications() -> Result<i64, AppError> {
    http::respond(async move {
        let (state, user) = http::signed_in().await?;
        Ok(crate::backend::notifications::unread(&state.db, user.id).await?)
    })
    .await
}

/// Marks the signed-in person's notifications up to `up_to_id` read; returns what stays unread.
#[server(endpoint = "mark_notifications_read")]
pub async fn mark_notifications_read(up_to_id: NotificationId) -> Result<i64, AppError> {
    http::respond(async move {
        let (state, user) = http::signed_in().await?;
        crate::backend::notifications::mark_read(&state.db, user.id, up_to_id).await?;
        Ok(crate::backend::notifications::unread(&state.db, user.id).await?)
    })
    .await
}
