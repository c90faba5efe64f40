//! Python bindings of `risk`'s limits and engine (the breaker and sizing are in
//! `python_sizing.rs`). Thin wrappers: the logic lives in the sibling files.

use pyo3::prelude::*;

use super::breaker::TradingState;
use super::engine::{Decision, OrderCheck, RejectReason, RiskEngine};
use super::limits::RiskLimits;
use crate::types::python::{text_arg, Float, Int, PySymbolFilters};
use crate::types::Side;

/// The user's pre-trade limits (validated on construction).
#[pyclass(name = "RiskLimits", module = "gradtrade._core", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PyRiskLimits {
    pub(crate) inner: RiskLimits,
}

#[pymethods]
impl PyRiskLimits {
    #[new]
    #[pyo3(signature = (*, max_order_notional, max_position, max_leverage, max_open_orders,
        max_orders_per_second, price_band_bps, reduce_drawdown, halt_drawdown))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        max_order_notional: Float,
        max_position: Float,
        max_leverage: Float,
        max_open_orders: Int<u32>,
        max_orders_per_second: Int<u32>,
        price_band_bps: Float,
        reduce_drawdown: Float,
        halt_drawdown: Float,
    ) -> PyResult<Self> {
        let max_order_notional = max_order_notional.0;
        let max_position = max_position.0;
        let max_leverage = max_leverage.0;
        let price_band_bps = price_band_bps.0;
        let reduce_drawdown = reduce_drawdown.0;
        let halt_drawdown = halt_drawdown.0;
        let (max_open_orders, max_orders_per_second) = (max_open_orders.0, max_orders_per_second.0);
        Ok(PyRiskLimits {
            inner: RiskLimits::new(
                max_order_notional,
                max_position,
                max_leverage,
                max_open_orders,
                max_orders_per_second,
                price_band_bps,
                reduce_drawdown,
                halt_drawdown,
            )?,
        })
    }
    #[getter]
    fn max_order_notional(&self) -> f64 {
        self.inner.max_order_notional
    }
    #[getter]
    fn max_position(&self) -> f64 {
        self.inner.max_position
    }
    #[getter]
    fn max_leverage(&self) -> f64 {
        self.inner.max_leverage
    }
    #[getter]
    fn max_open_orders(&self) -> u32 {
        self.inner.max_open_orders
    }
    #[getter]
    fn max_orders_per_second(&self) -> u32 {
        self.inner.max_orders_per_second
    }
    #[getter]
    fn price_band_bps(&self) -> f64 {
        self.inner.price_band_bps
    }
    #[getter]
    fn reduce_drawdown(&self) -> f64 {
        self.inner.reduce_drawdown
    }
    #[getter]
    fn halt_drawdown(&self) -> f64 {
        self.inner.halt_drawdown
    }
    fn to_json(&self) -> String {
        serde_json::to_string(&self.inner).expect("limits serialize")
    }
    #[staticmethod]
    fn from_json(raw: &Bound<'_, PyAny>) -> PyResult<Self> {
        let text = text_arg(raw, "RiskLimits JSON")?;
        Ok(PyRiskLimits {
            inner: RiskLimits::from_json(&text)?,
        })
    }
    fn __repr__(&self) -> String {
        format!("RiskLimits({})", self.to_json())
    }
}

/// The outcome of a pre-trade check. Truthy when approved.
#[pyclass(name = "Decision", module = "gradtrade._core", frozen)]
pub struct PyDecision {
    #[pyo3(get)]
    approved: bool,
    #[pyo3(get)]
    reason: Option<RejectReason>,
    #[pyo3(get)]
    message: String,
}

impl PyDecision {
    fn from_decision(d: Decision) -> PyDecision {
        match d.rejection {
            None => PyDecision {
                approved: true,
                reason: None,
                message: String::new(),
            },
            Some((reason, message)) => PyDecision {
                approved: false,
                reason: Some(reason),
                message,
            },
        }
    }
}

#[pymethods]
impl PyDecision {
    fn __bool__(&self) -> bool {
        self.approved
    }
    fn __repr__(&self) -> String {
        match self.reason {
            None => "Decision(approved=True)".into(),
            Some(r) => format!(
                "Decision(approved=False, reason={r:?}, message={:?})",
                self.message
            ),
        }
    }
}

/// Pre-trade checks for one symbol; see `rust/risk/engine.rs` for the order of the checks.
#[pyclass(name = "RiskEngine", module = "gradtrade._core")]
pub struct PyRiskEngine {
    inner: RiskEngine,
    /// The one approved `Decision`, shared: approving costs no allocation.
    approved: Py<PyDecision>,
}

