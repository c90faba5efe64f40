//! Python bindings of the candle fill model and funding (the L2 venue is in `python_l2.rs`).
//! Argument conversion and NumPy arrays only; the logic lives in the sibling files.

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;

use super::candle::{Bar, BarArrays, CandleFill, CandleFillConfig, FillAt, FillReason, Liquidity};
use super::frames::FrameKind;
use super::funding;
use super::report::{BookStatus, VenueReject};
use crate::errors::{CoreError, CoreResult};
use crate::types::python::Float;
use crate::types::Side;

/// A contiguous view of a 1-D array argument, or an error naming it.
pub(super) fn slice<'a, T: numpy::Element>(
    array: &'a PyReadonlyArray1<'_, T>,
    name: &str,
) -> CoreResult<&'a [T]> {
    array
        .as_slice()
        .map_err(|_| CoreError::invalid(format!("{name} must be a contiguous 1-D array")))
}

/// One OHLCV bar (validated: finite, positive prices, low/high containing open and close).
#[pyclass(name = "Bar", module = "gradtrade._core", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PyBar {
    inner: Bar,
}

#[pymethods]
impl PyBar {
    #[new]
    fn new(open: Float, high: Float, low: Float, close: Float, volume: Float) -> PyResult<Self> {
        Ok(PyBar {
            inner: Bar::new(open.0, high.0, low.0, close.0, volume.0)?,
        })
    }
    #[getter]
    fn open(&self) -> f64 {
        self.inner.open
    }
    #[getter]
    fn high(&self) -> f64 {
        self.inner.high
    }
    #[getter]
    fn low(&self) -> f64 {
        self.inner.low
    }
    #[getter]
    fn close(&self) -> f64 {
        self.inner.close
    }
    #[getter]
    fn volume(&self) -> f64 {
        self.inner.volume
    }
    fn __repr__(&self) -> String {
        let b = &self.inner;
        format!(
            "Bar(open={}, high={}, low={}, close={}, volume={})",
            b.open, b.high, b.low, b.close, b.volume
        )
    }
}

/// One simulated candle fill.
#[pyclass(name = "CandleFill", module = "gradtrade._core", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PyCandleFill {
    inner: CandleFill,
}

#[pymethods]
impl PyCandleFill {
    #[getter]
    fn price(&self) -> f64 {
        self.inner.price
    }
    #[getter]
    fn qty(&self) -> f64 {
        self.inner.qty
    }
    #[getter]
    fn fee(&self) -> f64 {
        self.inner.fee
    }
    #[getter]
    fn liquidity(&self) -> Liquidity {
        self.inner.liquidity
    }
    #[getter]
    fn reason(&self) -> FillReason {
        self.inner.reason
    }
    #[getter]
    fn reference_price(&self) -> f64 {
        self.inner.reference_price
    }
    #[getter]
    fn at_open(&self) -> bool {
        self.inner.at_open
    }
    fn __repr__(&self) -> String {
        let f = &self.inner;
        format!(
            "CandleFill(price={}, qty={}, fee={}, liquidity={:?}, reason={:?}, reference_price={}, at_open={})",
            f.price, f.qty, f.fee, f.liquidity, f.reason, f.reference_price, f.at_open
        )
    }
}

fn wrap(fill: Option<CandleFill>) -> Option<PyCandleFill> {
    fill.map(|inner| PyCandleFill { inner })
}

/// The candle fill model's assumptions (validated, immutable). See `rust/sim/candle.rs`.
#[pyclass(name = "CandleFillConfig", module = "gradtrade._core", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PyCandleFillConfig {
    inner: CandleFillConfig,
}

