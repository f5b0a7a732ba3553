//! Checkout: price the cart from our own prices, charge synchronously, and record the order.
//!
//! The order of steps is what keeps money and orders consistent:
//! 1. validate the cart against the database (store open, foods of this store, stock);
//! 2. claim the idempotency key (`checkouts` row, `in_progress`) — a repeat of the same
//!    submission waits for and returns the first one's result, so it is charged once;
//! 3. charge the provider synchronously (timeout + circuit breaker), outside any transaction;
//! 4. only if approved, in ONE transaction: the order, its lines, the payment record, the
//!    `OrderPlaced` outbox event, and the checkout marked completed.
//!
//! No money without an order, even across crashes and outages: every claim carries a token,
//! and a claim is settled exactly once — by the order's commit (step 4, which requires the
//! token) or by giving it up, which in one transaction deletes the claim (again requiring the
//! token) and writes a `PaymentVoidRequested` event that the outbox worker drives until the
//! provider confirms. Checkout gives a claim up when the provider's answer never came or the
//! order could not be saved. When the order's commit fails, its outcome may be unknown (the
//! connection dropped after COMMIT was sent): giving up then finds the claim completed if the
//! commit did land, and answers with the order instead of voiding its payment. If even that
//! cannot reach the database, the claim stays in progress and [`reconcile_checkouts`] (every
//! instance, at start-up and periodically) gives up every claim older than any checkout can
//! take. Nothing about money is decided in memory only.

use super::outbox::{self, Event, PlacedLine};
use super::payments::{ChargeRequest, PaymentError};
use super::{now_ms, AppState};
use crate::Error;
use domain::{
    items_summary, josa, Checkout, CurrentUser, FieldError, MenuItem, OrderDetail, OrderLineView,
    OrderStatus, OrderSummary, PaymentView, StoreMenu, Won,
};
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::time::Duration;

/// The words customers see when payment is unavailable (breaker open, timeout, provider down).
pub const PAYMENT_BUSY: &str = "결제 시스템이 혼잡합니다. 잠시 후 다시 결제해 주세요.";

/// A line priced from the database.
#[derive(Debug, Clone)]
struct PricedLine {
    food_id: i64,
    name: String,
    unit_price: i64,
    quantity: i64,
}

struct PricedCart {
    store_name: String,
    lines: Vec<PricedLine>,
    total: i64,
}

