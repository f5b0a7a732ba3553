//! The checkout's claims: one row per idempotency key (`checkouts`), so a repeated submission
//! is charged once and gets the first one's answer; a claim is settled exactly once — by the
//! order's commit (which needs the claim's token) or by giving it up, which queues the void of
//! its payment; the reconciliation gives up claims a crash or an outage left behind.

use super::{order_detail, CheckoutError};
use crate::outbox::{self, Event};
use crate::{now_ms, AppState, Error};
use domain::{Checkout, CurrentUser, OrderDetail};
use domain::{OrderId, UserId};
use sha2::{Digest, Sha256};
use sqlx::FromRow;
use std::time::Duration;

/// Where a checkout claim is (`checkouts.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClaimState {
    /// A request is charging the card; the claim's token settles it.
    InProgress,
    /// The order was saved (`order_id`).
    Completed,
    /// The provider declined the card (`outcome` says why).
    Declined,
}

impl TryFrom<String> for ClaimState {
    type Error = String;

    fn try_from(raw: String) -> Result<Self, String> {
        match raw.as_str() {
            "in_progress" => Ok(ClaimState::InProgress),
            "completed" => Ok(ClaimState::Completed),
            "declined" => Ok(ClaimState::Declined),
            _ => Err(format!("unknown checkout state {raw:?}")),
        }
    }
}

/// A claim someone else made with the same key.
#[derive(FromRow)]
struct Existing {
    request_hash: String,
    #[sqlx(try_from = "String")]
    state: ClaimState,
    order_id: Option<OrderId>,
    outcome: Option<String>,
    created_at: i64,
    updated_at: i64,
}

