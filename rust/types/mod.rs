//! Types several modules share: the order enums (`Side`, `OrderType`, `TimeInForce`) and the
//! exchange's per-symbol filters with their grid-unit helpers. `risk` and `orders` both build
//! on this module and never on each other; `python.rs` holds their bindings and the one copy of
//! the argument helpers every other binding uses.

mod enums;
mod filters;

#[cfg(feature = "python")]
pub mod python;

pub(crate) use enums::text_enum;
pub use enums::{OrderType, Side, TimeInForce};
pub use filters::{
    all_from_exchange_info_json, ceil_units, exact_units, floor_units, from_exchange_info_json,
    Decimal, FilterSpec, SymbolFilters,
};
