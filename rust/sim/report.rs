//! What the L2 venue reports: fills, order status changes, book status changes and counters.
//!
//! All are small values; prices are ticks and quantities steps of the venue's book. The venue
//! appends them to buffers that the caller drains at its own cadence, so nothing here is kept
//! per market event.

use std::sync::Arc;

use super::candle::Liquidity;
use crate::orders::OrderStatus;
use crate::types::Side;

/// One fill of one of our orders.
#[derive(Debug, Clone, PartialEq)]
pub struct SimFill {
    /// Venue time of the fill (the market event or the order arrival that caused it).
    pub ts_ns: i64,
    pub client_id: Arc<str>,
    pub side: Side,
    /// Price in ticks.
    pub price: i64,
    /// Quantity in steps (> 0).
    pub qty: i64,
    /// Fee in the quote asset (negative for a rebate).
    pub fee: f64,
    pub liquidity: Liquidity,
}

/// Why the venue refused an order or a cancel.
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(eq, eq_int, hash, frozen, from_py_object, module = "gradtrade._core")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum VenueReject {
    /// A post-only (LIMIT_MAKER) order that would have taken liquidity at arrival.
    POST_ONLY_WOULD_CROSS,
    /// The order arrived while the book was invalid (no snapshot yet, or a sequence gap): no fill
    /// is simulated on a stale book.
    BOOK_NOT_SYNCED,
    /// The cancel arrived after the order had filled completely.
    CANCEL_TOO_LATE,
}

/// A status change of one of our orders at the venue (NEW, FILLED, CANCELED, EXPIRED,
/// REJECTED). A rejected cancel is reported with the order's current status and a reason.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderEvent {
    pub ts_ns: i64,
    pub client_id: Arc<str>,
    pub status: OrderStatus,
    pub reason: Option<VenueReject>,
}

/// A change of the book's usability.
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(eq, eq_int, hash, frozen, from_py_object, module = "gradtrade._core")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum BookStatus {
    /// A snapshot made the book usable (the first one, or after a gap).
    SYNCED,
    /// A diff did not continue the sequence: the book is invalid until the next snapshot.
    SEQUENCE_GAP,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookEvent {
    pub ts_ns: i64,
    pub status: BookStatus,
}

/// How many market events of each kind the venue has processed, and what became of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub events: u64,
    pub depth_applied: u64,
    /// Diffs already contained in the book (before or straddling the snapshot).
    pub depth_stale: u64,
    /// Diffs held while the book was not synced (before the snapshot, after a gap), to be
    /// replayed onto the next snapshot.
    pub depth_buffered: u64,
    /// Held diffs that could not be applied at the resync (malformed or crossing) and were
    /// dropped.
    pub depth_refused: u64,
    pub sequence_gaps: u64,
    pub snapshots: u64,
    pub trades: u64,
    /// Trades that could not fill anything because the book was invalid.
    pub trades_on_invalid_book: u64,
    pub book_tickers: u64,
}
