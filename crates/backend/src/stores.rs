//! Reading stores and menus for the customer's and the owner's pages.

use super::AppState;
use crate::Error;
use domain::{
    korea_day_start, korea_hour, FoodInput, GeoPoint, MenuItem, OrderStatus, OwnedStore,
    OwnerBoard, StoreBoard, StoreDashboard, StoreOrder, StoreSummary, Won,
};
use domain::{FoodId, OrderId, StoreId, UserId};
use sqlx::any::AnyRow;
use sqlx::Row;

/// Every store with its distance from `from`, nearest first; open stores before closed ones
/// at equal distance. Hidden dishes do not count towards the menu size.
pub async fn nearby(state: &AppState, from: GeoPoint) -> Result<Vec<StoreSummary>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT s.id, s.name, s.district, s.address, s.is_open, s.lat, s.lng,
                (SELECT COUNT(*) FROM foods f WHERE f.store_id = s.id AND f.is_hidden = 0) AS menu_count
         FROM stores s",
    )
    .fetch_all(state.db.reader())
    .await?;
    let mut stores = rows
        .iter()
        .map(|row| {
            let point = GeoPoint {
                lat: row.try_get("lat")?,
                lng: row.try_get("lng")?,
            };
            Ok(StoreSummary {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                district: row.try_get("district")?,
                address: row.try_get("address")?,
                is_open: row.try_get::<i64, _>("is_open")? == 1,
                distance_m: from.distance_m(point),
                menu_count: row.try_get("menu_count")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    stores.sort_by(|a, b| {
        a.distance_m
            .total_cmp(&b.distance_m)
            .then(b.is_open.cmp(&a.is_open))
    });
    Ok(stores)
}

fn menu_item(row: &AnyRow) -> Result<MenuItem, sqlx::Error> {
    Ok(MenuItem {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        price: Won(row.try_get("price_won")?),
        stock: row.try_get("stock")?,
        is_hidden: row.try_get::<i64, _>("is_hidden")? == 1,
    })
}

/// The owner's stores with their full menus (hidden dishes included), oldest store first. One
/// query: the owner's page is re-read at every change, so round trips are what it costs.
pub async fn owned_by(state: &AppState, owner_id: UserId) -> Result<Vec<OwnedStore>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT s.id AS store_id, s.name AS store_name, s.district, s.address, s.is_open,
                f.id, f.name, f.description, f.price_won, f.stock, f.is_hidden
         FROM stores s LEFT JOIN foods f ON f.store_id = s.id
         WHERE s.owner_id = $1 ORDER BY s.id, f.id",
    )
    .bind(owner_id)
    .fetch_all(state.db.reader())
    .await?;
    let mut stores: Vec<OwnedStore> = Vec::new();
    for row in &rows {
        let store_id: StoreId = row.try_get("store_id")?;
        if stores.last().map(|s| s.id) != Some(store_id) {
            stores.push(OwnedStore {
                id: store_id,
                name: row.try_get("store_name")?,
                district: row.try_get("district")?,
                address: row.try_get("address")?,
                is_open: row.try_get::<i64, _>("is_open")? == 1,
                menu: Vec::new(),
            });
        }
        if row.try_get::<Option<i64>, _>("id")?.is_some() {
            let store = stores.last_mut().expect("pushed above");
            store.menu.push(menu_item(row)?);
        }
    }
    Ok(stores)
}

/// Orders one store's board shows at most (the newest of the last 24 hours).
const BOARD_ORDERS_PER_STORE: usize = 200;

/// The owner's whole page: every store with menu and stock, its orders of the last 24 hours
/// and today's numbers. Two queries, run at once, however many stores the owner has: the page
/// is re-read at every change to any of them. Today's numbers come from the same rows as the
/// board (the Korean day began less than 24 hours ago), so they need no query of their own.
pub async fn board(state: &AppState, owner_id: UserId) -> Result<OwnerBoard, Error> {
    let now = super::now_ms();
    let since = now - 24 * 60 * 60 * 1000;
    let day_start = korea_day_start(now);
    let orders = sqlx::query(
        "SELECT q.store_id, o.id, o.status, o.total_won, o.created_at, o.district,
                l.name AS line_name, l.quantity
         FROM stores s JOIN store_queue q ON q.store_id = s.id JOIN orders o ON o.id = q.order_id
              LEFT JOIN order_lines l ON l.order_id = o.id
         WHERE s.owner_id = $1 AND o.created_at >= $2 ORDER BY o.id DESC, l.food_id",
    )
    .bind(owner_id)
    .bind(since)
    .fetch_all(state.db.reader());
    let (stores, rows) = futures::try_join!(owned_by(state, owner_id), orders)?;

    let mut boards: Vec<StoreBoard> = stores
        .into_iter()
        .map(|store| StoreBoard {
            store,
            orders: Vec::new(),
            today: StoreDashboard {
                orders_today: 0,
                sales_today: Won(0),
                orders_per_hour: vec![0; 24],
            },
        })
        .collect();
    let mut current: Option<(StoreId, OrderId)> = None;
    for row in &rows {
        let id: OrderId = row.try_get("id")?;
        let store_id: StoreId = row.try_get("store_id")?;
        let line = match row.try_get::<Option<String>, _>("line_name")? {
            Some(name) => Some(format!("{name} ×{}", row.try_get::<i64, _>("quantity")?)),
            None => None,
        };
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
        let status =
            OrderStatus::parse(&row.try_get::<String, _>("status")?).ok_or(Error::Internal)?;
        let total = Won(row.try_get("total_won")?);
        let created_at_ms: i64 = row.try_get("created_at")?;
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
        board.orders.push(StoreOrder {
            id,
            status,
            lines: line.into_iter().collect(),
            total,
            created_at_ms,
            delivery_district: row.try_get("district")?,
        });
    }
    Ok(OwnerBoard { stores: boards })
}

fn board_of(boards: &mut [StoreBoard], store_id: StoreId) -> Option<&mut StoreBoard> {
    boards.iter_mut().find(|b| b.store.id == store_id)
}

/// The store's id if `owner_id` owns it; another owner's store is "not found".
async fn owned(state: &AppState, owner_id: UserId, store_id: StoreId) -> Result<(), Error> {
    let owner: Option<UserId> = sqlx::query("SELECT owner_id FROM stores WHERE id = $1")
        .bind(store_id)
        .fetch_optional(state.db.reader())
        .await?
        .map(|row| row.try_get(0))
        .transpose()?;
    match owner {
        Some(owner) if owner == owner_id => Ok(()),
        _ => Err(Error::NotFound),
    }
}

/// Orders the store has received (stock taken), newest first, from the last 24 hours.
pub async fn store_orders(
    state: &AppState,
    owner_id: UserId,
    store_id: StoreId,
) -> Result<Vec<StoreOrder>, Error> {
    owned(state, owner_id, store_id).await?;
    let since = super::now_ms() - 24 * 60 * 60 * 1000;
    let rows = sqlx::query(
        "SELECT o.id, o.status, o.total_won, o.created_at, o.district
         FROM store_queue q JOIN orders o ON o.id = q.order_id
         WHERE q.store_id = $1 AND o.created_at >= $2 ORDER BY o.id DESC LIMIT 200",
    )
    .bind(store_id)
    .bind(since)
    .fetch_all(state.db.reader())
    .await?;
    // The board is re-read every few seconds: all lines in one query, not one per order.
    let lines = sqlx::query(
        "SELECT l.order_id, l.name, l.quantity
         FROM store_queue q JOIN orders o ON o.id = q.order_id JOIN order_lines l ON l.order_id = o.id
         WHERE q.store_id = $1 AND o.created_at >= $2 ORDER BY l.order_id, l.food_id",
    )
    .bind(store_id)
    .bind(since)
    .fetch_all(state.db.reader())
    .await?;
    let mut lines_by_order: std::collections::HashMap<OrderId, Vec<String>> = Default::default();
    for line in &lines {
        lines_by_order
            .entry(line.try_get("order_id")?)
            .or_default()
            .push(format!(
                "{} ×{}",
                line.try_get::<String, _>("name")?,
                line.try_get::<i64, _>("quantity")?
            ));
    }
    let mut orders = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: OrderId = row.try_get("id")?;
        orders.push(StoreOrder {
            id,
            status: OrderStatus::parse(&row.try_get::<String, _>("status")?)
                .ok_or(Error::Internal)?,
            lines: lines_by_order.remove(&id).unwrap_or_default(),
            total: Won(row.try_get("total_won")?),
            created_at_ms: row.try_get("created_at")?,
            delivery_district: row.try_get("district")?,
        });
    }
    Ok(orders)
}

