//! The in-app side: a person's notifications, newest first, the bell's unread count, and
//! marking them read.

use crate::{now_ms, Db};
use domain::{NotificationId, NotificationItem, OrderId, UserId};
use sqlx::FromRow;

/// A notification as its row holds it (in-app channel).
#[derive(FromRow)]
struct Stored {
    id: NotificationId,
    kind: String,
    title: String,
    body: String,
    order_id: Option<OrderId>,
    created_at: i64,
    read_at: Option<i64>,
}

impl From<Stored> for NotificationItem {
    fn from(row: Stored) -> Self {
        NotificationItem {
            id: row.id,
            kind: row.kind,
            title: row.title,
            body: row.body,
            order_id: row.order_id,
            at_ms: row.created_at,
            read: row.read_at.is_some(),
        }
    }
}

/// A person's in-app notifications, newest first, and how many are unread.
pub async fn feed(
    db: &Db,
    user_id: UserId,
    limit: i64,
) -> Result<(Vec<NotificationItem>, i64), sqlx::Error> {
    let rows: Vec<Stored> = sqlx::query_as(
        "SELECT id, kind, title, body, order_id, created_at, read_at FROM notifications
         WHERE user_id = $1 AND channel = 'in_app' ORDER BY id DESC LIMIT $2",
    )
    .bind(user_id)
    .bind(limit)
    .fetch_all(db.reader())
    .await?;
    let items = rows.into_iter().map(Into::into).collect();
    Ok((items, unread(db, user_id).await?))
}

pub async fn unread(db: &Db, user_id: UserId) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND channel = 'in_app' AND read_at IS NULL",
    )
    .bind(user_id)
    .fetch_one(db.reader())
    .await
}

/// Marks the person's notifications up to `up_to_id` read; returns how many changed.
pub async fn mark_read(
    db: &Db,
    user_id: UserId,
    up_to_id: NotificationId,
) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin().await?;
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
