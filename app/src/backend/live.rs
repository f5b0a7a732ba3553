//! Live updates: open pages hear about changes as they happen (Server-Sent Events on `/live`).
//!
//! Why SSE and not WebSockets: the pages only listen; every action still goes through a server
//! function. SSE is plain HTTP (cookies, proxies and HTTP/2 just work) and the browser's
//! `EventSource` reconnects by itself.
//!
//! What is pushed is a *hint*, never data: "order 42 is now cooked". The page then re-reads
//! what it shows through its usual server function, so access checks and the read model stay
//! in one place, and a missed hint costs at most freshness (pages also re-read on reconnect
//! and poll while disconnected).
//!
//! Where hints come from: the outbox worker, after an event's handler has committed — that is
//! when the store's queue, the customer's view and the riders' list have actually changed.
//! Several instances: on PostgreSQL every hint goes through `NOTIFY baedal_live`, and every
//! instance's listener hands it to its own open pages, so a page served by instance A hears of
//! an order handled by instance B's worker. On SQLite (one process) hints stay in memory.

use super::db::Engine;
use super::{sessions, AppState};
use crate::domain::{CurrentUser, LiveNotice, OrderStatus, Role};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::stream::{self, Stream, StreamExt};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::{broadcast, watch};

const CHANNEL: &str = "baedal_live";

/// Something changed that some open pages show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Change {
    /// An order moved (or entered a store's queue): its customer, its store and riders care.
    Order {
        order_id: i64,
        customer_id: i64,
        store_id: i64,
        rider_id: Option<i64>,
        status: OrderStatus,
    },
    /// Hints may have been missed (the PostgreSQL listener reconnected): every page re-reads.
    Resync,
}

/// The in-process side: one broadcast channel for every open page of this instance, and the
/// switch that ends their streams when the server shuts down (a graceful shutdown waits for
/// open responses, and an event stream would otherwise never end).
#[derive(Clone)]
pub struct Live {
    sender: broadcast::Sender<Change>,
    closing: watch::Sender<bool>,
}

impl Default for Live {
    fn default() -> Self {
        Live {
            sender: broadcast::channel(1024).0,
            closing: watch::channel(false).0,
        }
    }
}

impl Live {
    /// Ends every open stream; called first when the server shuts down.
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    fn deliver_locally(&self, change: Change) {
        // No open page is not an error.
        let _ = self.sender.send(change);
    }

    fn listeners(&self) -> usize {
        self.sender.receiver_count()
    }
}

/// Tells open pages, on every instance, that `order_id` changed. The status sent is the one
/// the customer's view now shows (the orders row may already be further on, with the events
/// that say so still to be handled: their hints follow).
pub async fn order_changed(state: &AppState, order_id: i64) {
    match state.db.engine() {
        // One round trip: the database builds the hint and notifies every instance.
        Engine::Postgres => {
            let sent = sqlx::query(
                "SELECT pg_notify($1, json_build_object(
                        'type', 'Order', 'order_id', o.id, 'customer_id', o.customer_id,
                        'store_id', o.store_id, 'rider_id', o.rider_id,
                        'status', COALESCE(v.status, o.status))::text)
                 FROM orders o LEFT JOIN order_views v ON v.order_id = o.id WHERE o.id = $2",
            )
            .bind(CHANNEL)
            .bind(order_id)
            .execute(state.db.writer())
            .await;
            if let Err(error) = sent {
                tracing::warn!(%error, order_id, "live update not sent");
            }
        }
        // One process: nobody listening, nothing to look up.
        Engine::Sqlite if state.live.listeners() == 0 => {}
        Engine::Sqlite => match order_change(state, order_id).await {
            Ok(Some(change)) => state.live.deliver_locally(change),
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, order_id, "live update skipped"),
        },
    }
}

