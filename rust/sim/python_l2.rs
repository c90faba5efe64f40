//! Python bindings of the L2 venue, its configuration, its reports and the replay recording.
//! Prices and sizes cross as floats (or exact decimal text) and are converted on the book's
//! grids here; raw frames cross as bytes, untouched.

use std::collections::HashMap;

use numpy::PyReadonlyArray1;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use super::candle::Liquidity;
use super::frames::FrameKind;
use super::l2::{L2Config, L2Venue, OrderRequest};
use super::latency::Latency;
use super::python::slice;
use super::queue::QueueModel;
use super::replay::Recording;
use super::report::{BookEvent, BookStatus, OrderEvent, SimFill, VenueReject};
use crate::errors::CoreError;
use crate::fixed::Grid;
use crate::orderbook::python::PyMarket;
use crate::orderbook::{Market, OrderBook};
use crate::orders::OrderStatus;
use crate::types::python::{str_text, Float, Int, Text};
use crate::types::{OrderType, Side};

/// How a resting order's queue position advances (see `rust/sim/queue.rs`).
#[pyclass(
    name = "QueueModel",
    module = "gradtrade._core",
    frozen,
    eq,
    from_py_object
)]
#[derive(Clone, PartialEq)]
pub struct PyQueueModel {
    inner: QueueModel,
}

#[pymethods]
impl PyQueueModel {
    /// Only trades advance the queue; cancellations never do.
    #[staticmethod]
    fn risk_averse() -> Self {
        PyQueueModel {
            inner: QueueModel::RiskAverse,
        }
    }
    /// Cancellations advance it by f(ahead) / (f(ahead) + f(behind)), f(x) = x^power.
    #[staticmethod]
    fn probabilistic(power: Float) -> PyResult<Self> {
        Ok(PyQueueModel {
            inner: QueueModel::probabilistic(power.0)?,
        })
    }
    /// The power n of the probabilistic model; None for the risk-averse one.
    #[getter]
    fn power(&self) -> Option<f64> {
        match self.inner {
            QueueModel::RiskAverse => None,
            QueueModel::Probabilistic { power } => Some(power),
        }
    }
    fn __repr__(&self) -> String {
        match self.inner {
            QueueModel::RiskAverse => "QueueModel.risk_averse()".into(),
            QueueModel::Probabilistic { power } => format!("QueueModel.probabilistic({power})"),
        }
    }
}

/// Order-entry or cancel latency: constant, or interpolated from recorded delays.
#[pyclass(
    name = "Latency",
    module = "gradtrade._core",
    frozen,
    eq,
    from_py_object
)]
#[derive(Clone, PartialEq)]
pub struct PyLatency {
    inner: Latency,
}

#[pymethods]
impl PyLatency {
    #[staticmethod]
    fn constant(delay_ns: Int<i64>) -> PyResult<Self> {
        Ok(PyLatency {
            inner: Latency::constant(delay_ns.0)?,
        })
    }
    /// Recorded (send time, delay) pairs, both int64 nanoseconds, times strictly ascending.
    #[staticmethod]
    fn table(
        ts_ns: PyReadonlyArray1<'_, i64>,
        delay_ns: PyReadonlyArray1<'_, i64>,
    ) -> PyResult<Self> {
        Ok(PyLatency {
            inner: Latency::table(
                slice(&ts_ns, "ts_ns")?.to_vec(),
                slice(&delay_ns, "delay_ns")?.to_vec(),
            )?,
        })
    }
    /// The delay of an action sent at `ts_ns`.
    fn at(&self, ts_ns: Int<i64>) -> i64 {
        self.inner.at(ts_ns.0)
    }
    fn __repr__(&self) -> String {
        match &self.inner {
            Latency::Constant(d) => format!("Latency.constant({d})"),
            Latency::Table { ts_ns, .. } => format!("Latency.table(<{} entries>)", ts_ns.len()),
        }
    }
}

/// The L2 venue's assumptions (validated, immutable).
#[pyclass(name = "L2VenueConfig", module = "gradtrade._core", frozen)]
#[derive(Clone)]
pub struct PyL2Config {
    inner: L2Config,
}

