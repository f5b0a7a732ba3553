//! A page's stream: which keys it listens on (`keys_for`: a rider's area from the position the
//! page shows), opening it within the limits, and the stream of notices itself, which leaves
//! the hub when dropped.

use super::*;
use domain::UserId;

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
        Role::Owner => sqlx::query_scalar("SELECT id FROM stores WHERE owner_id = $1")
            .bind(user.id)
            .fetch_all(state.db.reader())
            .await?
            .into_iter()
            .map(Key::Store)
            .collect(),
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

/// A rider's keys: their own deliveries, the cells their list at `position` covers, and those
/// around their home area (the bell's "new delivery nearby").
pub fn rider_keys(
    rider_id: UserId,
    position: RiderPosition,
    home: Option<District>,
    radius_m: f64,
) -> Vec<Key> {
    let centres = std::iter::once(position.point()).chain(home.map(District::center));
    let cells: std::collections::HashSet<Key> = centres
        .flat_map(|centre| cells_near(centre, radius_m))
        .collect();
    std::iter::once(Key::Rider(rider_id)).chain(cells).collect()
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
