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
//! Rider areas: a rider's list shows cooking and cooked orders whose delivery district's
//! reference point is within `BAEDAL_RIDER_RADIUS_M` of the rider (`deliveries::board`). Drop-off
//! points are district reference points, so the area key of an order is its delivery district,
//! and a rider's stream listens on exactly the districts whose reference point is within the
//! radius of the position the page shows the list for (sent as `/live?lat=&lng=` or
//! `?area=`), plus those near the rider's home area (the "new delivery nearby" notifications
//! the bell counts). Same distance function, same comparison: a rider hears of every order
//! their list can show, and of no other.
//!
//! Sessions: every stream is registered under its session (the token's hash). Signing out
//! ends that session's streams at once, on every instance (`Change::SessionEnded` goes through
//! the same NOTIFY); a session's expiry ends them by a local timer. No stream asks the
//! database anything after it opened.

use super::db::Engine;
use super::session_cache::SessionCache;
use super::{now_ms, sessions, AppState};
use domain::{CurrentUser, District, GeoPoint, LiveNotice, OrderStatus, RiderPosition, Role};
use futures::task::AtomicWaker;
use futures::Stream;
use serde::{Deserialize, Serialize};
use sqlx::Row;
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
        order_id: i64,
        customer_id: i64,
        store_id: i64,
        rider_id: Option<i64>,
        status: OrderStatus,
        /// The delivery district (riders' area key).
        #[serde(default)]
        district: Option<String>,
    },
    /// Hints may have been missed (the PostgreSQL listener reconnected): every page re-reads.
    Resync,
    /// A session was signed out (or revoked): its streams end. `session` is the token's hash.
    SessionEnded { session: String },
    /// What a user's sessions say about them (their 동네) changed: instances forget what they
    /// remembered of those sessions (`session_cache`).
    UserChanged { user_id: i64 },
}

/// What a stream listens on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    Customer(i64),
    Store(i64),
    Rider(i64),
    /// Riders whose list covers deliveries to this district.
    Area(District),
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
            if let Some(area) = district
                .as_deref()
                .and_then(|d| District::parse("district", d).ok())
            {
                keys.push(Key::Area(area));
            }
        }
        keys
    }
}

/// The districts whose deliveries a rider at `point` sees (the same test as the board's).
pub fn areas_near(point: GeoPoint, radius_m: f64) -> impl Iterator<Item = District> {
    District::all().filter(move |district| point.distance_m(district.center()) <= radius_m)
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

/// Tells open pages, on every instance, that `order_id` changed. The status sent is the one
/// the customer's view now shows (the orders row may already be further on, with the events
/// that say so still to be handled: their hints follow).
pub async fn order_changed(state: &AppState, order_id: i64) {
    match state.db.engine() {
        // One round trip: the database builds the hint and notifies every instance.
        Engine::Postgres => {
            let sent = sqlx::query(
                "SELECT pg_notify($1, json_build_object(
                        'type', 'Order', 'order_id', o.id, 'customer_id', o.customer_id,
                        'store_id', o.store_id, 'rider_id', o.rider_id,
                        'status', COALESCE(v.status, o.status), 'district', o.district)::text)
                 FROM orders o LEFT JOIN order_views v ON v.order_id = o.id WHERE o.id = $2",
            )
            .bind(CHANNEL)
            .bind(order_id)
            .execute(state.db.writer())
            .await;
            if let Err(error) = sent {
                tracing::warn!(%error, order_id, "live update not sent");
            }
        }
        // One process: nobody listening, nothing to look up.
        Engine::Sqlite if state.live.streams() == 0 => {}
        Engine::Sqlite => match order_change(state, order_id).await {
            Ok(Some(change)) => state.live.deliver_locally(&change),
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, order_id, "live update skipped"),
        },
    }
}

/// The session behind `token` ended (signed out, replaced or revoked): its open streams end at
/// once, on this instance and (PostgreSQL) every other, and no instance remembers it.
pub async fn session_ended(state: &AppState, token: &str) {
    let change = Change::SessionEnded {
        session: sessions::token_hash(token),
    };
    broadcast(state, &change).await;
}

/// What `user_id`'s sessions say about them changed: every instance looks them up afresh.
pub async fn user_changed(state: &AppState, user_id: i64) {
    broadcast(state, &Change::UserChanged { user_id }).await;
}

/// Delivers `change` here and (PostgreSQL) on every other instance.
async fn broadcast(state: &AppState, change: &Change) {
    state.live.deliver_locally(change);
    if state.db.engine() == Engine::Postgres {
        let payload = serde_json::to_string(change).expect("changes serialise");
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(payload)
            .execute(state.db.writer())
            .await;
        if let Err(error) = sent {
            tracing::warn!(%error, "change not sent to other instances");
        }
    }
}

