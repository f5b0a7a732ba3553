//! How changes reach the hubs: the worker after a commit (`order_changed`), sign-outs and
//! account changes (`session_ended`, `user_changed`), and, on PostgreSQL, every other
//! instance's through `NOTIFY baedal_live` (`listen`).

use super::{Change, CHANNEL};
use crate::db::Engine;
use crate::{sessions, AppState};
use domain::{OrderId, OrderStatus, StoreId, UserId};
use sqlx::FromRow;
use std::time::Duration;

/// Tells open pages, on every instance, that `order_id` changed. The status sent is the one
/// the customer's view now shows (the orders row may already be further on, with the events
/// that say so still to be handled: their hints follow).
pub async fn order_changed(state: &AppState, order_id: OrderId) {
    match state.db.engine() {
        // One round trip: the database builds the hint and notifies every instance.
        Engine::Postgres => {
            let sent = sqlx::query(
                "SELECT pg_notify($1, json_build_object(
                        'type', 'Order', 'order_id', o.id, 'customer_id', o.customer_id,
                        'store_id', o.store_id, 'rider_id', o.rider_id,
                        'status', COALESCE(v.status, o.status), 'district', o.district)::text)
                 FROM orders o LEFT JOIN order_views v ON v.order_id = o.id WHERE o.id = $2",
            )
            .bind(CHANNEL)
            .bind(order_id)
            .execute(state.db.writer())
            .await;
            if let Err(error) = sent {
                tracing::warn!(%error, %order_id, "live update not sent");
            }
        }
        // One process: nobody listening, nothing to look up.
        Engine::Sqlite if state.live.streams() == 0 => {}
        Engine::Sqlite => match order_change(state, order_id).await {
            Ok(Some(change)) => state.live.deliver_locally(&change),
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, %order_id, "live update skipped"),
        },
    }
}

/// The session behind `token` ended (signed out, replaced or revoked): its open streams end at
/// once, on this instance and (PostgreSQL) every other, and no instance remembers it.
pub async fn session_ended(state: &AppState, token: &str) {
    let change = Change::SessionEnded {
        session: sessions::token_hash(token),
    };
    broadcast(state, &change).await;
}

/// What `user_id`'s sessions say about them changed: every instance looks them up afresh.
pub async fn user_changed(state: &AppState, user_id: UserId) {
    broadcast(state, &Change::UserChanged { user_id }).await;
}

/// Delivers `change` here and (PostgreSQL) on every other instance.
async fn broadcast(state: &AppState, change: &Change) {
    state.live.deliver_locally(change);
    if state.db.engine() == Engine::Postgres {
        let payload = serde_json::to_string(change).expect("changes serialise");
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(state.db.writer())
            .await;
        if let Err(error) = sent {
            tracing::warn!(%error, "change not sent to other instances");
        }
    }
}

async fn order_change(state: &AppState, order_id: OrderId) -> Result<Option<Change>, sqlx::Error> {
    #[derive(FromRow)]
    struct Audience {
        customer_id: UserId,
        store_id: StoreId,
        rider_id: Option<UserId>,
        district: Option<String>,
        delivery_lat: Option<f64>,
        delivery_lng: Option<f64>,
        status: OrderStatus,
    }
    let Some(row) = sqlx::query_as::<_, Audience>(
        "SELECT o.customer_id, o.store_id, o.rider_id, o.district, o.delivery_lat, o.delivery_lng,
                COALESCE(v.status, o.status) AS status
         FROM orders o LEFT JOIN order_views v ON v.order_id = o.id WHERE o.id = $1",
    )
    .bind(order_id)
    .fetch_optional(state.db.reader())
    .await?
    else {
        return Ok(None);
    };
    Ok(Some(Change::Order {
        order_id,
        customer_id: row.customer_id,
        store_id: row.store_id,
        rider_id: row.rider_id,
        status: row.status,
        district: row.district,
        dropoff: domain::GeoPoint::from_columns(row.delivery_lat, row.delivery_lng),
    }))
}

/// On PostgreSQL, hands every instance's hints to this instance's hub. Returns once listening
/// (or after 5 s without success; it keeps trying in the background).
pub async fn listen(state: &AppState) -> Option<tokio::task::JoinHandle<()>> {
    if state.db.engine() != Engine::Postgres {
        return None;
    }
    let url = state.db.url().to_string();
    let live = state.live.clone();
    // Until it listens, this instance would not hear of sessions ended elsewhere.
    live.sessions().resync(false);
    let (ready, is_ready) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let mut ready = Some(ready);
        loop {
            match sqlx::postgres::PgListener::connect(&url).await {
                Ok(mut listener) => {
                    if listener.listen(CHANNEL).await.is_ok() {
                        live.sessions().resync(true);
                        if let Some(ready) = ready.take() {
                            let _ = ready.send(());
                        }
                        loop {
                            match listener.try_recv().await {
                                Ok(Some(notification)) => {
                                    match serde_json::from_str::<Change>(notification.payload()) {
                                        Ok(change) => live.deliver_locally(&change),
                                        Err(error) => {
                                            tracing::warn!(%error, "undecodable live update")
                                        }
                                    }
                                }
                                // The connection dropped and came back: hints sent meanwhile
                                // are lost, so every page re-reads.
                                Ok(None) => live.deliver_locally(&Change::Resync),
                                Err(error) => {
                                    tracing::warn!(%error, "live LISTEN failed; reconnecting");
                                    live.deliver_locally(&Change::Resync);
                                    live.sessions().resync(false);
                                    break;
                                }
                            }
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, "live LISTEN connection failed; retrying"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    if tokio::time::timeout(Duration::from_secs(5), is_ready)
        .await
        .is_err()
    {
        tracing::warn!("live updates: not yet listening on PostgreSQL; pages will poll");
    }
    Some(task)
}