#[pymethods]
impl PyL2Config {
    #[new]
    #[pyo3(signature = (*, maker_fee_rate = Float(0.001), taker_fee_rate = Float(0.001),
        queue = None, entry_latency = None, cancel_latency = None),
        text_signature = "(*, maker_fee_rate=0.001, taker_fee_rate=0.001, queue=None, entry_latency=None, cancel_latency=None)")]
    fn new(
        maker_fee_rate: Float,
        taker_fee_rate: Float,
        queue: Option<PyQueueModel>,
        entry_latency: Option<PyLatency>,
        cancel_latency: Option<PyLatency>,
    ) -> PyResult<Self> {
        Ok(PyL2Config {
            inner: L2Config::new(
                maker_fee_rate.0,
                taker_fee_rate.0,
                queue.map_or(QueueModel::RiskAverse, |q| q.inner),
                entry_latency.map_or(Latency::Constant(0), |l| l.inner),
                cancel_latency.map_or(Latency::Constant(0), |l| l.inner),
            )?,
        })
    }
    #[getter]
    fn maker_fee_rate(&self) -> f64 {
        self.inner.maker_fee_rate
    }
    #[getter]
    fn taker_fee_rate(&self) -> f64 {
        self.inner.taker_fee_rate
    }
    #[getter]
    fn queue(&self) -> PyQueueModel {
        PyQueueModel {
            inner: self.inner.queue,
        }
    }
    #[getter]
    fn entry_latency(&self) -> PyLatency {
        PyLatency {
            inner: self.inner.entry_latency.clone(),
        }
    }
    #[getter]
    fn cancel_latency(&self) -> PyLatency {
        PyLatency {
            inner: self.inner.cancel_latency.clone(),
        }
    }
}

/// One fill of one of our orders, in floats of the book's grids.
#[pyclass(name = "SimFill", module = "gradtrade._core", frozen, get_all)]
pub struct PySimFill {
    ts_ns: i64,
    client_id: String,
    side: Side,
    price: f64,
    qty: f64,
    fee: f64,
    liquidity: Liquidity,
}

#[pymethods]
impl PySimFill {
    fn __repr__(&self) -> String {
        format!(
            "SimFill(ts_ns={}, client_id={:?}, side={}, price={}, qty={}, fee={}, liquidity={:?})",
            self.ts_ns,
            self.client_id,
            self.side.as_str(),
            self.price,
            self.qty,
            self.fee,
            self.liquidity
        )
    }
}

/// A status change of one of our orders at the venue; `reason` says why it was refused.
#[pyclass(name = "VenueOrderEvent", module = "gradtrade._core", frozen, get_all)]
pub struct PyOrderEvent {
    ts_ns: i64,
    client_id: String,
    status: OrderStatus,
    reason: Option<VenueReject>,
}

#[pymethods]
impl PyOrderEvent {
    fn __repr__(&self) -> String {
        format!(
            "VenueOrderEvent(ts_ns={}, client_id={:?}, status={}, reason={:?})",
            self.ts_ns,
            self.client_id,
            self.status.as_str(),
            self.reason
        )
    }
}

/// The book became usable (SYNCED) or unusable (SEQUENCE_GAP) at `ts_ns`.
#[pyclass(name = "BookEvent", module = "gradtrade._core", frozen, get_all)]
pub struct PyBookEvent {
    ts_ns: i64,
    status: BookStatus,
}

#[pymethods]
impl PyBookEvent {
    fn __repr__(&self) -> String {
        format!("BookEvent(ts_ns={}, status={:?})", self.ts_ns, self.status)
    }
}

/// A whole recording as arrays, replayed into an `L2Venue` by `L2Venue.run_until`.
#[pyclass(name = "Recording", module = "gradtrade._core")]
pub struct PyRecording {
    inner: Recording,
}

#[pymethods]
impl PyRecording {
    #[new]
    fn new(
        ts_ns: PyReadonlyArray1<'_, i64>,
        kinds: PyReadonlyArray1<'_, u8>,
        data: &[u8],
        offsets: PyReadonlyArray1<'_, i64>,
    ) -> PyResult<Self> {
        Ok(PyRecording {
            inner: Recording::new(
                slice(&ts_ns, "ts_ns")?.to_vec(),
                slice(&kinds, "kinds")?,
                data.to_vec(),
                slice(&offsets, "offsets")?,
            )?,
        })
    }

