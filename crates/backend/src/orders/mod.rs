//! The customer's orders: checkout (`checkout`, with its idempotency claims in `claims`) and
//! what the customer reads back (an order, the list, the store's menu) and may still do
//! (cancel before cooking starts).

use domain::{OrderId, StoreId};
mod checkout;
mod claims;

pub use checkout::{place_order, PAYMENT_BUSY};
pub use claims::{purge_old_checkouts, reconcile_checkouts, CHECKOUT_KEY_RETENTION};

use crate::{AppState, Error};
use domain::{
    items_summary, CurrentUser, MenuItem, OrderDetail, OrderLineView, OrderStatus, OrderSummary,
    PaymentView, StoreMenu, Won,
};
use sqlx::any::AnyRow;
use sqlx::Row;

/// One of the customer's orders; another customer's order is "not found", not "forbidden",
/// so order ids cannot be probed.
pub async fn order_detail(
    state: &AppState,
    customer: &CurrentUser,
    order_id: OrderId,
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
        let id: OrderId = row.try_get("id")?;
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
    order_id: OrderId,
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
pub async fn store_menu(state: &AppState, store_id: StoreId) -> Result<StoreMenu, Error> {
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
