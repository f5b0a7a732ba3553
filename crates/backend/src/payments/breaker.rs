//! A circuit breaker for calls to an outside provider.
//!
//! When the payment provider is overloaded, every checkout that waits for its timeout makes
//! things worse: customers stare at a spinner and the provider gets more load. The breaker
//! watches the last `window` calls; when the share of failures or of slow calls crosses its
//! threshold it *opens* and rejects calls at once (the customer is asked to pay a little
//! later). After `open_for` it lets `half_open_probes` calls through: if they all succeed
//! quickly it closes, if any fails it opens again.
//!
//! Business refusals (a declined card) are successes here: the provider answered promptly.

use super::super::metrics;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq)]
pub struct BreakerConfig {
    /// How many recent calls are judged.
    pub window: usize,
    /// No verdict before this many calls are in the window.
    pub min_calls: usize,
    /// Open when at least this share of the window failed (0.0–1.0).
    pub failure_rate: f64,
    /// Open when at least this share of the window was slower than `slow_call`.
    pub slow_call_rate: f64,
    pub slow_call: Duration,
    /// How long to reject calls before probing.
    pub open_for: Duration,
    /// Calls let through while half-open; all must succeed to close.
    pub half_open_probes: usize,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            window: 20,
            min_calls: 5,
            failure_rate: 0.5,
            slow_call_rate: 0.5,
            slow_call: Duration::from_secs(2),
            open_for: Duration::from_secs(10),
            half_open_probes: 3,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half_open",
        }
    }
}

#[derive(Debug)]
enum State {
    Closed,
    Open { until: Instant },
    HalfOpen { in_flight: usize, succeeded: usize },
}

#[derive(Debug, Clone, Copy)]
struct Outcome {
    failed: bool,
    slow: bool,
}

#[derive(Debug)]
struct Inner {
    state: State,
    recent: VecDeque<Outcome>,
}

/// Permission to make one call; hand it back with the call's outcome.
#[derive(Debug)]
#[must_use = "report the call's outcome with CircuitBreaker::record"]
pub struct Permit {
    probe: bool,
    started: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerOpen;

pub struct CircuitBreaker {
    name: &'static str,
    config: BreakerConfig,
    inner: Mutex<Inner>,
}

impl CircuitBreaker {
    pub fn new(name: &'static str, config: BreakerConfig) -> Self {
        metrics::describe(
            "baedal_circuit_breaker_state",
            "gauge",
            "Circuit breaker state: 0 closed, 1 open, 2 half-open.",
        );
        metrics::describe(
            "baedal_circuit_breaker_transitions_total",
            "counter",
            "Circuit breaker state changes, by breaker and new state.",
        );
        metrics::describe(
            "baedal_circuit_breaker_rejected_total",
            "counter",
            "Calls rejected at once because the breaker was open.",
        );
        metrics::gauge_set("baedal_circuit_breaker_state", &[("breaker", name)], 0.0);
        CircuitBreaker {
            name,
            config,
            inner: Mutex::new(Inner {
                state: State::Closed,
                recent: VecDeque::new(),
            }),
        }
    }

    pub fn config(&self) -> &BreakerConfig {
        &self.config
    }