    /// From an iterable of `(ts_ns, raw)` (e.g. `RecordedFrame`s), each classified in Rust.
    #[staticmethod]
    fn from_frames(frames: &Bound<'_, PyAny>) -> PyResult<Self> {
        let (mut ts, mut kinds, mut data, mut offsets) =
            (Vec::new(), Vec::new(), Vec::new(), vec![0i64]);
        for (i, item) in frames.try_iter()?.enumerate() {
            let item = item?;
            let field = |k: usize| {
                item.get_item(k).map_err(|_| {
                    PyTypeError::new_err(format!("frame {i}: must be a (ts_ns, raw, ...) sequence"))
                })
            };
            let Int(t) = field(0)?.extract::<Int<i64>>()?;
            let raw_obj = field(1)?;
            let raw = raw_obj
                .cast::<PyBytes>()
                .map_err(|_| PyTypeError::new_err(format!("frame {i}: raw must be bytes")))?
                .as_bytes();
            let kind = FrameKind::classify(raw)
                .map_err(|e| CoreError::invalid(format!("frame {i}: {e}")))?;
            ts.push(t);
            kinds.push(kind as u8);
            data.extend_from_slice(raw);
            offsets.push(data.len() as i64);
        }
        Ok(PyRecording {
            inner: Recording::new(ts, &kinds, data, &offsets)?,
        })
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }
    #[getter]
    fn cursor(&self) -> usize {
        self.inner.cursor()
    }
    #[getter]
    fn next_ts(&self) -> Option<i64> {
        self.inner.next_ts()
    }
    fn rewind(&mut self) {
        self.inner.rewind();
    }
}

