//! Live updates: open pages hear about changes as they happen (Server-Sent Events on `/live`).
//!
//! Why SSE and not WebSockets: the pages only listen; every action still goes through a server
//! function. SSE is plain HTTP (cookies, proxies and HTTP/2 just work) and the browser's
//! `EventSource` reconnects by itself.
//!
//! What is pushed is a *hint*, never data: "order 42 is now cooked". The page then re-reads
//! what it shows through its usual server function, so access checks and the read model stay
//! in one place, and a missed hint costs at most freshness (pages also re-read on reconnect
//! and poll while disconnected).
//!
//! Where hints come from: the outbox worker, after an event's handler has committed — that is
//! when the store's queue, the customer's view and the riders' list have actually changed.
//! Several instances: on PostgreSQL every hint goes through `NOTIFY baedal_live`, and every
//! instance's listener hands it to its own hub, so a page served by instance A hears of an
//! order handled by instance B's worker. On SQLite (one process) hints stay in memory.
//!
//! Who hears what: the [`Hub`] keeps, for every key (a customer, a store, a rider, a rider
//! area), the streams that listen on it. A change is handed only to the streams of the keys it
//! concerns, so its cost grows with the people it concerns, not with the people online. Each
//! stream has a small inbox (16 hints); a stream too slow to empty it is told to re-read
//! everything (`ready`) instead of holding up the publisher.
//!
//! Rider areas: a rider's list shows cooking and cooked orders whose drop-off — the address's
//! coordinates saved with the order — is within `BAEDAL_RIDER_RADIUS_M` of the rider
//! (`deliveries::board`). Drop-offs are anywhere in the city, so the area key of an order is the
//! grid cell (about 1.1 km square) its drop-off is in, and a rider's stream listens on every cell
//! that has a point within the radius of the position the page shows the list for (sent as
//! `/live?lat=&lng=` or `?area=`), plus those around the rider's home area (the "new delivery
//! nearby" notifications the bell counts, addressed by the same distance). A rider hears of
//! every order their list can show; the only others are drop-offs in a border cell just beyond
//! the radius (a few dozen cells per rider, not the city).
//!
//! Sessions: every stream is registered under its session (the token's hash). Signing out
//! ends that session's streams at once, on every instance (`Change::SessionEnded` goes through
//! the same NOTIFY); a session's expiry ends them by a local timer. No stream asks the
//! database anything after it opened.
//!
//! Here: the hub (who listens on what, and handing a change to them); `publish`: how changes
//! reach the hubs (from the worker, sign-outs, other instances); `stream`: opening a page's
//! stream and the stream itself. The hub stays one file (a little over 400 lines): the key
//! map, the subscription and the routing of a change are one data structure.

use domain::{OrderId, StoreId, UserId};
mod publish;
mod stream;

pub use publish::{listen, order_changed, session_ended, user_changed};
pub use stream::{open, rider_keys, NotOpened, Notices, Place};

use super::session_cache::SessionCache;
use super::{now_ms, sessions, AppState};
use domain::{CurrentUser, District, GeoPoint, LiveNotice, OrderStatus, RiderPosition, Role};
use futures::task::AtomicWaker;
use futures::Stream;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

const CHANNEL: &str = "baedal_live";

/// Hints a stream may hold before it is considered lagging (it then gets one `ready`).
const INBOX: usize = 16;

/// Something changed that some open pages show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Change {
    /// An order moved (or entered a store's queue): its customer, its store, its rider and the
    /// riders whose area covers its delivery district care.
    Order {
        order_id: OrderId,
        customer_id: UserId,
        store_id: StoreId,
        rider_id: Option<UserId>,
        status: OrderStatus,
        /// The delivery district (riders' area key).
        #[serde(default)]
        district: Option<String>,
        /// Where it is delivered (orders from before addresses: None, their district's centre).
        #[serde(default)]
        dropoff: Option<GeoPoint>,
    },
    /// Hints may have been missed (the PostgreSQL listener reconnected): every page re-reads.
    Resync,
    /// A session was signed out (or revoked): its streams end. `session` is the token's hash.
    SessionEnded { session: String },
    /// What a user's sessions say about them (their 동네) changed: instances forget what they
    /// remembered of those sessions (`session_cache`).
    UserChanged { user_id: UserId },
}

