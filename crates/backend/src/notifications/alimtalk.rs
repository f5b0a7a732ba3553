//! Client of NHN Cloud's KakaoTalk Bizmessage AlimTalk API (v2.3), the 알림톡 channel:
//!
//! `POST {base}/alimtalk/v2.3/appkeys/{appKey}/messages` with header `X-Secret-Key` and body
//! `{senderKey, templateCode, recipientList: [{recipientNo, templateParameter,
//! recipientGroupingKey}]}`. The answer is `{header: {resultCode, resultMessage, isSuccessful},
//! message: {requestId, sendResults: [{recipientNo, resultCode, resultMessage}]}}`.
//!
//! Every call carries `X-NC-API-IDEMPOTENCY-KEY` (our notification's id): if we resend after
//! a crash between the provider's answer and our bookkeeping, the provider refuses the repeat
//! within its ten-minute window instead of messaging the customer twice.
//!
//! Calls are guarded like payments: a timeout and a circuit breaker of their own, so a slow or
//! failing provider costs the notification sender at most a timeout and never touches ordering.

use crate::payments::breaker::{BreakerConfig, CircuitBreaker};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// `Debug` (by hand, below) shows the URL and timings but never the keys.
#[derive(Clone)]
pub struct AlimtalkConfig {
    /// e.g. `https://api-alimtalk.cloud.toast.com`.
    pub base_url: String,
    pub app_key: String,
    pub secret_key: String,
    /// The KakaoTalk channel's sender key (발신 키).
    pub sender_key: String,
    pub timeout: Duration,
    pub breaker: BreakerConfig,
}

impl std::fmt::Debug for AlimtalkConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlimtalkConfig")
            .field("base_url", &self.base_url)
            .field("app_key", &"<redacted>")
            .field("secret_key", &"<redacted>")
            .field("sender_key", &"<redacted>")
            .field("timeout", &self.timeout)
            .field("breaker", &self.breaker)
            .finish()
    }
}

/// One 알림톡 message: an approved template and the values of its `#{…}` variables.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// Our id for this message: repeated ids are one message at the provider.
    pub idempotency_key: String,
    pub template_code: String,
    /// Digits only, e.g. `01012345678`.
    pub recipient_no: String,
    pub params: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SendError {
    /// No usable answer (timeout, 5xx, 429, 401/403, network): try again.
    #[error("알림톡을 보내지 못했습니다 (다시 시도): {0}")]
    Retry(String),
    /// Not attempted: the circuit breaker is open. Costs the message no attempt.
    #[error("알림톡 발송 대기 중 (circuit breaker open)")]
    Deferred,
    /// The provider refused this message (bad number, unknown template, …): retrying won't help.
    #[error("알림톡이 거절되었습니다: {0}")]
    Rejected(String),
}

#[derive(Clone)]
pub struct Alimtalk {
    config: Arc<AlimtalkConfig>,
    http: reqwest::Client,
    breaker: Arc<CircuitBreaker>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Answer {
    header: Header,
    #[serde(default)]
    message: Option<Sent>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Header {
    result_code: i64,
    #[serde(default)]
    result_message: String,
    is_successful: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Sent {
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    send_results: Vec<RecipientResult>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecipientResult {
    result_code: i64,
    #[serde(default)]
    result_message: String,
}

impl Alimtalk {
    pub fn new(config: AlimtalkConfig) -> Self {
        let breaker = Arc::new(CircuitBreaker::new("kakao", config.breaker.clone()));
        Alimtalk {
            config: Arc::new(AlimtalkConfig {
                base_url: config.base_url.trim_end_matches('/').to_string(),
                ..config
            }),
            http: reqwest::Client::new(),
            breaker,
        }
    }

    /// The longest one send may take.
    pub fn timeout(&self) -> Duration {
        self.config.timeout
    }

    /// Sends one message; `Ok` carries the provider's request id.
    pub async fn send(&self, message: &Message) -> Result<String, SendError> {
        let permit = self
            .breaker
            .try_acquire()
            .map_err(|_| SendError::Deferred)?;
        let result = match tokio::time::timeout(self.config.timeout, self.call(message)).await {
            Ok(result) => result,
            Err(_) => Err(SendError::Retry(format!(
                "no answer within {} ms",
                self.config.timeout.as_millis()
            ))),
        };
        self.breaker
            .record(permit, matches!(result, Err(SendError::Retry(_))));
        result
    }

    async fn call(&self, message: &Message) -> Result<String, SendError> {
        let url = format!(
            "{}/alimtalk/v2.3/appkeys/{}/messages",
            self.config.base_url, self.config.app_key
        );
        let body = json!({
            "senderKey": self.config.sender_key,
            "templateCode": message.template_code,
            "recipientList": [{
                "recipientNo": message.recipient_no,
                "templateParameter": message.params,
                "recipientGroupingKey": message.idempotency_key,
            }],
        });
        let response = self
            .http
            .post(url)
            .header("X-Secret-Key", &self.config.secret_key)
            .header("X-NC-API-IDEMPOTENCY-KEY", &message.idempotency_key)
            .json(&body)
            .send()
            .await
            .map_err(|error| SendError::Retry(format!("network: {error}")))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        // Overload and credentials (a rotated secret key is fixed by an operator, not by
        // dropping the messages) are worth retrying; other 4xx are refusals of this message.
        if status.is_server_error() || matches!(status.as_u16(), 401 | 403 | 408 | 429) {
            return Err(SendError::Retry(format!(
                "HTTP {status}: {}",
                snippet(&text)
            )));
        }
        if !status.is_success() {
            return Err(SendError::Rejected(format!(
                "HTTP {status}: {}",
                snippet(&text)
            )));
        }
        let answer: Answer = serde_json::from_str(&text)
            .map_err(|error| SendError::Retry(format!("unreadable answer: {error}")))?;
        if !answer.header.is_successful {
            // It understood the request and refused it (unknown template, bad sender key, …).
            return Err(SendError::Rejected(format!(
                "{} {}",
                answer.header.result_code, answer.header.result_message
            )));
        }
        let sent = answer.message.unwrap_or(Sent {
            request_id: String::new(),
            send_results: Vec::new(),
        });
        match sent.send_results.first() {
            Some(result) if result.result_code != 0 => Err(SendError::Rejected(format!(
                "{} {}",
                result.result_code, result.result_message
            ))),
            _ => Ok(sent.request_id),
        }
    }
}

fn snippet(text: &str) -> String {
    text.chars().take(200).collect()
}
