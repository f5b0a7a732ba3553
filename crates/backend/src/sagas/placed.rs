//! `OrderPlaced` for a whole group of orders at once: the hot path of the outbox on a busy
//! evening, when almost every event in a round is a new order.
//!
//! What it does is exactly what [`super::order_placed`] does for one order — the order's view,
//! its stock taken all lines or none (first come, first served in event order), the store's
//! queue or a rejection with its refund to follow, the notifications — but with a fixed number
//! of statements for the whole group instead of a dozen per order: the orders' facts and lines
//! are read in two queries, the stock of every food involved in one (locked `FOR UPDATE` on
//! PostgreSQL; on SQLite the transaction already holds the single writer), and views, queue
//! entries and notifications are each written in one statement. Each stock update still says
//! `stock >= taken`, so if the numbers read were ever wrong the group fails, nothing of it is
//! applied and its events are handled one by one.

use super::{reject_out_of_stock, AfterCommit, Delivery, HandlerError};
use crate::db::{placeholders, Engine};
use crate::notifications::{self, OrderFacts, Recipient};
use crate::outbox::Event;
use crate::{now_ms, AppState};
use domain::{items_summary, FoodId, OrderId, OrderStatus, TimelineEntry, UserId, Won};
use sqlx::{Any, FromRow, Transaction};
use std::collections::{BTreeMap, HashMap};

/// One order of the group as read before any change.
struct Placed<'a> {
    delivery: &'a Delivery,
    facts: OrderFacts,
    recipient: Recipient,
    still_placed: bool,
    /// (food, quantity, name), by food id.
    lines: Vec<(FoodId, i64, String)>,
}

/// Applies the `OrderPlaced` events `deliveries` (already marked processed by `tx`).
pub(super) async fn orders_placed(
    state: &AppState,
    tx: &mut Transaction<'static, Any>,
    deliveries: &[&Delivery],
) -> Result<AfterCommit, HandlerError> {
    let mut orders = read(tx, deliveries).await?;
    if orders.is_empty() {
        return Ok(AfterCommit::default());
    }

    // Stock, first come first served: each order takes all its lines or none.
    let foods: Vec<FoodId> = {
        let mut foods: Vec<FoodId> = orders
            .iter()
            .filter(|o| o.still_placed)
            .flat_map(|o| o.lines.iter().map(|(food, _, _)| *food))
            .collect();
        foods.sort_unstable();
        foods.dedup();
        foods
    };
    let mut stock = read_stock(state, tx, &foods).await?;
    let mut taken: BTreeMap<FoodId, i64> = BTreeMap::new();
    let mut rejected: Vec<(usize, String)> = Vec::new();
    for (index, order) in orders.iter_mut().enumerate() {
        if !order.still_placed {
            continue;
        }
        let short = order
            .lines
            .iter()
            .find(|(food, quantity, _)| stock.get(food).copied().unwrap_or(0) < *quantity);
        match short {
            Some((_, _, name)) => rejected.push((index, name.clone())),
            None => {
                for (food, quantity, _) in &order.lines {
                    *stock.get_mut(food).expect("read above") -= quantity;
                    *taken.entry(*food).or_default() += quantity;
                }
                order.facts.queued = true;
            }
        }
    }
    for (food, quantity) in &taken {
        let took = sqlx::query("UPDATE foods SET stock = stock - $1 WHERE id = $2 AND stock >= $1")
            .bind(quantity)
            .bind(food)
            .execute(&mut **tx)
            .await?;
        if took.rows_affected() != 1 {
            return Err(HandlerError::Database(sqlx::Error::Protocol(format!(
                "food {food}: stock changed while its orders were being served"
            ))));
        }
    }

    insert_views(tx, &orders).await?;
    queue(tx, &orders).await?;
    let mut after = AfterCommit::default();
    for (index, food) in &rejected {
        let order = &orders[*index];
        let cause = order.delivery.id;
        after.wrote_event |= reject_out_of_stock(tx, order.facts.order_id, food, cause).await?;
    }
    let messages: Vec<_> = orders
        .into_iter()
        .map(|o| (o.delivery, o.facts, o.recipient))
        .collect();
    notifications::record_all(state, tx, &messages).await?;
    tracing::info!(
        orders = messages.len(),
        rejected = rejected.len(),
        "orders placed: stock taken, in the stores' queues"
    );
    Ok(after)
}