/// What a stream listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    Customer(UserId),
    Store(StoreId),
    Rider(UserId),
    /// Riders whose list covers deliveries to this grid cell ([`cell_of`]).
    Cell(i32, i32),
}

/// The statuses at which an order enters or leaves riders' lists.
fn riders_list_changes(status: OrderStatus) -> bool {
    matches!(
        status,
        OrderStatus::Cooking
            | OrderStatus::Cooked
            | OrderStatus::RiderAssigned
            | OrderStatus::Cancelled
            | OrderStatus::Rejected
    )
}

impl Change {
    /// The keys whose streams hear of this change (an order change only).
    pub fn keys(&self) -> Vec<Key> {
        let Change::Order {
            customer_id,
            store_id,
            rider_id,
            status,
            district,
            dropoff,
            ..
        } = self
        else {
            return Vec::new();
        };
        let mut keys = vec![Key::Customer(*customer_id), Key::Store(*store_id)];
        if let Some(rider) = rider_id {
            keys.push(Key::Rider(*rider));
        }
        if riders_list_changes(*status) {
            if let Some(point) = domain::dropoff(*dropoff, district.as_deref().unwrap_or_default())
            {
                keys.push(cell_of(point));
            }
        }
        keys
    }
}

/// A cell is 0.01° of latitude by 0.0125° of longitude: about 1.1 km by 1.1 km in Seoul.
const CELL_LAT: f64 = 0.01;
const CELL_LNG: f64 = 0.0125;

/// The grid cell a point is in.
pub fn cell_of(point: GeoPoint) -> Key {
    Key::Cell(
        (point.lat / CELL_LAT).floor() as i32,
        (point.lng / CELL_LNG).floor() as i32,
    )
}

/// The centre of the grid cell `point` is in: where riders' offers measure a drop-off to.
pub fn cell_centre(point: GeoPoint) -> GeoPoint {
    GeoPoint {
        lat: ((point.lat / CELL_LAT).floor() + 0.5) * CELL_LAT,
        lng: ((point.lng / CELL_LNG).floor() + 0.5) * CELL_LNG,
    }
}

/// Seoul City Hall: riders more than [`SERVED_REACH_M`] from it see no deliveries (every
/// delivery address is in Seoul), so their streams listen on no cell.
const SEOUL: GeoPoint = GeoPoint {
    lat: 37.5665,
    lng: 126.978,
};
const SERVED_REACH_M: f64 = 40_000.0;

/// Every cell with a point within `radius_m` of `point`: where the deliveries a rider at
/// `point` sees can be (the board's test is the same distance). A cell counts when its point
/// nearest to `point` (clamping to the cell's sides) is within the radius plus 10 m, which
/// covers the difference between that and the true nearest point on the sphere.
pub fn cells_near(point: GeoPoint, radius_m: f64) -> impl Iterator<Item = Key> {
    // A degree of latitude is at least 110.5 km; of longitude, that times cos(latitude).
    let radius_m = if point.distance_m(SEOUL) > SERVED_REACH_M + radius_m {
        -1.0
    } else {
        radius_m
    };
    let d_lat = radius_m.max(0.0) / 110_000.0;
    let d_lng = radius_m.max(0.0) / (110_000.0 * point.lat.to_radians().cos().max(0.01));
    let rows = ((point.lat - d_lat) / CELL_LAT).floor() as i32
        ..=((point.lat + d_lat) / CELL_LAT).floor() as i32;
    let cols = ((point.lng - d_lng) / CELL_LNG).floor() as i32
        ..=((point.lng + d_lng) / CELL_LNG).floor() as i32;
    rows.flat_map(move |i| cols.clone().map(move |j| (i, j)))
        .filter(move |&(i, j)| {
            let nearest = GeoPoint {
                lat: point
                    .lat
                    .clamp(i as f64 * CELL_LAT, (i + 1) as f64 * CELL_LAT),
                lng: point
                    .lng
                    .clamp(j as f64 * CELL_LNG, (j + 1) as f64 * CELL_LNG),
            };
            point.distance_m(nearest) <= radius_m + 10.0
        })
        .map(|(i, j)| Key::Cell(i, j))
}

