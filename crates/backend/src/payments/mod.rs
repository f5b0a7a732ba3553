//! Payments: one `PaymentGateway` boundary in front of the provider, called synchronously
//! during checkout, guarded by a timeout and a circuit breaker.
//!
//! Two providers sit behind the boundary, chosen by configuration:
//! - `sandbox`: Baedal's own sandbox service (`sandbox-pay`, started by `./baedal run`), with
//!   test card numbers for approve / decline / slow / error, so even the zero-set-up default
//!   makes a real network call;
//! - `toss`: a client for Toss Payments' documented server API (confirm and cancel).
//!
//! Every charge carries our own payment id, derived from the checkout's idempotency key, and
//! both providers treat a repeated id as the same payment: a retry never charges twice.

pub mod breaker;
pub mod sandbox;
pub mod toss;

use breaker::{BreakerConfig, CircuitBreaker};
use domain::Won;
use std::sync::Arc;
use std::time::Duration;

/// What to charge.
#[derive(Debug, Clone)]
pub struct ChargeRequest {
    /// Our id for this payment (6–64 of `[A-Za-z0-9_-]`); repeated ids are one payment.
    pub payment_id: String,
    pub amount: Won,
    /// For the sandbox the card number; for Toss the `paymentKey` from its payment widget.
    pub payment_token: String,
    /// Shown on the customer's statement, e.g. "마포 즉석떡볶이 외 1건".
    pub description: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Approval {
    /// The provider's reference, needed to cancel.
    pub provider_ref: String,
    /// A masked card number for receipts, e.g. "4242-****-****-4242".
    pub card_hint: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PaymentError {
    /// The provider answered and said no (card declined, limit exceeded, …).
    #[error("결제가 거절되었습니다: {reason}")]
    Declined { reason: String },
    /// No usable answer (timeout, provider error, network failure): the charge may or may not
    /// exist, so it is voided by its id.
    #[error("결제 시스템을 사용할 수 없습니다: {reason}")]
    Unavailable { reason: String },
    /// The circuit breaker is open: the provider was not called, nothing was charged.
    #[error("결제 시스템을 사용할 수 없습니다: circuit breaker open")]
    BreakerOpen,
}

/// The configured provider.
#[derive(Clone)]
pub enum PaymentGateway {
    Sandbox(sandbox::SandboxClient),
    Toss(toss::TossClient),
}

impl PaymentGateway {
    pub fn name(&self) -> &'static str {
        match self {
            PaymentGateway::Sandbox(_) => "sandbox",
            PaymentGateway::Toss(_) => "toss",
        }
    }

    async fn charge(&self, request: &ChargeRequest) -> Result<Approval, PaymentError> {
        match self {
            PaymentGateway::Sandbox(client) => client.charge(request).await,
            PaymentGateway::Toss(client) => client.confirm(request).await,
        }
    }

    async fn cancel(&self, provider_ref: &str, reason: &str) -> Result<(), PaymentError> {
        match self {
            PaymentGateway::Sandbox(client) => client.cancel(provider_ref, reason).await,
            PaymentGateway::Toss(client) => client.cancel(provider_ref, reason).await,
        }
    }

    async fn void(&self, payment_id: &str, reason: &str) -> Result<(), PaymentError> {
        match self {
            PaymentGateway::Sandbox(client) => client.void(payment_id).await,
            PaymentGateway::Toss(client) => client.void(payment_id, reason).await,
        }
    }
}

#[derive(Debug, Clone)]
pub struct PaymentSettings {
    /// Longest wait for the provider's answer to one call.
    pub timeout: Duration,
    pub breaker: BreakerConfig,
}

impl Default for PaymentSettings {
    fn default() -> Self {
        PaymentSettings {
            timeout: Duration::from_secs(3),
            breaker: BreakerConfig::default(),
        }
    }
}

/// The gateway with its timeout and circuit breaker: what checkout calls.
#[derive(Clone)]
pub struct Payments {
    gateway: PaymentGateway,
    timeout: Duration,
    breaker: Arc<CircuitBreaker>,
}

impl Payments {
    pub fn new(gateway: PaymentGateway, settings: PaymentSettings) -> Self {
        Payments {
            gateway,
            timeout: settings.timeout,
            breaker: Arc::new(CircuitBreaker::new("payment", settings.breaker)),
        }
    }

    pub fn provider(&self) -> &'static str {
        self.gateway.name()
    }

    /// Whether the sandbox provider takes the payments (its test cards are the only cards).
    pub fn is_sandbox(&self) -> bool {
        matches!(self.gateway, PaymentGateway::Sandbox(_))
    }

    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// Charges synchronously. Fails fast while the breaker is open; a call that outlives the
    /// timeout counts as a failure and is reported as `Unavailable`.
    pub async fn charge(&self, request: &ChargeRequest) -> Result<Approval, PaymentError> {
        let permit = self
            .breaker
            .try_acquire()
            .map_err(|_| PaymentError::BreakerOpen)?;
        let result = match tokio::time::timeout(self.timeout, self.gateway.charge(request)).await {
            Ok(result) => result,
            Err(_) => Err(PaymentError::Unavailable {
                reason: format!("no answer within {} ms", self.timeout.as_millis()),
            }),
        };
        let failed = matches!(result, Err(PaymentError::Unavailable { .. }));
        self.breaker.record(permit, failed);
        result
    }

    /// Cancels (refunds) an approved payment. Compensation must not be skipped because the
    /// breaker is open, so this bypasses it, with a longer timeout and a few retries.
    pub async fn cancel(&self, provider_ref: &str, reason: &str) -> Result<(), PaymentError> {
        self.compensate(|| self.gateway.cancel(provider_ref, reason))
            .await
    }

    /// Cancels whatever `payment_id` charged, if anything (also a late approval of a charge we
    /// stopped waiting for). One call, bounded by twice the timeout: the outbox worker retries
    /// it on its own schedule until the provider confirms.
    pub async fn void_once(&self, payment_id: &str, reason: &str) -> Result<(), PaymentError> {
        match tokio::time::timeout(self.timeout * 2, self.gateway.void(payment_id, reason)).await {
            Ok(result) => result,
            Err(_) => Err(PaymentError::Unavailable {
                reason: format!("no answer within {} ms", (self.timeout * 2).as_millis()),
            }),
        }
    }

    async fn compensate<F, Fut>(&self, call: F) -> Result<(), PaymentError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<(), PaymentError>>,
    {
        let mut last_error = None;
        for attempt in 0..3u32 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200 * 2u64.pow(attempt))).await;
            }
            match tokio::time::timeout(self.timeout * 2, call()).await {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(error)) => last_error = Some(error),
                Err(_) => {
                    last_error = Some(PaymentError::Unavailable {
                        reason: "cancel timed out".into(),
                    })
                }
            }
        }
        Err(last_error.expect("at least one attempt"))
    }
}

/// "4242424242424242" → "4242-****-****-4242".
pub fn mask_card(digits: &str) -> String {
    if digits.len() < 8 {
        return "****".into();
    }
    format!("{}-****-****-{}", &digits[..4], &digits[digits.len() - 4..])
}