/// Checks the cart against the store and its menu and prices it. Every bad line is reported.
async fn price(state: &AppState, checkout: &Checkout) -> Result<PricedCart, Error> {
    // The store and all the cart's foods in one round trip (checkout is latency-critical).
    let placeholders: Vec<String> = (2..=checkout.lines.len() + 1)
        .map(|i| format!("${i}"))
        .collect();
    let sql = format!(
        "SELECT s.name AS store_name, s.is_open, f.id, f.store_id, f.name, f.price_won, f.stock, f.is_hidden
         FROM stores s LEFT JOIN foods f ON f.id IN ({})
         WHERE s.id = $1",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(checkout.store_id);
    for (food_id, _) in &checkout.lines {
        query = query.bind(*food_id);
    }
    let rows = query.fetch_all(state.db.reader()).await?;
    let store = rows
        .first()
        .ok_or_else(|| Error::invalid("store_id", "존재하지 않는 가게입니다."))?;
    let store_name: String = store.try_get("store_name")?;
    if store.try_get::<i64, _>("is_open")? != 1 {
        return Err(Error::invalid(
            "store_id",
            format!(
                "{store_name}{} 지금 주문을 받지 않습니다.",
                josa(&store_name, "은", "는")
            ),
        ));
    }
    let mut problems = Vec::new();
    let mut lines = Vec::with_capacity(checkout.lines.len());
    for (i, (food_id, quantity)) in checkout.lines.iter().enumerate() {
        let mut row = None;
        for candidate in &rows {
            if candidate.try_get::<Option<i64>, _>("id")? == Some(*food_id) {
                row = Some(candidate);
            }
        }
        let field = format!("lines[{i}].food_id");
        let Some(row) = row else {
            problems.push(FieldError::new(&field, "존재하지 않는 메뉴입니다."));
            continue;
        };
        let name: String = row.try_get("name")?;
        if row.try_get::<i64, _>("store_id")? != checkout.store_id
            || row.try_get::<i64, _>("is_hidden")? == 1
        {
            problems.push(FieldError::new(
                &field,
                format!(
                    "{name}{} 이 가게의 메뉴가 아닙니다.",
                    josa(&name, "은", "는")
                ),
            ));
            continue;
        }
        let stock: i64 = row.try_get("stock")?;
        if stock == 0 {
            problems.push(FieldError::new(
                &field,
                format!("{name}{} 품절되었습니다.", josa(&name, "은", "는")),
            ));
            continue;
        }
        if quantity.get() > stock {
            problems.push(FieldError::new(
                &format!("lines[{i}].quantity"),
                format!("{name}의 남은 수량은 {stock}개입니다."),
            ));
            continue;
        }
        lines.push(PricedLine {
            food_id: *food_id,
            name,
            unit_price: row.try_get("price_won")?,
            quantity: quantity.get(),
        });
    }
    if !problems.is_empty() {
        return Err(problems.into());
    }
    let total = lines.iter().map(|l| l.unit_price * l.quantity).sum();
    Ok(PricedCart {
        store_name,
        lines,
        total,
    })
}

/// What makes two submissions "the same cart": the store and the food/quantity pairs.
fn request_hash(checkout: &Checkout) -> String {
    let mut lines: Vec<_> = checkout.lines.iter().map(|(f, q)| (*f, q.get())).collect();
    lines.sort_unstable();
    let text = format!("{}|{lines:?}", checkout.store_id);
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Our payment id for one claim of a checkout, within the providers' 64-character limit.
/// Stable while the claim lives (a process taking over a crashed one's claim charges the same
/// id, which the provider answers with the earlier approval); a new claim after a failed one
/// gets a new id, because the failed attempt's payment was cancelled.
fn payment_id(customer_id: i64, key: &str, claimed_at: i64) -> String {
    let digest = hex::encode(Sha256::digest(
        format!("{customer_id}:{key}:{claimed_at}").as_bytes(),
    ));
    format!("bd_{}", &digest[..40])
}

enum Claim {
    /// This request owns the checkout and must finish it; `claimed_at` names the attempt
    /// (and so the payment id), `token` proves the ownership when settling it.
    Owned { claimed_at: i64, token: String },
    /// An earlier submission with this key finished: here is its result.
    Done(Box<Result<OrderDetail, Error>>),
}

async fn claim(
    state: &AppState,
    customer: &CurrentUser,
    checkout: &Checkout,
    hash: &str,
) -> Result<Claim, Error> {
    let key = checkout.idempotency_key.as_str();
    let deadline = tokio::time::Instant::now() + state.settings.checkout_wait;
    loop {
        let now = now_ms();
        let mut tx = state.db.begin().await?;
        let token = super::sessions::new_token();
        let claimed = sqlx::query(
            "INSERT INTO checkouts (customer_id, idempotency_key, request_hash, state, created_at, updated_at, claim_token)
             VALUES ($1, $2, $3, 'in_progress', $4, $4, $5)
             ON CONFLICT (customer_id, idempotency_key) DO NOTHING RETURNING customer_id",
        )
        .bind(customer.id)
        .bind(key)
        .bind(hash)
        .bind(now)
        .bind(&token)
        .fetch_optional(&mut *tx)
        .await?;
        if claimed.is_some() {
            tx.commit().await?;
            return Ok(Claim::Owned {
                claimed_at: now,
                token,
            });
        }
        let existing = sqlx::query(
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
        if existing.try_get::<String, _>("request_hash")? != hash {
            return Err(Error::Conflict {
                message: "이 결제 요청 키는 다른 장바구니에 이미 사용되었습니다.".into(),
            });
        }
        match existing.try_get::<String, _>("state")?.as_str() {
            "completed" => {
                let order_id: i64 = existing.try_get("order_id")?;
                tx.rollback().await?;
                return Ok(Claim::Done(Box::new(
                    order_detail(state, customer, order_id).await,
                )));
            }
            "declined" => {
                let reason: Option<String> = existing.try_get("outcome")?;
                return Ok(Claim::Done(Box::new(Err(Error::PaymentDeclined {
                    reason: reason.unwrap_or_default(),
                }))));
            }
            _ => {
                // Another request is charging this checkout. A claim older than the longest
                // possible charge belongs to a crashed process: take it over.
                let updated_at: i64 = existing.try_get("updated_at")?;
                let stale_before = now - state.settings.checkout_wait.as_millis() as i64 * 2;
                if updated_at < stale_before {
                    let taken = sqlx::query(
                        "UPDATE checkouts SET updated_at = $1, claim_token = $5
                         WHERE customer_id = $2 AND idempotency_key = $3
                           AND state = 'in_progress' AND updated_at = $4",
                    )
                    .bind(now)
                    .bind(customer.id)
                    .bind(key)
                    .bind(updated_at)
                    .bind(&token)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    if taken.rows_affected() == 1 {
                        return Ok(Claim::Owned {
                            claimed_at: existing.try_get("created_at")?,
                            token,
                        });
                    }
                    continue;
                }
                tx.rollback().await?;
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Error::Conflict {
                message:
                    "같은 주문의 결제가 아직 처리 중입니다. 잠시 후 내 주문에서 확인해 주세요."
                        .into(),
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Gives up a claim nothing was charged for (the breaker was open), so the same submission
/// may be tried again at once.
async fn release(state: &AppState, customer_id: i64, key: &str, token: &str) {
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
enum GivenUp {
    /// The claim is gone and its payment will be voided by the worker.
    Voiding,
    /// The order's commit did land after all: here is the order.
    Completed(i64),
    /// Someone else settled or took over the claim (a retry, the reconciliation).
    NotOurs,
}

/// Gives up the claim `token` owns: in one transaction the claim is deleted and the payment's
/// void is queued. The claim's state decides, so an order whose commit outcome was unknown is
/// found rather than voided.
async fn give_up(
    state: &AppState,
    customer_id: i64,
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
    let row = sqlx::query(
        "SELECT state, order_id FROM checkouts WHERE customer_id = $1 AND idempotency_key = $2",
    )
    .bind(customer_id)
    .bind(key)
    .fetch_optional(&mut *tx)
    .await?;
    tx.rollback().await?;
    Ok(match row {
        Some(row) if row.try_get::<String, _>("state")? == "completed" => {
            GivenUp::Completed(row.try_get("order_id")?)
        }
        _ => GivenUp::NotOurs,
    })
}

/// Gives up every checkout claim left in progress longer than any checkout takes (its
/// request died, or could not reach the database to settle it): each one's payment is voided,
/// in the same transaction that deletes the claim. Every instance runs this; the claim token
/// makes sure only one settles a claim. Returns how many were given up.
pub async fn reconcile_checkouts(state: &AppState) -> Result<usize, sqlx::Error> {
    let stale_before = now_ms() - stale_claim_after(state).as_millis() as i64;
    let rows = sqlx::query(
        "SELECT customer_id, idempotency_key, claim_token, created_at FROM checkouts
         WHERE state = 'in_progress' AND updated_at < $1 ORDER BY updated_at LIMIT 200",
    )
    .bind(stale_before)
    .fetch_all(state.db.reader())
    .await?;
    let mut given_up = 0;
    for row in &rows {
        let customer_id: i64 = row.try_get("customer_id")?;
        let key: String = row.try_get("idempotency_key")?;
        // Claims from before tokens existed have none; the empty token matches no claim then.
        let token: Option<String> = row.try_get("claim_token")?;
        let payment_id = payment_id(customer_id, &key, row.try_get("created_at")?);
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
            tracing::warn!(customer_id, %payment_id, "abandoned checkout: payment will be voided");
            given_up += 1;
        }
    }
    Ok(given_up)
}

/// Gives a claim written before claim tokens existed a token, so it can be settled like any.
async fn adopt_untokened(
    state: &AppState,
    customer_id: i64,
    key: &str,
) -> Result<String, sqlx::Error> {
    let token = super::sessions::new_token();
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
const NOT_SAVED: &str = "주문을 저장하지 못해 결제를 취소합니다. 잠시 후 다시 주문해 주세요.";
/// …and when we cannot tell yet what happened to it.
const BEING_CHECKED: &str = "결제 결과를 확인하고 있습니다. 잠시 후 내 주문에서 확인해 주세요.";

/// Places an order for `customer`: see the module documentation for the steps.
pub async fn place_order(
    state: &AppState,
    customer: &CurrentUser,
    checkout: Checkout,
) -> Result<OrderDetail, Error> {
    let cart = price(state, &checkout).await?;
    let hash = request_hash(&checkout);
    let key = checkout.idempotency_key.as_str();
    let (claimed_at, token) = match claim(state, customer, &checkout, &hash).await? {
        Claim::Done(result) => return *result,
        Claim::Owned { claimed_at, token } => (claimed_at, token),
    };

    let payment_id = payment_id(customer.id, key, claimed_at);
    let names: Vec<String> = cart.lines.iter().map(|l| l.name.clone()).collect();
    let request = ChargeRequest {
        payment_id: payment_id.clone(),
        amount: Won(cart.total),
        payment_token: checkout.payment_token.expose().to_string(),
        description: format!("{} {}", cart.store_name, items_summary(&names)),
    };
    let busy = || Error::PaymentUnavailable {
        message: PAYMENT_BUSY.into(),
    };
    let approval = match state.payments.charge(&request).await {
        Ok(approval) => approval,
        Err(PaymentError::Declined { reason }) => {
            record_decline(state, customer.id, key, &reason).await?;
            tracing::info!(customer_id = customer.id, %reason, "payment declined");
            return Err(Error::PaymentDeclined { reason });
        }
        Err(PaymentError::BreakerOpen) => {
            // Counted in /metrics by `http::respond`; no log line per request while it lasts.
            release(state, customer.id, key, &token).await;
            return Err(busy());
        }
        Err(PaymentError::Unavailable { reason }) => {
            tracing::warn!(customer_id = customer.id, %reason, "payment unavailable");
            // The charge may exist (a late approval): void it, durably. If even that cannot
            // be written, the claim stays and the reconciliation voids it.
            if let Err(error) = give_up(
                state,
                customer.id,
                key,
                &token,
                &payment_id,
                "결제 응답 시간 초과",
            )
            .await
            {
                tracing::warn!(%error, %payment_id, "void not queued yet; reconciliation will");
            }
            return Err(busy());
        }
    };

    match record_order(state, customer, &checkout, &cart, &approval, key, &token).await {
        Ok((order_id, created_at_ms)) => {
            tracing::info!(
                order_id,
                customer_id = customer.id,
                total = cart.total,
                "order placed"
            );
            Ok(placed_order(
                state,
                order_id,
                created_at_ms,
                &checkout,
                cart,
                approval,
            ))
        }
        Err(error) => {
            tracing::warn!(%error, %payment_id, "order not recorded after payment");
            let outcome = give_up(
                state,
                customer.id,
                key,
                &token,
                &payment_id,
                "주문 저장 실패로 결제를 취소합니다.",
            )
            .await;
            match outcome {
                Ok(GivenUp::Voiding) => Err(Error::PaymentUnavailable {
                    message: NOT_SAVED.into(),
                }),
                Ok(GivenUp::Completed(order_id)) => {
                    tracing::info!(order_id, %payment_id, "the order's commit had landed");
                    order_detail(state, customer, order_id).await
                }
                Ok(GivenUp::NotOurs) => Err(Error::PaymentUnavailable {
                    message: BEING_CHECKED.into(),
                }),
                Err(give_up_error) => {
                    tracing::warn!(%give_up_error, %payment_id,
                        "cannot settle the checkout now; reconciliation will");
                    Err(Error::Unavailable {
                        message: BEING_CHECKED.into(),
                    })
                }
            }
        }
    }
}

async fn record_decline(
    state: &AppState,
    customer_id: i64,
    key: &str,
    reason: &str,
) -> Result<(), sqlx::Error> {
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "UPDATE checkouts SET state = 'declined', outcome = $1, updated_at = $2
         WHERE customer_id = $3 AND idempotency_key = $4",
    )
    .bind(reason)
    .bind(now_ms())
    .bind(customer_id)
    .bind(key)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// The one transaction: order, lines, payment, outbox event, checkout completed.
async fn record_order(
    state: &AppState,
    customer: &CurrentUser,
    checkout: &Checkout,
    cart: &PricedCart,
    approval: &super::payments::Approval,
    key: &str,
    token: &str,
) -> Result<(i64, i64), sqlx::Error> {
    let now = now_ms();
    let mut tx = state.db.begin().await?;
    let order_id: i64 = sqlx::query(
        "INSERT INTO orders (customer_id, store_id, status, total_won, district, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
    )
    .bind(customer.id)
    .bind(checkout.store_id)
    .bind(OrderStatus::Placed.as_str())
    .bind(cart.total)
    .bind(customer.district.clone().unwrap_or_default())
    .bind(now)
    .fetch_one(&mut *tx)
    .await?
    .try_get(0)?;
    for line in &cart.lines {
        sqlx::query(
            "INSERT INTO order_lines (order_id, food_id, name, unit_price_won, quantity)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(order_id)
        .bind(line.food_id)
        .bind(&line.name)
        .bind(line.unit_price)
        .bind(line.quantity)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "INSERT INTO payments (order_id, provider, provider_ref, amount_won, status, card_hint, approved_at)
         VALUES ($1, $2, $3, $4, 'approved', $5, $6)",
    )
    .bind(order_id)
    .bind(state.payments.provider())
    .bind(&approval.provider_ref)
    .bind(cart.total)
    .bind(&approval.card_hint)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    let event = Event::OrderPlaced {
        order_id,
        customer_id: customer.id,
        store_id: checkout.store_id,
        total_won: cart.total,
        lines: cart
            .lines
            .iter()
            .map(|l| PlacedLine {
                food_id: l.food_id,
                quantity: l.quantity,
            })
            .collect(),
    };
    outbox::enqueue_at(&mut tx, &event, None, now).await?;
    let settled = sqlx::query(
        "UPDATE checkouts SET state = 'completed', order_id = $1, updated_at = $2
         WHERE customer_id = $3 AND idempotency_key = $4 AND state = 'in_progress'
           AND claim_token = $5",
    )
    .bind(order_id)
    .bind(now)
    .bind(customer.id)
    .bind(key)
    .bind(token)
    .execute(&mut *tx)
    .await?;
    if settled.rows_affected() != 1 {
        // This request took so long that the claim was given up (its payment is being
        // voided) or taken over: the order must not exist.
        return Err(sqlx::Error::Protocol(
            "the checkout claim was settled elsewhere".into(),
        ));
    }
    if state.faults.fail_order_commit() {
        return Err(sqlx::Error::Protocol(
            "injected fault: order commit fails".into(),
        ));
    }
    tx.commit().await?;
    if state.faults.lose_order_commit_ack() {
        return Err(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "injected fault: the commit's acknowledgement was lost",
        )));
    }
    state.outbox_wakeup.notify_one();
    Ok((order_id, now))
}

/// The detail of an order just recorded, from what checkout already holds (no re-read).
fn placed_order(
    state: &AppState,
    id: i64,
    created_at_ms: i64,
    checkout: &Checkout,
    cart: PricedCart,
    approval: super::payments::Approval,
) -> OrderDetail {
    let mut lines: Vec<OrderLineView> = cart
        .lines
        .into_iter()
        .map(|line| OrderLineView {
            food_id: line.food_id,
            name: line.name,
            unit_price: Won(line.unit_price),
            quantity: line.quantity,
            subtotal: Won(line.unit_price * line.quantity),
        })
        .collect();
    lines.sort_by_key(|line| line.food_id);
    OrderDetail {
        id,
        store_id: checkout.store_id,
        store_name: cart.store_name,
        status: OrderStatus::Placed,
        lines,
        total: Won(cart.total),
        payment: PaymentView {
            provider: state.payments.provider().to_string(),
            card_hint: approval.card_hint,
            status_label: "결제 완료".into(),
        },
        created_at_ms,
        timeline: vec![domain::TimelineEntry {
            status: OrderStatus::Placed,
            at_ms: created_at_ms,
        }],
        note: None,
        rider_name: None,
    }
}

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

/// One of the customer's orders; another customer's order is "not found", not "forbidden",
/// so order ids cannot be probed.
pub async fn order_detail(
    state: &AppState,
    customer: &CurrentUser,
    order_id: i64,
) -> Result<OrderDetail, Error> {
    // Status, payment and timeline come from the order-status view; an order the worker has
    // not reached yet (milliseconds after checkout) is shown as just placed.
    let order = sqlx::query(
        "SELECT o.id, o.store_id, s.name AS store_name, o.total_won, o.created_at, p.provider, p.card_hint,
                v.status AS view_status, v.payment AS view_payment, v.timeline, v.note, v.rider_name
         FROM orders o
         JOIN stores s ON s.id = o.store_id
         JOIN payments p ON p.order_id = o.id
         LEFT JOIN order_views v ON v.order_id = o.id
         WHERE o.id = $1 AND o.customer_id = $2",
    )
    .bind(order_id)
    .bind(customer.id)
    .fetch_optional(state.db.reader())
    .await?
    .ok_or(Error::NotFound)?;
    let lines = sqlx::query(
        "SELECT food_id, name, unit_price_won, quantity FROM order_lines
         WHERE order_id = $1 ORDER BY food_id",
    )
    .bind(order_id)
    .fetch_all(state.db.reader())
    .await?;
    let lines = lines
        .iter()
        .map(|row| {
            let unit_price: i64 = row.try_get("unit_price_won")?;
            let quantity: i64 = row.try_get("quantity")?;
            Ok(OrderLineView {
                food_id: row.try_get("food_id")?,
                name: row.try_get("name")?,
                unit_price: Won(unit_price),
                quantity,
                subtotal: Won(unit_price * quantity),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let created_at_ms: i64 = order.try_get("created_at")?;
    let status = order
        .try_get::<Option<String>, _>("view_status")?
        .and_then(|s| OrderStatus::parse(&s))
        .unwrap_or(OrderStatus::Placed);
    let timeline = order
        .try_get::<Option<String>, _>("timeline")?
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_else(|| {
            vec![domain::TimelineEntry {
                status: OrderStatus::Placed,
                at_ms: created_at_ms,
            }]
        });
    Ok(OrderDetail {
        id: order.try_get("id")?,
        store_id: order.try_get("store_id")?,
        store_name: order.try_get("store_name")?,
        status,
        lines,
        total: Won(order.try_get("total_won")?),
        payment: PaymentView {
            provider: order.try_get("provider")?,
            card_hint: order.try_get("card_hint")?,
            status_label: order
                .try_get::<Option<String>, _>("view_payment")?
                .unwrap_or_else(|| "결제 완료".into()),
        },
        created_at_ms,
        timeline,
        note: order.try_get("note")?,
        rider_name: order.try_get("rider_name")?,
    })
}

/// The customer's orders, newest first, from the order-status view (an order the worker has
/// not reached yet shows as just placed).
pub async fn my_orders(
    state: &AppState,
    customer: &CurrentUser,
) -> Result<Vec<OrderSummary>, Error> {
    let rows = sqlx::query(
        "SELECT o.id, s.name AS store_name, o.total_won, o.created_at, v.status, v.items
         FROM orders o JOIN stores s ON s.id = o.store_id
         LEFT JOIN order_views v ON v.order_id = o.id
         WHERE o.customer_id = $1 ORDER BY o.id DESC LIMIT 100",
    )
    .bind(customer.id)
    .fetch_all(state.db.reader())
    .await?;
    let mut orders = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: i64 = row.try_get("id")?;
        let items = match row.try_get::<Option<String>, _>("items")? {
            Some(items) => items,
            None => {
                let names: Vec<String> = sqlx::query(
                    "SELECT name FROM order_lines WHERE order_id = $1 ORDER BY food_id",
                )
                .bind(id)
                .fetch_all(state.db.reader())
                .await?
                .iter()
                .map(|r| r.try_get::<String, _>(0))
                .collect::<Result<_, _>>()?;
                items_summary(&names)
            }
        };
        orders.push(OrderSummary {
            id,
            store_name: row.try_get("store_name")?,
            status: row
                .try_get::<Option<String>, _>("status")?
                .and_then(|s| OrderStatus::parse(&s))
                .unwrap_or(OrderStatus::Placed),
            items,
            total: Won(row.try_get("total_won")?),
            created_at_ms: row.try_get("created_at")?,
        });
    }
    Ok(orders)
}

/// The customer cancels an order before cooking starts: the order says so at once; stock
/// and money come back through the `OrderCancelled` saga. Later than that → 409.
pub async fn cancel_order(
    state: &AppState,
    customer: &CurrentUser,
    order_id: i64,
) -> Result<(), super::commands::TransitionError> {
    use super::commands::{transition, Scope};
    use domain::{Actor, OrderAction};
    transition(
        state,
        order_id,
        Actor::Customer,
        OrderAction::Cancel,
        Scope::Customer(customer.id),
        None,
    )
    .await?;
    Ok(())
}

fn menu_item(row: &AnyRow) -> Result<MenuItem, sqlx::Error> {
    Ok(MenuItem {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        price: Won(row.try_get("price_won")?),
        stock: row.try_get("stock")?,
        is_hidden: false,
    })
}

/// A store's page for customers: visible dishes with their remaining stock.
pub async fn store_menu(state: &AppState, store_id: i64) -> Result<StoreMenu, Error> {
    let store =
        sqlx::query("SELECT id, name, district, address, is_open FROM stores WHERE id = $1")
            .bind(store_id)
            .fetch_optional(state.db.reader())
            .await?
            .ok_or(Error::NotFound)?;
    let menu = sqlx::query(
        "SELECT id, name, description, price_won, stock FROM foods
         WHERE store_id = $1 AND is_hidden = 0 ORDER BY id",
    )
    .bind(store_id)
    .fetch_all(state.db.reader())
    .await?
    .iter()
    .map(menu_item)
    .collect::<Result<Vec<_>, _>>()?;
    Ok(StoreMenu {
        id: store.try_get("id")?,
        name: store.try_get("name")?,
        district: store.try_get("district")?,
        address: store.try_get("address")?,
        is_open: store.try_get::<i64, _>("is_open")? == 1,
        menu,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{CartLineInput, CheckoutInput};

    fn checkout(lines: &[(i64, i64)]) -> Checkout {
        let lines: Vec<CartLineInput> = lines
            .iter()
            .map(|(food_id, quantity)| CartLineInput {
                food_id: *food_id,
                quantity: *quantity,
            })
            .collect();
        CheckoutInput::new(7, &lines, "key-0123456789abcdef", "4242424242424242")
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
    fn payment_ids_are_stable_per_customer_and_key_and_fit_providers() {
        let id = payment_id(12, "key-0123456789abcdef", 1);
        assert_eq!(id, payment_id(12, "key-0123456789abcdef", 1));
        assert_ne!(id, payment_id(13, "key-0123456789abcdef", 1));
        assert_ne!(
            id,
            payment_id(12, "key-0123456789abcdef", 2),
            "a new attempt, a new id"
        );
        assert!(id.len() <= 64 && id.len() >= 6);
    }
}
