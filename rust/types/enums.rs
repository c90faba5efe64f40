//! The order enums that risk and orders share (`Side`, `OrderType`, `TimeInForce`) and the
//! `text_enum!` macro that spells every such enum as Binance does (`OrderStatus` uses it too).

// Variants are spelled as Binance spells them, which is also how Python sees them (`Side.BUY`):
// pyo3's per-variant `name` attribute cannot sit behind the `python` feature's `cfg_attr`.
// Every enum made here is `eq, eq_int, hash, frozen` in Python, like every other pyclass enum.
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[cfg_attr(
            feature = "python",
            pyo3::pyclass(eq, eq_int, hash, frozen, from_py_object, module = "gradtrade._core")
        )]
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
        )]
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

            pub fn parse(text: &str) -> $crate::errors::CoreResult<$name> {
                match text {
                    $($text => Ok($name::$variant),)+
                    other => Err($crate::errors::CoreError::invalid(format!(
                        concat!("unknown ", stringify!($name), " {:?}"),
                        other
                    ))),
                }
            }
        }
    };
}
pub(crate) use text_enum;

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

impl Side {
    /// +1 for a buy, -1 for a sell.
    pub fn sign(self) -> i64 {
        match self {
            Side::BUY => 1,
            Side::SELL => -1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trip() {
        for side in [Side::BUY, Side::SELL] {
            assert_eq!(Side::parse(side.as_str()).unwrap(), side);
        }
        assert!(Side::parse("buy").is_err());
        assert_eq!(
            serde_json::to_string(&OrderType::STOP_LOSS_LIMIT).unwrap(),
            "\"STOP_LOSS_LIMIT\""
        );
        let gtx: TimeInForce = serde_json::from_str("\"GTX\"").unwrap();
        assert_eq!(gtx, TimeInForce::GTX);
    }
}
