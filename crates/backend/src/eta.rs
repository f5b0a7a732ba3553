//! The facts an order's ETA is worked out from, as the reads that show it (the customer's
//! order page, the owner's board) select them beside the order. The rules themselves are the
//! domain's (`domain::OrderClock`); this module only gathers their inputs, with the trip
//! measured by `deliveries::measure_trip`, the same trip the rider is paid for.

use crate::deliveries::measure_trip;
use domain::{GeoPoint, OrderClock, OrderStatus};
use sqlx::FromRow;

/// The columns [`ClockRow`] reads, for a query over `orders o JOIN stores s`.
pub(crate) const CLOCK_COLUMNS: &str = "o.cook_minutes, o.accepted_at, o.cooked_at, \
     o.picked_up_at, s.lat AS store_lat, s.lng AS store_lng, o.district AS dropoff_district, \
     o.delivery_lat AS dropoff_lat, o.delivery_lng AS dropoff_lng";

/// An order's times and trip ends (flattened into the row of the read that shows the ETA).
#[derive(Debug, FromRow)]
pub(crate) struct ClockRow {
    cook_minutes: Option<i64>,
    accepted_at: Option<i64>,
    cooked_at: Option<i64>,
    picked_up_at: Option<i64>,
    store_lat: f64,
    store_lng: f64,
    dropoff_district: String,
    dropoff_lat: Option<f64>,
    dropoff_lng: Option<f64>,
}

impl ClockRow {
    /// The order's clock as of `status` (the status the reader is shown).
    pub(crate) fn clock(&self, status: OrderStatus) -> OrderClock {
        let store = GeoPoint {
            lat: self.store_lat,
            lng: self.store_lng,
        };
        OrderClock {
            status,
            accepted_at_ms: self.accepted_at,
            cook_minutes: self.cook_minutes,
            cooked_at_ms: self.cooked_at,
            picked_up_at_ms: self.picked_up_at,
            trip_m: measure_trip(
                store,
                GeoPoint::from_columns(self.dropoff_lat, self.dropoff_lng),
                &self.dropoff_district,
            )
            .map(|trip| trip.trip_m),
        }
    }
}
