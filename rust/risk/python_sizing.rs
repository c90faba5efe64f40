//! Python bindings of the drawdown breaker and of sizing (split from `python.rs` for length;
//! neither file imports the other).

use pyo3::prelude::*;

use super::breaker::{DrawdownBreaker, TradingState};
use super::sizing::{self, PositionSizer};
use crate::types::python::{text_arg, Float, PySymbolFilters};
use crate::types::Side;

/// Drawdown circuit breaker: ACTIVE -> REDUCING -> HALTED, back only through `reset`.
#[pyclass(name = "DrawdownBreaker", module = "gradtrade._core")]
pub struct PyDrawdownBreaker {
    inner: DrawdownBreaker,
}

#[pymethods]
impl PyDrawdownBreaker {
    #[new]
    fn new(reduce_drawdown: Float, halt_drawdown: Float) -> PyResult<Self> {
        let reduce_drawdown = reduce_drawdown.0;
        let halt_drawdown = halt_drawdown.0;
        Ok(PyDrawdownBreaker {
            inner: DrawdownBreaker::new(reduce_drawdown, halt_drawdown)?,
        })
    }
    fn update(&mut self, equity: Float) -> PyResult<TradingState> {
        let equity = equity.0;
        Ok(self.inner.update(equity)?)
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
    fn high_water_mark(&self) -> f64 {
        self.inner.high_water_mark()
    }
    #[getter]
    fn drawdown(&self) -> f64 {
        self.inner.drawdown()
    }
    fn to_json(&self) -> String {
        serde_json::to_string(&self.inner).expect("breaker serializes")
    }
    #[staticmethod]
    fn from_json(raw: &Bound<'_, PyAny>) -> PyResult<Self> {
        let text = text_arg(raw, "DrawdownBreaker JSON")?;
        Ok(PyDrawdownBreaker {
            inner: DrawdownBreaker::from_json(&text)?,
        })
    }
}

/// Sizes positions from predicted return and volatility and sets stop-loss / take-profit.
#[pyclass(name = "PositionSizer", module = "gradtrade._core", frozen)]
pub struct PyPositionSizer {
    inner: PositionSizer,
}

#[pymethods]
impl PyPositionSizer {
    #[new]
    #[pyo3(signature = (filters, *, kelly_fraction, target_vol, max_leverage, k_sl=Float(2.0),
        k_tp=Float(3.0)),
        text_signature = "(filters, *, kelly_fraction, target_vol, max_leverage, k_sl=2.0, k_tp=3.0)")]
    fn new(
        filters: &PySymbolFilters,
        kelly_fraction: Float,
        target_vol: Float,
        max_leverage: Float,
        k_sl: Float,
        k_tp: Float,
    ) -> PyResult<Self> {
        let kelly_fraction = kelly_fraction.0;
        let target_vol = target_vol.0;
        let max_leverage = max_leverage.0;
        let k_sl = k_sl.0;
        let k_tp = k_tp.0;
        Ok(PyPositionSizer {
            inner: PositionSizer::new(
                filters.inner.clone(),
                kelly_fraction,
                target_vol,
                max_leverage,
                k_sl,
                k_tp,
            )?,
        })
    }
    fn leverage(&self, mu: Float, sigma: Float) -> PyResult<f64> {
        let mu = mu.0;
        let sigma = sigma.0;
        Ok(self.inner.leverage(mu, sigma)?)
    }
    fn size(&self, mu: Float, sigma: Float, equity: Float, price: Float) -> PyResult<f64> {
        let mu = mu.0;
        let sigma = sigma.0;
        let equity = equity.0;
        let price = price.0;
        Ok(self.inner.size(mu, sigma, equity, price)?)
    }
    fn stops(&self, side: Side, entry: Float, sigma: Float) -> PyResult<(f64, f64)> {
        let entry = entry.0;
        let sigma = sigma.0;
        Ok(self.inner.stops(side, entry, sigma)?)
    }
    #[getter]
    fn kelly_fraction(&self) -> f64 {
        self.inner.params().0
    }
    #[getter]
    fn target_vol(&self) -> f64 {
        self.inner.params().1
    }
    #[getter]
    fn max_leverage(&self) -> f64 {
        self.inner.params().2
    }
    #[getter]
    fn k_sl(&self) -> f64 {
        self.inner.params().3
    }
    #[getter]
    fn k_tp(&self) -> f64 {
        self.inner.params().4
    }
    #[getter]
    fn filters(&self) -> PySymbolFilters {
        PySymbolFilters {
            inner: self.inner.filters().clone(),
        }
    }
    fn to_json(&self) -> String {
        serde_json::to_string(&self.inner).expect("sizer serializes")
    }
    #[staticmethod]
    fn from_json(raw: &Bound<'_, PyAny>) -> PyResult<Self> {
        let text = text_arg(raw, "PositionSizer JSON")?;
        Ok(PyPositionSizer {
            inner: PositionSizer::from_json(&text)?,
        })
    }
}

/// Fractional Kelly leverage `fraction * mu / sigma**2`.
#[pyfunction]
#[pyo3(signature = (mu, sigma, fraction=Float(1.0)), text_signature = "(mu, sigma, fraction=1.0)")]
pub fn kelly_leverage(mu: Float, sigma: Float, fraction: Float) -> PyResult<f64> {
    let mu = mu.0;
    let sigma = sigma.0;
    let fraction = fraction.0;
    Ok(sizing::kelly_leverage(mu, sigma, fraction)?)
}

/// Volatility-targeting leverage `target_vol / predicted_vol`.
#[pyfunction]
pub fn vol_target_leverage(target_vol: Float, predicted_vol: Float) -> PyResult<f64> {
    let target_vol = target_vol.0;
    let predicted_vol = predicted_vol.0;
    Ok(sizing::vol_target_leverage(target_vol, predicted_vol)?)
}