#[pymethods]
impl PyCandleFillConfig {
    #[new]
    #[pyo3(signature = (*, half_spread_bps = Float(1.0), impact_k = Float(1.0),
        taker_fee_rate = Float(0.001), maker_fee_rate = Float(0.001),
        max_volume_share = Float(0.1), fill_at = FillAt::NEXT_OPEN,
        max_impact_bps = Float(500.0)),
        text_signature = "(*, half_spread_bps=1.0, impact_k=1.0, taker_fee_rate=0.001, maker_fee_rate=0.001, max_volume_share=0.1, fill_at=..., max_impact_bps=500.0)")]
    fn new(
        half_spread_bps: Float,
        impact_k: Float,
        taker_fee_rate: Float,
        maker_fee_rate: Float,
        max_volume_share: Float,
        fill_at: FillAt,
        max_impact_bps: Float,
    ) -> PyResult<Self> {
        Ok(PyCandleFillConfig {
            inner: CandleFillConfig::new(
                half_spread_bps.0,
                impact_k.0,
                taker_fee_rate.0,
                maker_fee_rate.0,
                max_volume_share.0,
                fill_at,
                max_impact_bps.0,
            )?,
        })
    }
    #[getter]
    fn half_spread_bps(&self) -> f64 {
        self.inner.half_spread_bps
    }
    #[getter]
    fn impact_k(&self) -> f64 {
        self.inner.impact_k
    }
    #[getter]
    fn taker_fee_rate(&self) -> f64 {
        self.inner.taker_fee_rate
    }
    #[getter]
    fn maker_fee_rate(&self) -> f64 {
        self.inner.maker_fee_rate
    }
    #[getter]
    fn max_volume_share(&self) -> f64 {
        self.inner.max_volume_share
    }
    #[getter]
    fn fill_at(&self) -> FillAt {
        self.inner.fill_at
    }
    #[getter]
    fn max_impact_bps(&self) -> f64 {
        self.inner.max_impact_bps
    }
    fn __repr__(&self) -> String {
        let c = &self.inner;
        format!(
            "CandleFillConfig(half_spread_bps={}, impact_k={}, taker_fee_rate={}, maker_fee_rate={}, max_volume_share={}, fill_at={:?}, max_impact_bps={})",
            c.half_spread_bps, c.impact_k, c.taker_fee_rate, c.maker_fee_rate,
            c.max_volume_share, c.fill_at, c.max_impact_bps
        )
    }

    fn impact(&self, qty: Float, volume: Float, sigma: Float) -> f64 {
        self.inner.impact(qty.0, volume.0, sigma.0)
    }

    fn market_fill(
        &self,
        side: Side,
        qty: Float,
        bar: &PyBar,
        sigma: Float,
    ) -> PyResult<PyCandleFill> {
        Ok(PyCandleFill {
            inner: self.inner.market_fill(side, qty.0, &bar.inner, sigma.0)?,
        })
    }

    #[pyo3(signature = (side, price, qty, bar, sigma, *, arriving = false))]
    fn limit_fill(
        &self,
        side: Side,
        price: Float,
        qty: Float,
        bar: &PyBar,
        sigma: Float,
        arriving: bool,
    ) -> PyResult<Option<PyCandleFill>> {
        Ok(wrap(self.inner.limit_fill(
            side, price.0, qty.0, &bar.inner, sigma.0, arriving,
        )?))
    }

    fn stop_fill(
        &self,
        side: Side,
        stop: Float,
        qty: Float,
        bar: &PyBar,
        sigma: Float,
    ) -> PyResult<Option<PyCandleFill>> {
        Ok(wrap(
            self.inner
                .stop_fill(side, stop.0, qty.0, &bar.inner, sigma.0)?,
        ))
    }

    #[pyo3(signature = (position_side, qty, bar, sigma, *, stop_loss = None, take_profit = None))]
    fn protective_fill(
        &self,
        position_side: Side,
        qty: Float,
        bar: &PyBar,
        sigma: Float,
        stop_loss: Option<Float>,
        take_profit: Option<Float>,
    ) -> PyResult<Option<PyCandleFill>> {
        Ok(wrap(self.inner.protective_fill(
            position_side,
            qty.0,
            stop_loss.map(|f| f.0),
            take_profit.map(|f| f.0),
            &bar.inner,
            sigma.0,
        )?))
    }

    /// Market orders of a whole series: (price, fee) arrays, NaN where nothing filled.
    #[allow(clippy::too_many_arguments, clippy::type_complexity)]
    fn market_fills<'py>(
        &self,
        py: Python<'py>,
        open: PyReadonlyArray1<'py, f64>,
        high: PyReadonlyArray1<'py, f64>,
        low: PyReadonlyArray1<'py, f64>,
        close: PyReadonlyArray1<'py, f64>,
        volume: PyReadonlyArray1<'py, f64>,
        sigma: PyReadonlyArray1<'py, f64>,
        qty: PyReadonlyArray1<'py, f64>,
    ) -> PyResult<(Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<f64>>)> {
        let bars = BarArrays {
            open: slice(&open, "open")?,
            high: slice(&high, "high")?,
            low: slice(&low, "low")?,
            close: slice(&close, "close")?,
            volume: slice(&volume, "volume")?,
            sigma: slice(&sigma, "sigma")?,
        };
        let qty = slice(&qty, "qty")?;
        let (prices, fees) = py.detach(|| self.inner.market_fills(&bars, qty))?;
        Ok((prices.into_pyarray(py), fees.into_pyarray(py)))
    }
}

/// Cash flow to the holder of `position` at one funding event (longs pay positive rates).
#[pyfunction]
fn funding_cashflow(position: Float, mark: Float, rate: Float) -> PyResult<f64> {
    Ok(funding::funding_cashflow(position.0, mark.0, rate.0)?)
}

/// Funding cash flows of a position path over recorded funding events (see funding.rs).
#[pyfunction]
fn funding_cashflows<'py>(
    py: Python<'py>,
    position_ts: PyReadonlyArray1<'py, i64>,
    positions: PyReadonlyArray1<'py, f64>,
    funding_ts: PyReadonlyArray1<'py, i64>,
    rates: PyReadonlyArray1<'py, f64>,
    marks: PyReadonlyArray1<'py, f64>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let flows = funding::funding_cashflows(
        slice(&position_ts, "position_ts")?,
        slice(&positions, "positions")?,
        slice(&funding_ts, "funding_ts")?,
        slice(&rates, "rates")?,
        slice(&marks, "marks")?,
    )?;
    Ok(flows.into_pyarray(py))
}

/// The kind of a raw recorded frame (by stream name, snapshot shape or event type).
#[pyfunction]
fn frame_kind(raw: &[u8]) -> PyResult<FrameKind> {
    Ok(FrameKind::classify(raw)?)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<FillAt>()?;
    m.add_class::<Liquidity>()?;
    m.add_class::<FillReason>()?;
    m.add_class::<FrameKind>()?;
    m.add_class::<VenueReject>()?;
    m.add_class::<BookStatus>()?;
    m.add_class::<PyBar>()?;
    m.add_class::<PyCandleFill>()?;
    m.add_class::<PyCandleFillConfig>()?;
    m.add_function(wrap_pyfunction!(funding_cashflow, m)?)?;
    m.add_function(wrap_pyfunction!(funding_cashflows, m)?)?;
    m.add_function(wrap_pyfunction!(frame_kind, m)?)?;
    super::python_l2::register(m)?;
    Ok(())
}
