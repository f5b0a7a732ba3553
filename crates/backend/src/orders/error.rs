//! Why a checkout made no order, or cannot tell yet. The backend names the case and keeps the
//! cause; the server-function door (`app::error`) words it for the customer and picks the
//! status, so no control flow here or there runs on a message string.

use domain::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    /// The cart does not fit the store (unknown or closed store, a dish not on its menu, sold
    /// out, more than is left): every problem, per field. Nothing was charged.
    #[error("cart refused: {0:?}")]
    Cart(Vec<FieldError>),
    /// This idempotency key was used for another cart.
    #[error("idempotency key already used for another cart")]
    KeyReused,
    /// An earlier submission with this key is still being charged (waited for it in vain).
    #[error("the same checkout is still being charged")]
    StillCharging,
    /// The provider declined the card: no order was made.
    #[error("payment declined: {reason}")]
    Declined { reason: String },
    /// The provider is overloaded or unreachable, or the circuit breaker is open: nothing is
    /// charged (a charge that may exist is being voided).
    #[error("payment provider unavailable")]
    ProviderUnavailable,
    /// Charged, but the order could not be saved: the payment is being voided.
    #[error("order not saved; its payment is being voided")]
    NotSaved,
    /// Charged, and whether the order was saved cannot be told yet (`database_down`: not even
    /// the database can be asked); the reconciliation settles it.
    #[error("checkout outcome not known yet (database down: {database_down})")]
    OutcomeUnknown { database_down: bool },
    /// The order exists, but reading it back failed.
    #[error("reading the order back: {0}")]
    Order(#[source] crate::Error),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}