/// A grid from exact text ("0.01", preferred) or a float.
fn grid_arg(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<Grid> {
    let grid = if let Ok(s) = obj.cast::<PyString>() {
        Grid::parse(str_text(s, name)?)
    } else {
        Grid::from_unit_f64(obj.extract::<Float>()?.0)
    };
    Ok(grid.map_err(|e| CoreError::invalid(format!("{name}: {e}")))?)
}

fn market_arg(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Market> {
    let Some(obj) = obj else {
        return Ok(Market::Spot);
    };
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

/// The L2 simulated venue of one symbol. See `rust/sim/l2.rs` for every rule.
#[pyclass(name = "L2Venue", module = "gradtrade._core")]
pub struct PyL2Venue {
    inner: L2Venue,
}

impl PyL2Venue {
    fn price_f64(&self, ticks: i64) -> f64 {
        self.inner.book().tick().to_f64(ticks)
    }
    fn qty_f64(&self, steps: i64) -> f64 {
        self.inner.book().step().to_f64(steps)
    }
    fn fill(&self, f: SimFill) -> PySimFill {
        PySimFill {
            ts_ns: f.ts_ns,
            client_id: f.client_id.to_string(),
            side: f.side,
            price: self.price_f64(f.price),
            qty: self.qty_f64(f.qty),
            fee: f.fee,
            liquidity: f.liquidity,
        }
    }
}

#[pymethods]
impl PyL2Venue {
    #[new]
    #[pyo3(signature = (symbol, tick_size, step_size, config, market = None))]
    fn new(
        symbol: Text,
        tick_size: &Bound<'_, PyAny>,
        step_size: &Bound<'_, PyAny>,
        config: &PyL2Config,
        market: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let book = OrderBook::new(
            &symbol.0,
            grid_arg(tick_size, "tick_size")?,
            grid_arg(step_size, "step_size")?,
            market_arg(market)?,
        )?;
        Ok(PyL2Venue {
            inner: L2Venue::new(book, config.inner.clone()),
        })
    }

    /// Sends an order at `ts_ns` (MARKET, LIMIT or LIMIT_MAKER); it arrives after the latency.
    #[pyo3(signature = (ts_ns, client_id, side, order_type, qty, price = None))]
    fn submit(
        &mut self,
        ts_ns: Int<i64>,
        client_id: Text,
        side: Side,
        order_type: OrderType,
        qty: Float,
        price: Option<Float>,
    ) -> PyResult<()> {
        let (ts_ns, client_id, qty) = (ts_ns.0, client_id.0.as_str(), qty.0);
        let price = price.map(|p| p.0);
        let book = self.inner.book();
        let qty = book
            .step()
            .units_from_f64(qty)
            .map_err(|e| CoreError::invalid(format!("order quantity: {e}")))?;
        let price = price
            .map(|p| book.tick().units_from_f64(p))
            .transpose()
            .map_err(|e| CoreError::invalid(format!("order price: {e}")))?;
        Ok(self.inner.submit(
            ts_ns,
            OrderRequest {
                client_id,
                side,
                order_type,
                qty,
                price,
            },
        )?)
    }

    fn cancel(&mut self, ts_ns: Int<i64>, client_id: Text) -> PyResult<()> {
        Ok(self.inner.cancel(ts_ns.0, &client_id.0)?)
    }

    /// Applies one market event (raw frame bytes, untouched) stamped `ts_ns`.
    fn process(&mut self, ts_ns: Int<i64>, kind: FrameKind, raw: &[u8]) -> PyResult<()> {
        Ok(self.inner.process(ts_ns.0, kind, raw)?)
    }

    /// Applies the actions due up to `ts_ns` and moves the venue clock there.
    fn advance_to(&mut self, ts_ns: Int<i64>) -> PyResult<()> {
        Ok(self.inner.advance_to(ts_ns.0)?)
    }

    /// Replays `recording` up to `ts_ns` in one call; returns the number of events replayed.
    fn run_until(
        &mut self,
        py: Python<'_>,
        mut recording: PyRefMut<'_, PyRecording>,
        ts_ns: Int<i64>,
    ) -> PyResult<usize> {
        let ts_ns = ts_ns.0;
        let rec = &mut recording.inner;
        let venue = &mut self.inner;
        Ok(py.detach(|| rec.run_until(venue, ts_ns))?)
    }

    fn take_fills(&mut self) -> Vec<PySimFill> {
        let fills = self.inner.take_fills();
        fills.into_iter().map(|f| self.fill(f)).collect()
    }

    fn take_order_events(&mut self) -> Vec<PyOrderEvent> {
        self.inner
            .take_order_events()
            .into_iter()
            .map(|e: OrderEvent| PyOrderEvent {
                ts_ns: e.ts_ns,
                client_id: e.client_id.to_string(),
                status: e.status,
                reason: e.reason,
            })
            .collect()
    }

    fn take_book_events(&mut self) -> Vec<PyBookEvent> {
        self.inner
            .take_book_events()
            .into_iter()
            .map(|e: BookEvent| PyBookEvent {
                ts_ns: e.ts_ns,
                status: e.status,
            })
            .collect()
    }

    /// (status, filled quantity, queue ahead while resting else None) of an order.
    fn order_state(&self, client_id: Text) -> PyResult<(OrderStatus, f64, Option<f64>)> {
        let (status, filled, ahead) = self.inner.order_state(&client_id.0)?;
        Ok((status, self.qty_f64(filled), ahead.map(|a| self.qty_f64(a))))
    }

    /// The venue clock (ns); None before the first event.
    #[getter]
    fn now(&self) -> Option<i64> {
        (self.inner.now() != i64::MIN).then(|| self.inner.now())
    }
    #[getter]
    fn open_orders(&self) -> usize {
        self.inner.open_orders()
    }
    #[getter]
    fn book_valid(&self) -> bool {
        self.inner.book().is_valid()
    }
    /// The venue's book answers like `OrderBook`: `BookNotSynced` while it is invalid.
    fn best_bid(&self) -> PyResult<Option<(f64, f64)>> {
        Ok(self.inner.book().best_bid_f64()?)
    }
    fn best_ask(&self) -> PyResult<Option<(f64, f64)>> {
        Ok(self.inner.book().best_ask_f64()?)
    }
    /// Base asset bought minus sold.
    #[getter]
    fn position(&self) -> f64 {
        self.qty_f64(self.inner.balances().base_steps)
    }
    /// Quote asset received minus paid for fills, fees excluded.
    #[getter]
    fn cash(&self) -> f64 {
        let b = self.inner.balances();
        let book = self.inner.book();
        b.quote_units as f64 * book.tick().unit() * book.step().unit()
    }
    /// Fees paid in the quote asset.
    #[getter]
    fn fees(&self) -> f64 {
        self.inner.balances().fees
    }
    /// Market events by kind and what became of them.
    #[getter]
    fn counters(&self) -> HashMap<&'static str, u64> {
        let c = self.inner.counters();
        HashMap::from([
            ("events", c.events),
            ("depth_applied", c.depth_applied),
            ("depth_stale", c.depth_stale),
            ("depth_buffered", c.depth_buffered),
            ("depth_refused", c.depth_refused),
            ("sequence_gaps", c.sequence_gaps),
            ("snapshots", c.snapshots),
            ("trades", c.trades),
            ("trades_on_invalid_book", c.trades_on_invalid_book),
            ("book_tickers", c.book_tickers),
        ])
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyQueueModel>()?;
    m.add_class::<PyLatency>()?;
    m.add_class::<PyL2Config>()?;
    m.add_class::<PySimFill>()?;
    m.add_class::<PyOrderEvent>()?;
    m.add_class::<PyBookEvent>()?;
    m.add_class::<PyRecording>()?;
    m.add_class::<PyL2Venue>()?;
    Ok(())
}
