//! The customer's orders: checkout (`checkout`, with its idempotency claims in `claims` and
//! the paid order's writing in `recording`) and
//! what the customer reads back (an order, the list, the store's menu) and may still do
//! (cancel before cooking starts).

use domain::{OrderId, StoreId};
mod checkout;
mod claims;
mod error;
mod recording;

pub use checkout::place_order;
pub use claims::{purge_old_checkouts, reconcile_checkouts, CHECKOUT_KEY_RETENTION};
pub use error::CheckoutError;
pub use recording::Recorder;

use crate::eta::{ClockRow, CLOCK_COLUMNS};
use crate::stores::{DishRow, StoreRow, STORE_COLUMNS};
use crate::{AppState, Db, Error};
use domain::{
    full_address, items_summary, CurrentUser, FoodId, GeoPoint, OrderDetail, OrderLineView,
    OrderStatus, OrderSummary, PaymentView, StoreMenu, TimelineEntry, Won,
};
use sqlx::FromRow;

/// One of the customer's orders; another customer's order is "not found", not "forbidden",
/// so order ids cannot be probed.
pub async fn order_detail(
    db: &Db,
    customer: &CurrentUser,
    order_id: OrderId,
) -> Result<OrderDetail, Error> {
    // Status, payment and timeline come from the order-status view; an order the worker has
    // not reached yet (milliseconds after checkout) is shown as just placed.
    #[derive(FromRow)]
    struct Order {
        id: OrderId,
        store_id: StoreId,
        store_name: String,
        total_won: Won,
        created_at: i64,
        provider: String,
        card_hint: String,
        view_status: Option<OrderStatus>,
        view_payment: Option<String>,
        timeline: Option<String>,
        note: Option<String>,
        rider_name: Option<String>,
        store_note: Option<String>,
        rider_note: Option<String>,
        delivery_tip_won: Won,
        delivery_address: Option<String>,
        #[sqlx(flatten)]
        clock: ClockRow,
    }
    #[derive(FromRow)]
    struct Line {
        food_id: FoodId,
        name: String,
        unit_price_won: Won,
        quantity: i64,
    }
    let order: Order = sqlx::query_as(&format!(
        "SELECT o.id, o.store_id, s.name AS store_name, o.total_won, o.created_at, p.provider, p.card_hint,
                v.status AS view_status, v.payment AS view_payment, v.timeline, v.note, v.rider_name,
                o.store_note, o.rider_note, o.delivery_tip_won, o.delivery_address, {CLOCK_COLUMNS}
         FROM orders o
         JOIN stores s ON s.id = o.store_id
         JOIN payments p ON p.order_id = o.id
         LEFT JOIN order_views v ON v.order_id = o.id
         WHERE o.id = $1 AND o.customer_id = $2"
    ))
    .bind(order_id)
    .bind(customer.id)
    .fetch_optional(db.reader())
    .await?
    .ok_or(Error::NotFound)?;
    let lines: Vec<Line> = sqlx::query_as(
        "SELECT food_id, name, unit_price_won, quantity FROM order_lines
         WHERE order_id = $1 ORDER BY food_id",
    )
    .bind(order_id)
    .fetch_all(db.reader())
    .await?;
    let lines = lines
        .into_iter()
        .map(|line| OrderLineView {
            food_id: line.food_id,
            name: line.name,
            unit_price: line.unit_price_won,
            quantity: line.quantity,
            subtotal: Won(line.unit_price_won.0 * line.quantity),
        })
        .collect();
    let timeline = order
        .timeline
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_else(|| {
            vec![TimelineEntry {
                status: OrderStatus::Placed,
                at_ms: order.created_at,
            }]
        });
    // The ETA follows the status the page shows (the view's, which never runs ahead of the
    // order's own times), so the page never says "accepted" with a cooked order's ETA.
    let status = order.view_status.unwrap_or(OrderStatus::Placed);
    Ok(OrderDetail {
        id: order.id,
        store_id: order.store_id,
        store_name: order.store_name,
        status,
        lines,
        total: order.total_won,
        delivery_tip: order.delivery_tip_won,
        delivery_address: order.delivery_address,
        payment: PaymentView {
            provider: order.provider,
            card_hint: order.card_hint,
            status_label: order.view_payment.unwrap_or_else(|| "결제 완료".into()),
        },
        created_at_ms: order.created_at,
        timeline,
        note: order.note,
        rider_name: order.rider_name,
        store_note: order.store_note,
        rider_note: order.rider_note,
        eta_ms: order.clock.clock(status).expected_arrival_ms(),
    })
}

/// The customer's orders, newest first, from the order-status view (an order the worker has
/// not reached yet shows as just placed).
pub async fn my_orders(db: &Db, customer: &CurrentUser) -> Result<Vec<OrderSummary>, Error> {
    #[derive(FromRow)]
    struct Mine {
        id: OrderId,
        store_name: String,
        total_won: Won,
        created_at: i64,
        status: Option<OrderStatus>,
        items: Option<String>,
    }
    let rows: Vec<Mine> = sqlx::query_as(
        "SELECT o.id, s.name AS store_name, o.total_won, o.created_at, v.status, v.items
         FROM orders o JOIN stores s ON s.id = o.store_id
         LEFT JOIN order_views v ON v.order_id = o.id
         WHERE o.customer_id = $1 ORDER BY o.id DESC LIMIT 100",
    )
    .bind(customer.id)
    .fetch_all(db.reader())
    .await?;
    let mut orders = Vec::with_capacity(rows.len());
    for row in rows {
        let items = match row.items {
            Some(items) => items,
            None => {
                let names: Vec<String> = sqlx::query_scalar(
                    "SELECT name FROM order_lines WHERE order_id = $1 ORDER BY food_id",
                )
                .bind(row.id)
                .fetch_all(db.reader())
                .await?;
                items_summary(&names)
            }
        };
        orders.push(OrderSummary {
            id: row.id,
            store_name: row.store_name,
            status: row.status.unwrap_or(OrderStatus::Placed),
            items,
            total: row.total_won,
            created_at_ms: row.created_at,
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
    use super::commands::{transition, ActionDetails, Scope};
    use domain::{Actor, OrderAction};
    transition(
        state,
        order_id,
        Actor::Customer,
        OrderAction::Cancel,
        Scope::Customer(customer.id),
        ActionDetails::default(),
    )
    .await?;
    Ok(())
}

/// A store's page for customers: visible dishes with their remaining stock, and the store's
/// delivery terms (at `from`, the viewer's delivery address, when there is one).
pub async fn store_menu(
    db: &Db,
    store_id: StoreId,
    from: Option<GeoPoint>,
) -> Result<StoreMenu, Error> {
    let store: StoreRow = sqlx::query_as(&format!(
        "SELECT {STORE_COLUMNS} FROM stores s WHERE s.id = $1"
    ))
    .bind(store_id)
    .fetch_optional(db.reader())
    .await?
    .ok_or(Error::NotFound)?;
    let menu: Vec<DishRow> = sqlx::query_as(
        "SELECT id, name, description, price_won, stock, is_hidden FROM foods
         WHERE store_id = $1 AND is_hidden = 0 ORDER BY id",
    )
    .bind(store_id)
    .fetch_all(db.reader())
    .await?;
    Ok(StoreMenu {
        terms: store.terms,
        delivery: from.map(|from| store.terms.quote(from.distance_m(store.point()))),
        id: store.id,
        name: store.name,
        district: store.district,
        address: full_address(&store.address, &store.address_detail),
        is_open: store.is_open == 1,
        menu: menu.into_iter().map(Into::into).collect(),
    })
}
