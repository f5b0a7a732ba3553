//! Deliveries for riders: what is near them, and what they carry.
//!
//! Claims, pick-ups and deliveries are status changes like any other and go through
//! `commands::transition` (first claim wins; a rider acts only on their own deliveries).

use super::AppState;
use crate::Error;
use domain::OrderId;
use domain::{
    delivery_fee, full_address, items_summary, CurrentUser, DeliveryOffer, GeoPoint, OrderStatus,
    RiderBoard, RiderDelivery, RiderPosition,
};
use sqlx::FromRow;
use std::collections::HashMap;

/// The rider's board: cooking and cooked orders whose customer is within the radius of
/// `position`, nearest first, and the rider's own active deliveries.
pub async fn board(
    state: &AppState,
    rider: &CurrentUser,
    position: RiderPosition,
) -> Result<RiderBoard, Error> {
    let here = position.point();
    let radius_m = state.settings.rider_radius_m;
    let columns = "o.id, o.status, o.district, o.delivery_lat, o.delivery_lng,
                s.name AS store_name, s.address, s.address_detail, s.lat, s.lng
         FROM orders o JOIN stores s ON s.id = o.store_id";
    // The newest waiting orders city-wide (filtered by distance below), and all of the rider's own.
    let waiting = sqlx::query_as::<_, TripRow>(&format!(
        "SELECT {columns} WHERE o.status IN ('cooking', 'cooked') ORDER BY o.id DESC LIMIT 500"
    ))
    .fetch_all(state.db.reader())
    .await?;
    // Only the rider's own deliveries read the customer's note to the rider and the full
    // address; offers, which every rider nearby sees, name only the district.
    let carried = sqlx::query_as::<_, CarriedRow>(&format!(
        "SELECT o.rider_note, o.delivery_address, {columns} WHERE o.rider_id = $1 AND o.status IN ('rider_assigned', 'picked_up')
         ORDER BY o.id"
    ))
    .bind(rider.id)
    .fetch_all(state.db.reader())
    .await?;
    let mut offers = Vec::new();
    // Offers are measured to the centre of the drop-off's grid cell (about 1.1 km square), not
    // to the door: a rider may ask from any position, and exact distances from a few of them
    // would locate a customer who is not theirs. The rider who claims it gets the address.
    for row in waiting {
        let trip = Trip::from(row);
        let distance_m = here.distance_m(crate::live::cell_centre(trip.dropoff));
        if trip.routable && distance_m <= radius_m {
            offers.push(trip.offer(distance_m));
        }
    }
    let mine: Vec<RiderDelivery> = carried
        .into_iter()
        .map(|row| Trip::from(row.trip).delivery(row.rider_note, row.delivery_address))
        .collect();
    let ids: Vec<OrderId> = offers
        .iter()
        .map(|o| o.order_id)
        .chain(mine.iter().map(|d| d.order_id))
        .collect();
    let items = items_by_order(state, &ids).await?;
    for offer in &mut offers {
        offer.items = items.get(&offer.order_id).cloned().unwrap_or_default();
    }
    let mut mine = mine;
    for delivery in &mut mine {
        delivery.items = items.get(&delivery.order_id).cloned().unwrap_or_default();
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

/// One order as a trip from its store to where the customer is: the address's coordinates
/// saved with the order, or (orders from before addresses) its district's centre.
struct Trip {
    order_id: OrderId,
    status: OrderStatus,
    store_name: String,
    pickup_address: String,
    district: String,
    dropoff: GeoPoint,
    trip_m: f64,
    /// The delivery district is known (orders always have one; old rows might not).
    routable: bool,
}

/// The columns a trip is read from (an order joined with its store).
#[derive(FromRow)]
struct TripRow {
    id: OrderId,
    status: OrderStatus,
    district: String,
    delivery_lat: Option<f64>,
    delivery_lng: Option<f64>,
    store_name: String,
    address: String,
    address_detail: String,
    lat: f64,
    lng: f64,
}

/// One of the rider's own deliveries: the trip and the customer's note to its rider.
#[derive(FromRow)]
struct CarriedRow {
    #[sqlx(flatten)]
    trip: TripRow,
    rider_note: Option<String>,
    delivery_address: Option<String>,
}

impl From<TripRow> for Trip {
    fn from(row: TripRow) -> Trip {
        let store = GeoPoint {
            lat: row.lat,
            lng: row.lng,
        };
        let saved = GeoPoint::from_columns(row.delivery_lat, row.delivery_lng);
        let measured = measure_trip(store, saved, &row.district);
        Trip {
            order_id: row.id,
            status: row.status,
            store_name: row.store_name,
            pickup_address: full_address(&row.address, &row.address_detail),
            district: row.district,
            dropoff: measured.map_or(GeoPoint { lat: 0.0, lng: 0.0 }, |t| t.dropoff),
            trip_m: measured.map_or(0.0, |t| t.trip_m),
            routable: measured.is_some(),
        }
    }
}

/// Where an order is dropped off, and how far that is from its store.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MeasuredTrip {
    pub dropoff: GeoPoint,
    /// Straight-line metres from the store to the drop-off.
    pub trip_m: f64,
}

/// The one place a trip is measured — the rider's distance and fee and the customer's ETA all
/// come from here. The drop-off is the address's coordinates saved with the order (`saved`);
/// an order from before addresses has only its district, whose centre stands in. `None` when
/// neither is known.
pub(crate) fn measure_trip(
    store: GeoPoint,
    saved: Option<GeoPoint>,
    district: &str,
) -> Option<MeasuredTrip> {
    let dropoff = domain::dropoff(saved, district)?;
    Some(MeasuredTrip {
        dropoff,
        trip_m: store.distance_m(dropoff),
    })
}

/// Distances in offers, to the nearest 100 m.
fn to_100_m(metres: f64) -> f64 {
    (metres / 100.0).round() * 100.0
}

impl Trip {
    fn offer(self, distance_m: f64) -> DeliveryOffer {
        DeliveryOffer {
            order_id: self.order_id,
            status: self.status,
            store_name: self.store_name,
            pickup_address: self.pickup_address,
            dropoff: self.district,
            distance_m: to_100_m(distance_m),
            trip_m: to_100_m(self.trip_m),
            fee: delivery_fee(self.trip_m),
            items: String::new(),
        }
    }

    fn delivery(self, rider_note: Option<String>, address: Option<String>) -> RiderDelivery {
        RiderDelivery {
            order_id: self.order_id,
            status: self.status,
            store_name: self.store_name,
            pickup_address: self.pickup_address,
            dropoff: address.unwrap_or(self.district),
            fee: delivery_fee(self.trip_m),
            items: String::new(),
            rider_note,
        }
    }
}

/// "A 외 N건" for each of `ids`, in one query.
async fn items_by_order(
    state: &AppState,
    ids: &[OrderId],
) -> Result<HashMap<OrderId, String>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "SELECT order_id, name FROM order_lines WHERE order_id IN ({}) ORDER BY order_id, food_id",
        crate::db::placeholders(1, ids.len())
    );
    let mut query = sqlx::query_as::<_, (OrderId, String)>(&sql);
    for id in ids {
        query = query.bind(*id);
    }
    let rows = query.fetch_all(state.db.reader()).await?;
    let mut names: HashMap<OrderId, Vec<String>> = HashMap::new();
    for (order_id, name) in rows {
        names.entry(order_id).or_default().push(name);
    }
    Ok(names
        .into_iter()
        .map(|(id, names)| (id, items_summary(&names)))
        .collect())
}
