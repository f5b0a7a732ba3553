//! The owner's board: each store's orders of the last 24 hours and today's numbers, with the
//! dishes that are sold out.

use super::{owned, owned_by};
use crate::eta::{ClockRow, CLOCK_COLUMNS};
use crate::{Db, Error};
use domain::{
    korea_day_start, korea_hour, OrderId, OrderStatus, OwnerBoard, StoreBoard, StoreDashboard,
    StoreId, StoreOrder, UserId, Won,
};
use sqlx::FromRow;

/// Orders one store's board shows at most (the newest of the last 24 hours).
const BOARD_ORDERS_PER_STORE: usize = 200;

/// The owner's order board: every store (with its sold-out dishes), its orders of the last 24
/// hours and today's numbers. Two queries, run at once, however many stores the owner has: the page
/// is re-read at every change to any of them. Today's numbers come from the same rows as the
/// board (the Korean day began less than 24 hours ago), so they need no query of their own.
pub async fn board(db: &Db, owner_id: UserId) -> Result<OwnerBoard, Error> {
    let now = crate::now_ms();
    let since = now - 24 * 60 * 60 * 1000;
    let day_start = korea_day_start(now);
    /// One line of one order on the board (an order has a row per line).
    #[derive(FromRow)]
    struct BoardLine {
        store_id: StoreId,
        id: OrderId,
        status: OrderStatus,
        total_won: Won,
        created_at: i64,
        district: String,
        store_note: Option<String>,
        line_name: Option<String>,
        quantity: Option<i64>,
        #[sqlx(flatten)]
        clock: ClockRow,
    }
    let sql = format!(
        "SELECT q.store_id, o.id, o.status, o.total_won, o.created_at, o.district, o.store_note,
                l.name AS line_name, l.quantity, {CLOCK_COLUMNS}
         FROM stores s JOIN store_queue q ON q.store_id = s.id JOIN orders o ON o.id = q.order_id
              LEFT JOIN order_lines l ON l.order_id = o.id
         WHERE s.owner_id = $1 AND o.created_at >= $2 ORDER BY o.id DESC, l.food_id"
    );
    let orders = sqlx::query_as::<_, BoardLine>(&sql)
        .bind(owner_id)
        .bind(since)
        .fetch_all(db.reader());
    let (stores, rows) = futures::try_join!(owned_by(db, owner_id), orders)?;

    let mut boards: Vec<StoreBoard> = stores
        .into_iter()
        .map(|store| StoreBoard {
            store: store.into(),
            orders: Vec::new(),
            today: StoreDashboard {
                orders_today: 0,
                sales_today: Won(0),
                orders_per_hour: vec![0; 24],
            },
        })
        .collect();
    let mut current: Option<(StoreId, OrderId)> = None;
    for row in rows {
        let BoardLine {
            store_id,
            id,
            status,
            total_won: total,
            created_at: created_at_ms,
            district,
            store_note,
            line_name,
            quantity,
            clock,
        } = row;
        let line = line_name.map(|name| format!("{name} ×{}", quantity.unwrap_or_default()));
        let Some(board) = board_of(&mut boards, store_id) else {
            continue;
        };
        if current == Some((store_id, id)) {
            if let (Some(order), Some(line)) = (board.orders.last_mut(), line) {
                if order.id == id {
                    order.lines.push(line);
                }
            }
            continue;
        }
        current = Some((store_id, id));
        if created_at_ms >= day_start
            && !matches!(status, OrderStatus::Rejected | OrderStatus::Cancelled)
        {
            // Korea has no daylight saving: whole hours since the Korean midnight are its
            // clock hours.
            if let Some(slot) = usize::try_from((created_at_ms - day_start) / 3_600_000)
                .ok()
                .and_then(|h| board.today.orders_per_hour.get_mut(h))
            {
                *slot += 1;
            }
            board.today.orders_today += 1;
            board.today.sales_today.0 += total.0;
        }
        if board.orders.len() == BOARD_ORDERS_PER_STORE {
            continue;
        }
        let clock = clock.clock(status);
        board.orders.push(StoreOrder {
            id,
            status,
            lines: line.into_iter().collect(),
            total,
            created_at_ms,
            delivery_district: district,
            store_note,
            cook_by_ms: clock.cook_by_ms(),
            eta_ms: clock.expected_arrival_ms(),
            late: clock.is_late(now),
        });
    }
    Ok(OwnerBoard { stores: boards })
}