impl PyRiskEngine {
    fn wrap(py: Python<'_>, inner: RiskEngine) -> PyResult<Self> {
        let approved = Py::new(py, PyDecision::from_decision(Decision::APPROVED))?;
        Ok(PyRiskEngine { inner, approved })
    }

    fn decision(&self, py: Python<'_>, d: Decision) -> PyResult<Py<PyDecision>> {
        if d.approved() {
            Ok(self.approved.clone_ref(py))
        } else {
            Py::new(py, PyDecision::from_decision(d))
        }
    }
}

#[pymethods]
impl PyRiskEngine {
    #[new]
    fn new(py: Python<'_>, limits: &PyRiskLimits, filters: &PySymbolFilters) -> PyResult<Self> {
        Self::wrap(
            py,
            RiskEngine::new(limits.inner.clone(), filters.inner.clone())?,
        )
    }

    /// Pure pre-trade check; records nothing (see `check_and_record`).
    #[pyo3(signature = (side, quantity, price, mid_or_mark, position, open_orders, equity, now_ns,
        reduce_only=false))]
    #[allow(clippy::too_many_arguments)]
    fn check(
        &self,
        py: Python<'_>,
        side: Side,
        quantity: Float,
        price: Float,
        mid_or_mark: Float,
        position: Float,
        open_orders: Int<i64>,
        equity: Float,
        now_ns: Int<i64>,
        reduce_only: bool,
    ) -> PyResult<Py<PyDecision>> {
        let quantity = quantity.0;
        let price = price.0;
        let mid_or_mark = mid_or_mark.0;
        let position = position.0;
        let equity = equity.0;
        let (open_orders, now_ns) = (open_orders.0, now_ns.0);
        let d = self.inner.check(&OrderCheck {
            side,
            quantity,
            price,
            mid_or_mark,
            position,
            open_orders,
            equity,
            now_ns,
            reduce_only,
        });
        self.decision(py, d)
    }

    /// `check`, and when approved count the order against the rate limit at `now_ns`.
    #[pyo3(signature = (side, quantity, price, mid_or_mark, position, open_orders, equity, now_ns,
        reduce_only=false))]
    #[allow(clippy::too_many_arguments)]
    fn check_and_record(
        &mut self,
        py: Python<'_>,
        side: Side,
        quantity: Float,
        price: Float,
        mid_or_mark: Float,
        position: Float,
        open_orders: Int<i64>,
        equity: Float,
        now_ns: Int<i64>,
        reduce_only: bool,
    ) -> PyResult<Py<PyDecision>> {
        let quantity = quantity.0;
        let price = price.0;
        let mid_or_mark = mid_or_mark.0;
        let position = position.0;
        let equity = equity.0;
        let (open_orders, now_ns) = (open_orders.0, now_ns.0);
        let d = self.inner.check_and_record(&OrderCheck {
            side,
            quantity,
            price,
            mid_or_mark,
            position,
            open_orders,
            equity,
            now_ns,
            reduce_only,
        });
        self.decision(py, d)
    }

    fn record_order(&mut self, now_ns: Int<i64>) {
        self.inner.record_order(now_ns.0);
    }
    fn update_equity(&mut self, equity: Float) -> PyResult<TradingState> {
        let equity = equity.0;
        Ok(self.inner.update_equity(equity)?)
    }
    #[pyo3(signature = (equity=None))]
    fn reset(&mut self, equity: Option<Float>) -> PyResult<()> {
        let equity = equity.map(|f| f.0);
        Ok(self.inner.reset(equity)?)
    }
    #[getter]
    fn state(&self) -> TradingState {
        self.inner.state()
    }
    #[getter]
    fn drawdown(&self) -> f64 {
        self.inner.breaker().drawdown()
    }
    #[getter]
    fn limits(&self) -> PyRiskLimits {
        PyRiskLimits {
            inner: self.inner.limits().clone(),
        }
    }
    #[getter]
    fn filters(&self) -> PySymbolFilters {
        PySymbolFilters {
            inner: self.inner.filters().clone(),
        }
    }
    fn to_json(&self) -> String {
        self.inner.to_json()
    }
    #[staticmethod]
    fn from_json(py: Python<'_>, raw: &Bound<'_, PyAny>) -> PyResult<Self> {
        let text = text_arg(raw, "RiskEngine JSON")?;
        Self::wrap(py, RiskEngine::from_json(&text)?)
    }
}