/// Opens or closes the store: a closed store takes no orders.
pub async fn set_open(
    state: &AppState,
    owner_id: UserId,
    store_id: StoreId,
    open: bool,
) -> Result<(), Error> {
    owned(state, owner_id, store_id).await?;
    let mut tx = state.db.begin().await?;
    sqlx::query("UPDATE stores SET is_open = $1 WHERE id = $2")
        .bind(i64::from(open))
        .bind(store_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Sets how many of a food can still be cooked. With `expected` (what the owner's page showed)
/// the new number is written only if the stock is still that: orders take stock while the
/// owner types, and writing over them would sell what is no longer there. Without it the
/// number is set as given (an API caller's deliberate override).
pub async fn set_stock(
    state: &AppState,
    owner_id: UserId,
    food_id: FoodId,
    stock: i64,
    expected: Option<i64>,
) -> Result<(), Error> {
    let mut tx = state.db.begin().await?;
    let owned = "id = $2 AND store_id IN (SELECT id FROM stores WHERE owner_id = $3)";
    let updated = match expected {
        Some(expected) => {
            sqlx::query(&format!(
                "UPDATE foods SET stock = $1 WHERE {owned} AND stock = $4"
            ))
            .bind(stock)
            .bind(food_id)
            .bind(owner_id)
            .bind(expected)
            .execute(&mut *tx)
            .await?
        }
        None => {
            sqlx::query(&format!("UPDATE foods SET stock = $1 WHERE {owned}"))
                .bind(stock)
                .bind(food_id)
                .bind(owner_id)
                .execute(&mut *tx)
                .await?
        }
    };
    if updated.rows_affected() != 1 {
        let current: Option<i64> = sqlx::query(
            "SELECT stock FROM foods
             WHERE id = $1 AND store_id IN (SELECT id FROM stores WHERE owner_id = $2)",
        )
        .bind(food_id)
        .bind(owner_id)
        .fetch_optional(&mut *tx)
        .await?
        .map(|row| row.try_get(0))
        .transpose()?;
        return Err(match current {
            Some(current) => Error::Conflict {
                message: format!(
                    "그 사이 주문이 들어와 재고가 {current}개로 바뀌었습니다. 확인하고 다시 저장해 주세요."
                ),
            },
            None => Error::NotFound,
        });
    }
    tx.commit().await?;
    Ok(())
}

/// Adds a dish to one of the owner's stores (`food_id` None, stock 0) or edits one of its
/// dishes; returns the dish's id.
pub async fn save_food(
    state: &AppState,
    owner_id: UserId,
    store_id: StoreId,
    food_id: Option<FoodId>,
    food: &FoodInput,
) -> Result<FoodId, Error> {
    owned(state, owner_id, store_id).await?;
    let mut tx = state.db.begin().await?;
    let id = match food_id {
        None => sqlx::query(
            "INSERT INTO foods (store_id, name, description, price_won, stock, is_hidden, created_at)
             VALUES ($1, $2, $3, $4, 0, $5, $6) RETURNING id",
        )
        .bind(store_id)
        .bind(&food.name)
        .bind(&food.description)
        .bind(food.price.0)
        .bind(i64::from(food.hidden))
        .bind(super::now_ms())
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?,
        Some(id) => {
            let updated = sqlx::query(
                "UPDATE foods SET name = $1, description = $2, price_won = $3, is_hidden = $4
                 WHERE id = $5 AND store_id = $6",
            )
            .bind(&food.name)
            .bind(&food.description)
            .bind(food.price.0)
            .bind(i64::from(food.hidden))
            .bind(id)
            .bind(store_id)
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() != 1 {
                return Err(Error::NotFound);
            }
            id
        }
    };
    tx.commit().await?;
    Ok(id)
}

/// Today's order count, sales and orders per hour for one of the owner's stores.
pub async fn dashboard(
    state: &AppState,
    owner_id: UserId,
    store_id: StoreId,
) -> Result<StoreDashboard, Error> {
    owned(state, owner_id, store_id).await?;
    let rows = sqlx::query(
        "SELECT o.created_at, o.total_won FROM store_queue q JOIN orders o ON o.id = q.order_id
         WHERE q.store_id = $1 AND o.created_at >= $2 AND o.status NOT IN ('rejected', 'cancelled')",
    )
    .bind(store_id)
    .bind(korea_day_start(super::now_ms()))
    .fetch_all(state.db.reader())
    .await?;
    let mut per_hour = vec![0i64; 24];
    let mut sales = 0;
    for row in &rows {
        per_hour[korea_hour(row.try_get::<i64, _>("created_at")?)] += 1;
        sales += row.try_get::<i64, _>("total_won")?;
    }
    Ok(StoreDashboard {
        orders_today: rows.len() as i64,
        sales_today: Won(sales),
        orders_per_hour: per_hour,
    })
}
