//! Reading stores and menus for the customer's and the owner's pages.

use super::AppState;
use crate::domain::{GeoPoint, MenuItem, OwnedStore, StoreSummary, Won};
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

/// The owner's stores with their full menus (hidden dishes included), oldest store first.
pub async fn owned_by(state: &AppState, owner_id: i64) -> Result<Vec<OwnedStore>, sqlx::Error> {
    let store_rows = sqlx::query(
        "SELECT id, name, district, address, is_open FROM stores WHERE owner_id = $1 ORDER BY id",
    )
    .bind(owner_id)
    .fetch_all(state.db.reader())
    .await?;
    let food_rows = sqlx::query(
        "SELECT f.store_id, f.id, f.name, f.description, f.price_won, f.stock, f.is_hidden
         FROM foods f JOIN stores s ON s.id = f.store_id
         WHERE s.owner_id = $1 ORDER BY f.id",
    )
    .bind(owner_id)
    .fetch_all(state.db.reader())
    .await?;
    let mut stores = store_rows
        .iter()
        .map(|row| {
            Ok(OwnedStore {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                district: row.try_get("district")?,
                address: row.try_get("address")?,
                is_open: row.try_get::<i64, _>("is_open")? == 1,
                menu: Vec::new(),
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    for row in &food_rows {
        let store_id: i64 = row.try_get("store_id")?;
        if let Some(store) = stores.iter_mut().find(|s| s.id == store_id) {
            store.menu.push(menu_item(row)?);
        }
    }
    Ok(stores)
}
