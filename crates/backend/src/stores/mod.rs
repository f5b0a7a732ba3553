//! Stores and menus: what customers browse (`nearby`, the menus), the owner's board of orders
//! and today's numbers (`board`), and the owner's edits (`edit`: open/closed, stock, dishes).

use crate::Db;
use crate::Error;
use domain::{full_address, DeliveryTerms, GeoPoint, MenuItem, OwnedStore, StoreSummary, Won};
use domain::{FoodId, StoreId, UserId};
use sqlx::FromRow;

mod board;
mod edit;

pub use board::{board, dashboard, store_orders};
pub use edit::{save_food, save_terms, set_open, set_stock};

/// Every store with its distance from `from` and its terms there, nearest first: stores that
/// deliver to `from` before those that do not, and open before closed at equal distance.
/// Hidden dishes do not count towards the menu size.
pub async fn nearby(db: &Db, from: GeoPoint) -> Result<Vec<StoreSummary>, sqlx::Error> {
    #[derive(FromRow)]
    struct Nearby {
        #[sqlx(flatten)]
        store: StoreRow,
        menu_count: i64,
    }
    let rows: Vec<Nearby> = sqlx::query_as(&format!(
        "SELECT {STORE_COLUMNS},
                (SELECT COUNT(*) FROM foods f WHERE f.store_id = s.id AND f.is_hidden = 0) AS menu_count
         FROM stores s"
    ))
    .fetch_all(db.reader())
    .await?;
    let mut stores: Vec<StoreSummary> = rows
        .into_iter()
        .map(|row| {
            let distance_m = from.distance_m(row.store.point());
            let terms = row.store.terms;
            StoreSummary {
                id: row.store.id,
                name: row.store.name,
                district: row.store.district,
                address: full_address(&row.store.address, &row.store.address_detail),
                is_open: row.store.is_open == 1,
                distance_m,
                menu_count: row.menu_count,
                terms,
                delivery: terms.quote(distance_m),
            }
        })
        .collect();
    stores.sort_by(|a, b| {
        b.delivery
            .deliverable
            .cmp(&a.delivery.deliverable)
            .then(a.distance_m.total_cmp(&b.distance_m))
            .then(b.is_open.cmp(&a.is_open))
    });
    Ok(stores)
}

/// The columns a [`StoreRow`] is read from, `stores` aliased `s`.
pub(crate) const STORE_COLUMNS: &str = "s.id, s.name, s.district, s.address, s.address_detail, \
     s.is_open, s.lat, s.lng, s.min_order_won, s.tip_won, s.tip_per_km_won, s.radius_m";

/// A store's row as the pages read it: where it is, whether it is open, its delivery terms.
#[derive(FromRow)]
pub(crate) struct StoreRow {
    pub id: StoreId,
    pub name: String,
    pub district: String,
    pub address: String,
    pub address_detail: String,
    /// 0 or 1 (a BIGINT on both engines).
    pub is_open: i64,
    pub lat: f64,
    pub lng: f64,
    #[sqlx(flatten)]
    pub terms: DeliveryTerms,
}

impl StoreRow {
    pub fn point(&self) -> GeoPoint {
        GeoPoint {
            lat: self.lat,
            lng: self.lng,
        }
    }
}

/// A dish's row as the menus read it (`foods`: id, name, description, price_won, stock,
/// is_hidden); the customer's menu and the owner's read the same columns.
#[derive(FromRow)]
pub(crate) struct DishRow {
    pub id: FoodId,
    pub name: String,
    pub description: String,
    pub price_won: Won,
    pub stock: i64,
    pub is_hidden: i64,
}

impl From<DishRow> for MenuItem {
    fn from(row: DishRow) -> Self {
        MenuItem {
            id: row.id,
            name: row.name,
            description: row.description,
            price: row.price_won,
            stock: row.stock,
            is_hidden: row.is_hidden == 1,
        }
    }
}

/// The owner's stores with their full menus (hidden dishes included), oldest store first. One
/// query: both owner pages (the board, the menu) are re-read at every change, so round trips
/// are what they cost.
pub async fn owned_by(db: &Db, owner_id: UserId) -> Result<Vec<OwnedStore>, sqlx::Error> {
    // A store without dishes is one row whose dish columns are NULL.
    #[derive(FromRow)]
    struct Owned {
        store_id: StoreId,
        store_name: String,
        district: String,
        address: String,
        address_detail: String,
        is_open: i64,
        #[sqlx(flatten)]
        terms: DeliveryTerms,
        food_id: Option<FoodId>,
    }
    let rows = sqlx::query(
        "SELECT s.id AS store_id, s.name AS store_name, s.district, s.address, s.address_detail,
                s.is_open, s.min_order_won, s.tip_won, s.tip_per_km_won, s.radius_m,
                f.id AS food_id, f.id, f.name, f.description, f.price_won, f.stock, f.is_hidden
         FROM stores s LEFT JOIN foods f ON f.store_id = s.id
         WHERE s.owner_id = $1 ORDER BY s.id, f.id",
    )
    .bind(owner_id)
    .fetch_all(db.reader())
    .await?;
    let mut stores: Vec<OwnedStore> = Vec::new();
    for row in &rows {
        let owned = Owned::from_row(row)?;
        if stores.last().map(|s| s.id) != Some(owned.store_id) {
            stores.push(OwnedStore {
                id: owned.store_id,
                name: owned.store_name,
                district: owned.district,
                address: full_address(&owned.address, &owned.address_detail),
                is_open: owned.is_open == 1,
                terms: owned.terms,
                menu: Vec::new(),
            });
        }
        if owned.food_id.is_some() {
            let store = stores.last_mut().expect("pushed above");
            store.menu.push(DishRow::from_row(row)?.into());
        }
    }
    Ok(stores)
}

/// The store's id if `owner_id` owns it; another owner's store is "not found".
async fn owned(db: &Db, owner_id: UserId, store_id: StoreId) -> Result<(), Error> {
    let owner: Option<UserId> = sqlx::query_scalar("SELECT owner_id FROM stores WHERE id = $1")
        .bind(store_id)
        .fetch_optional(db.reader())
        .await?;
    match owner {
        Some(owner) if owner == owner_id => Ok(()),
        _ => Err(Error::NotFound),
    }
}
