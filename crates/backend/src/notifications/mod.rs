//! Notifications: every status change of an order tells the people it concerns, in the app
//! and — for customers who have a phone number and have not turned it off — by KakaoTalk.
//!
//! Two halves, so that a failing KakaoTalk provider can never hold up orders:
//! - `record` runs inside the outbox handler's transaction (the same transaction that marks the
//!   event processed). It only writes rows: one per (event, channel, recipient), made unique by
//!   the table, so a redelivered event adds nothing. In-app rows are delivered as written.
//! - `run_sender` drains the KakaoTalk rows on its own: leased like outbox events (PostgreSQL
//!   `SKIP LOCKED` lets several instances share the work) and, like outbox events, one order's
//!   messages to one person in order (a later one waits while an earlier one is retried),
//!   sent with the provider's timeout and
//!   circuit breaker, retried with backoff, and parked as `failed` with the provider's last
//!   error after `max_attempts` (`baedal notifications failed` lists them). Nothing here runs in
//!   a request, and the outbox worker never waits for it.
//!
//! Phone numbers are shown and logged masked only ("010-****-5678").
//!
//! Here: `record` and the facts it loads. Who hears what is `plan`, pure, in the domain
//! (`domain::notification_plan`); beside `record`: `sender` (the KakaoTalk queue), `feed` (the
//! in-app list and the bell), `alimtalk` (the provider's client).

use domain::OrderId;
pub mod alimtalk;
mod feed;
mod sender;

pub use domain::notification_plan::{plan, OrderFacts, Planned, Template};
pub use feed::{feed, mark_read, unread};
pub use sender::{failed, retry_failed, run_sender, FailedMessage, SenderConfig};

use super::outbox::Event;
use super::worker::Delivery;
use super::{now_ms, AppState};
use domain::{GeoPoint, PhoneNumber, UserId, Won};
use sqlx::{Any, FromRow, Transaction};

async fn facts(
    state: &AppState,
    tx: &mut Transaction<'static, Any>,
    event: &Event,
    order_id: OrderId,
) -> Result<(OrderFacts, Option<String>, bool), sqlx::Error> {
    // The handler has just folded this event into the order's view row, which holds the
    // store's name and the items: read them there rather than from the lines again.
    #[derive(FromRow)]
    struct Facts {
        customer_id: UserId,
        total_won: Won,
        store_name: String,
        items: String,
        district: String,
        delivery_lat: Option<f64>,
        delivery_lng: Option<f64>,
        owner_id: UserId,
        phone: Option<String>,
        kakao_enabled: i64,
        queued: i64,
        cook_minutes: Option<i64>,
    }
    let row: Facts = sqlx::query_as(
        "SELECT v.customer_id, v.total_won, v.store_name, v.items, o.district, o.delivery_lat,
                o.delivery_lng, s.owner_id, u.phone, u.kakao_enabled, o.cook_minutes,
                (SELECT COUNT(*) FROM store_queue q WHERE q.order_id = o.id) AS queued
         FROM order_views v JOIN orders o ON o.id = v.order_id JOIN stores s ON s.id = o.store_id
         JOIN users u ON u.id = o.customer_id
         WHERE v.order_id = $1",
    )
    .bind(order_id)
    .fetch_one(&mut **tx)
    .await?;
    let nearby_riders = match event {
        Event::CookingFinished { .. } => {
            let saved = GeoPoint::from_columns(row.delivery_lat, row.delivery_lng);
            match domain::dropoff(saved, &row.district) {
                Some(dropoff) => riders_near(state, tx, dropoff).await?,
                None => Vec::new(),
            }
        }
        _ => Vec::new(),
    };
    let facts = OrderFacts {
        order_id,
        customer_id: row.customer_id,
        owner_id: row.owner_id,
        store_name: row.store_name,
        total: row.total_won,
        items: row.items,
        district: row.district,
        queued: row.queued > 0,
        nearby_riders,
        cook_minutes: row.cook_minutes,
    };
    Ok((facts, row.phone, row.kakao_enabled == 1))
}

/// Riders whose home area is within the riders' radius of the drop-off (the address saved with
/// the order; its district's centre for orders from before addresses).
async fn riders_near(
    state: &AppState,
    tx: &mut Transaction<'static, Any>,
    dropoff: GeoPoint,
) -> Result<Vec<UserId>, sqlx::Error> {
    let rows: Vec<(UserId, f64, f64)> = sqlx::query_as(
        "SELECT id, lat, lng FROM users WHERE role = 'rider' AND lat IS NOT NULL AND lng IS NOT NULL",
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .filter(|(_, lat, lng)| {
            let home = GeoPoint {
                lat: *lat,
                lng: *lng,
            };
            home.distance_m(dropoff) <= state.settings.rider_radius_m
        })
        .map(|(id, _, _)| id)
        .collect())
}

