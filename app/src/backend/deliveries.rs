//! Deliveries for riders: what is near them, and what they carry.
//!
//! Claims, pick-ups and deliveries are status changes like any other and go through
//! `commands::transition` (first claim wins; a rider acts only on their own deliveries).

use super::AppState;
use crate::domain::{
    delivery_fee, items_summary, CurrentUser, DeliveryOffer, District, OrderStatus, RiderBoard,
    RiderDelivery, RiderPosition,
};
use crate::error::AppError;
use sqlx::Row;
use std::collections::HashMap;

/// The rider's board: cooking and cooked orders whose customer is within the radius of
/// `position`, nearest first, and the rider's own active deliveries.
pub async fn board(
    state: &AppState,
    rider: &CurrentUser,
    position: RiderPosition,
) -> Result<RiderBoard, AppError> {
    let here = position.point();
    let radius_m = state.settings.rider_radius_m;
    let rows = sqlx::query(
        "SELECT o.id, o.status, o.district, o.rider_id, s.name AS store_name, s.address, s.lat, s.lng
         FROM orders o JOIN stores s ON s.id = o.store_id
         WHERE o.status IN ('cooking', 'cooked')
            OR (o.rider_id = $1 AND o.status IN ('rider_assigned', 'picked_up'))
         ORDER BY o.id LIMIT 1000",
    )
    .bind(rider.id)
    .fetch_all(state.db.reader())
    .await?;
    let items = items_by_order(state, rider.id).await?;
    let mut offers = Vec::new();
    let mut mine = Vec::new();
    for row in &rows {
        let order_id: i64 = row.try_get("id")?;
        let Some(status) = OrderStatus::parse(&row.try_get::<String, _>("status")?) else {
            continue;
        };
        let district: String = row.try_get("district")?;
        let Ok(dropoff) = District::parse("district", &district) else {
            continue; // an order without a known delivery district cannot be routed
        };
        let store = crate::domain::GeoPoint {
            lat: row.try_get("lat")?,
            lng: row.try_get("lng")?,
        };
        let trip_m = store.distance_m(dropoff.center());
        let store_name: String = row.try_get("store_name")?;
        let pickup_address: String = row.try_get("address")?;
        let items = items.get(&order_id).cloned().unwrap_or_default();
        if row.try_get::<Option<i64>, _>("rider_id")? == Some(rider.id) {
            mine.push(RiderDelivery {
                order_id,
                status,
                store_name,
                pickup_address,
                dropoff: district,
                fee: delivery_fee(trip_m),
                items,
            });
            continue;
        }
        let distance_m = here.distance_m(dropoff.center());
        if distance_m <= radius_m {
            offers.push(DeliveryOffer {
                order_id,
                status,
                store_name,
                pickup_address,
                dropoff: district,
                distance_m,
                trip_m,
                fee: delivery_fee(trip_m),
                items,
            });
        }
    }
    // Nearest first; at equal distance cooked (claimable) before cooking, then oldest first.
    offers.sort_by(|a, b| {
        a.distance_m
            .total_cmp(&b.distance_m)
            .then(b.claimable().cmp(&a.claimable()))
            .then(a.order_id.cmp(&b.order_id))
    });
    Ok(RiderBoard {
        origin: position.label(),
        radius_m,
        max_active: state.settings.rider_max_active,
        offers,
        mine,
    })
}

/// "A 외 N건" for every order the board may show, in one query.
async fn items_by_order(
    state: &AppState,
    rider_id: i64,
) -> Result<HashMap<i64, String>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT l.order_id, l.name FROM order_lines l JOIN orders o ON o.id = l.order_id
         WHERE o.status IN ('cooking', 'cooked')
            OR (o.rider_id = $1 AND o.status IN ('rider_assigned', 'picked_up'))
         ORDER BY l.order_id, l.food_id",
    )
    .bind(rider_id)
    .fetch_all(state.db.reader())
    .await?;
    let mut names: HashMap<i64, Vec<String>> = HashMap::new();
    for row in &rows {
        names
            .entry(row.try_get("order_id")?)
            .or_default()
            .push(row.try_get("name")?);
    }
    Ok(names
        .into_iter()
        .map(|(id, names)| (id, items_summary(&names)))
        .collect())
}
