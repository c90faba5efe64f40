//! Order status and its transition table (the shared order enums are in `crate::types`).
//!
//! Binance statuses plus two local ones: PENDING_NEW (sent, not acknowledged) and PENDING_CANCEL
//! (cancel sent, not acknowledged). Terminal statuses have no way out: a late or repeated report
//! for a finished order is either a duplicate (ignored) or an error, never a resurrection.

use crate::types::text_enum;

text_enum!(
    /// Order status: Binance's plus the local PENDING_NEW and PENDING_CANCEL.
    OrderStatus {
        PENDING_NEW = "PENDING_NEW",
        NEW = "NEW",
        PARTIALLY_FILLED = "PARTIALLY_FILLED",
        FILLED = "FILLED",
        PENDING_CANCEL = "PENDING_CANCEL",
        CANCELED = "CANCELED",
        REJECTED = "REJECTED",
        EXPIRED = "EXPIRED",
        EXPIRED_IN_MATCH = "EXPIRED_IN_MATCH",
    }
);

impl OrderStatus {
    pub const ALL: [OrderStatus; 9] = [
        OrderStatus::PENDING_NEW,
        OrderStatus::NEW,
        OrderStatus::PARTIALLY_FILLED,
        OrderStatus::FILLED,
        OrderStatus::PENDING_CANCEL,
        OrderStatus::CANCELED,
        OrderStatus::REJECTED,
        OrderStatus::EXPIRED,
        OrderStatus::EXPIRED_IN_MATCH,
    ];

    /// No transition leaves a terminal status.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            OrderStatus::FILLED
                | OrderStatus::CANCELED
                | OrderStatus::REJECTED
                | OrderStatus::EXPIRED
                | OrderStatus::EXPIRED_IN_MATCH
        )
    }

    /// Whether the order may rest on the book or still receive fills.
    pub fn is_open(self) -> bool {
        !self.is_terminal()
    }
}

/// The transition table. `from == to` is not listed: callers treat it as a no-op.
///
/// - PENDING_NEW may hear anything: the acknowledgement can be lost and the first report be a
///   fill, a rejection, an expiry (IOC/FOK) or a cancel; a cancel may be sent before the ack.
/// - NEW / PARTIALLY_FILLED go forward to fills, a cancel request, or an exchange end state.
///   REJECTED only answers a new order, so it is reachable from PENDING_NEW alone.
/// - PENDING_CANCEL may still fill (fills race the cancel), and may return to NEW or
///   PARTIALLY_FILLED when the cancel is rejected.
pub fn transition_allowed(from: OrderStatus, to: OrderStatus) -> bool {
    use OrderStatus::*;
    match from {
        PENDING_NEW => !matches!(to, PENDING_NEW),
        NEW => matches!(
            to,
            PARTIALLY_FILLED | FILLED | PENDING_CANCEL | CANCELED | EXPIRED | EXPIRED_IN_MATCH
        ),
        PARTIALLY_FILLED => matches!(
            to,
            FILLED | PENDING_CANCEL | CANCELED | EXPIRED | EXPIRED_IN_MATCH
        ),
        PENDING_CANCEL => matches!(
            to,
            NEW | PARTIALLY_FILLED | FILLED | CANCELED | EXPIRED | EXPIRED_IN_MATCH
        ),
        FILLED | CANCELED | REJECTED | EXPIRED | EXPIRED_IN_MATCH => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_statuses_have_no_exit() {
        for from in OrderStatus::ALL {
            for to in OrderStatus::ALL {
                if from.is_terminal() {
                    assert!(!transition_allowed(from, to), "{from:?} -> {to:?}");
                }
            }
        }
        assert!(transition_allowed(
            OrderStatus::PENDING_NEW,
            OrderStatus::NEW
        ));
        assert!(!transition_allowed(OrderStatus::NEW, OrderStatus::REJECTED));
        assert!(!transition_allowed(
            OrderStatus::NEW,
            OrderStatus::PENDING_NEW
        ));
    }

    #[test]
    fn text_round_trip() {
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()).unwrap(), s);
        }
        assert!(OrderStatus::parse("new").is_err());
    }
}
