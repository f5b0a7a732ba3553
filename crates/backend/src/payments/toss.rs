//! Client of Toss Payments' server API (https://docs.tosspayments.com/reference):
//!
//! - confirm: `POST {base}/v1/payments/confirm` with `{paymentKey, orderId, amount}`;
//! - cancel: `POST {base}/v1/payments/{paymentKey}/cancel` with `{cancelReason}`;
//!
//! authenticated with HTTP Basic `base64(secretKey + ":")`, and an `Idempotency-Key` header so
//! a retried call is one operation at Toss. Errors come as `{code, message}`: a 4xx is Toss
//! refusing the payment (declined); a 5xx, a timeout or a network error is "unavailable".
//! Our `orderId` is the checkout's payment id; `paymentKey` comes from Toss's payment widget.

use super::{mask_card, Approval, ChargeRequest, PaymentError};
use serde::Deserialize;

#[derive(Clone)]
pub struct TossClient {
    base_url: String,
    authorization: String,
    http: reqwest::Client,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Payment {
    payment_key: String,
    status: String,
    #[serde(default)]
    card: Option<Card>,
}

#[derive(Deserialize)]
struct Card {
    #[serde(default)]
    number: String,
}

#[derive(Deserialize)]
struct TossError {
    code: String,
    message: String,
}

fn unavailable(error: impl std::fmt::Display) -> PaymentError {
    PaymentError::Unavailable {
        reason: error.to_string(),
    }
}

impl TossClient {
    pub fn new(base_url: &str, secret_key: &str) -> Self {
        use base64::Engine;
        let credentials =
            base64::engine::general_purpose::STANDARD.encode(format!("{secret_key}:"));
        TossClient {
            base_url: base_url.trim_end_matches('/').to_string(),
            authorization: format!("Basic {credentials}"),
            http: reqwest::Client::new(),
        }
    }

    async fn error(response: reqwest::Response) -> PaymentError {
        let status = response.status();
        match response.json::<TossError>().await {
            Ok(error) if status.is_client_error() && status.as_u16() != 401 => {
                PaymentError::Declined {
                    reason: error.message,
                }
            }
            Ok(error) => unavailable(format!("toss {status} {}: {}", error.code, error.message)),
            Err(_) => unavailable(format!("toss answered {status}")),
        }
    }

    pub async fn confirm(&self, request: &ChargeRequest) -> Result<Approval, PaymentError> {
        let response = self
            .http
            .post(format!("{}/v1/payments/confirm", self.base_url))
            .header("Authorization", &self.authorization)
            .header("Idempotency-Key", format!("confirm-{}", request.payment_id))
            .json(&serde_json::json!({
                "paymentKey": request.payment_token,
                "orderId": request.payment_id,
                "amount": request.amount.0,
            }))
            .send()
            .await
            .map_err(unavailable)?;
        if !response.status().is_success() {
            return Err(Self::error(response).await);
        }
        let payment: Payment = response.json().await.map_err(unavailable)?;
        if payment.status != "DONE" {
            return Err(unavailable(format!(
                "toss payment status {}",
                payment.status
            )));
        }
        let card_hint = payment
            .card
            .map(|card| card.number)
            .filter(|number| !number.is_empty())
            .unwrap_or_else(|| mask_card(""));
        Ok(Approval {
            provider_ref: payment.payment_key,
            card_hint,
        })
    }

    pub async fn cancel(&self, payment_key: &str, reason: &str) -> Result<(), PaymentError> {
        let response = self
            .http
            .post(format!(
                "{}/v1/payments/{payment_key}/cancel",
                self.base_url
            ))
            .header("Authorization", &self.authorization)
            .header("Idempotency-Key", format!("cancel-{payment_key}"))
            .json(&serde_json::json!({ "cancelReason": reason }))
            .send()
            .await
            .map_err(unavailable)?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(Self::error(response).await)
        }
    }

    /// Looks the payment up by our `orderId` and cancels it if Toss approved it.
    pub async fn void(&self, order_id: &str, reason: &str) -> Result<(), PaymentError> {
        let response = self
            .http
            .get(format!("{}/v1/payments/orders/{order_id}", self.base_url))
            .header("Authorization", &self.authorization)
            .send()
            .await
            .map_err(unavailable)?;
        if response.status().as_u16() == 404 {
            return Ok(());
        }
        if !response.status().is_success() {
            return Err(Self::error(response).await);
        }
        let payment: Payment = response.json().await.map_err(unavailable)?;
        if payment.status == "DONE" {
            self.cancel(&payment.payment_key, reason).await
        } else {
            Ok(())
        }
    }
}
