//! Rate limits: sign-in per account and per client address (failures, with a lock-out),
//! sign-up and checkout per client address. In memory, per instance: several instances behind
//! a load balancer each count on their own, so the effective limit is at most the number of
//! instances times the configured one (still enough to stop guessing passwords at speed).
//!
//! Each limit is "at most `max` events in `window`": once `max` events fall inside the last
//! `window`, further attempts are refused (429, `Retry-After`) until the oldest of them is
//! older than `window`. For sign-in only failures count, so the window is also the lock-out.

use crate::Error;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What a person is told when a limit refuses them.
pub const TOO_MANY: &str = "요청이 너무 많습니다. 잠시 후 다시 시도해 주세요.";

/// "At most `max` events in `window`"; `max` 0 turns the limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub max: u32,
    pub window: Duration,
}

impl Limit {
    pub const OFF: Limit = Limit {
        max: 0,
        window: Duration::ZERO,
    };

    pub const fn new(max: u32, window_s: u64) -> Limit {
        Limit {
            max,
            window: Duration::from_secs(window_s),
        }
    }

    /// `"5/900"` (5 per 900 s), or `"0"`/`"off"` for no limit.
    pub fn parse(raw: &str) -> Result<Limit, LimitParseError> {
        let raw = raw.trim();
        if raw == "0" || raw.eq_ignore_ascii_case("off") {
            return Ok(Limit::OFF);
        }
        let (max, window) = raw
            .split_once('/')
            .ok_or_else(|| LimitParseError::Shape(raw.to_string()))?;
        let max: u32 = max
            .trim()
            .parse()
            .map_err(|_| LimitParseError::Count(max.to_string()))?;
        let window: u64 = window
            .trim()
            .parse()
            .map_err(|_| LimitParseError::Window(window.to_string()))?;
        if window == 0 && max != 0 {
            return Err(LimitParseError::EmptyWindow);
        }
        Ok(Limit::new(max, window))
    }
}

/// Why a limit setting could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitParseError {
    #[error("{0:?} is not COUNT/SECONDS (e.g. 5/900) or off")]
    Shape(String),
    #[error("{0:?} is not a whole number")]
    Count(String),
    #[error("{0:?} is not a whole number of seconds")]
    Window(String),
    #[error("the window must be at least 1 second")]
    EmptyWindow,
}

/// The limits of one instance (`BAEDAL_LIMIT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitConfig {
    /// Failed sign-ins per account (e-mail) before it is locked out for the window.
    pub sign_in_account: Limit,
    /// Failed sign-ins per client address, whatever the account.
    pub sign_in_address: Limit,
    /// Sign-ups per client address.
    pub sign_up_address: Limit,
    /// Checkouts per client address.
    pub checkout_address: Limit,
    /// Delivery-address changes per account: each is a call to the address search, whose key
    /// has a daily quota one account must not spend.
    pub address_search_account: Limit,
}

impl Default for LimitConfig {
    fn default() -> Self {
        LimitConfig {
            sign_in_account: Limit::new(5, 15 * 60),
            sign_in_address: Limit::new(50, 15 * 60),
            sign_up_address: Limit::new(20, 60 * 60),
            checkout_address: Limit::new(60, 60),
            address_search_account: Limit::new(20, 60 * 60),
        }
    }
}

/// One limit's events per key.
#[derive(Debug)]
struct Counter {
    limit: Limit,
    events: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Counter {
    fn new(limit: Limit) -> Self {
        Counter {
            limit,
            events: Mutex::new(HashMap::new()),
        }
    }

    /// How long `key` must still wait, if its limit is reached now.
    fn blocked(&self, key: &str, now: Instant) -> Option<Duration> {
        if self.limit.max == 0 {
            return None;
        }
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        let times = events.get_mut(key)?;
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.limit.window)
        {
            times.pop_front();
        }
        if times.is_empty() {
            events.remove(key);
            return None;
        }
        (times.len() >= self.limit.max as usize)
            .then(|| self.limit.window - now.duration_since(times[0]))
    }

    fn record(&self, key: &str, now: Instant) {
        if self.limit.max == 0 {
            return;
        }
        let mut events = self.events.lock().unwrap_or_else(|e| e.into_inner());
        // Keep the map bounded: forget keys whose events have all expired.
        if events.len() > 100_000 {
            let window = self.limit.window;
            events.retain(|_, times| {
                times
                    .back()
                    .is_some_and(|t| now.duration_since(*t) < window)
            });
        }
        let times = events.entry(key.to_string()).or_default();
        times.push_back(now);
        while times.len() > self.limit.max as usize {
            times.pop_front();
        }
    }

    /// Refused if the limit is reached, else counted.
    fn take(&self, key: &str, now: Instant) -> Result<(), Error> {
        if let Some(wait) = self.blocked(key, now) {
            return Err(too_many(wait));
        }
        self.record(key, now);
        Ok(())
    }
}

fn too_many(wait: Duration) -> Error {
    Error::TooManyRequests {
        message: TOO_MANY.into(),
        retry_after_s: wait.as_secs_f64().ceil().max(1.0) as u64,
    }
}

