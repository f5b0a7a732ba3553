//! The hub's routing: which keys hear which change, a slow stream resyncing, the limits on
//! streams per session and per address.

use super::*;

fn change(status: OrderStatus, rider_id: Option<UserId>) -> Change {
    Change::Order {
        order_id: OrderId(9),
        customer_id: UserId(1),
        store_id: StoreId(5),
        rider_id,
        status,
        district: Some("마포구".into()),
        dropoff: None,
    }
}

fn district(name: &str) -> District {
    District::parse("d", name).unwrap()
}

fn rider(id: i64, area: &str) -> Vec<Key> {
    let home = district(area);
    rider_keys(UserId(id), RiderPosition::Area(home), Some(home), 3_000.0)
}

fn hears(keys: &[Key], change: &Change) -> bool {
    change.keys().iter().any(|key| keys.contains(key))
}

#[test]
fn each_page_hears_only_what_concerns_it() {
    let placed = change(OrderStatus::Placed, None);
    assert!(hears(&[Key::Customer(UserId(1))], &placed));
    assert!(!hears(&[Key::Customer(UserId(2))], &placed));
    assert!(hears(
        &[Key::Store(StoreId(4)), Key::Store(StoreId(5))],
        &placed
    ));
    assert!(!hears(&[Key::Store(StoreId(4))], &placed));
    assert!(!hears(&rider(7, "마포구"), &placed));
    let cooked = change(OrderStatus::Cooked, None);
    assert!(hears(&rider(7, "마포구"), &cooked));
    assert!(!hears(&rider(7, "강남구"), &cooked), "far away");
    // Between 마포구 and 서대문구: both are within the radius.
    let between = RiderPosition::Located(GeoPoint {
        lat: 37.572,
        lng: 126.919,
    });
    let keys = rider_keys(UserId(7), between, Some(district("강남구")), 3_000.0);
    assert!(keys.contains(&cell_of(district("마포구").center())));
    assert!(keys.contains(&cell_of(district("서대문구").center())));
    assert!(
        keys.contains(&cell_of(district("강남구").center())),
        "home area"
    );
    assert!(hears(&keys, &cooked));
    let picked_up = change(OrderStatus::PickedUp, Some(UserId(7)));
    assert!(hears(&rider(7, "강남구"), &picked_up));
    assert!(!hears(&rider(8, "마포구"), &picked_up));
}

/// Every drop-off a rider's list can show is in one of the rider's cells, and the cells stay
/// few: checked for riders at every district's centre and at points between them, against
/// drop-offs every ~100 m across Seoul.
#[test]
fn a_riders_cells_cover_every_dropoff_their_list_can_show() {
    let radius = 3_000.0;
    let riders = District::all()
        .map(|d| d.center())
        .chain((0..40).map(|k| GeoPoint {
            lat: 37.45 + 0.005 * k as f64,
            lng: 126.85 + 0.007 * k as f64,
        }));
    for rider in riders {
        let keys = rider_keys(UserId(1), RiderPosition::Located(rider), None, radius);
        assert!(keys.len() <= 1 + 49, "{} keys", keys.len());
        let mut shown = 0;
        for i in 0..290 {
            for j in 0..440 {
                let dropoff = GeoPoint {
                    lat: 37.42 + 0.001 * i as f64,
                    lng: 126.76 + 0.001 * j as f64,
                };
                if rider.distance_m(dropoff) <= radius {
                    shown += 1;
                    assert!(keys.contains(&cell_of(dropoff)), "{rider:?} → {dropoff:?}");
                }
            }
        }
        assert!(shown > 0);
    }
}

#[test]
fn an_orders_cell_is_its_dropoff_or_its_districts_centre() {
    let here = GeoPoint {
        lat: 37.5518,
        lng: 126.9175,
    };
    let Change::Order { .. } = change(OrderStatus::Cooked, None) else {
        unreachable!()
    };
    let mut located = change(OrderStatus::Cooked, None);
    if let Change::Order { dropoff, .. } = &mut located {
        *dropoff = Some(here);
    }
    assert!(located.keys().contains(&cell_of(here)));
    let old = change(OrderStatus::Cooked, None);
    assert!(old.keys().contains(&cell_of(district("마포구").center())));
}

fn notices(slot: &Slot) -> Vec<LiveNotice> {
    let mut out = Vec::new();
    while let Taken::Notice(notice) = slot.take() {
        out.push(notice);
    }
    out
}

#[test]
fn a_change_wakes_only_its_streams_once_and_a_slow_stream_resyncs() {
    let live = Live::default();
    let customer = live
        .subscribe(vec![Key::Customer(UserId(1))], "a".into(), None)
        .unwrap();
    let other = live
        .subscribe(vec![Key::Customer(UserId(2))], "b".into(), None)
        .unwrap();
    let carrying = live
        .subscribe(rider(7, "마포구"), "c".into(), None)
        .unwrap();
    live.deliver_locally(&change(OrderStatus::Cooked, Some(UserId(7))));
    assert_eq!(live.wakeups(), 2);
    assert_eq!(notices(&customer).len(), 1);
    assert_eq!(notices(&carrying).len(), 1, "once, though on two keys");
    assert!(notices(&other).is_empty());
    for _ in 0..INBOX + 5 {
        live.deliver_locally(&change(OrderStatus::Placed, None));
    }
    assert_eq!(notices(&customer), vec![LiveNotice::Ready]);
    live.deliver_locally(&Change::SessionEnded {
        session: "a".into(),
    });
    assert!(matches!(customer.take(), Taken::Ended));
    assert!(matches!(other.take(), Taken::Nothing));
    live.unsubscribe(&customer);
    live.unsubscribe(&other);
    live.unsubscribe(&carrying);
    assert_eq!(live.streams(), 0);
    assert!(live.hub.routes.lock().unwrap().by_key.is_empty());
}

#[test]
fn limits_per_session_and_address() {
    let live = Live::new(LiveLimits {
        per_session: 2,
        per_address: 3,
    });
    let here: IpAddr = [10, 0, 0, 1].into();
    let a1 = live.subscribe(vec![], "a".into(), Some(here)).unwrap();
    let _a2 = live.subscribe(vec![], "a".into(), Some(here)).unwrap();
    assert_eq!(
        live.subscribe(vec![], "a".into(), Some(here)).err(),
        Some(Refused::Session)
    );
    let _b1 = live.subscribe(vec![], "b".into(), Some(here)).unwrap();
    assert_eq!(
        live.subscribe(vec![], "b".into(), Some(here)).err(),
        Some(Refused::Address)
    );
    live.unsubscribe(&a1);
    assert!(live.subscribe(vec![], "b".into(), Some(here)).is_ok());
}