/// Limits on concurrent streams (`BAEDAL_LIVE_MAX_PER_SESSION`, `BAEDAL_LIVE_MAX_PER_ADDRESS`).
#[derive(Debug, Clone, Copy)]
pub struct LiveLimits {
    pub per_session: usize,
    pub per_address: usize,
}

impl Default for LiveLimits {
    fn default() -> Self {
        LiveLimits {
            per_session: 8,
            per_address: 64,
        }
    }
}

/// Why a stream was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Session,
    Address,
}

/// The in-process side, shared by every clone: the hub of this instance's open streams.
#[derive(Clone, Default)]
pub struct Live {
    hub: Arc<Hub>,
}

#[derive(Default)]
struct Hub {
    routes: Mutex<Routes>,
    limits: Mutex<LiveLimits>,
    closing: AtomicBool,
    /// Sessions looked up recently; the changes that end or alter them pass through here.
    sessions: SessionCache,
    /// Hints handed to streams (one per stream and change): what idle streams must not cost.
    wakeups: AtomicU64,
    /// Changes routed (order changes, resyncs, ended sessions).
    published: AtomicU64,
    next_id: AtomicU64,
}

#[derive(Default)]
struct Routes {
    by_key: HashMap<Key, Vec<Arc<Slot>>>,
    /// Every open stream, by session (oldest first); also how "every stream" is reached.
    by_session: HashMap<String, Vec<Arc<Slot>>>,
    by_address: HashMap<IpAddr, usize>,
    /// Open streams (kept, not counted: it is read on every change on SQLite).
    open: usize,
    /// Numbers each routed change, so a stream on two of its keys hears of it once.
    seq: u64,
}

/// One open stream's mailbox: what the publisher leaves, what the stream takes.
struct Slot {
    id: u64,
    keys: Vec<Key>,
    session: String,
    address: Option<IpAddr>,
    inbox: Mutex<Inbox>,
    waker: AtomicWaker,
}

#[derive(Default)]
struct Inbox {
    queue: VecDeque<LiveNotice>,
    lagged: bool,
    ended: bool,
    last_seq: u64,
}

enum Taken {
    Notice(LiveNotice),
    Ended,
    Nothing,
}

impl Slot {
    /// Leaves `notice` (once per `seq`); never waits. Returns whether the stream was woken.
    fn push(&self, seq: u64, notice: LiveNotice) -> bool {
        {
            let mut inbox = self.inbox.lock().expect("inbox lock");
            if inbox.ended || (seq != 0 && inbox.last_seq == seq) {
                return false;
            }
            inbox.last_seq = seq;
            if inbox.queue.len() >= INBOX {
                // Too slow to keep up: it will re-read everything instead.
                inbox.lagged = true;
                inbox.queue = VecDeque::new();
            } else if !inbox.lagged {
                inbox.queue.push_back(notice);
            }
        }
        self.waker.wake();
        true
    }

    fn end(&self) {
        self.inbox.lock().expect("inbox lock").ended = true;
        self.waker.wake();
    }

    fn take(&self) -> Taken {
        let mut inbox = self.inbox.lock().expect("inbox lock");
        if inbox.ended {
            return Taken::Ended;
        }
        if inbox.lagged {
            inbox.lagged = false;
            return Taken::Notice(LiveNotice::Ready);
        }
        match inbox.queue.pop_front() {
            Some(notice) => Taken::Notice(notice),
            None => Taken::Nothing,
        }
    }
}

impl Live {
    pub fn new(limits: LiveLimits) -> Self {
        let live = Live::default();
        *live.hub.limits.lock().expect("limits lock") = limits;
        live
    }

    /// Ends every open stream (and any opened later); called first when the server shuts down.
    pub fn close(&self) {
        self.hub.closing.store(true, Ordering::SeqCst);
        let routes = self.hub.routes.lock().expect("routes lock");
        for slot in routes.by_session.values().flatten() {
            slot.end();
        }
    }

    /// The sessions this instance looked up recently.
    pub fn sessions(&self) -> &SessionCache {
        &self.hub.sessions
    }

