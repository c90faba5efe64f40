//! gradtrade's per-tick hot path.
//!
//! Each module holds pure Rust logic (no PyO3 types, so `cargo test` needs no Python) and, behind
//! the `python` feature, a thin `python.rs` sibling with the bindings. `types` holds what several
//! modules share; no other module depends on a sibling in a cycle. This file lists the modules and
//! declares the extension module `gradtrade._core`.

pub mod errors;
pub mod features;
pub mod fixed;
pub mod kalman;
pub mod model;
pub mod orderbook;
pub mod orders;
pub mod risk;
pub mod sim;
pub mod types;

#[cfg(test)]
mod fuzz_tests;

/// The extension module `gradtrade._core`. Users import `gradtrade.core` instead.
#[cfg(feature = "python")]
#[pyo3::pymodule]
mod _core {
    use pyo3::prelude::*;

    #[pymodule_export]
    use crate::features::python::{PyEwma, PyRollingVolatility, PyStreamingFeatures};
    #[pymodule_export]
    use crate::features::python_state::{PyStateNormalization, PyStateRows};
    #[pymodule_export]
    use crate::kalman::python::{PyKalmanFilter, PyKalmanFit};
    #[pymodule_export]
    use crate::model::python::{PyNativeModel, PyNativeModelConfig};
    #[pymodule_export]
    use crate::orderbook::python::{PyMarket, PyOrderBook};
    #[pymodule_export]
    use crate::orders::python::{
        client_order_id, parse_client_order_id, py_transition_allowed, PyOrder, PyPosition,
    };
    #[pymodule_export]
    use crate::orders::OrderStatus;
    #[pymodule_export]
    use crate::risk::python::{PyDecision, PyRiskEngine, PyRiskLimits};
    #[pymodule_export]
    use crate::risk::python_sizing::{
        kelly_leverage, vol_target_leverage, PyDrawdownBreaker, PyPositionSizer,
    };
    #[pymodule_export]
    use crate::risk::{RejectReason, TradingState};
    #[pymodule_export]
    use crate::types::python::PySymbolFilters;
    #[pymodule_export]
    use crate::types::{OrderType, Side, TimeInForce};

    /// Resolves the error classes of `gradtrade.errors` (the import fails loudly without them)
    /// and sets `__version__`.
    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        crate::errors::python::init(m.py())?;
        // the simulation classes register themselves (rust/sim/python.rs)
        crate::sim::python::register(m)?;
        m.add("__version__", env!("CARGO_PKG_VERSION"))
    }
}