/// Every limit of this instance.
#[derive(Debug)]
pub struct RateLimits {
    sign_in_account: Counter,
    sign_in_address: Counter,
    sign_up_address: Counter,
    checkout_address: Counter,
    address_search_account: Counter,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::new(LimitConfig::default())
    }
}

impl RateLimits {
    pub fn new(config: LimitConfig) -> Self {
        RateLimits {
            sign_in_account: Counter::new(config.sign_in_account),
            sign_in_address: Counter::new(config.sign_in_address),
            sign_up_address: Counter::new(config.sign_up_address),
            checkout_address: Counter::new(config.checkout_address),
            address_search_account: Counter::new(config.address_search_account),
        }
    }

    /// Before a signed-in person's address is searched (배달 주소 변경).
    pub fn address_search(&self, user_id: domain::UserId) -> Result<(), Error> {
        self.address_search_account
            .take(&user_id.to_string(), Instant::now())
    }

    /// Before checking a password: refused while the account or the address is locked out.
    pub fn sign_in_allowed(&self, email: &str, address: Option<IpAddr>) -> Result<(), Error> {
        let now = Instant::now();
        let account = self.sign_in_account.blocked(&email.to_lowercase(), now);
        let address = address.and_then(|a| self.sign_in_address.blocked(&a.to_string(), now));
        match account.max(address) {
            Some(wait) => Err(too_many(wait)),
            None => Ok(()),
        }
    }

    /// A wrong password (or unknown e-mail) counts against the account and the address.
    pub fn sign_in_failed(&self, email: &str, address: Option<IpAddr>) {
        let now = Instant::now();
        self.sign_in_account.record(&email.to_lowercase(), now);
        if let Some(address) = address {
            self.sign_in_address.record(&address.to_string(), now);
        }
    }

    pub fn sign_up(&self, address: Option<IpAddr>) -> Result<(), Error> {
        match address {
            Some(address) => self
                .sign_up_address
                .take(&address.to_string(), Instant::now()),
            None => Ok(()),
        }
    }

    pub fn checkout(&self, address: Option<IpAddr>) -> Result<(), Error> {
        match address {
            Some(address) => self
                .checkout_address
                .take(&address.to_string(), Instant::now()),
            None => Ok(()),
        }
    }
}

/// The client's address as the server decided it (the peer, or the gateway's
/// `X-Forwarded-For` when configured to trust it), kept in the request by the server's guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddress(pub IpAddr);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_and_refuse_nonsense() {
        assert_eq!(Limit::parse("5/900").unwrap(), Limit::new(5, 900));
        assert_eq!(Limit::parse("off").unwrap(), Limit::OFF);
        assert_eq!(Limit::parse("0").unwrap(), Limit::OFF);
        assert_eq!(Limit::parse("5"), Err(LimitParseError::Shape("5".into())));
        assert_eq!(
            Limit::parse("five/60"),
            Err(LimitParseError::Count("five".into()))
        );
        assert_eq!(Limit::parse("5/0"), Err(LimitParseError::EmptyWindow));
    }

    #[test]
    fn a_counter_refuses_past_its_limit_until_the_window_passes() {
        let counter = Counter::new(Limit::new(2, 10));
        let start = Instant::now();
        assert!(counter.take("a", start).is_ok());
        assert!(counter.take("a", start + Duration::from_secs(1)).is_ok());
        let refused = counter
            .take("a", start + Duration::from_secs(2))
            .unwrap_err();
        assert!(
            matches!(
                refused,
                Error::TooManyRequests {
                    retry_after_s: 8,
                    ..
                }
            ),
            "{refused:?}"
        );
        // Another key is not affected.
        assert!(counter.take("b", start + Duration::from_secs(2)).is_ok());
        // Once the first event is older than the window, one more is allowed.
        assert!(counter.take("a", start + Duration::from_secs(10)).is_ok());
        assert!(counter.take("a", start + Duration::from_secs(10)).is_err());
    }

    #[test]
    fn sign_in_locks_out_after_failures_only() {
        let limits = RateLimits::new(LimitConfig {
            sign_in_account: Limit::new(2, 60),
            ..LimitConfig::default()
        });
        let address = Some(IpAddr::from([10, 0, 0, 1]));
        for _ in 0..10 {
            assert!(limits.sign_in_allowed("a@b.kr", address).is_ok());
        }
        limits.sign_in_failed("A@b.kr", address);
        assert!(limits.sign_in_allowed("a@b.kr", address).is_ok());
        limits.sign_in_failed("a@b.kr", address);
        assert!(matches!(
            limits.sign_in_allowed("a@B.kr", address),
            Err(Error::TooManyRequests { .. })
        ));
        assert!(limits.sign_in_allowed("other@b.kr", address).is_ok());
    }

    #[test]
    fn off_never_refuses() {
        let counter = Counter::new(Limit::OFF);
        let now = Instant::now();
        for _ in 0..1000 {
            assert!(counter.take("a", now).is_ok());
        }
    }
}
