//! gradtrade's per-tick hot path.
//!
//! Each module holds pure Rust logic (no PyO3 types, so `cargo test` needs no Python) and, behind
//! the `python` feature, a thin `python.rs` sibling with the bindings. This file only lists them.

pub mod errors;
pub mod features;
pub mod fixed;
pub mod kalman;
pub mod orderbook;
pub mod orders;
pub mod risk;
pub mod sim;

#[cfg(feature = "python")]
mod python_module {
    use pyo3::prelude::*;

    /// The extension module `gradtrade._core`. Users import `gradtrade.core` instead.
    #[pymodule]
    #[pyo3(name = "_core")]
    fn core_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        crate::orderbook::python::register(m)?;
        crate::kalman::python::register(m)?;
        crate::features::python::register(m)?;
        crate::risk::python::register(m)?;
        crate::orders::python::register(m)?;
        crate::sim::python::register(m)?;
        Ok(())
    }
}
