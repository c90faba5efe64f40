//! L2 order book per symbol: fixed-point levels, Binance's sync rules checked on every update,
//! depth JSON parsed straight onto the grid, and the normalized features the model consumes.
//!
//! - `side`: one side's levels (a dense window near the top over `chunked` sorted chunks);
//! - `parse`: strict depthUpdate / REST snapshot JSON scanner;
//! - `book`: `OrderBook`, sequence rules, atomic application, order-flow imbalance;
//! - `normalize`: prices as floats, mid, spread, microprice, feature vector;
//! - `state`: JSON persistence of the whole book (restart without a new snapshot).

pub mod book;
pub mod chunked;
pub mod normalize;
pub mod parse;
pub mod side;
pub mod state;

pub use book::{DiffIds, Market, OrderBook, SyncState};
pub use normalize::{feature_len, feature_names, MAX_FEATURE_LEVELS};

#[cfg(feature = "python")]
pub mod python;
