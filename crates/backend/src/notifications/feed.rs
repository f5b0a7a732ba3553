//! The in-app side: a person's notifications, newest first, the bell's unread count, and
//! marking them read.

use crate::{now_ms, AppState};
use domain::NotificationItem;
use domain::UserId;
use sqlx::Row;

/// A person's in-app notifications, newest first, and how many are unread.
pub async fn feed(
    state: &AppState,
    user_id: UserId,
    limit: i64,
) -> Result<(Vec<NotificationItem>, i64), sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, kind, title, body, order_id, created_at, read_at FROM notifications
         WHERE user_id = $1 AND channel = 'in_app' ORDER BY id DESC LIMIT $2",
    )
    .bind(user_id)
    .bind(limit)
    .fetch_all(state.db.reader())
    .await?;
    let items = rows
        .iter()
        .map(|row| {
            Ok(NotificationItem {
                id: row.try_get("id")?,
                kind: row.try_get("kind")?,
                title: row.try_get("title")?,
                body: row.try_get("body")?,
                order_id: row.try_get("order_id")?,
                at_ms: row.try_get("created_at")?,
                read: row.try_get::<Option<i64>, _>("read_at")?.is_some(),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok((items, unread(state, user_id).await?))
}

pub async fn unread(state: &AppState, user_id: UserId) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND channel = 'in_app' AND read_at IS NULL",
    )
    .bind(user_id)
    .fetch_one(state.db.reader())
    .await?
    .try_get(0)
}

/// Marks the person's notifications up to `up_to_id` read; returns how many changed.
pub async fn mark_read(
    state: &AppState,
    user_id: UserId,
    up_to_id: domain::NotificationId,
) -> Result<u64, sqlx::Error> {
    let mut tx = state.db.begin().await?;
    let changed = sqlx::query(
        "UPDATE notifications SET read_at = $1
         WHERE user_id = $2 AND channel = 'in_app' AND read_at IS NULL AND id <= $3",
    )
    .bind(now_ms())
    .bind(user_id)
    .bind(up_to_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(changed)
}
