//! Client of Baedal's sandbox payment service (`sandbox-pay`; see `server::sandbox_pay` for
//! the service and its test cards).
//!
//! API: `POST /v1/charges` `{payment_id, amount, card_number, description}` answers 200
//! `{charge_id, status: "approved", card_hint}` or 402 `{code, message}` for a declined card;
//! `POST /v1/charges/{charge_id}/cancel` `{reason}` answers 200 `{status: "cancelled"}`.

use super::{Approval, ChargeRequest, PaymentError};
use serde::{Deserialize, Serialize};

#[derive(Clone)]
pub struct SandboxClient {
    base_url: String,
    http: reqwest::Client,
}

#[derive(Serialize)]
struct ChargeBody<'a> {
    payment_id: &'a str,
    amount: i64,
    card_number: &'a str,
    description: &'a str,
}

#[derive(Deserialize)]
struct ChargeAnswer {
    charge_id: String,
    card_hint: String,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    message: String,
}

fn unavailable(error: impl std::fmt::Display) -> PaymentError {
    PaymentError::Unavailable {
        reason: error.to_string(),
    }
}

impl SandboxClient {
    pub fn new(base_url: &str) -> Self {
        SandboxClient {
            base_url: base_url.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
        }
    }

    pub async fn charge(&self, request: &ChargeRequest) -> Result<Approval, PaymentError> {
        let response = self
            .http
            .post(format!("{}/v1/charges", self.base_url))
            .json(&ChargeBody {
                payment_id: &request.payment_id,
                amount: request.amount.0,
                card_number: &request.payment_token,
                description: &request.description,
            })
            .send()
            .await
            .map_err(unavailable)?;
        let status = response.status();
        if status.is_success() {
            let answer: ChargeAnswer = response.json().await.map_err(unavailable)?;
            Ok(Approval {
                provider_ref: answer.charge_id,
                card_hint: answer.card_hint,
            })
        } else if status.as_u16() == 402 {
            let answer: ErrorAnswer = response.json().await.map_err(unavailable)?;
            Err(PaymentError::Declined {
                reason: answer.message,
            })
        } else {
            Err(unavailable(format!("sandbox answered {status}")))
        }
    }

    pub async fn cancel(&self, charge_id: &str, reason: &str) -> Result<(), PaymentError> {
        let response = self
            .http
            .post(format!("{}/v1/charges/{charge_id}/cancel", self.base_url))
            .json(&serde_json::json!({ "reason": reason }))
            .send()
            .await
            .map_err(unavailable)?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(unavailable(format!(
                "sandbox cancel answered {}",
                response.status()
            )))
        }
    }

    pub async fn void(&self, payment_id: &str) -> Result<(), PaymentError> {
        let response = self
            .http
            .post(format!("{}/v1/payments/{payment_id}/void", self.base_url))
            .send()
            .await
            .map_err(unavailable)?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(unavailable(format!(
                "sandbox void answered {}",
                response.status()
            )))
        }
    }
}