/// The orders' facts and lines, in the order of `deliveries`.
async fn read<'a>(
    tx: &mut Transaction<'static, Any>,
    deliveries: &[&'a Delivery],
) -> Result<Vec<Placed<'a>>, sqlx::Error> {
    let ids: Vec<OrderId> = deliveries.iter().map(|d| d.event.order_id()).collect();
    let sql = format!(
        "SELECT o.id, o.status, o.customer_id, o.store_id, o.total_won, o.district,
                s.name AS store_name, s.owner_id, u.phone, u.kakao_enabled
         FROM orders o JOIN stores s ON s.id = o.store_id JOIN users u ON u.id = o.customer_id
         WHERE o.id IN ({})",
        placeholders(1, ids.len())
    );
    /// An order's facts with its customer's KakaoTalk settings, read once for all its steps.
    #[derive(FromRow)]
    struct Facts {
        id: OrderId,
        status: OrderStatus,
        customer_id: UserId,
        total_won: Won,
        district: String,
        store_name: String,
        owner_id: UserId,
        phone: Option<String>,
        kakao_enabled: i64,
    }
    let mut query = sqlx::query_as::<_, Facts>(&sql);
    for id in &ids {
        query = query.bind(id);
    }
    let mut facts: HashMap<OrderId, Facts> = HashMap::new();
    for row in query.fetch_all(&mut **tx).await? {
        facts.insert(row.id, row);
    }
    let sql = format!(
        "SELECT order_id, food_id, quantity, name FROM order_lines
         WHERE order_id IN ({}) ORDER BY order_id, food_id",
        placeholders(1, ids.len())
    );
    let mut query = sqlx::query_as::<_, (OrderId, FoodId, i64, String)>(&sql);
    for id in &ids {
        query = query.bind(id);
    }
    let mut lines: HashMap<OrderId, Vec<(FoodId, i64, String)>> = HashMap::new();
    for (order_id, food_id, quantity, name) in query.fetch_all(&mut **tx).await? {
        lines
            .entry(order_id)
            .or_default()
            .push((food_id, quantity, name));
    }

    let mut orders = Vec::with_capacity(deliveries.len());
    for delivery in deliveries {
        let order_id = delivery.event.order_id();
        let row = facts
            .get(&order_id)
            .ok_or_else(|| sqlx::Error::Protocol(format!("order {order_id} not found")))?;
        let lines = lines.remove(&order_id).unwrap_or_default();
        let names: Vec<String> = lines.iter().map(|(_, _, name)| name.clone()).collect();
        orders.push(Placed {
            delivery,
            facts: OrderFacts {
                order_id,
                customer_id: row.customer_id,
                owner_id: row.owner_id,
                store_name: row.store_name.clone(),
                total: row.total_won,
                items: items_summary(&names),
                district: row.district.clone(),
                queued: false,
                nearby_riders: Vec::new(),
                cook_minutes: None,
            },
            recipient: Recipient {
                phone: row.phone.clone(),
                kakao_enabled: row.kakao_enabled == 1,
            },
            still_placed: row.status == OrderStatus::Placed,
            lines,
        });
    }
    Ok(orders)
}

/// The stock of `foods`, locked against other writers until the transaction ends.
async fn read_stock(
    state: &AppState,
    tx: &mut Transaction<'static, Any>,
    foods: &[FoodId],
) -> Result<HashMap<FoodId, i64>, sqlx::Error> {
    if foods.is_empty() {
        return Ok(HashMap::new());
    }
    let lock = match state.db.engine() {
        // Ordered by id, so that two groups lock the same foods in the same order.
        Engine::Postgres => "ORDER BY id FOR UPDATE",
        // The transaction has written already (the events' marks): it holds the only writer.
        Engine::Sqlite => "",
    };
    let sql = format!(
        "SELECT id, stock FROM foods WHERE id IN ({}) {lock}",
        placeholders(1, foods.len())
    );
    let mut query = sqlx::query_as::<_, (FoodId, i64)>(&sql);
    for food in foods {
        query = query.bind(food);
    }
    Ok(query.fetch_all(&mut **tx).await?.into_iter().collect())
}

/// Every order's status view, as its first event leaves it: placed, paid.
async fn insert_views(
    tx: &mut Transaction<'static, Any>,
    orders: &[Placed<'_>],
) -> Result<(), sqlx::Error> {
    const COLUMNS: usize = 8;
    let values: Vec<String> = (0..orders.len())
        .map(|row| {
            let p = |column: usize| format!("${}", 2 + row * COLUMNS + column);
            format!(
                "({}, {}, {}, {}, {}, {}, 'placed', '결제 완료', {}, {}, $1)",
                p(0),
                p(1),
                p(2),
                p(3),
                p(4),
                p(5),
                p(6),
                p(7)
            )
        })
        .collect();
    let sql = format!(
        "INSERT INTO order_views (order_id, customer_id, store_id, store_name, items, total_won,
                                  status, payment, timeline, last_event_id, updated_at)
         VALUES {}
         ON CONFLICT (order_id) DO NOTHING",
        values.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(now_ms());
    for order in orders {
        let Event::OrderPlaced { store_id, .. } = &order.delivery.event else {
            unreachable!("only OrderPlaced events are grouped here");
        };
        let timeline = vec![TimelineEntry {
            status: OrderStatus::Placed,
            at_ms: order.delivery.created_at,
        }];
        query = query
            .bind(order.facts.order_id)
            .bind(order.facts.customer_id)
            .bind(*store_id)
            .bind(&order.facts.store_name)
            .bind(&order.facts.items)
            .bind(order.facts.total.0)
            .bind(serde_json::to_string(&timeline).expect("timeline serialises"))
            .bind(order.delivery.id);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

/// The served orders into their stores' queues.
async fn queue(
    tx: &mut Transaction<'static, Any>,
    orders: &[Placed<'_>],
) -> Result<(), sqlx::Error> {
    let served: Vec<&Placed<'_>> = orders.iter().filter(|o| o.facts.queued).collect();
    if served.is_empty() {
        return Ok(());
    }
    let values: Vec<String> = (0..served.len())
        .map(|row| format!("(${}, ${}, $1)", 2 + row * 2, 3 + row * 2))
        .collect();
    let sql = format!(
        "INSERT INTO store_queue (order_id, store_id, received_at) VALUES {}
         ON CONFLICT (order_id) DO NOTHING",
        values.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(now_ms());
    for order in served {
        let Event::OrderPlaced { store_id, .. } = &order.delivery.event else {
            unreachable!("only OrderPlaced events are grouped here");
        };
        query = query.bind(order.facts.order_id).bind(*store_id);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}
