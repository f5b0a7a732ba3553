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

pub mod alimtalk;

use super::jobs::{self, Backoff};
use super::outbox::Event;
use super::worker::Delivery;
use super::{metrics, now_ms, AppState};
use alimtalk::{Alimtalk, Message, SendError};
use domain::{District, GeoPoint, NotificationItem, PhoneNumber, Won};
use serde::Serialize;
use sqlx::{Any, Row, Transaction};
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::watch;

/// What one event says to one person.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub user_id: i64,
    pub kind: &'static str,
    pub title: String,
    pub body: String,
    /// The 알림톡 template and its variables, for customers.
    pub kakao: Option<Template>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub code: &'static str,
    pub params: BTreeMap<&'static str, String>,
}

/// What `plan` needs to know about the order besides the event.
#[derive(Debug, Clone)]
pub struct OrderFacts {
    pub order_id: i64,
    pub customer_id: i64,
    pub owner_id: i64,
    pub store_name: String,
    pub total: Won,
    pub items: String,
    pub district: String,
    /// The order reached the store's queue (stock taken): the owner has it on the board.
    pub queued: bool,
    /// Riders near the customer, told of a new delivery when the food is cooked.
    pub nearby_riders: Vec<i64>,
}

/// Who hears what of `event`. Pure: the same event and facts always plan the same messages.
pub fn plan(event: &Event, facts: &OrderFacts) -> Vec<Planned> {
    let id = facts.order_id;
    let store = facts.store_name.as_str();
    let base = |extra: &[(&'static str, String)]| {
        let mut params =
            BTreeMap::from([("주문번호", id.to_string()), ("가게명", store.to_string())]);
        params.extend(extra.iter().cloned());
        params
    };
    let customer = |kind, title: &str, body: String, code, params| Planned {
        user_id: facts.customer_id,
        kind,
        title: title.to_string(),
        body,
        kakao: Some(Template { code, params }),
    };
    let owner = |kind, title: String, body: String| Planned {
        user_id: facts.owner_id,
        kind,
        title,
        body,
        kakao: None,
    };
    let mut planned = Vec::new();
    match event {
        Event::OrderPlaced { .. } => {
            planned.push(customer(
                "order_placed",
                "주문 접수",
                format!(
                    "{store}의 #{id} 주문이 접수되었습니다. 결제 금액 {}",
                    facts.total
                ),
                "BD_ORDER_PLACED",
                base(&[("결제금액", facts.total.to_string())]),
            ));
            if facts.queued {
                planned.push(owner(
                    "new_order",
                    format!("새 주문 #{id}"),
                    format!(
                        "{} · {} · 배달지 {}",
                        facts.items, facts.total, facts.district
                    ),
                ));
            }
        }
        Event::OrderAccepted { .. } => planned.push(customer(
            "order_accepted",
            "주문 수락",
            format!("{store}에서 #{id} 주문을 수락했습니다."),
            "BD_ORDER_ACCEPTED",
            base(&[]),
        )),
        Event::OrderRejected { reason, .. } => planned.push(customer(
            "order_rejected",
            "주문 거절",
            format!("{store}에서 #{id} 주문을 받지 못했습니다: {reason} 결제는 환불됩니다."),
            "BD_ORDER_REJECTED",
            base(&[("사유", reason.clone())]),
        )),
        Event::CookingStarted { .. } => planned.push(customer(
            "cooking_started",
            "요리 중",
            format!("{store}에서 #{id} 주문의 요리를 시작했습니다."),
            "BD_COOKING_STARTED",
            base(&[]),
        )),
        Event::CookingFinished { .. } => {
            planned.push(customer(
                "cooking_finished",
                "요리 완료",
                format!("#{id} 주문의 요리가 끝났습니다. 곧 라이더가 픽업합니다."),
                "BD_COOKING_FINISHED",
                base(&[]),
            ));
            for rider in &facts.nearby_riders {
                planned.push(Planned {
                    user_id: *rider,
                    kind: "delivery_nearby",
                    title: "새 배달".into(),
                    body: format!("{store} → {} · 주문 #{id}", facts.district),
                    kakao: None,
                });
            }
        }
        Event::RiderAssigned { rider_name, .. } => planned.push(customer(
            "rider_assigned",
            "라이더 배정",
            format!("{rider_name} 라이더가 #{id} 주문을 배달합니다."),
            "BD_RIDER_ASSIGNED",
            base(&[("라이더", rider_name.clone())]),
        )),
        Event::OrderPickedUp { .. } => planned.push(customer(
            "picked_up",
            "배달 중",
            format!("라이더가 {store}에서 #{id} 주문을 픽업해 배달 중입니다."),
            "BD_PICKED_UP",
            base(&[]),
        )),
        Event::OrderDelivered { .. } => planned.push(customer(
            "delivered",
            "배달 완료",
            format!("#{id} 주문이 도착했습니다. 받으셨다면 배송확인을 눌러 주세요."),
            "BD_DELIVERED",
            base(&[]),
        )),
        Event::OrderCompleted { .. } => planned.push(customer(
            "completed",
            "배송 확인 완료",
            format!("#{id} 주문이 완료되었습니다. 이용해 주셔서 감사합니다."),
            "BD_COMPLETED",
            base(&[]),
        )),
        Event::OrderCancelled { .. } => {
            planned.push(customer(
                "order_cancelled",
                "주문 취소",
                format!("#{id} 주문이 취소되었습니다. 결제는 환불됩니다."),
                "BD_ORDER_CANCELLED",
                base(&[]),
            ));
            if facts.queued {
                planned.push(owner(
                    "order_cancelled",
                    format!("주문 취소 #{id}"),
                    format!("고객이 주문을 취소했습니다: {}", facts.items),
                ));
            }
        }
        // No order, so nobody to tell: the customer was answered at checkout.
        Event::PaymentVoidRequested { .. } => {}
        Event::RefundRequested { .. } => planned.push(customer(
            "refunded",
            "환불 완료",
            format!("#{id} 주문의 결제 금액 {}이 환불되었습니다.", facts.total),
            "BD_REFUNDED",
            base(&[("환불금액", facts.total.to_string())]),
        )),
    }
    planned
}

async fn facts(
    state: &AppState,
    tx: &mut Transaction<'static, Any>,
    event: &Event,
    order_id: i64,
) -> Result<(OrderFacts, Option<String>, bool), sqlx::Error> {
    // The handler has just folded this event into the order's view row, which holds the
    // store's name and the items: read them there rather than from the lines again.
    let row = sqlx::query(
        "SELECT v.customer_id, v.total_won, v.store_name, v.items, o.district, s.owner_id,
                u.phone, u.kakao_enabled,
                (SELECT COUNT(*) FROM store_queue q WHERE q.order_id = o.id) AS queued
         FROM order_views v JOIN orders o ON o.id = v.order_id JOIN stores s ON s.id = o.store_id
         JOIN users u ON u.id = o.customer_id
         WHERE v.order_id = $1",
    )
    .bind(order_id)
    .fetch_one(&mut **tx)
    .await?;
    let items: String = row.try_get("items")?;
    let district: String = row.try_get("district")?;
    let nearby_riders = match event {
        Event::CookingFinished { .. } => riders_near(state, tx, &district).await?,
        _ => Vec::new(),
    };
    let facts = OrderFacts {
        order_id,
        customer_id: row.try_get("customer_id")?,
        owner_id: row.try_get("owner_id")?,
        store_name: row.try_get("store_name")?,
        total: Won(row.try_get("total_won")?),
        items,
        district,
        queued: row.try_get::<i64, _>("queued")? > 0,
        nearby_riders,
    };
    Ok((
        facts,
        row.try_get("phone")?,
        row.try_get::<i64, _>("kakao_enabled")? == 1,
    ))
}

/// Riders whose home area is within the riders' radius of the customer's district.
async fn riders_near(
    state: &AppState,
    tx: &mut Transaction<'static, Any>,
    district: &str,
) -> Result<Vec<i64>, sqlx::Error> {
    let Ok(dropoff) = District::parse("district", district) else {
        return Ok(Vec::new());
    };
    let rows = sqlx::query(
        "SELECT id, lat, lng FROM users WHERE role = 'rider' AND lat IS NOT NULL AND lng IS NOT NULL",
    )
    .fetch_all(&mut **tx)
    .await?;
    let mut riders = Vec::new();
    for row in &rows {
        let home = GeoPoint {
            lat: row.try_get("lat")?,
            lng: row.try_get("lng")?,
        };
        if home.distance_m(dropoff.center()) <= state.settings.rider_radius_m {
            riders.push(row.try_get("id")?);
        }
    }
    Ok(riders)
}

/// Writes the notifications of the delivered event, inside the handler's transaction.
pub async fn record(
    state: &AppState,
    tx: &mut Transaction<'static, Any>,
    delivery: &Delivery,
    order_id: i64,
) -> Result<(), sqlx::Error> {
    let (facts, phone, kakao_enabled) = facts(state, tx, &delivery.event, order_id).await?;
    let phone = phone.and_then(|raw| PhoneNumber::parse("phone", &raw).ok());
    let now = now_ms();
    let planned = plan(&delivery.event, &facts);
    let mut rows: Vec<(&Planned, Option<(&Template, &PhoneNumber)>)> = Vec::new();
    for planned in &planned {
        rows.push((planned, None));
        let kakao = planned
            .kakao
            .as_ref()
            .filter(|_| state.kakao.is_some() && kakao_enabled);
        if let (Some(template), Some(phone)) = (kakao, &phone) {
            rows.push((planned, Some((template, phone))));
        }
    }
    insert(tx, delivery.id, order_id, &rows, now).await
}

/// All of an event's notification rows in one statement; rows already there are left alone.
async fn insert(
    tx: &mut Transaction<'static, Any>,
    event_id: i64,
    order_id: i64,
    rows: &[(&Planned, Option<(&Template, &PhoneNumber)>)],
    now: i64,
) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    const COLUMNS: usize = 10;
    let values: Vec<String> = (0..rows.len())
        .map(|row| {
            let p = |column: usize| format!("${}", 4 + row * COLUMNS + column);
            // $1 event, $2 order, $3 now; then per row: channel, user, kind, title, body,
            // template, params, phone, state, sent_at.
            format!(
                "($1, {}, {}, $2, {}, {}, {}, {}, {}, {}, {}, $3, $3, {})",
                p(0),
                p(1),
                p(2),
                p(3),
                p(4),
                p(5),
                p(6),
                p(7),
                p(8),
                p(9)
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
    let mut query = sqlx::query(&sql).bind(event_id).bind(order_id).bind(now);
    for (planned, kakao) in rows {
        let (channel, state, template_code, params, phone) = match kakao {
            Some((template, phone)) => (
                "kakao",
                "pending",
                Some(template.code),
                Some(serde_json::to_string(&template.params).expect("params serialise")),
                Some(phone.as_str().to_string()),
            ),
            None => ("in_app", "sent", None, None, None),
        };
        query = query
            .bind(channel)
            .bind(planned.user_id)
            .bind(planned.kind)
            .bind(&planned.title)
            .bind(&planned.body)
            .bind(template_code)
            .bind(params)
            .bind(phone)
            .bind(state)
            .bind((state == "sent").then_some(now));
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// How the KakaoTalk sender retries.
#[derive(Debug, Clone)]
pub struct SenderConfig {
    pub batch: i64,
    pub lease: Duration,
    pub poll: Duration,
    pub max_attempts: i64,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
}

impl SenderConfig {
    pub fn backoff(&self) -> Backoff {
        Backoff {
            base: self.base_backoff,
            max: self.max_backoff,
        }
    }
}

impl Default for SenderConfig {
    fn default() -> Self {
        SenderConfig {
            batch: 16,
            lease: Duration::from_secs(60),
            poll: Duration::from_secs(1),
            // With the backoff below (1 s doubling, at most 5 min, jitter 50–100%) twenty
            // attempts span roughly half an hour to an hour of failures.
            max_attempts: 20,
            base_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
        }
    }
}

struct Due {
    id: i64,
    /// The lease this sender holds on the row; outcomes are recorded only under it.
    leased_until: i64,
    template_code: String,
    params: BTreeMap<String, String>,
    phone: String,
    attempts: i64,
}

async fn claim(
    state: &AppState,
    config: &SenderConfig,
    send_timeout: Duration,
) -> Result<Vec<Due>, sqlx::Error> {
    let now = now_ms();
    // The batch is sent one message after another: the lease must outlast all of it, or
    // another instance could take (and send) a message this one is still about to send.
    let lease = config
        .lease
        .max(send_timeout * config.batch as u32 + Duration::from_secs(10));
    let leased_until = now + lease.as_millis() as i64;
    let skip_locked = jobs::skip_locked(state.db.engine());
    let sql = format!(
        "UPDATE notifications SET locked_until = $1, attempts = attempts + 1
         WHERE id IN (
             SELECT n.id FROM notifications n
             WHERE n.state = 'pending' AND n.available_at <= $2
               AND (n.locked_until IS NULL OR n.locked_until < $2)
               AND NOT EXISTS (
                   SELECT 1 FROM notifications p
                   WHERE p.state = 'pending' AND p.channel = n.channel AND p.user_id = n.user_id
                     AND p.order_id = n.order_id AND p.id < n.id)
             ORDER BY n.available_at, n.id LIMIT $3 {skip_locked})
         RETURNING id, template_code, template_params, recipient_phone, attempts"
    );
    let rows = sqlx::query(&sql)
        .bind(leased_until)
        .bind(now)
        .bind(config.batch)
        .fetch_all(state.db.writer())
        .await?;
    rows.iter()
        .map(|row| {
            Ok(Due {
                id: row.try_get("id")?,
                leased_until,
                template_code: row
                    .try_get::<Option<String>, _>("template_code")?
                    .unwrap_or_default(),
                params: row
                    .try_get::<Option<String>, _>("template_params")?
                    .and_then(|json| serde_json::from_str(&json).ok())
                    .unwrap_or_default(),
                phone: row
                    .try_get::<Option<String>, _>("recipient_phone")?
                    .unwrap_or_default(),
                attempts: row.try_get("attempts")?,
            })
        })
        .collect()
}

fn masked(phone: &str) -> String {
    PhoneNumber::parse("phone", phone)
        .map(|p| p.masked())
        .unwrap_or_else(|_| "***".into())
}

/// Sends one claimed message and records the outcome; returns the outcome's name.
async fn send_one(
    state: &AppState,
    kakao: &Alimtalk,
    config: &SenderConfig,
    due: Due,
) -> &'static str {
    let message = Message {
        idempotency_key: format!("baedal-notification-{}", due.id),
        template_code: due.template_code.clone(),
        recipient_no: due.phone.clone(),
        params: due.params.clone(),
    };
    let result = kakao.send(&message).await;
    let now = now_ms();
    let outcome = match &result {
        Ok(_) => "sent",
        Err(SendError::Deferred) => "deferred",
        Err(SendError::Rejected(_)) => "failed",
        Err(SendError::Retry(_)) if due.attempts >= config.max_attempts => "failed",
        Err(SendError::Retry(_)) => "retry",
    };
    // Only under our own lease: if it ran out and another sender took the row, its word counts.
    let recorded = match &result {
        Ok(request_id) => {
            sqlx::query(
                "UPDATE notifications SET state = 'sent', sent_at = $1, provider_ref = $2,
                        locked_until = NULL, last_error = NULL
                 WHERE id = $3 AND state = 'pending' AND locked_until = $4",
            )
            .bind(now)
            .bind(request_id)
            .bind(due.id)
            .bind(due.leased_until)
            .execute(state.db.writer())
            .await
        }
        // The breaker is open: nothing was sent, so the attempt is given back.
        Err(SendError::Deferred) => {
            sqlx::query(
                "UPDATE notifications SET attempts = attempts - 1, available_at = $1, locked_until = NULL
                 WHERE id = $2 AND state = 'pending' AND locked_until = $3",
            )
            .bind(now + config.poll.as_millis() as i64)
            .bind(due.id)
            .bind(due.leased_until)
            .execute(state.db.writer())
            .await
        }
        Err(error) => {
            let retry_at = now + config.backoff().delay(due.attempts).as_millis() as i64;
            sqlx::query(
                "UPDATE notifications SET state = $1, last_error = $2, available_at = $3,
                        locked_until = NULL
                 WHERE id = $4 AND state = 'pending' AND locked_until = $5",
            )
            .bind(if outcome == "failed" { "failed" } else { "pending" })
            .bind(error.to_string())
            .bind(retry_at)
            .bind(due.id)
            .bind(due.leased_until)
            .execute(state.db.writer())
            .await
        }
    };
    if let Err(error) = recorded {
        tracing::error!(%error, notification_id = due.id, "could not record a KakaoTalk outcome");
    }
    match &result {
        Ok(_) => tracing::info!(notification_id = due.id, to = %masked(&due.phone),
            template = %due.template_code, "KakaoTalk message sent"),
        Err(SendError::Deferred) => {}
        Err(error) => tracing::warn!(notification_id = due.id, to = %masked(&due.phone),
            attempt = due.attempts, %error, outcome, "KakaoTalk message not sent"),
    }
    outcome
}

/// Claims and sends one batch; returns how many were claimed.
async fn send_due(
    state: &AppState,
    kakao: &Alimtalk,
    config: &SenderConfig,
) -> Result<usize, sqlx::Error> {
    let due = claim(state, config, kakao.timeout()).await?;
    let count = due.len();
    for message in due {
        if now_ms() + kakao.timeout().as_millis() as i64 >= message.leased_until {
            continue; // the lease would run out mid-send: leave it for the next claim
        }
        let outcome = send_one(state, kakao, config, message).await;
        metrics::counter_add(
            "baedal_notifications_total",
            &[("channel", "kakao"), ("outcome", outcome)],
            1.0,
        );
    }
    Ok(count)
}

/// The KakaoTalk messages as a queue of the job runner.
struct Sender {
    kakao: Alimtalk,
    config: SenderConfig,
}

impl jobs::Queue for Sender {
    fn run_batch<'a>(
        &'a self,
        state: &'a AppState,
    ) -> futures::future::BoxFuture<'a, Result<usize, sqlx::Error>> {
        Box::pin(send_due(state, &self.kakao, &self.config))
    }
}

/// Sends KakaoTalk messages until `shutdown` turns true (does nothing if the channel is off).
pub async fn run_sender(state: AppState, config: SenderConfig, shutdown: watch::Receiver<bool>) {
    let Some(kakao) = state.kakao.clone() else {
        return;
    };
    metrics::describe(
        "baedal_notifications_total",
        "counter",
        "KakaoTalk messages handled by the sender, by outcome (sent, retry, deferred, failed).",
    );
    let wakeup = jobs::Wakeup {
        local: state.notification_wakeup.clone(),
        channel: None,
    };
    let poll = config.poll;
    let queue = Sender { kakao, config };
    jobs::run("KakaoTalk sender", state, queue, wakeup, poll, shutdown).await;
}

/// A person's in-app notifications, newest first, and how many are unread.
pub async fn feed(
    state: &AppState,
    user_id: i64,
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

pub async fn unread(state: &AppState, user_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query(
        "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND channel = 'in_app' AND read_at IS NULL",
    )
    .bind(user_id)
    .fetch_one(state.db.reader())
    .await?
    .try_get(0)
}

/// Marks the person's notifications up to `up_to_id` read; returns how many changed.
pub async fn mark_read(state: &AppState, user_id: i64, up_to_id: i64) -> Result<u64, sqlx::Error> {
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

/// A KakaoTalk message that finally failed, for an operator (phone masked).
#[derive(Debug, Clone, Serialize)]
pub struct FailedMessage {
    pub id: i64,
    pub order_id: Option<i64>,
    pub kind: String,
    pub template_code: Option<String>,
    pub to: String,
    pub attempts: i64,
    pub last_error: Option<String>,
}

pub async fn failed(state: &AppState) -> Result<Vec<FailedMessage>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT id, order_id, kind, template_code, recipient_phone, attempts, last_error
         FROM notifications WHERE state = 'failed' ORDER BY id",
    )
    .fetch_all(state.db.reader())
    .await?;
    rows.iter()
        .map(|row| {
            Ok(FailedMessage {
                id: row.try_get("id")?,
                order_id: row.try_get("order_id")?,
                kind: row.try_get("kind")?,
                template_code: row.try_get("template_code")?,
                to: masked(
                    &row.try_get::<Option<String>, _>("recipient_phone")?
                        .unwrap_or_default(),
                ),
                attempts: row.try_get("attempts")?,
                last_error: row.try_get("last_error")?,
            })
        })
        .collect()
}

/// Puts a failed message back in the queue; true if it was failed.
pub async fn retry_failed(state: &AppState, id: i64) -> Result<bool, sqlx::Error> {
    jobs::requeue(
        state,
        "UPDATE notifications SET state = 'pending', attempts = 0, available_at = $1, locked_until = NULL
         WHERE id = $2 AND state = 'failed'",
        id,
        &state.notification_wakeup,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> OrderFacts {
        OrderFacts {
            order_id: 42,
            customer_id: 1,
            owner_id: 2,
            store_name: "마포 즉석떡볶이".into(),
            total: Won(20_000),
            items: "모둠튀김 외 1건".into(),
            district: "마포구".into(),
            queued: true,
            nearby_riders: vec![7, 8],
        }
    }

    fn params(pairs: &[(&'static str, &str)]) -> BTreeMap<&'static str, String> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    #[test]
    fn every_status_has_its_template_with_the_right_variables() {
        let common = [("주문번호", "42"), ("가게명", "마포 즉석떡볶이")];
        let with = |extra: &[(&'static str, &str)]| {
            let mut all = common.to_vec();
            all.extend_from_slice(extra);
            params(&all)
        };
        let cases: Vec<(Event, &str, BTreeMap<&'static str, String>)> = vec![
            (
                Event::OrderPlaced {
                    order_id: 42,
                    customer_id: 1,
                    store_id: 3,
                    total_won: 20_000,
                    lines: vec![],
                },
                "BD_ORDER_PLACED",
                with(&[("결제금액", "20,000원")]),
            ),
            (
                Event::OrderAccepted { order_id: 42 },
                "BD_ORDER_ACCEPTED",
                with(&[]),
            ),
            (
                Event::OrderRejected {
                    order_id: 42,
                    reason: "재료 소진".into(),
                },
                "BD_ORDER_REJECTED",
                with(&[("사유", "재료 소진")]),
            ),
            (
                Event::CookingStarted { order_id: 42 },
                "BD_COOKING_STARTED",
                with(&[]),
            ),
            (
                Event::CookingFinished { order_id: 42 },
                "BD_COOKING_FINISHED",
                with(&[]),
            ),
            (
                Event::RiderAssigned {
                    order_id: 42,
                    rider_id: 7,
                    rider_name: "박배달".into(),
                },
                "BD_RIDER_ASSIGNED",
                with(&[("라이더", "박배달")]),
            ),
            (
                Event::OrderPickedUp { order_id: 42 },
                "BD_PICKED_UP",
                with(&[]),
            ),
            (
                Event::OrderDelivered { order_id: 42 },
                "BD_DELIVERED",
                with(&[]),
            ),
            (
                Event::OrderCompleted { order_id: 42 },
                "BD_COMPLETED",
                with(&[]),
            ),
            (
                Event::OrderCancelled { order_id: 42 },
                "BD_ORDER_CANCELLED",
                with(&[]),
            ),
            (
                Event::RefundRequested {
                    order_id: 42,
                    reason: "취소".into(),
                },
                "BD_REFUNDED",
                with(&[("환불금액", "20,000원")]),
            ),
        ];
        for (event, code, expected) in cases {
            let planned = plan(&event, &facts());
            let to_customer: Vec<_> = planned.iter().filter(|p| p.user_id == 1).collect();
            assert_eq!(to_customer.len(), 1, "{event:?}");
            let template = to_customer[0].kakao.as_ref().expect("customers get 알림톡");
            assert_eq!(template.code, code);
            assert_eq!(template.params, expected, "{code}");
            assert!(
                to_customer[0].body.contains("#42"),
                "{}",
                to_customer[0].body
            );
        }
    }

    #[test]
    fn template_codes_fit_the_providers_twenty_characters() {
        let events = [
            Event::OrderPlaced {
                order_id: 42,
                customer_id: 1,
                store_id: 3,
                total_won: 1,
                lines: vec![],
            },
            Event::OrderAccepted { order_id: 42 },
            Event::OrderRejected {
                order_id: 42,
                reason: String::new(),
            },
            Event::CookingStarted { order_id: 42 },
            Event::CookingFinished { order_id: 42 },
            Event::RiderAssigned {
                order_id: 42,
                rider_id: 7,
                rider_name: String::new(),
            },
            Event::OrderPickedUp { order_id: 42 },
            Event::OrderDelivered { order_id: 42 },
            Event::OrderCompleted { order_id: 42 },
            Event::OrderCancelled { order_id: 42 },
            Event::RefundRequested {
                order_id: 42,
                reason: String::new(),
            },
        ];
        for event in events {
            for planned in plan(&event, &facts()) {
                if let Some(template) = planned.kakao {
                    assert!(template.code.len() <= 20, "{}", template.code);
                }
            }
        }
    }

    #[test]
    fn owners_hear_of_new_and_cancelled_orders_and_riders_of_cooked_ones() {
        let placed = Event::OrderPlaced {
            order_id: 42,
            customer_id: 1,
            store_id: 3,
            total_won: 20_000,
            lines: vec![],
        };
        let to = |event: &Event, facts: &OrderFacts| -> Vec<(i64, &'static str)> {
            plan(event, facts)
                .iter()
                .map(|p| (p.user_id, p.kind))
                .collect()
        };
        assert_eq!(
            to(&placed, &facts()),
            [(1, "order_placed"), (2, "new_order")]
        );
        let unqueued = OrderFacts {
            queued: false,
            ..facts()
        };
        assert_eq!(
            to(&placed, &unqueued),
            [(1, "order_placed")],
            "out of stock: not on the board"
        );
        assert_eq!(
            to(&Event::OrderCancelled { order_id: 42 }, &facts()),
            [(1, "order_cancelled"), (2, "order_cancelled")]
        );
        assert_eq!(
            to(&Event::CookingFinished { order_id: 42 }, &facts()),
            [
                (1, "cooking_finished"),
                (7, "delivery_nearby"),
                (8, "delivery_nearby")
            ]
        );
        assert!(plan(&Event::OrderAccepted { order_id: 42 }, &facts())
            .iter()
            .all(|p| p.user_id == 1));
        for p in plan(&Event::CookingFinished { order_id: 42 }, &facts()) {
            assert_eq!(
                p.kakao.is_some(),
                p.user_id == 1,
                "only customers get 알림톡"
            );
        }
    }
}
