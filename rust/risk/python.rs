//! Python bindings of `risk`. Thin wrappers: the logic lives in the sibling files.

use std::borrow::Cow;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use super::breaker::TradingState;
use super::engine::{Decision, OrderCheck, RejectReason, RiskEngine};
use super::limits::{self, Decimal, FilterSpec, RiskLimits, SymbolFilters};
use crate::errors::CoreError;
use crate::orders::Side;

/// Text from a `str` or UTF-8 `bytes` argument, without a copy for `str`.
pub(crate) fn text_arg<'a>(obj: &'a Bound<'_, PyAny>, what: &str) -> PyResult<Cow<'a, str>> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Cow::Borrowed(s.to_str()?));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        let text = std::str::from_utf8(b.as_bytes())
            .map_err(|e| CoreError::invalid(format!("{what} is not UTF-8: {e}")))?;
        return Ok(Cow::Borrowed(text));
    }
    Err(PyTypeError::new_err(format!("{what} must be str or bytes")))
}

#[derive(FromPyObject)]
enum DecimalArg {
    Text(String),
    Float(f64),
}

impl From<DecimalArg> for Decimal {
    fn from(arg: DecimalArg) -> Decimal {
        match arg {
            DecimalArg::Text(t) => Decimal::Text(t),
            DecimalArg::Float(f) => Decimal::Float(f),
        }
    }
}

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
        max_order_notional: f64,
        max_position: f64,
        max_leverage: f64,
        max_open_orders: u32,
        max_orders_per_second: u32,
        price_band_bps: f64,
        reduce_drawdown: f64,
        halt_drawdown: f64,
    ) -> PyResult<Self> {
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
        let inner: RiskLimits = serde_json::from_str(&text)
            .map_err(|e| CoreError::invalid(format!("not a RiskLimits JSON: {e}")))?;
        inner.validate()?;
        Ok(PyRiskLimits { inner })
    }
    fn __repr__(&self) -> String {
        format!("RiskLimits({})", self.to_json())
    }
}

/// Binance's per-symbol filters (PRICE_FILTER, LOT_SIZE, NOTIONAL / MIN_NOTIONAL).
#[pyclass(name = "SymbolFilters", module = "gradtrade._core", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PySymbolFilters {
    pub(crate) inner: SymbolFilters,
}

#[pymethods]
impl PySymbolFilters {
    #[new]
    #[pyo3(signature = (symbol, tick_size, step_size, min_qty=DecimalArg::Float(0.0),
        min_notional=DecimalArg::Float(0.0), max_qty=DecimalArg::Float(0.0),
        min_price=DecimalArg::Float(0.0), max_price=DecimalArg::Float(0.0),
        base_asset=None, quote_asset=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        symbol: &str,
        tick_size: DecimalArg,
        step_size: DecimalArg,
        min_qty: DecimalArg,
        min_notional: DecimalArg,
        max_qty: DecimalArg,
        min_price: DecimalArg,
        max_price: DecimalArg,
        base_asset: Option<String>,
        quote_asset: Option<String>,
    ) -> PyResult<Self> {
        let spec = FilterSpec {
            tick_size: tick_size.into(),
            step_size: step_size.into(),
            min_qty: min_qty.into(),
            min_notional: min_notional.into(),
            max_qty: max_qty.into(),
            min_price: min_price.into(),
            max_price: max_price.into(),
        };
        let mut inner = SymbolFilters::new(symbol, &spec)?;
        inner.base_asset = base_asset;
        inner.quote_asset = quote_asset;
        Ok(PySymbolFilters { inner })
    }
    #[staticmethod]
    fn from_exchange_info_json(raw: &Bound<'_, PyAny>, symbol: &str) -> PyResult<Self> {
        let text = text_arg(raw, "exchangeInfo")?;
        Ok(PySymbolFilters {
            inner: limits::from_exchange_info_json(text.as_bytes(), symbol)?,
        })
    }
    /// Filters of every symbol in an `exchangeInfo` response, by symbol.
    #[staticmethod]
    fn all_from_exchange_info_json(
        raw: &Bound<'_, PyAny>,
    ) -> PyResult<std::collections::BTreeMap<String, PySymbolFilters>> {
        let text = text_arg(raw, "exchangeInfo")?;
        Ok(limits::all_from_exchange_info_json(text.as_bytes())?
            .into_iter()
            .map(|inner| (inner.symbol.clone(), PySymbolFilters { inner }))
            .collect())
    }
    #[getter]
    fn symbol(&self) -> &str {
        &self.inner.symbol
    }
    #[getter]
    fn tick_size(&self) -> f64 {
        self.inner.tick_size()
    }
    #[getter]
    fn step_size(&self) -> f64 {
        self.inner.step_size()
    }
    #[getter]
    fn min_qty(&self) -> f64 {
        self.inner.min_qty()
    }
    #[getter]
    fn max_qty(&self) -> Option<f64> {
        self.inner.max_qty()
    }
    #[getter]
    fn min_price(&self) -> f64 {
        self.inner.min_price()
    }
    #[getter]
    fn max_price(&self) -> Option<f64> {
        self.inner.max_price()
    }
    #[getter]
    fn min_notional(&self) -> f64 {
        self.inner.min_notional
    }
    #[getter]
    fn base_asset(&self) -> Option<&str> {
        self.inner.base_asset.as_deref()
    }
    #[getter]
    fn quote_asset(&self) -> Option<&str> {
        self.inner.quote_asset.as_deref()
    }
    fn to_json(&self) -> String {
        serde_json::to_string(&self.inner).expect("filters serialize")
    }
    #[staticmethod]
    fn from_json(raw: &Bound<'_, PyAny>) -> PyResult<Self> {
        let text = text_arg(raw, "SymbolFilters JSON")?;
        let inner: SymbolFilters = serde_json::from_str(&text)
            .map_err(|e| CoreError::invalid(format!("not a SymbolFilters JSON: {e}")))?;
        inner.validate()?;
        Ok(PySymbolFilters { inner })
    }
    fn __repr__(&self) -> String {
        format!(
            "SymbolFilters(symbol={:?}, tick_size={}, step_size={}, min_qty={}, min_notional={})",
            self.inner.symbol,
            self.inner.tick.unit(),
            self.inner.step.unit(),
            self.inner.min_qty(),
            self.inner.min_notional
        )
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
        quantity: f64,
        price: f64,
        mid_or_mark: f64,
        position: f64,
        open_orders: i64,
        equity: f64,
        now_ns: i64,
        reduce_only: bool,
    ) -> PyResult<Py<PyDecision>> {
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
        quantity: f64,
        price: f64,
        mid_or_mark: f64,
        position: f64,
        open_orders: i64,
        equity: f64,
        now_ns: i64,
        reduce_only: bool,
    ) -> PyResult<Py<PyDecision>> {
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

    fn record_order(&mut self, now_ns: i64) {
        self.inner.record_order(now_ns);
    }
    fn update_equity(&mut self, equity: f64) -> PyResult<TradingState> {
        Ok(self.inner.update_equity(equity)?)
    }
    #[pyo3(signature = (equity=None))]
    fn reset(&mut self, equity: Option<f64>) -> PyResult<()> {
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

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<TradingState>()?;
    m.add_class::<RejectReason>()?;
    m.add_class::<PyRiskLimits>()?;
    m.add_class::<PySymbolFilters>()?;
    m.add_class::<PyDecision>()?;
    m.add_class::<PyRiskEngine>()?;
    super::python_sizing::register(m)
}