async fn order_change(state: &AppState, order_id: i64) -> Result<Option<Change>, sqlx::Error> {
    let Some(row) = sqlx::query(
        "SELECT o.customer_id, o.store_id, o.rider_id, o.district,
                COALESCE(v.status, o.status) AS status
         FROM orders o LEFT JOIN order_views v ON v.order_id = o.id WHERE o.id = $1",
    )
    .bind(order_id)
    .fetch_optional(state.db.reader())
    .await?
    else {
        return Ok(None);
    };
    let status = OrderStatus::parse(&row.try_get::<String, _>("status")?)
        .ok_or_else(|| sqlx::Error::Decode("unknown order status".into()))?;
    Ok(Some(Change::Order {
        order_id,
        customer_id: row.try_get("customer_id")?,
        store_id: row.try_get("store_id")?,
        rider_id: row.try_get("rider_id")?,
        status,
        district: row.try_get("district")?,
    }))
}

/// On PostgreSQL, hands every instance's hints to this instance's hub. Returns once listening
/// (or after 5 s without success; it keeps trying in the background).
pub async fn listen(state: &AppState) -> Option<tokio::task::JoinHandle<()>> {
    if state.db.engine() != Engine::Postgres {
        return None;
    }
    let url = state.db.url().to_string();
    let live = state.live.clone();
    // Until it listens, this instance would not hear of sessions ended elsewhere.
    live.sessions().resync(false);
    let (ready, is_ready) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let mut ready = Some(ready);
        loop {
            match sqlx::postgres::PgListener::connect(&url).await {
                Ok(mut listener) => {
                    if listener.listen(CHANNEL).await.is_ok() {
                        live.sessions().resync(true);
                        if let Some(ready) = ready.take() {
                            let _ = ready.send(());
                        }
                        loop {
                            match listener.try_recv().await {
                                Ok(Some(notification)) => {
                                    match serde_json::from_str::<Change>(notification.payload()) {
                                        Ok(change) => live.deliver_locally(&change),
                                        Err(error) => {
                                            tracing::warn!(%error, "undecodable live update")
                                        }
                                    }
                                }
                                // The connection dropped and came back: hints sent meanwhile
                                // are lost, so every page re-reads.
                                Ok(None) => live.deliver_locally(&Change::Resync),
                                Err(error) => {
                                    tracing::warn!(%error, "live LISTEN failed; reconnecting");
                                    live.deliver_locally(&Change::Resync);
                                    live.sessions().resync(false);
                                    break;
                                }
                            }
                        }
                    }
                }
                Err(error) => tracing::warn!(%error, "live LISTEN connection failed; retrying"),
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    if tokio::time::timeout(Duration::from_secs(5), is_ready)
        .await
        .is_err()
    {
        tracing::warn!("live updates: not yet listening on PostgreSQL; pages will poll");
    }
    Some(task)
}

/// Where a rider's list is centred (`/live?lat=&lng=` or `?area=`; neither: the home area).
#[derive(Debug, Default, Deserialize)]
pub struct Place {
    #[serde(default)]
    lat: String,
    #[serde(default)]
    lng: String,
    #[serde(default)]
    area: String,
}

/// The keys a signed-in person's page listens on.
async fn keys_for(
    state: &AppState,
    user: &CurrentUser,
    place: &Place,
) -> Result<Vec<Key>, crate::Error> {
    Ok(match user.role {
        Role::Customer => vec![Key::Customer(user.id)],
        Role::Owner => sqlx::query("SELECT id FROM stores WHERE owner_id = $1")
            .bind(user.id)
            .fetch_all(state.db.reader())
            .await?
            .iter()
            .map(|row| row.try_get(0).map(Key::Store))
            .collect::<Result<_, _>>()?,
        Role::Rider => {
            let home = user
                .district
                .as_deref()
                .and_then(|name| District::parse("district", name).ok());
            let position = RiderPosition::parse(&place.lat, &place.lng, &place.area, home)
                .map_err(crate::Error::from)?;
            rider_keys(user.id, position, home, state.settings.rider_radius_m)
        }
    })
}

/// A rider's keys: their own deliveries, the districts their list at `position` covers, and
/// those near their home area (the bell's "new delivery nearby").
pub fn rider_keys(
    rider_id: i64,
    position: RiderPosition,
    home: Option<District>,
    radius_m: f64,
) -> Vec<Key> {
    let mut keys = vec![Key::Rider(rider_id)];
    let centres = std::iter::once(position.point()).chain(home.map(District::center));
    for centre in centres {
        for area in areas_near(centre, radius_m) {
            if !keys.contains(&Key::Area(area)) {
                keys.push(Key::Area(area));
            }
        }
    }
    keys
}

/// Why a stream was not opened.
#[derive(Debug)]
pub enum NotOpened {
    /// Not signed in, the session lookup failed, or the rider's place is wrong.
    Failed(crate::Error),
    /// Over one of the limits (`BAEDAL_LIVE_MAX_PER_SESSION`, `BAEDAL_LIVE_MAX_PER_ADDRESS`).
    Refused(Refused),
}

/// Opens the live stream of the person whose session `token` names: their keys (`place`
/// centres a rider's list), within the limits, until the session expires. The HTTP side
/// (`GET /live`, Server-Sent Events) is the app's (`app::door::live`).
pub async fn open(
    state: &AppState,
    token: Option<&str>,
    place: &Place,
    address: Option<IpAddr>,
) -> Result<Notices, NotOpened> {
    let found = match token {
        Some(token) => sessions::user_until(state, token).await,
        None => Ok(None),
    };
    let (user, expires_at) = match found {
        Ok(Some(found)) => found,
        Ok(None) => return Err(NotOpened::Failed(crate::Error::Unauthenticated)),
        Err(error) => {
            tracing::error!(%error, "live: session lookup failed");
            return Err(NotOpened::Failed(error.into()));
        }
    };
    let keys = keys_for(state, &user, place)
        .await
        .map_err(NotOpened::Failed)?;
    let session = sessions::token_hash(token.unwrap_or_default());
    let slot = state
        .live
        .subscribe(keys, session, address)
        .map_err(NotOpened::Refused)?;
    let left = Duration::from_millis((expires_at - now_ms()).max(0) as u64);
    Ok(Notices {
        live: state.live.clone(),
        slot,
        started: false,
        expiry: Box::pin(tokio::time::sleep(left)),
    })
}

/// One open stream: `ready` first, then whatever its slot receives, until the slot is ended
/// (sign-out, shutdown) or the session expires. Leaving the hub is its drop.
pub struct Notices {
    live: Live,
    slot: Arc<Slot>,
    started: bool,
    expiry: Pin<Box<tokio::time::Sleep>>,
}

impl Stream for Notices {
    type Item = LiveNotice;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if !this.started {
            this.started = true;
            return Poll::Ready(Some(LiveNotice::Ready));
        }
        for attempt in 0..2 {
            match this.slot.take() {
                Taken::Notice(notice) => return Poll::Ready(Some(notice)),
                Taken::Ended => return Poll::Ready(None),
                // Register, then look again: a push between the two is not missed.
                Taken::Nothing if attempt == 0 => this.slot.waker.register(cx.waker()),
                Taken::Nothing => {}
            }
        }
        // The session expired: the stream ends (the page's reconnection gets 401).
        if this.expiry.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    }
}

impl Drop for Notices {
    fn drop(&mut self) {
        self.live.unsubscribe(&self.slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(status: OrderStatus, rider_id: Option<i64>) -> Change {
        Change::Order {
            order_id: 9,
            customer_id: 1,
            store_id: 5,
            rider_id,
            status,
            district: Some("마포구".into()),
        }
    }

    fn district(name: &str) -> District {
        District::parse("d", name).unwrap()
    }

    fn rider(id: i64, area: &str) -> Vec<Key> {
        let home = district(area);
        rider_keys(id, RiderPosition::Area(home), Some(home), 3_000.0)
    }

    fn hears(keys: &[Key], change: &Change) -> bool {
        change.keys().iter().any(|key| keys.contains(key))
    }

    #[test]
    fn each_page_hears_only_what_concerns_it() {
        let placed = change(OrderStatus::Placed, None);
        assert!(hears(&[Key::Customer(1)], &placed));
        assert!(!hears(&[Key::Customer(2)], &placed));
        assert!(hears(&[Key::Store(4), Key::Store(5)], &placed));
        assert!(!hears(&[Key::Store(4)], &placed));
        assert!(!hears(&rider(7, "마포구"), &placed));
        let cooked = change(OrderStatus::Cooked, None);
        assert!(hears(&rider(7, "마포구"), &cooked));
        assert!(!hears(&rider(7, "서대문구"), &cooked), "3.4 km away");
        assert!(!hears(&rider(7, "강남구"), &cooked), "far away");
        // Between 마포구 and 서대문구: both are within the radius.
        let between = RiderPosition::Located(GeoPoint {
            lat: 37.572,
            lng: 126.919,
        });
        let keys = rider_keys(7, between, Some(district("강남구")), 3_000.0);
        assert!(keys.contains(&Key::Area(district("마포구"))));
        assert!(keys.contains(&Key::Area(district("서대문구"))));
        assert!(keys.contains(&Key::Area(district("강남구"))), "home area");
        assert!(hears(&keys, &cooked));
        let picked_up = change(OrderStatus::PickedUp, Some(7));
        assert!(hears(&rider(7, "강남구"), &picked_up));
        assert!(!hears(&rider(8, "마포구"), &picked_up));
    }

    #[test]
    fn a_riders_areas_are_the_districts_their_list_can_show() {
        let radius = 3_000.0;
        for centre in District::all() {
            let keys = rider_keys(1, RiderPosition::Area(centre), None, radius);
            for dropoff in District::all() {
                let shown = centre.center().distance_m(dropoff.center()) <= radius;
                assert_eq!(
                    keys.contains(&Key::Area(dropoff)),
                    shown,
                    "{centre} → {dropoff}"
                );
            }
        }
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
            .subscribe(vec![Key::Customer(1)], "a".into(), None)
            .unwrap();
        let other = live
            .subscribe(vec![Key::Customer(2)], "b".into(), None)
            .unwrap();
        let carrying = live
            .subscribe(rider(7, "마포구"), "c".into(), None)
            .unwrap();
        live.deliver_locally(&change(OrderStatus::Cooked, Some(7)));
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
}