fn board_of(boards: &mut [StoreBoard], store_id: StoreId) -> Option<&mut StoreBoard> {
    boards.iter_mut().find(|b| b.store.id == store_id)
}

/// Orders the store has received (stock taken), newest first, from the last 24 hours.
pub async fn store_orders(
    db: &Db,
    owner_id: UserId,
    store_id: StoreId,
) -> Result<Vec<StoreOrder>, Error> {
    owned(db, owner_id, store_id).await?;
    let now = crate::now_ms();
    let since = now - 24 * 60 * 60 * 1000;
    #[derive(FromRow)]
    struct Queued {
        id: OrderId,
        status: OrderStatus,
        total_won: Won,
        created_at: i64,
        district: String,
        store_note: Option<String>,
        #[sqlx(flatten)]
        clock: ClockRow,
    }
    #[derive(FromRow)]
    struct Line {
        order_id: OrderId,
        name: String,
        quantity: i64,
    }
    let rows: Vec<Queued> = sqlx::query_as(&format!(
        "SELECT o.id, o.status, o.total_won, o.created_at, o.district, o.store_note, {CLOCK_COLUMNS}
         FROM store_queue q JOIN orders o ON o.id = q.order_id JOIN stores s ON s.id = o.store_id
         WHERE q.store_id = $1 AND o.created_at >= $2 ORDER BY o.id DESC LIMIT 200"
    ))
    .bind(store_id)
    .bind(since)
    .fetch_all(db.reader())
    .await?;
    // The board is re-read every few seconds: all lines in one query, not one per order.
    let lines: Vec<Line> = sqlx::query_as(
        "SELECT l.order_id, l.name, l.quantity
         FROM store_queue q JOIN orders o ON o.id = q.order_id JOIN order_lines l ON l.order_id = o.id
         WHERE q.store_id = $1 AND o.created_at >= $2 ORDER BY l.order_id, l.food_id",
    )
    .bind(store_id)
    .bind(since)
    .fetch_all(db.reader())
    .await?;
    let mut lines_by_order: std::collections::HashMap<OrderId, Vec<String>> = Default::default();
    for line in lines {
        lines_by_order
            .entry(line.order_id)
            .or_default()
            .push(format!("{} ×{}", line.name, line.quantity));
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let clock = row.clock.clock(row.status);
            StoreOrder {
                id: row.id,
                status: row.status,
                lines: lines_by_order.remove(&row.id).unwrap_or_default(),
                total: row.total_won,
                created_at_ms: row.created_at,
                delivery_district: row.district,
                store_note: row.store_note,
                cook_by_ms: clock.cook_by_ms(),
                eta_ms: clock.expected_arrival_ms(),
                late: clock.is_late(now),
            }
        })
        .collect())
}

/// Today's order count, sales and orders per hour for one of the owner's stores.
pub async fn dashboard(
    db: &Db,
    owner_id: UserId,
    store_id: StoreId,
) -> Result<StoreDashboard, Error> {
    owned(db, owner_id, store_id).await?;
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT o.created_at, o.total_won FROM store_queue q JOIN orders o ON o.id = q.order_id
         WHERE q.store_id = $1 AND o.created_at >= $2 AND o.status NOT IN ('rejected', 'cancelled')",
    )
    .bind(store_id)
    .bind(korea_day_start(crate::now_ms()))
    .fetch_all(db.reader())
    .await?;
    let mut per_hour = vec![0i64; 24];
    let mut sales = 0;
    for (created_at, total_won) in &rows {
        per_hour[korea_hour(*created_at)] += 1;
        sales += total_won;
    }
    Ok(StoreDashboard {
        orders_today: rows.len() as i64,
        sales_today: Won(sales),
        orders_per_hour: per_hour,
    })
}