    /// Open streams on this instance.
    pub fn streams(&self) -> usize {
        self.hub.routes.lock().expect("routes lock").open
    }

    /// Hints handed to streams so far (a stream woken for a change counts once).
    pub fn wakeups(&self) -> u64 {
        self.hub.wakeups.load(Ordering::Relaxed)
    }

    /// Changes this instance has routed so far.
    pub fn published(&self) -> u64 {
        self.hub.published.load(Ordering::Relaxed)
    }

    /// Hands `change` to the streams it concerns on this instance.
    pub fn deliver_locally(&self, change: &Change) {
        let hub = &self.hub;
        let mut routes = hub.routes.lock().expect("routes lock");
        routes.seq += 1;
        let seq = routes.seq;
        let mut woken = 0u64;
        match change {
            Change::Order {
                order_id, status, ..
            } => {
                let notice = LiveNotice::Order {
                    order_id: *order_id,
                    status: *status,
                };
                for key in change.keys() {
                    for slot in routes.by_key.get(&key).into_iter().flatten() {
                        woken += u64::from(slot.push(seq, notice.clone()));
                    }
                }
            }
            Change::Resync => {
                // Changes may have been missed: sessions are looked up afresh.
                hub.sessions.resync(true);
                for slot in routes.by_session.values().flatten() {
                    woken += u64::from(slot.push(seq, LiveNotice::Ready));
                }
            }
            Change::UserChanged { user_id } => hub.sessions.forget_user(*user_id),
            Change::SessionEnded { session } => {
                hub.sessions.forget_session(session);
                for slot in routes.by_session.get(session).into_iter().flatten() {
                    slot.end();
                    woken += 1;
                }
            }
        }
        drop(routes);
        hub.published.fetch_add(1, Ordering::Relaxed);
        hub.wakeups.fetch_add(woken, Ordering::Relaxed);
    }

    /// Registers a new stream on `keys` for `session`, within the limits.
    fn subscribe(
        &self,
        keys: Vec<Key>,
        session: String,
        address: Option<IpAddr>,
    ) -> Result<Arc<Slot>, Refused> {
        let hub = &self.hub;
        let limits = *hub.limits.lock().expect("limits lock");
        let mut routes = hub.routes.lock().expect("routes lock");
        if routes.by_session.get(&session).map_or(0, Vec::len) >= limits.per_session {
            return Err(Refused::Session);
        }
        if let Some(address) = address {
            if routes.by_address.get(&address).copied().unwrap_or(0) >= limits.per_address {
                return Err(Refused::Address);
            }
            *routes.by_address.entry(address).or_default() += 1;
        }
        let slot = Arc::new(Slot {
            id: hub.next_id.fetch_add(1, Ordering::Relaxed),
            keys,
            session,
            address,
            inbox: Mutex::new(Inbox::default()),
            waker: AtomicWaker::new(),
        });
        for key in &slot.keys {
            routes.by_key.entry(*key).or_default().push(slot.clone());
        }
        routes
            .by_session
            .entry(slot.session.clone())
            .or_default()
            .push(slot.clone());
        routes.open += 1;
        if hub.closing.load(Ordering::SeqCst) {
            slot.end();
        }
        Ok(slot)
    }

    fn unsubscribe(&self, slot: &Slot) {
        let mut routes = self.hub.routes.lock().expect("routes lock");
        let routes = &mut *routes;
        fn remove<K: std::hash::Hash + Eq>(map: &mut HashMap<K, Vec<Arc<Slot>>>, key: K, id: u64) {
            if let Some(slots) = map.get_mut(&key) {
                slots.retain(|slot| slot.id != id);
                if slots.is_empty() {
                    map.remove(&key);
                }
            }
        }
        for key in &slot.keys {
            remove(&mut routes.by_key, *key, slot.id);
        }
        remove(&mut routes.by_session, slot.session.clone(), slot.id);
        routes.open -= 1;
        if let Some(address) = slot.address {
            if let Some(count) = routes.by_address.get_mut(&address) {
                *count -= 1;
                if *count == 0 {
                    routes.by_address.remove(&address);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