/// Writes the notifications of the delivered event, inside the handler's transaction.
pub async fn record(
    state: &AppState,
    tx: &mut Transaction<'static, Any>,
    delivery: &Delivery,
    order_id: OrderId,
) -> Result<(), sqlx::Error> {
    let (facts, phone, kakao_enabled) = facts(state, tx, &delivery.event, order_id).await?;
    let recipient = Recipient {
        phone,
        kakao_enabled,
    };
    record_all(state, tx, &[(delivery, facts, recipient)]).await
}

/// How the customer of an order may be reached besides the app.
pub struct Recipient {
    pub phone: Option<String>,
    pub kakao_enabled: bool,
}

/// Writes the notifications of several delivered events (with the facts their handler
/// loaded) in one statement, inside the handler's transaction.
pub async fn record_all(
    state: &AppState,
    tx: &mut Transaction<'static, Any>,
    events: &[(&Delivery, OrderFacts, Recipient)],
) -> Result<(), sqlx::Error> {
    let now = now_ms();
    struct Planning {
        id: i64,
        order_id: OrderId,
        planned: Vec<Planned>,
        phone: Option<PhoneNumber>,
        kakao_enabled: bool,
    }
    let planned: Vec<Planning> = events
        .iter()
        .map(|(delivery, facts, recipient)| Planning {
            id: delivery.id,
            order_id: facts.order_id,
            planned: plan(&delivery.event, facts),
            phone: recipient
                .phone
                .as_deref()
                .and_then(|raw| PhoneNumber::parse("phone", raw).ok()),
            kakao_enabled: recipient.kakao_enabled,
        })
        .collect();
    let mut rows: Vec<Message<'_>> = Vec::new();
    for event in &planned {
        for planned in &event.planned {
            rows.push(Message {
                event_id: event.id,
                order_id: event.order_id,
                planned,
                kakao: None,
            });
            let kakao = planned
                .kakao
                .as_ref()
                .filter(|_| state.kakao.is_some() && event.kakao_enabled);
            if let (Some(template), Some(phone)) = (kakao, &event.phone) {
                rows.push(Message {
                    event_id: event.id,
                    order_id: event.order_id,
                    planned,
                    kakao: Some((template, phone)),
                });
            }
        }
    }
    insert(tx, &rows, now).await
}

/// One notification to write: in the app, or (with a template and a phone) by KakaoTalk.
struct Message<'a> {
    event_id: i64,
    order_id: OrderId,
    planned: &'a Planned,
    kakao: Option<(&'a Template, &'a PhoneNumber)>,
}

/// All the rows in one statement; rows already there are left alone.
async fn insert(
    tx: &mut Transaction<'static, Any>,
    rows: &[Message<'_>],
    now: i64,
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    const COLUMNS: usize = 12;
    let values: Vec<String> = (0..rows.len())
        .map(|row| {
            let p = |column: usize| format!("${}", 2 + row * COLUMNS + column);
            // $1 now; then per row: event, channel, user, order, kind, title, body, template,
            // params, phone, state, sent_at.
            format!(
                "({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, $1, $1, {})",
                p(0),
                p(1),
                p(2),
                p(3),
                p(4),
                p(5),
                p(6),
                p(7),
                p(8),
                p(9),
                p(10),
                p(11)
            )
        })
        .collect();
    let sql = format!(
        "INSERT INTO notifications (event_id, channel, user_id, order_id, kind, title, body,
                                    template_code, template_params, recipient_phone, state,
                                    available_at, created_at, sent_at)
         VALUES {}
         ON CONFLICT (event_id, channel, user_id) DO NOTHING",
        values.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(now);
    for row in rows {
        // In the app a notification exists once written; a KakaoTalk message waits for the sender.
        let (channel, sent, template_code, params, phone) = match row.kakao {
            Some((template, phone)) => (
                "kakao",
                false,
                Some(template.code),
                Some(serde_json::to_string(&template.params).expect("params serialise")),
                Some(phone.as_str().to_string()),
            ),
            None => ("in_app", true, None, None, None),
        };
        query = query
            .bind(row.event_id)
            .bind(channel)
            .bind(row.planned.user_id)
            .bind(row.order_id)
            .bind(row.planned.kind)
            .bind(&row.planned.title)
            .bind(&row.planned.body)
            .bind(template_code)
            .bind(params)
            .bind(phone)
            .bind(if sent { "sent" } else { "pending" })
            .bind(sent.then_some(now));
    }
    query.execute(&mut **tx).await?;
    Ok(())
}