async fn order_change(state: &AppState, order_id: i64) -> Result<Option<Change>, sqlx::Error> {
    let Some(row) = sqlx::query(
        "SELECT o.customer_id, o.store_id, o.rider_id, COALESCE(v.status, o.status) AS status
         FROM orders o LEFT JOIN order_views v ON v.order_id = o.id WHERE o.id = $1",
    )
    .bind(order_id)
    .fetch_optional(state.db.reader())
    .await?
    else {
        return Ok(None);
    };
    let status = OrderStatus::parse(&row.try_get::<String, _>("status")?)
        .ok_or_else(|| sqlx::Error::Decode("unknown order status".into()))?;
    Ok(Some(Change::Order {
        order_id,
        customer_id: row.try_get("customer_id")?,
        store_id: row.try_get("store_id")?,
        rider_id: row.try_get("rider_id")?,
        status,
    }))
}

/// On PostgreSQL, hands every instance's hints to this instance's open pages. Returns once
/// listening (or after 5 s without success; it keeps trying in the background).
pub async fn listen(state: &AppState) -> Option<tokio::task::JoinHandle<()>> {
    if state.db.engine() != Engine::Postgres {
        return None;
    }
    let url = state.db.url().to_string();
    let live = state.live.clone();
    let (ready, is_ready) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let mut ready = Some(ready);
        loop {
            match sqlx::postgres::PgListener::connect(&url).await {
                Ok(mut listener) => {
                    if listener.listen(CHANNEL).await.is_ok() {
                        if let Some(ready) = ready.take() {
                            let _ = ready.send(());
                        }
                        loop {
                            match listener.try_recv().await {
                                Ok(Some(notification)) => {
                                    match serde_json::from_str::<Change>(notification.payload()) {
                                        Ok(change) => live.deliver_locally(change),
                                        Err(error) => {
                                            tracing::warn!(%error, "undecodable live update")
                                        }
                                    }
                                }
                                // The connection dropped and came back: hints sent meanwhile
                                // are lost, so every page re-reads.
                                Ok(None) => live.deliver_locally(Change::Resync),
                                Err(error) => {
                                    tracing::warn!(%error, "live LISTEN failed; reconnecting");
                                    live.deliver_locally(Change::Resync);
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

/// Whose changes a page may hear of.
#[derive(Debug, Clone)]
enum Audience {
    Customer(i64),
    Owner { stores: Vec<i64> },
    Rider(i64),
}

impl Audience {
    /// The hint this audience gets for `change`, if any.
    fn notice(&self, change: &Change) -> Option<LiveNotice> {
        match change {
            Change::Resync => Some(LiveNotice::Ready),
            Change::Order {
                order_id,
                customer_id,
                store_id,
                rider_id,
                status,
            } => {
                let concerned = match self {
                    Audience::Customer(id) => customer_id == id,
                    Audience::Owner { stores, .. } => stores.contains(store_id),
                    // Every rider's list changes when an order starts or finishes cooking or
                    // is claimed; the rest only concerns the rider carrying it.
                    Audience::Rider(id) => {
                        *rider_id == Some(*id)
                            || matches!(
                                status,
                                OrderStatus::Cooking
                                    | OrderStatus::Cooked
                                    | OrderStatus::RiderAssigned
                                    | OrderStatus::Cancelled
                                    | OrderStatus::Rejected
                            )
                    }
                };
                concerned.then_some(LiveNotice::Order {
                    order_id: *order_id,
                    status: *status,
                })
            }
        }
    }
}

async fn audience(state: &AppState, user: &CurrentUser) -> Result<Audience, sqlx::Error> {
    Ok(match user.role {
        Role::Customer => Audience::Customer(user.id),
        Role::Rider => Audience::Rider(user.id),
        Role::Owner => Audience::Owner {
            stores: sqlx::query("SELECT id FROM stores WHERE owner_id = $1")
                .bind(user.id)
                .fetch_all(state.db.reader())
                .await?
                .iter()
                .map(|row| row.try_get(0))
                .collect::<Result<_, _>>()?,
        },
    })
}

fn sse_event(notice: &LiveNotice) -> Result<SseEvent, Infallible> {
    Ok(SseEvent::default().data(serde_json::to_string(notice).expect("notices serialise")))
}

/// `GET /live`: the signed-in person's hints as an event stream. The first event is `ready`
/// (the page then re-reads once, covering anything missed while connecting).
pub async fn events(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let user = match sessions::token_from_headers(&headers) {
        Some(token) => sessions::user(&state, token).await,
        None => Ok(None),
    };
    let user = match user {
        Ok(Some(user)) => user,
        Ok(None) => {
            return (
                StatusCode::UNAUTHORIZED,
                axum::Json(crate::error::AppError::Unauthenticated),
            )
                .into_response()
        }
        Err(error) => {
            tracing::error!(%error, "live: session lookup failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let audience = match audience(&state, &user).await {
        Ok(audience) => audience,
        Err(error) => {
            tracing::error!(%error, "live: audience lookup failed");
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
    };
    let token = sessions::token_from_headers(&headers)
        .unwrap_or_default()
        .to_string();
    Sse::new(notices(state, token, audience))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// One open stream: what it listens to, for whom, and when its session is looked at again.
struct Subscription {
    state: AppState,
    receiver: broadcast::Receiver<Change>,
    closing: watch::Receiver<bool>,
    audience: Audience,
    token: String,
    recheck: tokio::time::Interval,
}

enum Wake {
    Closing,
    Received(Result<Change, broadcast::error::RecvError>),
    Recheck,
}

fn notices(
    state: AppState,
    token: String,
    audience: Audience,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    let every = state.settings.live_session_recheck;
    let subscription = Subscription {
        receiver: state.live.sender.subscribe(),
        closing: state.live.closing.subscribe(),
        recheck: tokio::time::interval_at(tokio::time::Instant::now() + every, every),
        state,
        audience,
        token,
    };
    let ready = stream::once(async { sse_event(&LiveNotice::Ready) });
    let changes = stream::unfold(subscription, |mut sub| async move {
        loop {
            let wake = tokio::select! {
                _ = sub.closing.wait_for(|closing| *closing) => Wake::Closing,
                received = sub.receiver.recv() => Wake::Received(received),
                _ = sub.recheck.tick() => Wake::Recheck,
            };
            let event = match wake {
                Wake::Closing => return None,
                // Signed out, expired or revoked since the stream opened: it ends here.
                Wake::Recheck => match sessions::user(&sub.state, &sub.token).await {
                    Ok(None) => return None,
                    Ok(Some(_)) | Err(_) => continue,
                },
                Wake::Received(Ok(change)) => match sub.audience.notice(&change) {
                    Some(notice) => sse_event(&notice),
                    None => continue,
                },
                // Too slow to keep up: tell the page to re-read everything.
                Wake::Received(Err(broadcast::error::RecvError::Lagged(_))) => {
                    sse_event(&LiveNotice::Ready)
                }
                Wake::Received(Err(broadcast::error::RecvError::Closed)) => return None,
            };
            return Some((event, sub));
        }
    });
    ready.chain(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(status: OrderStatus, rider_id: Option<i64>) -> Change {
        Change::Order {
            order_id: 9,
            customer_id: 1,
            store_id: 5,
            rider_id,
            status,
        }
    }

    #[test]
    fn each_page_hears_only_what_concerns_it() {
        let placed = change(OrderStatus::Placed, None);
        assert!(Audience::Customer(1).notice(&placed).is_some());
        assert!(Audience::Customer(2).notice(&placed).is_none());
        let owner = |stores: Vec<i64>| Audience::Owner { stores };
        assert!(owner(vec![4, 5]).notice(&placed).is_some());
        assert!(owner(vec![4]).notice(&placed).is_none());
        assert!(Audience::Rider(7).notice(&placed).is_none());
        assert!(Audience::Rider(7)
            .notice(&change(OrderStatus::Cooked, None))
            .is_some());
        let picked_up = change(OrderStatus::PickedUp, Some(7));
        assert!(Audience::Rider(7).notice(&picked_up).is_some());
        assert!(Audience::Rider(8).notice(&picked_up).is_none());
    }
}
