//! Checkout: price the cart from our own prices, charge synchronously, and record the order.
//!
//! The order of steps is what keeps money and orders consistent:
//! 1. validate the cart against the database (store open, foods of this store, stock);
//! 2. claim the idempotency key (`checkouts` row, `in_progress`) — a repeat of the same
//!    submission waits for and returns the first one's result, so it is charged once;
//! 3. charge the provider synchronously (timeout + circuit breaker), outside any transaction;
//! 4. only if approved, in ONE transaction: the order (with the customer's notes to the store
//!    and the rider), its lines, the payment record, the `OrderPlaced` outbox event, and the
//!    checkout marked completed.
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
//!
//! Here: pricing, `place_order` and the order's transaction; the claims (idempotency keys,
//! giving up, reconciliation) are in `claims`. The file stays whole (a little over 400 lines)
//! so the money path reads top to bottom in the order the money moves.

use super::claims::{claim, give_up, payment_id, release, request_hash, settled, Claim, GivenUp};
use super::recording::{self, NewOrder, Target};
use super::{order_detail, CheckoutError};
use crate::db::Engine;
use crate::payments::{ChargeRequest, PaymentError};
use crate::{now_ms, AppState};
use domain::{
    full_address, items_summary, josa, Checkout, CurrentUser, DeliveryTerms, FieldError, GeoPoint,
    OrderDetail, OrderLineView, OrderStatus, PaymentView, Won,
};
use domain::{FoodId, OrderId, StoreId, UserId};
use sqlx::FromRow;

/// A line priced from the database.
#[derive(Debug, Clone)]
struct PricedLine {
    food_id: FoodId,
    name: String,
    unit_price: i64,
    quantity: i64,
}

struct PricedCart {
    store_name: String,
    lines: Vec<PricedLine>,
    /// What is charged: the dishes plus `tip`.
    total: i64,
    tip: Won,
    /// Where it goes: the customer's address (도로명, 상세주소), its district and coordinates.
    address: String,
    district: String,
    to: GeoPoint,
}

/// Checks the cart against the store, its menu and its delivery terms at the customer's
/// address, and prices it (dishes plus 배달팁). Every bad line is reported; the address and
/// the minimum are checked once the lines are good.
async fn price(
    state: &AppState,
    customer: &CurrentUser,
    checkout: &Checkout,
) -> Result<PricedCart, CheckoutError> {
    // The store, the customer's address and all the cart's foods in one round trip (checkout
    // is latency-critical).
    let sql = format!(
        "SELECT s.name AS store_name, s.is_open, s.lat, s.lng, s.min_order_won, s.tip_won,
                s.tip_per_km_won, s.radius_m,
                u.address AS to_road, u.address_detail AS to_detail, u.district AS to_district,
                u.lat AS to_lat, u.lng AS to_lng,
                f.id, f.store_id, f.name, f.price_won, f.stock, f.is_hidden
         FROM stores s JOIN users u ON u.id = $2 LEFT JOIN foods f ON f.id IN ({})
         WHERE s.id = $1",
        crate::db::placeholders(3, checkout.lines.len())
    );
    /// The store, once per asked food (the food's columns NULL when it does not exist).
    #[derive(FromRow)]
    struct Offered {
        store_name: String,
        is_open: i64,
        lat: f64,
        lng: f64,
        #[sqlx(flatten)]
        terms: DeliveryTerms,
        to_road: Option<String>,
        to_detail: Option<String>,
        to_district: Option<String>,
        to_lat: Option<f64>,
        to_lng: Option<f64>,
        id: Option<FoodId>,
        store_id: Option<StoreId>,
        name: Option<String>,
        price_won: Option<i64>,
        stock: Option<i64>,
        is_hidden: Option<i64>,
    }
    let mut query = sqlx::query_as::<_, Offered>(&sql)
        .bind(checkout.store_id)
        .bind(customer.id);
    for (food_id, _) in &checkout.lines {
        query = query.bind(*food_id);
    }
    let rows = query.fetch_all(state.db.reader()).await?;
    let store = rows.first().ok_or_else(|| {
        CheckoutError::Cart(vec![FieldError::new(
            "store_id",
            "존재하지 않는 가게입니다.",
        )])
    })?;
    let store_name = store.store_name.clone();
    if store.is_open != 1 {
        return Err(CheckoutError::Cart(vec![FieldError::new(
            "store_id",
            format!(
                "{store_name}{} 지금 주문을 받지 않습니다.",
                josa(&store_name, "은", "는")
            ),
        )]));
    }
    let mut problems = Vec::new();
    let mut lines = Vec::with_capacity(checkout.lines.len());
    for (i, (food_id, quantity)) in checkout.lines.iter().enumerate() {
        let field = format!("lines[{i}].food_id");
        let food = rows.iter().find_map(|row| {
            (row.id == Some(*food_id)).then_some(())?;
            Some((
                row.store_id?,
                row.name.clone()?,
                row.price_won?,
                row.stock?,
                row.is_hidden?,
            ))
        });
        let Some((food_store, name, unit_price, stock, is_hidden)) = food else {
            problems.push(FieldError::new(&field, "존재하지 않는 메뉴입니다."));
            continue;
        };
        if food_store != checkout.store_id || is_hidden == 1 {
            problems.push(FieldError::new(
                &field,
                format!(
                    "{name}{} 이 가게의 메뉴가 아닙니다.",
                    josa(&name, "은", "는")
                ),
            ));
            continue;
        }
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
            unit_price,
            quantity: quantity.get(),
        });
    }
    if !problems.is_empty() {
        return Err(CheckoutError::Cart(problems));
    }
    let terms = store.terms;
    let (Some(road), Some(to_lat), Some(to_lng)) = (&store.to_road, store.to_lat, store.to_lng)
    else {
        return Err(CheckoutError::Cart(vec![FieldError::new(
            "address",
            "배달 받을 주소(도로명)를 먼저 입력해 주세요.",
        )]));
    };
    let to = GeoPoint {
        lat: to_lat,
        lng: to_lng,
    };
    let address = full_address(road, store.to_detail.as_deref().unwrap_or_default());
    let distance_m = to.distance_m(GeoPoint {
        lat: store.lat,
        lng: store.lng,
    });
    terms
        .check_reach(distance_m, &address)
        .map_err(|error| CheckoutError::Cart(vec![error]))?;
    let dishes: i64 = lines.iter().map(|l| l.unit_price * l.quantity).sum();
    terms
        .check_minimum(Won(dishes))
        .map_err(|error| CheckoutError::Cart(vec![error]))?;
    let tip = terms.tip_for(distance_m);
    Ok(PricedCart {
        store_name,
        lines,
        total: dishes + tip.0,
        tip,
        address,
        district: store.to_district.clone().unwrap_or_default(),
        to,
    })
}

