//! Order enums and the order status transition table.
//!
//! Binance statuses plus two local ones: PENDING_NEW (sent, not acknowledged) and PENDING_CANCEL
//! (cancel sent, not acknowledged). Terminal statuses have no way out: a late or repeated report
//! for a finished order is either a duplicate (ignored) or an error, never a resurrection.

use serde::{Deserialize, Serialize};

use crate::errors::{CoreError, CoreResult};

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[cfg_attr(
            feature = "python",
            pyo3::pyclass(eq, eq_int, hash, frozen, module = "gradtrade._core")
        )]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(
                #[serde(rename = $text)]
                #[cfg_attr(feature = "python", pyo3(name = $text))]
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
    Side { Buy = "BUY", Sell = "SELL" }
);

text_enum!(
    /// Binance spot and USD-M order types.
    OrderType {
        Limit = "LIMIT",
        Market = "MARKET",
        LimitMaker = "LIMIT_MAKER",
        StopLoss = "STOP_LOSS",
        StopLossLimit = "STOP_LOSS_LIMIT",
        TakeProfit = "TAKE_PROFIT",
        TakeProfitLimit = "TAKE_PROFIT_LIMIT",
        Stop = "STOP",
        StopMarket = "STOP_MARKET",
        TakeProfitMarket = "TAKE_PROFIT_MARKET",
        TrailingStopMarket = "TRAILING_STOP_MARKET",
    }
);

text_enum!(
    /// Time in force; GTX is USD-M's post-only.
    TimeInForce { Gtc = "GTC", Ioc = "IOC", Fok = "FOK", Gtx = "GTX" }
);

text_enum!(
    /// Order status: Binance's plus the local PENDING_NEW and PENDING_CANCEL.
    OrderStatus {
        PendingNew = "PENDING_NEW",
        New = "NEW",
        PartiallyFilled = "PARTIALLY_FILLED",
        Filled = "FILLED",
        PendingCancel = "PENDING_CANCEL",
        Canceled = "CANCELED",
        Rejected = "REJECTED",
        Expired = "EXPIRED",
        ExpiredInMatch = "EXPIRED_IN_MATCH",
    }
);

impl Side {
    /// +1 for a buy, -1 for a sell.
    pub fn sign(self) -> i64 {
        match self {
            Side::Buy => 1,
            Side::Sell => -1,
        }
    }
}

impl OrderStatus {
    pub const ALL: [OrderStatus; 9] = [
        OrderStatus::PendingNew,
        OrderStatus::New,
        OrderStatus::PartiallyFilled,
        OrderStatus::Filled,
        OrderStatus::PendingCancel,
        OrderStatus::Canceled,
        OrderStatus::Rejected,
        OrderStatus::Expired,
        OrderStatus::ExpiredInMatch,
    ];

    /// No transition leaves a terminal status.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            OrderStatus::Filled
                | OrderStatus::Canceled
                | OrderStatus::Rejected
                | OrderStatus::Expired
                | OrderStatus::ExpiredInMatch
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
        PendingNew => !matches!(to, PendingNew),
        New => matches!(
            to,
            PartiallyFilled | Filled | PendingCancel | Canceled | Expired | ExpiredInMatch
        ),
        PartiallyFilled => matches!(
            to,
            Filled | PendingCancel | Canceled | Expired | ExpiredInMatch
        ),
        PendingCancel => matches!(
            to,
            New | PartiallyFilled | Filled | Canceled | Expired | ExpiredInMatch
        ),
        Filled | Canceled | Rejected | Expired | ExpiredInMatch => false,
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
            OrderStatus::PendingNew,
            OrderStatus::New
        ));
        assert!(!transition_allowed(OrderStatus::New, OrderStatus::Rejected));
        assert!(!transition_allowed(
            OrderStatus::New,
            OrderStatus::PendingNew
        ));
    }

    #[test]
    fn text_round_trip() {
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()).unwrap(), s);
        }
        assert!(Side::parse("buy").is_err());
        assert_eq!(
            serde_json::to_string(&OrderType::StopLossLimit).unwrap(),
            "\"STOP_LOSS_LIMIT\""
        );
    }
}
