//! Switches that make a step fail on purpose, so tests can prove what happens when it does
//! (e.g. that a payment is cancelled when its order cannot be saved).
//!
//! Only compiled with the `fault-injection` feature, which only the server's tests turn on
//! (server's `[dev-dependencies]`; with Cargo's resolver 2 a dev-dependency's features reach
//! test and bench builds only). Why not always, switched off: these are ways to make checkout
//! and the sagas fail, and production state should hold nothing that can do that, nor pay an
//! atomic load on every order for it. So a production build (`cargo build --release -p
//! server`) has neither `AppState::faults` nor the checks at the steps that can fail
//! (`orders::checkout`, `sagas`), while the tests hold the running server's `AppState` and
//! flip a switch for the duration of one call. Nothing reaches them from configuration or
//! HTTP: the tests that spawn the real binary (kill -9, the gateway) use none.

use std::sync::atomic::{AtomicBool, Ordering};

/// Every switch starts off; a test holding the server's `AppState` turns one on.
#[derive(Debug, Default)]
pub struct Faults {
    order_commit: AtomicBool,
    order_commit_ack: AtomicBool,
    store_side: AtomicBool,
}

impl Faults {
    pub fn fail_order_commit(&self) -> bool {
        self.order_commit.load(Ordering::SeqCst)
    }

    pub fn set_fail_order_commit(&self, fail: bool) {
        self.order_commit.store(fail, Ordering::SeqCst);
    }

    /// The order's commit reaches the database but its acknowledgement is lost on the way
    /// back (the connection drops right after COMMIT): the outcome looks unknown.
    pub fn lose_order_commit_ack(&self) -> bool {
        self.order_commit_ack.load(Ordering::SeqCst)
    }

    pub fn set_lose_order_commit_ack(&self, lose: bool) {
        self.order_commit_ack.store(lose, Ordering::SeqCst);
    }

    /// The store-side handlers fail (as if the store system were down).
    pub fn store_side_down(&self) -> bool {
        self.store_side.load(Ordering::SeqCst)
    }

    pub fn set_store_side_down(&self, down: bool) {
        self.store_side.store(down, Ordering::SeqCst);
    }
}