    pub fn state(&self) -> BreakerState {
        match self.inner.lock().expect("breaker lock").state {
            State::Closed => BreakerState::Closed,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Asks to make a call. Fails at once while open (or while half-open with all probes out).
    pub fn try_acquire(&self) -> Result<Permit, BreakerOpen> {
        let mut inner = self.inner.lock().expect("breaker lock");
        let now = Instant::now();
        if let State::Open { until } = inner.state {
            if now < until {
                metrics::counter_add(
                    "baedal_circuit_breaker_rejected_total",
                    &[("breaker", self.name)],
                    1.0,
                );
                return Err(BreakerOpen);
            }
            self.transition(
                &mut inner,
                State::HalfOpen {
                    in_flight: 0,
                    succeeded: 0,
                },
            );
        }
        match &mut inner.state {
            State::Closed => Ok(Permit {
                probe: false,
                started: now,
            }),
            State::HalfOpen {
                in_flight,
                succeeded,
            } => {
                if *in_flight + *succeeded < self.config.half_open_probes {
                    *in_flight += 1;
                    Ok(Permit {
                        probe: true,
                        started: now,
                    })
                } else {
                    metrics::counter_add(
                        "baedal_circuit_breaker_rejected_total",
                        &[("breaker", self.name)],
                        1.0,
                    );
                    Err(BreakerOpen)
                }
            }
            State::Open { .. } => unreachable!("an open breaker returned above"),
        }
    }

    /// Reports how the permitted call went: `failed` for timeouts, 5xx and network errors.
    pub fn record(&self, permit: Permit, failed: bool) {
        let slow = permit.started.elapsed() >= self.config.slow_call;
        let outcome = Outcome { failed, slow };
        let mut inner = self.inner.lock().expect("breaker lock");
        match &mut inner.state {
            State::HalfOpen {
                in_flight,
                succeeded,
            } if permit.probe => {
                *in_flight = in_flight.saturating_sub(1);
                if outcome.failed || outcome.slow {
                    let until = Instant::now() + self.config.open_for;
                    self.transition(&mut inner, State::Open { until });
                } else {
                    *succeeded += 1;
                    if *succeeded >= self.config.half_open_probes {
                        self.transition(&mut inner, State::Closed);
                    }
                }
            }
            State::Closed => {
                inner.recent.push_back(outcome);
                while inner.recent.len() > self.config.window {
                    inner.recent.pop_front();
                }
                if inner.recent.len() >= self.config.min_calls {
                    let calls = inner.recent.len() as f64;
                    let failed = inner.recent.iter().filter(|o| o.failed).count() as f64;
                    let slow = inner.recent.iter().filter(|o| o.slow).count() as f64;
                    if failed / calls >= self.config.failure_rate
                        || slow / calls >= self.config.slow_call_rate
                    {
                        tracing::warn!(
                            breaker = self.name,
                            failure_rate = failed / calls,
                            slow_call_rate = slow / calls,
                            "circuit breaker tripped"
                        );
                        let until = Instant::now() + self.config.open_for;
                        self.transition(&mut inner, State::Open { until });
                    }
                }
            }
            // A call that started before the breaker opened (or a stale probe) changes nothing.
            _ => {}
        }
    }

    fn transition(&self, inner: &mut Inner, to: State) {
        let (label, value) = match to {
            State::Closed => ("closed", 0.0),
            State::Open { .. } => ("open", 1.0),
            State::HalfOpen { .. } => ("half_open", 2.0),
        };
        inner.recent.clear();
        inner.state = to;
        tracing::info!(
            breaker = self.name,
            to = label,
            "circuit breaker state changed"
        );
        metrics::gauge_set(
            "baedal_circuit_breaker_state",
            &[("breaker", self.name)],
            value,
        );
        metrics::counter_add(
            "baedal_circuit_breaker_transitions_total",
            &[("breaker", self.name), ("to", label)],
            1.0,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quick() -> BreakerConfig {
        BreakerConfig {
            window: 10,
            min_calls: 4,
            failure_rate: 0.5,
            slow_call_rate: 0.5,
            slow_call: Duration::from_millis(30),
            open_for: Duration::from_millis(60),
            half_open_probes: 2,
        }
    }

    fn call(breaker: &CircuitBreaker, failed: bool) -> Result<(), BreakerOpen> {
        let permit = breaker.try_acquire()?;
        breaker.record(permit, failed);
        Ok(())
    }

    #[test]
    fn stays_closed_below_the_minimum_number_of_calls() {
        let breaker = CircuitBreaker::new("t1", quick());
        for _ in 0..3 {
            call(&breaker, true).unwrap();
        }
        assert_eq!(breaker.state(), BreakerState::Closed);
    }

    #[test]
    fn opens_on_failure_rate_rejects_then_probes_and_closes() {
        let breaker = CircuitBreaker::new("t2", quick());
        call(&breaker, false).unwrap();
        call(&breaker, false).unwrap();
        call(&breaker, true).unwrap();
        assert_eq!(breaker.state(), BreakerState::Closed);
        call(&breaker, true).unwrap();
        assert_eq!(breaker.state(), BreakerState::Open, "2 of 4 failed = 50%");
        assert_eq!(call(&breaker, false), Err(BreakerOpen));

        std::thread::sleep(Duration::from_millis(70));
        let first = breaker.try_acquire().expect("a probe after open_for");
        assert_eq!(breaker.state(), BreakerState::HalfOpen);
        let second = breaker.try_acquire().expect("second probe");
        assert_eq!(
            breaker.try_acquire().unwrap_err(),
            BreakerOpen,
            "only two probes"
        );
        breaker.record(first, false);
        breaker.record(second, false);
        assert_eq!(breaker.state(), BreakerState::Closed);
        call(&breaker, false).unwrap();
    }

    #[test]
    fn a_failed_probe_opens_again() {
        let breaker = CircuitBreaker::new("t3", quick());
        for _ in 0..4 {
            call(&breaker, true).unwrap();
        }
        std::thread::sleep(Duration::from_millis(70));
        call(&breaker, true).unwrap();
        assert_eq!(breaker.state(), BreakerState::Open);
        assert_eq!(call(&breaker, false), Err(BreakerOpen));
    }

    #[test]
    fn opens_on_slow_calls_even_when_they_succeed() {
        let breaker = CircuitBreaker::new("t4", quick());
        for _ in 0..4 {
            let permit = breaker.try_acquire().unwrap();
            std::thread::sleep(Duration::from_millis(35));
            breaker.record(permit, false);
        }
        assert_eq!(breaker.state(), BreakerState::Open);
    }

    #[test]
    fn the_window_forgets_old_failures() {
        let breaker = CircuitBreaker::new("t5", quick());
        for _ in 0..3 {
            call(&breaker, true).unwrap();
        }
        // 3 failures then successes: after the 4th call the rate is 75% and it opens...
        call(&breaker, false).unwrap();
        assert_eq!(breaker.state(), BreakerState::Open);
        // ...whereas the same failures spread over a full window of successes do not.
        let breaker = CircuitBreaker::new("t6", quick());
        for _ in 0..10 {
            call(&breaker, false).unwrap();
        }
        for _ in 0..4 {
            call(&breaker, true).unwrap();
        }
        assert_eq!(
            breaker.state(),
            BreakerState::Closed,
            "4 of the last 10 failed"
        );
    }
}
