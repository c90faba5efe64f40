//! Python bindings of the order book: argument conversion and NumPy arrays only, no logic.

use numpy::ndarray::Array2;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray2};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString};

use crate::errors::{CoreError, CoreResult};
use crate::fixed::Grid;
use crate::types::python::{str_text, text_arg, DecimalArg, Int, Text};
use crate::types::Decimal;

use super::book::{DiffIds, Market, OrderBook};
use super::normalize::{feature_len, feature_names};

/// Which Binance market a book follows (it decides the sequence rule).
#[pyclass(
    module = "gradtrade._core",
    name = "Market",
    eq,
    eq_int,
    hash,
    frozen,
    from_py_object
)]
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum PyMarket {
    #[pyo3(name = "SPOT")]
    Spot,
    #[pyo3(name = "USDM")]
    UsdM,
}

impl From<PyMarket> for Market {
    fn from(m: PyMarket) -> Market {
        match m {
            PyMarket::Spot => Market::Spot,
            PyMarket::UsdM => Market::UsdM,
        }
    }
}

impl From<Market> for PyMarket {
    fn from(m: Market) -> PyMarket {
        match m {
            Market::Spot => PyMarket::Spot,
            Market::UsdM => PyMarket::UsdM,
        }
    }
}

fn market_arg(obj: &Bound<'_, PyAny>) -> PyResult<Market> {
    if let Ok(m) = obj.cast::<PyMarket>() {
        return Ok((*m.get()).into());
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Market::parse(str_text(s, "market")?)?);
    }
    Err(PyTypeError::new_err(
        "market must be a Market or \"spot\" / \"usdm\"",
    ))
}

/// A grid from exact text ("0.01", preferred) or a float.
fn grid_arg(arg: DecimalArg, name: &str) -> PyResult<Grid> {
    let grid = Decimal::from(arg).grid();
    Ok(grid.map_err(|e| CoreError::invalid(format!("{name}: {e}")))?)
}

/// Runs `f` on the bytes of a `bytes`, `bytearray` or `str` argument without copying.
fn with_raw<R>(raw: &Bound<'_, PyAny>, f: impl FnOnce(&[u8]) -> R) -> PyResult<R> {
    if let Ok(b) = raw.cast::<PyBytes>() {
        return Ok(f(b.as_bytes()));
    }
    if let Ok(s) = raw.cast::<PyString>() {
        return Ok(f(str_text(s, "raw JSON")?.as_bytes()));
    }
    if let Ok(b) = raw.cast::<PyByteArray>() {
        return Ok(f(&b.to_vec()));
    }
    Err(PyTypeError::new_err("raw JSON must be bytes or str"))
}

fn unit_value(obj: &Bound<'_, PyAny>, grid: &Grid) -> CoreResult<i64> {
    if let Ok(s) = obj.cast::<PyString>() {
        let text = s
            .to_str()
            .map_err(|_| CoreError::invalid("level text is not valid UTF-8"))?;
        return grid.units_from_text(text.trim().as_bytes());
    }
    let value = obj
        .extract::<f64>()
        .map_err(|_| CoreError::invalid(format!("level value {obj} is not a number")))?;
    grid.units_from_f64(value)
}

/// Levels from an (n, 2) float64 array or a sequence of (price, qty) pairs of str or numbers.
fn levels_arg(obj: &Bound<'_, PyAny>, book: &OrderBook, side: &str) -> PyResult<Vec<(i64, i64)>> {
    let (tick, step) = (book.tick(), book.step());
    let context = |i: usize, e: CoreError| -> PyErr {
        CoreError::invalid(format!("{} {side} level {i}: {e}", book.symbol())).into()
    };
    if let Ok(array) = obj.extract::<PyReadonlyArray2<'_, f64>>() {
        let view = array.as_array();
        if view.ncols() != 2 {
            return Err(CoreError::invalid(format!(
                "{side} levels must have shape (n, 2), got {:?}",
                view.shape()
            ))
            .into());
        }
        return view
            .rows()
            .into_iter()
            .enumerate()
            .map(|(i, row)| {
                let p = tick.units_from_f64(row[0]).map_err(|e| context(i, e))?;
                let q = step.units_from_f64(row[1]).map_err(|e| context(i, e))?;
                Ok((p, q))
            })
            .collect();
    }
    let mut out = Vec::new();
    for (i, item) in obj.try_iter()?.enumerate() {
        let item = item?;
        if item.len().ok() != Some(2) {
            return Err(context(
                i,
                CoreError::invalid("expected a (price, qty) pair"),
            ));
        }
        let p = unit_value(&item.get_item(0)?, tick).map_err(|e| context(i, e))?;
        let q = unit_value(&item.get_item(1)?, step).map_err(|e| context(i, e))?;
        out.push((p, q));
    }
    Ok(out)
}

