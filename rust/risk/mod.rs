//! Pre-trade risk: user limits (`limits`; the exchange filters are `crate::types`), the drawdown
//! circuit breaker (`breaker`), the per-order check (`engine`) and position sizing with
//! protective levels (`sizing`). Everything is pure Rust; `python.rs` and `python_sizing.rs`
//! hold the bindings.

pub mod breaker;
pub mod engine;
pub mod limits;
pub mod sizing;

#[cfg(feature = "python")]
pub mod python;
#[cfg(feature = "python")]
pub mod python_sizing;

pub use breaker::{DrawdownBreaker, TradingState};
pub use engine::{Decision, OrderCheck, RejectReason, RiskEngine};
pub use limits::RiskLimits;
pub use sizing::{kelly_leverage, vol_target_leverage, PositionSizer};
