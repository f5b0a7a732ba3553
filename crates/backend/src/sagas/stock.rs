//! The stock steps: `OrderPlaced` takes each line's stock (all lines or none) and puts the order
//! in the store's queue, or rejects it as out of stock; `OrderRejected` / `OrderCancelled` give
//! back exactly what was taken and ask for the refund.

use super::{project, AfterCommit, Delivery, HandlerError};
use crate::outbox::{self, Event};
use crate::{notifications, now_ms, AppState};
use domain::{FoodId, OrderId, OrderStatus, StoreId};
use sqlx::{Any, Transaction};

pub(super) async fn order_placed(
    state: &AppState,
    tx: &mut Transaction<'static, Any>,
    delivery: &Delivery,
    order_id: OrderId,
) -> Result<AfterCommit, HandlerError> {
    project(tx, delivery, order_id).await?;
    let (status, store_id): (OrderStatus, StoreId) =
        sqlx::query_as("SELECT status, store_id FROM orders WHERE id = $1")
            .bind(order_id)
            .fetch_one(&mut **tx)
            .await?;
    if status != OrderStatus::Placed {
        // Cancelled before the store got it: no stock was taken; its own event follows.
        notifications::record(state, tx, delivery, order_id).await?;
        return Ok(AfterCommit::default());
    }
    let lines: Vec<(FoodId, i64, String)> = sqlx::query_as(
        "SELECT l.food_id, l.quantity, l.name FROM order_lines l WHERE l.order_id = $1 ORDER BY l.food_id",
    )
    .bind(order_id)
    .fetch_all(&mut **tx)
    .await?;
    let mut taken: Vec<(FoodId, i64)> = Vec::with_capacity(lines.len());
    let mut short = None;
    for (food_id, quantity, name) in lines {
        let took = sqlx::query("UPDATE foods SET stock = stock - $1 WHERE id = $2 AND stock >= $1")
            .bind(quantity)
            .bind(food_id)
            .execute(&mut **tx)
            .await?;
        if took.rows_affected() != 1 {
            short = Some(name);
            break;
        }
        taken.push((food_id, quantity));
    }
    let Some(food) = short else {
        sqlx::query(
            "INSERT INTO store_queue (order_id, store_id, received_at) VALUES ($1, $2, $3)
             ON CONFLICT (order_id) DO NOTHING",
        )
        .bind(order_id)
        .bind(store_id)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
        notifications::record(state, tx, delivery, order_id).await?;
        tracing::info!(%order_id, "stock taken; order in the store's queue");
        return Ok(AfterCommit::default());
    };

    // All or nothing: give back the lines already taken (this transaction holds them), then
    // reject.
    give_back(tx, &taken).await?;
    let after = AfterCommit {
        wrote_event: reject_out_of_stock(tx, order_id, &food, delivery.id).await?,
    };
    notifications::record(state, tx, delivery, order_id).await?;
    Ok(after)
}

/// Rejects a still-placed order for want of `food` and writes its `OrderRejected` (caused by
/// event `cause`), inside `tx`; returns whether it did (a cancelled order is left alone).
pub(super) async fn reject_out_of_stock(
    tx: &mut Transaction<'static, Any>,
    order_id: OrderId,
    food: &str,
    cause: i64,
) -> Result<bool, sqlx::Error> {
    let reason = format!("재고가 부족하여 주문이 거절되었습니다. ({food})");
    let rejected = sqlx::query(
        "UPDATE orders SET status = 'rejected', reject_reason = $1, updated_at = $2
         WHERE id = $3 AND status = 'placed'",
    )
    .bind(&reason)
    .bind(now_ms())
    .bind(order_id)
    .execute(&mut **tx)
    .await?;
    tracing::info!(%order_id, %food, "out of stock: order rejected");
    if rejected.rows_affected() != 1 {
        return Ok(false);
    }
    outbox::enqueue(tx, &Event::OrderRejected { order_id, reason }, Some(cause)).await?;
    Ok(true)
}

pub(super) async fn order_closed(
    state: &AppState,
    tx: &mut Transaction<'static, Any>,
    delivery: &Delivery,
    order_id: OrderId,
    reason: &str,
) -> Result<AfterCommit, HandlerError> {
    let was_queued = sqlx::query(
        "UPDATE store_queue SET released_at = $1 WHERE order_id = $2 AND released_at IS NULL",
    )
    .bind(now_ms())
    .bind(order_id)
    .execute(&mut **tx)
    .await?
    .rows_affected()
        == 1;
    if was_queued {
        let lines: Vec<(FoodId, i64)> =
            sqlx::query_as("SELECT food_id, quantity FROM order_lines WHERE order_id = $1")
                .bind(order_id)
                .fetch_all(&mut **tx)
                .await?;
        give_back(tx, &lines).await?;
    }
    project(tx, delivery, order_id).await?;
    notifications::record(state, tx, delivery, order_id).await?;
    let refund = Event::RefundRequested {
        order_id,
        reason: reason.to_string(),
    };
    outbox::enqueue(tx, &refund, Some(delivery.id)).await?;
    tracing::info!(
        %order_id,
        stock_restored = was_queued,
        "order closed; refund requested"
    );
    Ok(AfterCommit { wrote_event: true })
}

/// Puts `lines` (food, quantity) back in stock.
async fn give_back(
    tx: &mut Transaction<'static, Any>,
    lines: &[(FoodId, i64)],
) -> Result<(), sqlx::Error> {
    for (food_id, quantity) in lines {
        sqlx::query("UPDATE foods SET stock = stock + $1 WHERE id = $2")
            .bind(quantity)
            .bind(food_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}
