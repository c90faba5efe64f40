//! Order enums and the order status transition table.
//!
//! Binance statuses plus two local ones: PENDING_NEW (sent, not acknowledged) and PENDING_CANCEL
//! (cancel sent, not acknowledged). Terminal statuses have no way out: a late or repeated report
//! for a finished order is either a duplicate (ignored) or an error, never a resurrection.

use serde::{Deserialize, Serialize};

use crate::errors::{CoreError, CoreResult};

// Variants are spelled as Binance spells them, which is also how Python sees them (`Side.BUY`):
// pyo3's per-variant `name` attribute cannot sit behind the `python` feature's `cfg_attr`.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[cfg_attr(
            feature = "python",
            pyo3::pyclass(eq, eq_int, hash, frozen, from_py_object, module = "gradtrade._core")
        )]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
        pub enum $name {
            $(
                #[serde(rename = $text)]
                $variant,
            )+
        }

        impl $name {
            /// Binance's spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            pub fn parse(text: &str) -> CoreResult<$name> {
                match text {
                    $($text => Ok($name::$variant),)+
                    other => Err(CoreError::invalid(format!(
                        concat!("unknown ", stringify!($name), " {:?}"),
                        other
                    ))),
                }
            }
        }
    };
}

text_enum!(
    /// Order side.
    Side { BUY = "BUY", SELL = "SELL" }
);

text_enum!(
    /// Binance spot and USD-M order types.
    OrderType {
        LIMIT = "LIMIT",
        MARKET = "MARKET",
        LIMIT_MAKER = "LIMIT_MAKER",
        STOP_LOSS = "STOP_LOSS",
        STOP_LOSS_LIMIT = "STOP_LOSS_LIMIT",
        TAKE_PROFIT = "TAKE_PROFIT",
        TAKE_PROFIT_LIMIT = "TAKE_PROFIT_LIMIT",
        STOP = "STOP",
        STOP_MARKET = "STOP_MARKET",
        TAKE_PROFIT_MARKET = "TAKE_PROFIT_MARKET",
        TRAILING_STOP_MARKET = "TRAILING_STOP_MARKET",
    }
);

text_enum!(
    /// Time in force; GTX is USD-M's post-only.
    TimeInForce { GTC = "GTC", IOC = "IOC", FOK = "FOK", GTX = "GTX" }
);

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

impl Side {
    /// +1 for a buy, -1 for a sell.
    pub fn sign(self) -> i64 {
        match self {
            Side::BUY => 1,
            Side::SELL => -1,
        }
    }
}

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
        assert!(Side::parse("buy").is_err());
        assert_eq!(
            serde_json::to_string(&OrderType::STOP_LOSS_LIMIT).unwrap(),
            "\"STOP_LOSS_LIMIT\""
        );
    }
}
