//! The crate's one error type. Outcomes (a stale frame, a risk rejection) are values, not errors;
//! these are for input that cannot be applied. Each variant maps to one Python exception class of
//! `gradtrade.errors` (see `python.rs`), so the message must name the problem for a user.

#[cfg(feature = "python")]
pub mod python;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CoreError {
    /// Malformed or out-of-range input: bad JSON, NaN, negative size, off-grid price, wrong symbol.
    #[error("{0}")]
    InvalidInput(String),
    /// A diff does not continue the sequence; the book is invalid until the next snapshot.
    #[error("{message}")]
    SequenceGap {
        message: String,
        expected: u64,
        received: u64,
    },
    /// An operation needs a synced book (no snapshot yet, or invalidated by a gap).
    #[error("{0}")]
    BookNotSynced(String),
    /// An order status change the transition table forbids.
    #[error("{0}")]
    InvalidTransition(String),
    /// A fill that would take the filled quantity above the order quantity.
    #[error("{0}")]
    Overfill(String),
    /// A numerical failure (a covariance that is not positive definite, a singular matrix).
    #[error("{0}")]
    Numerical(String),
}

pub type CoreResult<T> = Result<T, CoreError>;

impl CoreError {
    pub fn invalid(msg: impl Into<String>) -> Self {
        CoreError::InvalidInput(msg.into())
    }
}