/// L2 order book of one Binance symbol. See `gradtrade.core.OrderBook` in `_core.pyi`.
#[pyclass(module = "gradtrade._core", name = "OrderBook")]
pub struct PyOrderBook {
    book: OrderBook,
}

#[pymethods]
impl PyOrderBook {
    #[new]
    #[pyo3(signature = (symbol, tick_size, step_size, market = None))]
    fn new(
        symbol: Text,
        tick_size: DecimalArg,
        step_size: DecimalArg,
        market: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let market = match market {
            Some(m) => market_arg(m)?,
            None => Market::Spot,
        };
        let tick = grid_arg(tick_size, "tick_size")?;
        let step = grid_arg(step_size, "step_size")?;
        Ok(PyOrderBook {
            book: OrderBook::new(&symbol.0, tick, step, market)?,
        })
    }

    #[getter]
    fn symbol(&self) -> &str {
        self.book.symbol()
    }
    #[getter]
    fn market(&self) -> PyMarket {
        self.book.market().into()
    }
    #[getter]
    fn tick_size(&self) -> f64 {
        self.book.tick().unit()
    }
    #[getter]
    fn step_size(&self) -> f64 {
        self.book.step().unit()
    }
    #[getter]
    fn last_update_id(&self) -> Option<u64> {
        self.book.last_update_id()
    }
    #[getter]
    fn last_event_time_ms(&self) -> Option<u64> {
        self.book.last_event_time_ms()
    }
    #[getter]
    fn is_valid(&self) -> bool {
        self.book.is_valid()
    }
    #[getter]
    fn depth(&self) -> (usize, usize) {
        (self.book.bids().len(), self.book.asks().len())
    }

    fn __len__(&self) -> usize {
        self.book.bids().len() + self.book.asks().len()
    }

    fn __repr__(&self) -> String {
        let fmt = |l: Option<(i64, i64)>| match l {
            Some((p, q)) => format!(
                "{} x {}",
                self.book.tick().format(p),
                self.book.step().format(q)
            ),
            None => "-".to_string(),
        };
        format!(
            "OrderBook({} {}, bid {}, ask {}, levels {}/{}, update {}, {})",
            self.book.symbol(),
            self.book.market().name(),
            fmt(self.book.best_bid()),
            fmt(self.book.best_ask()),
            self.book.bids().len(),
            self.book.asks().len(),
            self.book
                .last_update_id()
                .map_or("-".to_string(), |u| u.to_string()),
            if self.book.is_valid() {
                "valid"
            } else {
                "not synced"
            }
        )
    }

    fn apply_snapshot(
        &mut self,
        last_update_id: Int<u64>,
        bids: &Bound<'_, PyAny>,
        asks: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let last_update_id = last_update_id.0;
        let bids = levels_arg(bids, &self.book, "bid")?;
        let asks = levels_arg(asks, &self.book, "ask")?;
        Ok(self.book.apply_snapshot(last_update_id, &bids, &asks)?)
    }

    fn apply_snapshot_json(&mut self, raw: &Bound<'_, PyAny>) -> PyResult<()> {
        Ok(with_raw(raw, |bytes| {
            self.book.apply_snapshot_json(bytes)
        })??)
    }