/// Places an order for `customer`: see the module documentation for the steps.
pub async fn place_order(
    state: &AppState,
    customer: &CurrentUser,
    checkout: Checkout,
) -> Result<OrderDetail, CheckoutError> {
    let hash = request_hash(&checkout);
    let key = checkout.idempotency_key.as_str();
    let cart = match price(state, customer, &checkout).await {
        Ok(cart) => cart,
        // A repeat of a submission that already ended answers as it did, even when the cart
        // would not price today (the owner raised the minimum, the customer moved away).
        Err(refused @ CheckoutError::Cart(_)) => {
            return match settled(state, customer, key, &hash).await? {
                Some(result) => result,
                None => Err(refused),
            };
        }
        Err(other) => return Err(other),
    };
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
    let approval = match state.payments.charge(&request).await {
        Ok(approval) => approval,
        Err(PaymentError::Declined { reason }) => {
            record_decline(state, customer.id, key, &reason).await?;
            tracing::info!(customer_id = %customer.id, %reason, "payment declined");
            return Err(CheckoutError::Declined { reason });
        }
        Err(PaymentError::BreakerOpen) => {
            // Counted in /metrics by `http::respond`; no log line per request while it lasts.
            release(state, customer.id, key, &token).await;
            return Err(CheckoutError::ProviderUnavailable);
        }
        Err(PaymentError::Unavailable { reason }) => {
            tracing::warn!(customer_id = %customer.id, %reason, "payment unavailable");
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
            return Err(CheckoutError::ProviderUnavailable);
        }
    };

    match record_order(state, customer, &checkout, &cart, &approval, key, &token).await {
        Ok((order_id, created_at_ms)) => {
            tracing::info!(
                %order_id,
                customer_id = %customer.id,
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
                Ok(GivenUp::Voiding) => Err(CheckoutError::NotSaved),
                Ok(GivenUp::Completed(order_id)) => {
                    tracing::info!(%order_id, %payment_id, "the order's commit had landed");
                    order_detail(&state.db, customer, order_id)
                        .await
                        .map_err(CheckoutError::Order)
                }
                Ok(GivenUp::NotOurs) => Err(CheckoutError::OutcomeUnknown {
                    database_down: false,
                }),
                Err(give_up_error) => {
                    tracing::warn!(%give_up_error, %payment_id,
                        "cannot settle the checkout now; reconciliation will");
                    Err(CheckoutError::OutcomeUnknown {
                        database_down: true,
                    })
                }
            }
        }
    }
}

async fn record_decline(
    state: &AppState,
    customer_id: UserId,
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

/// The one transaction: order, lines, payment, outbox event, checkout completed (on SQLite
/// shared with the other orders being written at that moment: `recording`).
async fn record_order(
    state: &AppState,
    customer: &CurrentUser,
    checkout: &Checkout,
    cart: &PricedCart,
    approval: &crate::payments::Approval,
    key: &str,
    token: &str,
) -> Result<(OrderId, i64), sqlx::Error> {
    let now = now_ms();
    let order = NewOrder {
        customer_id: customer.id,
        store_id: checkout.store_id,
        total_won: cart.total,
        tip_won: cart.tip.0,
        district: cart.district.clone(),
        address: cart.address.clone(),
        lat: cart.to.lat,
        lng: cart.to.lng,
        store_note: checkout.store_note.clone(),
        rider_note: checkout.rider_note.clone(),
        lines: cart
            .lines
            .iter()
            .map(|l| (l.food_id, l.name.clone(), l.unit_price, l.quantity))
            .collect(),
        provider: state.payments.provider(),
        provider_ref: approval.provider_ref.clone(),
        card_hint: approval.card_hint.clone(),
        idempotency_key: key.to_string(),
        claim_token: token.to_string(),
        now,
    };
    let target = Target::of(state);
    let order_id = if state.db.engine() == Engine::Sqlite && state.settings.group_commit_orders {
        state.order_recorder.record(&target, order).await?
    } else {
        recording::write_one(&target, &order).await?
    };
    #[cfg(feature = "fault-injection")]
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
    id: OrderId,
    created_at_ms: i64,
    checkout: &Checkout,
    cart: PricedCart,
    approval: crate::payments::Approval,
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
        delivery_tip: cart.tip,
        delivery_address: Some(cart.address),
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
        store_note: checkout.store_note.clone(),
        rider_note: checkout.rider_note.clone(),
        eta_ms: None,
    }
}
