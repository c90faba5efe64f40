//! The simulated venue's per-event hot path: candle fills, queue positions, the L2 venue.
//!
//! - `candle`: fills of market, limit, stop and protective orders on OHLCV bars;
//! - `funding`: perpetual funding cash flows at recorded funding times;
//! - `queue`: our resting order's place in its level (risk-averse and probabilistic models);
//! - `latency`: order-entry and cancel delays (constant or interpolated from recorded ones);
//! - `frames`: trade frames parsed in place, and the kind of each recorded frame;
//! - `report`: fills, order and book events, counters;
//! - `sync`: diffs held while the book is not synced, replayed onto the next snapshot;
//! - `l2`: `L2Venue`, our orders matched against a recorded or live Binance book;
//! - `replay`: a whole recording as arrays, advanced into a venue in one call.

pub mod candle;
pub mod frames;
pub mod funding;
pub mod l2;
pub mod latency;
pub mod queue;
pub mod replay;
pub mod report;
pub mod sync;

pub use candle::{Bar, BarArrays, CandleFill, CandleFillConfig, FillAt, FillReason, Liquidity};
pub use frames::{parse_trade, FrameKind, Trade};
pub use funding::{funding_cashflow, funding_cashflows};
pub use l2::{Balances, L2Config, L2Venue, OrderRequest};
pub use latency::Latency;
pub use queue::{QueueModel, QueuePosition};
pub use replay::Recording;
pub use report::{BookEvent, BookStatus, Counters, OrderEvent, SimFill, VenueReject};

#[cfg(feature = "python")]
pub mod python;

#[cfg(feature = "python")]
mod python_l2;
