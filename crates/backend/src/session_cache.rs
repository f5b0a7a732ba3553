//! Who is behind a session token, remembered for a few seconds per instance, so that a page
//! does not ask the database who its caller is on every request (on PostgreSQL that lookup is
//! a round trip to another machine, and a page's whole data is one or two more).
//!
//! Correctness comes from push, not from the short lifetime: signing out, replacing a session
//! and changing what a user's pages show (their 동네) drop the cached entries at once — on this
//! instance directly, on the others through the live-update channel (`live::Change`), which
//! every instance already listens on. An instance that is not listening (its PostgreSQL
//! listener is down or reconnecting, when it may have missed such a change) forgets everything
//! and asks the database every time until it listens again. A lookup that raced with a change
//! (read before it, stored after it) is not stored: every change bumps a generation that the
//! lookup compares before storing.

use domain::CurrentUser;
use domain::UserId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an entry is trusted without hearing anything: a safety net only.
pub const TTL: Duration = Duration::from_secs(10);

/// Entries at most; past that, new lookups are not stored until old ones run out.
const CAPACITY: usize = 50_000;

#[derive(Debug, Clone)]
pub struct Cached {
    pub user: CurrentUser,
    pub expires_at: i64,
    pub last_seen_at: i64,
    stored: Instant,
}

#[derive(Debug)]
pub struct SessionCache {
    entries: Mutex<HashMap<String, Cached>>,
    /// When a full cache was last swept of stale entries: at most once per `TTL`, so that a
    /// full cache of fresh entries does not cost every lookup a walk over all of them.
    swept: Mutex<Option<Instant>>,
    generation: AtomicU64,
    /// Whether this instance hears of every change (always on SQLite: one process).
    in_sync: AtomicBool,
}

impl Default for SessionCache {
    fn default() -> Self {
        SessionCache {
            entries: Mutex::new(HashMap::new()),
            swept: Mutex::new(None),
            generation: AtomicU64::new(0),
            in_sync: AtomicBool::new(true),
        }
    }
}

impl SessionCache {
    /// The entry for a token's hash, if fresh.
    pub fn get(&self, hash: &str) -> Option<Cached> {
        if !self.in_sync.load(Ordering::SeqCst) {
            return None;
        }
        let entries = self.entries.lock().expect("session cache lock");
        entries
            .get(hash)
            .filter(|cached| cached.stored.elapsed() < TTL)
            .cloned()
    }

    /// The generation to hand back to [`SessionCache::put`] after reading the database.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Stores what the database said, unless something changed since `generation` was taken.
    pub fn put(
        &self,
        generation: u64,
        hash: &str,
        user: CurrentUser,
        expires_at: i64,
        last_seen_at: i64,
    ) {
        let mut entries = self.entries.lock().expect("session cache lock");
        if !self.in_sync.load(Ordering::SeqCst) || self.generation() != generation {
            return;
        }
        if entries.len() >= CAPACITY {
            let mut swept = self.swept.lock().expect("session cache lock");
            if swept.is_none_or(|at| at.elapsed() >= TTL) {
                entries.retain(|_, cached| cached.stored.elapsed() < TTL);
                *swept = Some(Instant::now());
            }
            if entries.len() >= CAPACITY {
                return;
            }
        }
        entries.insert(
            hash.to_string(),
            Cached {
                user,
                expires_at,
                last_seen_at,
                stored: Instant::now(),
            },
        );
    }

    /// Records that the session was used at `at` (its `last_seen_at` was written).
    pub fn touched(&self, hash: &str, at: i64) {
        if let Some(cached) = self
            .entries
            .lock()
            .expect("session cache lock")
            .get_mut(hash)
        {
            cached.last_seen_at = at;
        }
    }

    /// A session ended (signed out, replaced).
    pub fn forget_session(&self, hash: &str) {
        let mut entries = self.entries.lock().expect("session cache lock");
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.remove(hash);
    }

    /// What a user's sessions say about them changed.
    pub fn forget_user(&self, user_id: UserId) {
        let mut entries = self.entries.lock().expect("session cache lock");
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.retain(|_, cached| cached.user.id != user_id);
    }

    /// Forgets everything; while `in_sync` is false, stores and answers nothing.
    pub fn resync(&self, in_sync: bool) {
        let mut entries = self.entries.lock().expect("session cache lock");
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.in_sync.store(in_sync, Ordering::SeqCst);
        entries.clear();
    }

    pub fn len(&self) -> usize {
        self.entries.lock().expect("session cache lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::Role;

    fn user(id: i64) -> CurrentUser {
        CurrentUser {
            id: UserId(id),
            email: format!("u{id}@example.com"),
            display_name: "손님".into(),
            role: Role::Customer,
            district: Some("마포구".into()),
            address: None,
            address_detail: None,
        }
    }

    #[test]
    fn entries_are_dropped_by_session_by_user_and_by_resync() {
        let cache = SessionCache::default();
        cache.put(cache.generation(), "a", user(1), 10, 5);
        cache.put(cache.generation(), "b", user(1), 10, 5);
        cache.put(cache.generation(), "c", user(2), 10, 5);
        assert_eq!(cache.get("a").unwrap().user.id, UserId(1));
        cache.forget_session("a");
        assert!(cache.get("a").is_none());
        cache.forget_user(UserId(1));
        assert!(cache.get("b").is_none());
        assert_eq!(cache.get("c").unwrap().user.id, UserId(2));
        cache.resync(false);
        assert!(cache.get("c").is_none());
        cache.put(cache.generation(), "c", user(2), 10, 5);
        assert!(cache.get("c").is_none(), "not listening: nothing is kept");
        cache.resync(true);
        cache.put(cache.generation(), "c", user(2), 10, 5);
        assert!(cache.get("c").is_some());
    }

    #[test]
    fn a_lookup_that_raced_with_a_change_is_not_stored() {
        let cache = SessionCache::default();
        let before = cache.generation();
        cache.forget_session("a"); // signed out while the lookup read the database
        cache.put(before, "a", user(1), 10, 5);
        assert!(cache.get("a").is_none());
    }
}