    fn apply_depth_json(&mut self, raw: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(with_raw(raw, |bytes| self.book.apply_depth_json(bytes))??)
    }

    #[pyo3(signature = (first_update_id, last_update_id, bids, asks, prev_last_update_id = None))]
    fn apply_diff(
        &mut self,
        first_update_id: Int<u64>,
        last_update_id: Int<u64>,
        bids: &Bound<'_, PyAny>,
        asks: &Bound<'_, PyAny>,
        prev_last_update_id: Option<Int<u64>>,
    ) -> PyResult<bool> {
        let (first_update_id, last_update_id) = (first_update_id.0, last_update_id.0);
        let prev_last_update_id = prev_last_update_id.map(|i| i.0);
        let bids = levels_arg(bids, &self.book, "bid")?;
        let asks = levels_arg(asks, &self.book, "ask")?;
        let ids = DiffIds {
            first_update_id,
            final_update_id: last_update_id,
            prev_final_update_id: prev_last_update_id,
        };
        Ok(self.book.apply_diff(ids, &bids, &asks)?)
    }

    // Every query of the book's levels raises BookNotSynced while `is_valid` is false; None
    // means a valid book with an empty side (see `normalize.rs`).
    fn best_bid(&self) -> PyResult<Option<(f64, f64)>> {
        Ok(self.book.best_bid_f64()?)
    }
    fn best_ask(&self) -> PyResult<Option<(f64, f64)>> {
        Ok(self.book.best_ask_f64()?)
    }
    fn mid(&self) -> PyResult<Option<f64>> {
        Ok(self.book.mid()?)
    }
    fn spread(&self) -> PyResult<Option<f64>> {
        Ok(self.book.spread()?)
    }
    fn microprice(&self) -> PyResult<Option<f64>> {
        Ok(self.book.microprice()?)
    }
    fn is_crossed(&self) -> PyResult<bool> {
        Ok(self.book.crossed()?)
    }

    #[pyo3(signature = (n = None))]
    fn bids<'py>(
        &self,
        py: Python<'py>,
        n: Option<Int<usize>>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let n = n.map(|i| i.0);
        Ok(levels_array(
            py,
            self.book.levels_f64(true, n.unwrap_or(usize::MAX))?,
        ))
    }

    #[pyo3(signature = (n = None))]
    fn asks<'py>(
        &self,
        py: Python<'py>,
        n: Option<Int<usize>>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let n = n.map(|i| i.0);
        Ok(levels_array(
            py,
            self.book.levels_f64(false, n.unwrap_or(usize::MAX))?,
        ))
    }

    #[pyo3(signature = (levels = Int(5)), text_signature = "($self, levels=5)")]
    fn features<'py>(
        &self,
        py: Python<'py>,
        levels: Int<usize>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let levels = levels.0;
        let mut out = vec![0.0; feature_len(levels)?];
        self.book.features_into(levels, &mut out)?;
        Ok(out.into_pyarray(py))
    }

    #[staticmethod]
    #[pyo3(signature = (levels = Int(5)), text_signature = "(levels=5)")]
    fn feature_names(levels: Int<usize>) -> PyResult<Vec<String>> {
        Ok(feature_names(levels.0)?)
    }

    fn take_ofi(&mut self) -> f64 {
        self.book.take_ofi()
    }

    fn to_json(&self) -> String {
        self.book.to_json()
    }

    #[staticmethod]
    fn from_json(raw: &Bound<'_, PyAny>) -> PyResult<PyOrderBook> {
        let text = text_arg(raw, "OrderBook JSON")?;
        Ok(PyOrderBook {
            book: OrderBook::from_json(&text)?,
        })
    }
}

fn levels_array(py: Python<'_>, levels: Vec<(f64, f64)>) -> Bound<'_, PyArray2<f64>> {
    let n = levels.len();
    let flat: Vec<f64> = levels.into_iter().flat_map(|(p, q)| [p, q]).collect();
    Array2::from_shape_vec((n, 2), flat)
        .expect("n rows of 2")
        .into_pyarray(py)
}
