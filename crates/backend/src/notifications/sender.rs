//! The KakaoTalk sender: a queue of the job runner (`jobs`) that drains the pending 알림톡
//! rows. It leases a batch (the lease outlasts sending all of it), keeps one order's messages
//! to one person in order, sends each behind the client's timeout and breaker, and records the
//! outcome only under its own lease: sent, retried with backoff, deferred while the breaker is
//! open (no attempt spent), or parked as `failed` (`failed`, `retry_failed` for operators).

use super::alimtalk::{Alimtalk, Message, SendError};
use crate::jobs::{self, Backoff};
use crate::{metrics, now_ms, AppState};
use domain::{OrderId, PhoneNumber};
use serde::Serialize;
use sqlx::FromRow;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::watch;

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
    #[derive(FromRow)]
    struct Claimed {
        id: i64,
        template_code: Option<String>,
        template_params: Option<String>,
        recipient_phone: Option<String>,
        attempts: i64,
    }
    let rows: Vec<Claimed> = sqlx::query_as(&sql)
        .bind(leased_until)
        .bind(now)
        .bind(config.batch)
        .fetch_all(state.db.writer())
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| Due {
            id: row.id,
            leased_until,
            template_code: row.template_code.unwrap_or_default(),
            params: row
                .template_params
                .and_then(|json| serde_json::from_str(&json).ok())
                .unwrap_or_default(),
            phone: row.recipient_phone.unwrap_or_default(),
            attempts: row.attempts,
        })
        .collect())
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
    let gives_up = match &result {
        Err(SendError::Rejected(_)) => true,
        Err(SendError::Retry(_)) => due.attempts >= config.max_attempts,
        Ok(_) | Err(SendError::Deferred) => false,
    };
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
            .bind(if gives_up { "failed" } else { "pending" })
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

/// A KakaoTalk message that finally failed, for an operator (phone masked).
#[derive(Debug, Clone, Serialize)]
pub struct FailedMessage {
    pub id: i64,
    pub order_id: Option<OrderId>,
    pub kind: String,
    pub template_code: Option<String>,
    pub to: String,
    pub attempts: i64,
    pub last_error: Option<String>,
}

pub async fn failed(state: &AppState) -> Result<Vec<FailedMessage>, sqlx::Error> {
    #[derive(FromRow)]
    struct Failed {
        id: i64,
        order_id: Option<OrderId>,
        kind: String,
        template_code: Option<String>,
        recipient_phone: Option<String>,
        attempts: i64,
        last_error: Option<String>,
    }
    let rows: Vec<Failed> = sqlx::query_as(
        "SELECT id, order_id, kind, template_code, recipient_phone, attempts, last_error
         FROM notifications WHERE state = 'failed' ORDER BY id",
    )
    .fetch_all(state.db.reader())
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| FailedMessage {
            id: row.id,
            order_id: row.order_id,
            kind: row.kind,
            template_code: row.template_code,
            to: masked(&row.recipient_phone.unwrap_or_default()),
            attempts: row.attempts,
            last_error: row.last_error,
        })
        .collect())
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
