//! The page side of live updates: listen to `/live` (Server-Sent Events) and turn each hint
//! into a re-read of what the page shows.
//!
//! While the stream is connected nothing is polled (a slow safety re-read every 30 s aside).
//! When it drops, the page re-reads every 3 s until the browser's `EventSource` reconnects;
//! the reconnection's `ready` hint triggers one more re-read, so nothing missed stays missed.
//! When the server refuses the stream for good (429: too many streams of this session or
//! address; 401: signed out), the page keeps polling every 3 s and tries again every 30 s.

use super::auth::Auth;
#[cfg(feature = "hydrate")]
use crate::domain::LiveNotice;
use leptos::prelude::*;

#[derive(Clone, Copy)]
pub struct LiveUpdates {
    /// Bumped whenever the page should re-read what it shows: use it as a resource source.
    pub changes: RwSignal<u32>,
    /// The push connection is open.
    pub connected: RwSignal<bool>,
}

/// Starts listening for the current page while someone is signed in (stops when the page
/// goes away or they sign out). `query` is sent with `/live` (empty: none).
pub fn live_updates(auth: Auth, query: Signal<String>) -> LiveUpdates {
    let updates = LiveUpdates {
        changes: RwSignal::new(0),
        connected: RwSignal::new(false),
    };
    #[cfg(feature = "hydrate")]
    connect(updates, auth, query);
    #[cfg(not(feature = "hydrate"))]
    let _ = (auth, query);
    updates
}

#[cfg(feature = "hydrate")]
fn connect(updates: LiveUpdates, auth: Auth, query: Signal<String>) {
    use send_wrapper::SendWrapper;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    const TICK: std::time::Duration = std::time::Duration::from_secs(3);
    const SAFETY_TICKS: u32 = 10;

    // Reconnect when a different person signs in (not when their profile changes), when the
    // page's query changes, and to retry after the server refused the stream.
    let who = Memo::new(move |_| auth.user.with(|u| u.as_ref().map(|u| u.id)));
    let query = Memo::new(move |_| query.get());
    let retry = RwSignal::new(0u32);
    Effect::new(move |_| {
        // Not before the page is hydrated: the first notice would change it under hydration.
        if !super::hydrated() {
            return;
        }
        retry.track();
        if who.get().is_none() {
            updates.connected.set(false);
            return;
        }
        let url = query.with(|query| {
            if query.is_empty() {
                "/live".to_string()
            } else {
                format!("/live?{query}")
            }
        });
        let source = web_sys::EventSource::new(&url).ok();
        // Closed for good (not reconnecting by itself): refused or signed out.
        let refused = std::rc::Rc::new(std::cell::Cell::new(false));
        let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
            move |event: web_sys::MessageEvent| {
                let Some(text) = event.data().as_string() else {
                    return;
                };
                if crate::codec::from_json::<LiveNotice>(&text).is_ok() {
                    updates.connected.set(true);
                    updates.changes.update(|c| *c += 1);
                }
            },
        );
        let on_error = {
            let (source, refused) = (source.clone(), refused.clone());
            Closure::<dyn FnMut()>::new(move || {
                updates.connected.set(false);
                let closed = source
                    .as_ref()
                    .is_some_and(|s| s.ready_state() == web_sys::EventSource::CLOSED);
                refused.set(closed);
            })
        };
        if let Some(source) = &source {
            source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        }
        let ticks = std::cell::Cell::new(0u32);
        let poll = set_interval_with_handle(
            move || {
                ticks.set(ticks.get().wrapping_add(1));
                if !updates.connected.get_untracked() || ticks.get().is_multiple_of(SAFETY_TICKS) {
                    updates.changes.update(|c| *c += 1);
                }
                if refused.get() && ticks.get().is_multiple_of(SAFETY_TICKS) {
                    retry.update(|r| *r = r.wrapping_add(1));
                }
            },
            TICK,
        )
        .ok();
        let held = SendWrapper::new((source, on_message, on_error));
        on_cleanup(move || {
            if let Some(source) = &held.0 {
                source.close();
            }
            drop(held);
            if let Some(poll) = poll {
                poll.clear();
            }
        });
    });
}

/// "실시간" while pushed updates arrive, else that the page is refreshing by itself.
#[component]
pub fn LiveBadge(updates: LiveUpdates) -> impl IntoView {
    view! {
        <span
            class=move || if updates.connected.get() { "live-badge on" } else { "live-badge off" }
            data-testid="live-status"
            data-connected=move || updates.connected.get().to_string()
        >
            {move || if updates.connected.get() { "● 실시간" } else { "○ 자동 새로고침" }}
        </span>
    }
}