/// What makes two submissions "the same cart": the store, the food/quantity pairs and the
/// notes to the store and the rider. A retry with other notes is another cart (409): the first
/// submission's order keeps the notes it was placed with, so answering the retry with that
/// order would silently drop what the customer wrote the second time. (The checkout page makes
/// a new key when the notes change, as when the cart changes.)
pub(super) fn request_hash(checkout: &Checkout) -> String {
    // Plain numbers: the hash of a cart must not change with how ids are typed in Rust.
    let mut lines: Vec<_> = checkout
        .lines
        .iter()
        .map(|(f, q)| (f.get(), q.get()))
        .collect();
    lines.sort_unstable();
    let mut text = format!("{}|{lines:?}", checkout.store_id);
    // Without notes the text is what it was before notes existed, so a claim made just before
    // an upgrade still matches its retry. Debug quoting keeps the two notes apart whatever
    // they hold (`|` or quotes inside a note cannot make two pairs of notes read the same).
    if checkout.store_note.is_some() || checkout.rider_note.is_some() {
        text = format!("{text}|{:?}|{:?}", checkout.store_note, checkout.rider_note);
    }
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Our payment id for one claim of a checkout, within the providers' 64-character limit.
/// Stable while the claim lives (a process taking over a crashed one's claim charges the same
/// id, which the provider answers with the earlier approval); a new claim after a failed one
/// gets a new id, because the failed attempt's payment was cancelled.
pub(super) fn payment_id(customer_id: UserId, key: &str, claimed_at: i64) -> String {
    let digest = hex::encode(Sha256::digest(
        format!("{customer_id}:{key}:{claimed_at}").as_bytes(),
    ));
    format!("bd_{}", &digest[..40])
}

pub(super) enum Claim {
    /// This request owns the checkout and must finish it; `claimed_at` names the attempt
    /// (and so the payment id), `token` proves the ownership when settling it.
    Owned { claimed_at: i64, token: String },
    /// An earlier submission with this key finished: here is its result.
    Done(Box<Result<OrderDetail, CheckoutError>>),
}

pub(super) async fn claim(
    state: &AppState,
    customer: &CurrentUser,
    checkout: &Checkout,
    hash: &str,
) -> Result<Claim, CheckoutError> {
    let key = checkout.idempotency_key.as_str();
    let deadline = tokio::time::Instant::now() + state.settings.checkout_wait;
    loop {
        let now = now_ms();
        let token = crate::sessions::new_token();
        // A new key, the usual case, is one statement committing on its own: no BEGIN and
        // COMMIT round trips on the writer. Only a key already taken needs the transaction.
        // `execute`, not a `RETURNING` read: an autocommit statement commits after its rows
        // are produced, and a read that stops at the first row would never see that commit
        // fail (disk full, connection lost) and charge the card for a claim that is not there.
        let inserted = sqlx::query(
            "INSERT INTO checkouts (customer_id, idempotency_key, request_hash, state, created_at, updated_at, claim_token)
             VALUES ($1, $2, $3, 'in_progress', $4, $4, $5)
             ON CONFLICT (customer_id, idempotency_key) DO NOTHING",
        )
        .bind(customer.id)
        .bind(key)
        .bind(hash)
        .bind(now)
        .bind(&token)
        .execute(state.db.writer())
        .await?;
        if inserted.rows_affected() == 1 {
            return Ok(Claim::Owned {
                claimed_at: now,
                token,
            });
        }
        let mut tx = state.db.begin().await?;
        let existing: Option<Existing> = sqlx::query_as(
            "SELECT request_hash, state, order_id, outcome, created_at, updated_at FROM checkouts
             WHERE customer_id = $1 AND idempotency_key = $2",
        )
        .bind(customer.id)
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(existing) = existing else {
            // Released between our insert and select: try again.
            tx.rollback().await?;
            continue;
        };
        if existing.request_hash != hash {
            return Err(CheckoutError::KeyReused);
        }
        match existing.state {
            ClaimState::Completed => {
                let order_id = existing
                    .order_id
                    .ok_or(CheckoutError::Order(Error::Internal))?;
                tx.rollback().await?;
                return Ok(Claim::Done(Box::new(
                    order_detail(&state.db, customer, order_id)
                        .await
                        .map_err(CheckoutError::Order),
                )));
            }
            ClaimState::Declined => {
                return Ok(Claim::Done(Box::new(Err(CheckoutError::Declined {
                    reason: existing.outcome.unwrap_or_default(),
                }))));
            }
            ClaimState::InProgress => {
                // Another request is charging this checkout. A claim older than the longest
                // possible charge belongs to a crashed process: take it over.
                let stale_before = now - state.settings.checkout_wait.as_millis() as i64 * 2;
                if existing.updated_at < stale_before {
                    let taken = sqlx::query(
                        "UPDATE checkouts SET updated_at = $1, claim_token = $5
                         WHERE customer_id = $2 AND idempotency_key = $3
                           AND state = 'in_progress' AND updated_at = $4",
                    )
                    .bind(now)
                    .bind(customer.id)
                    .bind(key)
                    .bind(existing.updated_at)
                    .bind(&token)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    if taken.rows_affected() == 1 {
                        return Ok(Claim::Owned {
                            claimed_at: existing.created_at,
                            token,
                        });
                    }
                    continue;
                }
                tx.rollback().await?;
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(CheckoutError::StillCharging);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How a submission that already ended ended (its order, or its decline), if `key` names one
/// with this cart; `None` when it is new, still charging, or another cart.
pub(super) async fn settled(
    state: &AppState,
    customer: &CurrentUser,
    key: &str,
    hash: &str,
) -> Result<Option<Result<OrderDetail, CheckoutError>>, CheckoutError> {
    let existing: Option<Existing> = sqlx::query_as(
        "SELECT request_hash, state, order_id, outcome, created_at, updated_at FROM checkouts
         WHERE customer_id = $1 AND idempotency_key = $2",
    )
    .bind(customer.id)
    .bind(key)
    .fetch_optional(state.db.reader())
    .await?;
    Ok(match existing {
        Some(existing) if existing.request_hash == hash => match existing.state {
            ClaimState::Completed => match existing.order_id {
                Some(order_id) => Some(
                    order_detail(&state.db, customer, order_id)
                        .await
                        .map_err(CheckoutError::Order),
                ),
                None => None,
            },
            ClaimState::Declined => Some(Err(CheckoutError::Declined {
                reason: existing.outcome.unwrap_or_default(),
            })),
            ClaimState::InProgress => None,
        },
        _ => None,
    })
}

/// Gives up a claim nothing was charged for (the breaker was open), so the same submission
/// may be tried again at once.
pub(super) async fn release(state: &AppState, customer_id: UserId, key: &str, token: &str) {
    let released = async {
        let mut tx = state.db.begin().await?;
        sqlx::query(
            "DELETE FROM checkouts WHERE customer_id = $1 AND idempotency_key = $2
               AND state = 'in_progress' AND claim_token = $3",
        )
        .bind(customer_id)
        .bind(key)
        .bind(token)
        .execute(&mut *tx)
        .await?;
        tx.commit().await
    };
    if let Err(error) = released.await {
        tracing::warn!(%error, "could not release a checkout claim; reconciliation will");
    }
}

/// How giving up a claim ended.
#[derive(Debug)]
pub(super) enum GivenUp {
    /// The claim is gone and its payment will be voided by the worker.
    Voiding,
    /// The order's commit did land after all: here is the order.
    Completed(OrderId),
    /// Someone else settled or took over the claim (a retry, the reconciliation).
    NotOurs,
}

/// Gives up the claim `token` owns: in one transaction the claim is deleted and the payment's
/// void is queued. The claim's state decides, so an order whose commit outcome was unknown is
/// found rather than voided.
pub(super) async fn give_up(
    state: &AppState,
    customer_id: UserId,
    key: &str,
    token: &str,
    payment_id: &str,
    reason: &str,
) -> Result<GivenUp, sqlx::Error> {
    let mut tx = state.db.begin().await?;
    let deleted = sqlx::query(
        "DELETE FROM checkouts WHERE customer_id = $1 AND idempotency_key = $2
           AND state = 'in_progress' AND claim_token = $3",
    )
    .bind(customer_id)
    .bind(key)
    .bind(token)
    .execute(&mut *tx)
    .await?;
    if deleted.rows_affected() == 1 {
        let event = Event::PaymentVoidRequested {
            payment_id: payment_id.to_string(),
            reason: reason.to_string(),
        };
        outbox::enqueue(&mut tx, &event, None).await?;
        tx.commit().await?;
        state.outbox_wakeup.notify_one();
        return Ok(GivenUp::Voiding);
    }
    #[derive(FromRow)]
    struct Settled {
        #[sqlx(try_from = "String")]
        state: ClaimState,
        order_id: Option<OrderId>,
    }
    let row: Option<Settled> = sqlx::query_as(
        "SELECT state, order_id FROM checkouts WHERE customer_id = $1 AND idempotency_key = $2",
    )
    .bind(customer_id)
    .bind(key)
    .fetch_optional(&mut *tx)
    .await?;
    tx.rollback().await?;
    Ok(match row {
        Some(Settled {
            state: ClaimState::Completed,
            order_id: Some(order_id),
        }) => GivenUp::Completed(order_id),
        _ => GivenUp::NotOurs,
    })
}

/// Gives up every checkout claim left in progress longer than any checkout takes (its
/// request died, or could not reach the database to settle it): each one's payment is voided,
/// in the same transaction that deletes the claim. Every instance runs this; the claim token
/// makes sure only one settles a claim. Returns how many were given up.
pub async fn reconcile_checkouts(state: &AppState) -> Result<usize, sqlx::Error> {
    let stale_before = now_ms() - stale_claim_after(state).as_millis() as i64;
    #[derive(FromRow)]
    struct Abandoned {
        customer_id: UserId,
        idempotency_key: String,
        /// Claims from before tokens existed have none; the empty token matches no claim then.
        claim_token: Option<String>,
        created_at: i64,
    }
    let rows: Vec<Abandoned> = sqlx::query_as(
        "SELECT customer_id, idempotency_key, claim_token, created_at FROM checkouts
         WHERE state = 'in_progress' AND updated_at < $1 ORDER BY updated_at LIMIT 200",
    )
    .bind(stale_before)
    .fetch_all(state.db.reader())
    .await?;
    let mut given_up = 0;
    for row in rows {
        let Abandoned {
            customer_id,
            idempotency_key: key,
            claim_token: token,
            created_at,
        } = row;
        let payment_id = payment_id(customer_id, &key, created_at);
        let token = match token {
            Some(token) => token,
            None => adopt_untokened(state, customer_id, &key).await?,
        };
        let outcome = give_up(
            state,
            customer_id,
            &key,
            &token,
            &payment_id,
            "결제 처리 중 중단된 주문의 결제를 취소합니다.",
        )
        .await?;
        if matches!(outcome, GivenUp::Voiding) {
            tracing::warn!(%customer_id, %payment_id, "abandoned checkout: payment will be voided");
            given_up += 1;
        }
    }
    Ok(given_up)
}

/// Gives a claim written before claim tokens existed a token, so it can be settled like any.
async fn adopt_untokened(
    state: &AppState,
    customer_id: UserId,
    key: &str,
) -> Result<String, sqlx::Error> {
    let token = crate::sessions::new_token();
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "UPDATE checkouts SET claim_token = $1
         WHERE customer_id = $2 AND idempotency_key = $3 AND claim_token IS NULL",
    )
    .bind(&token)
    .bind(customer_id)
    .bind(key)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// A claim untouched this long belongs to a request that died: no live checkout takes longer
/// (twice the longest wait of a repeated submission, which covers the payment's timeout).
fn stale_claim_after(state: &AppState) -> Duration {
    state.settings.checkout_wait * 2
}

/// What a customer is told when the order could not be saved after the payment: the payment
/// is being voided.
/// How long a checkout's idempotency key is remembered: a repeat within this time returns the
/// first result. (Promised: at least 24 hours.)
pub const CHECKOUT_KEY_RETENTION: Duration = Duration::from_secs(48 * 60 * 60);

/// Forgets finished checkouts older than `CHECKOUT_KEY_RETENTION`; returns how many.
pub async fn purge_old_checkouts(state: &AppState) -> Result<u64, sqlx::Error> {
    let cutoff = now_ms() - CHECKOUT_KEY_RETENTION.as_millis() as i64;
    let mut tx = state.db.begin().await?;
    let purged =
        sqlx::query("DELETE FROM checkouts WHERE created_at < $1 AND state <> 'in_progress'")
            .bind(cutoff)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    tx.commit().await?;
    Ok(purged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{CartLineInput, CheckoutInput};

    fn checkout(lines: &[(i64, i64)]) -> Checkout {
        let lines: Vec<CartLineInput> = lines
            .iter()
            .map(|(food_id, quantity)| CartLineInput {
                food_id: domain::FoodId(*food_id),
                quantity: *quantity,
            })
            .collect();
        CheckoutInput::new(
            domain::StoreId(7),
            &lines,
            "key-0123456789abcdef",
            "4242424242424242",
        )
        .parse()
        .unwrap()
    }

    #[test]
    fn the_same_cart_in_another_order_is_the_same_request() {
        assert_eq!(
            request_hash(&checkout(&[(1, 2), (3, 1)])),
            request_hash(&checkout(&[(3, 1), (1, 2)]))
        );
        assert_ne!(
            request_hash(&checkout(&[(1, 2)])),
            request_hash(&checkout(&[(1, 3)]))
        );
    }

    #[test]
    fn notes_are_part_of_the_cart() {
        let noted = |store: &str, rider: &str| {
            let mut cart = checkout(&[(1, 2)]);
            cart.store_note = (!store.is_empty()).then(|| store.to_string());
            cart.rider_note = (!rider.is_empty()).then(|| rider.to_string());
            request_hash(&cart)
        };
        // No notes: the same hash as before notes existed (claims made before the upgrade).
        let text = format!("7|{:?}", [(1i64, 2i64)]);
        assert_eq!(noted("", ""), hex::encode(Sha256::digest(text.as_bytes())));
        assert_eq!(noted("덜 맵게", "문 앞"), noted("덜 맵게", "문 앞"));
        let hashes = [
            noted("", ""),
            noted("덜 맵게", ""),
            noted("", "덜 맵게"),
            noted("덜 맵게", "문 앞"),
            noted("덜 맵게", "문 앞에"),
            noted("a\"|\"b", ""),
            noted("a", "|b"),
        ];
        for (i, a) in hashes.iter().enumerate() {
            for b in &hashes[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn payment_ids_are_stable_per_customer_and_key_and_fit_providers() {
        let id = payment_id(UserId(12), "key-0123456789abcdef", 1);
        assert_eq!(id, payment_id(UserId(12), "key-0123456789abcdef", 1));
        assert_ne!(id, payment_id(UserId(13), "key-0123456789abcdef", 1));
        assert_ne!(
            id,
            payment_id(UserId(12), "key-0123456789abcdef", 2),
            "a new attempt, a new id"
        );
        assert!(id.len() <= 64 && id.len() >= 6);
    }
}
