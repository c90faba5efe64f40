//! Python bindings of `orders`. Thin wrappers: the logic lives in the sibling files.

use std::collections::BTreeMap;

use pyo3::prelude::*;

use super::client_id;
use super::order::Order;
use super::position::Position;
use super::status::{transition_allowed, OrderStatus};
use crate::types::python::{text_arg, Float, Int, PySymbolFilters, Text};
use crate::types::{OrderType, Side, TimeInForce};

#[pymethods]
impl OrderStatus {
    /// No transition leaves a terminal status.
    #[getter(is_terminal)]
    fn py_is_terminal(&self) -> bool {
        self.is_terminal()
    }
}

/// One order: status table, fills deduplicated by trade id, exact average price and fees.
#[pyclass(name = "Order", module = "gradtrade._core")]
pub struct PyOrder {
    inner: Order,
}

#[pymethods]
impl PyOrder {
    #[new]
    #[pyo3(signature = (client_order_id, filters, side, quantity, price=None,
        order_type=OrderType::LIMIT, time_in_force=TimeInForce::GTC))]
    fn new(
        client_order_id: Text,
        filters: &PySymbolFilters,
        side: Side,
        quantity: Float,
        price: Option<Float>,
        order_type: OrderType,
        time_in_force: TimeInForce,
    ) -> PyResult<Self> {
        let quantity = quantity.0;
        let price = price.map(|f| f.0);
        Ok(PyOrder {
            inner: Order::new(
                &client_order_id.0,
                &filters.inner,
                side,
                order_type,
                quantity,
                price,
                time_in_force,
            )?,
        })
    }

    #[getter]
    fn client_order_id(&self) -> &str {
        self.inner.client_order_id()
    }
    #[getter]
    fn symbol(&self) -> &str {
        self.inner.symbol()
    }
    #[getter]
    fn side(&self) -> Side {
        self.inner.side()
    }
    #[getter]
    fn order_type(&self) -> OrderType {
        self.inner.order_type()
    }
    #[getter]
    fn time_in_force(&self) -> TimeInForce {
        self.inner.time_in_force()
    }
    #[getter]
    fn status(&self) -> OrderStatus {
        self.inner.status()
    }
    #[getter]
    fn exchange_order_id(&self) -> Option<u64> {
        self.inner.exchange_order_id()
    }
    #[getter]
    fn quantity(&self) -> f64 {
        self.inner.quantity()
    }
    #[getter]
    fn price(&self) -> Option<f64> {
        self.inner.price()
    }
    #[getter]
    fn filled_qty(&self) -> f64 {
        self.inner.filled_qty()
    }
    #[getter]
    fn remaining_qty(&self) -> f64 {
        self.inner.remaining_qty()
    }
    #[getter]
    fn average_price(&self) -> Option<f64> {
        self.inner.average_price()
    }
    #[getter]
    fn filled_notional(&self) -> f64 {
        self.inner.filled_notional()
    }
    /// Fees paid, per asset.
    #[getter]
    fn fees(&self) -> BTreeMap<String, f64> {
        self.inner.fees()
    }
    /// Trade ids of the fills applied, in arrival order.
    #[getter]
    fn trade_ids(&self) -> Vec<u64> {
        self.inner.fills().iter().map(|f| f.trade_id).collect()
    }
    #[getter]
    fn is_terminal(&self) -> bool {
        self.inner.status().is_terminal()
    }
    #[getter]
    fn updated_ms(&self) -> i64 {
        self.inner.updated_ms()
    }

    /// Moves to `status`; False when already there. Raises InvalidTransition when the table
    /// (or the fills received) forbid it; the order is then unchanged.
    fn transition(&mut self, status: OrderStatus) -> PyResult<bool> {
        Ok(self.inner.transition(status)?)
    }

    /// The exchange accepted the order with this id: PENDING_NEW -> NEW. False if no change.
    fn acknowledge(&mut self, exchange_order_id: Int<u64>) -> PyResult<bool> {
        Ok(self.inner.acknowledge(exchange_order_id.0)?)
    }

    /// The exchange refused a cancel request: back from PENDING_CANCEL.
    fn cancel_rejected(&mut self) -> PyResult<()> {
        Ok(self.inner.cancel_rejected()?)
    }

    /// Applies a fill; False for a trade id already applied. Raises Overfill past the quantity.
    #[pyo3(signature = (trade_id, quantity, price, fee=Float(0.0), fee_asset=None, time_ms=Int(0)),
        text_signature = "($self, trade_id, quantity, price, fee=0.0, fee_asset=None, time_ms=0)")]
    fn apply_fill(
        &mut self,
        trade_id: Int<u64>,
        quantity: Float,
        price: Float,
        fee: Float,
        fee_asset: Option<Text>,
        time_ms: Int<i64>,
    ) -> PyResult<bool> {
        let quantity = quantity.0;
        let price = price.0;
        let fee = fee.0;
        let (trade_id, time_ms) = (trade_id.0, time_ms.0);
        let fee_asset = fee_asset.as_ref().map(|t| t.0.as_str());
        Ok(self
            .inner
            .apply_fill_f64(trade_id, quantity, price, fee, fee_asset, time_ms)?)
    }

    /// Applies a Binance spot `executionReport` or USD-M `ORDER_TRADE_UPDATE` (str or bytes);
    /// False when it changes nothing (a duplicate).
    fn apply_execution_report_json(&mut self, raw: &Bound<'_, PyAny>) -> PyResult<bool> {
        let text = text_arg(raw, "execution report")?;
        Ok(self.inner.apply_execution_report_json(&text)?)
    }

    fn to_json(&self) -> String {
        self.inner.to_json()
    }
    #[staticmethod]
    fn from_json(raw: &Bound<'_, PyAny>) -> PyResult<Self> {
        let text = text_arg(raw, "Order JSON")?;
        Ok(PyOrder {
            inner: Order::from_json(&text)?,
        })
    }
    fn __repr__(&self) -> String {
        format!(
            "Order({:?}, {} {} {} @ {:?}, {}, filled {})",
            self.inner.client_order_id(),
            self.inner.side().as_str(),
            self.inner.quantity(),
            self.inner.symbol(),
            self.inner.price(),
            self.inner.status().as_str(),
            self.inner.filled_qty()
        )
    }
}

/// Position accounting for one symbol.
#[pyclass(name = "Position", module = "gradtrade._core")]
pub struct PyPosition {
    inner: Position,
}

#[pymethods]
impl PyPosition {
    #[new]
    #[pyo3(signature = (filters, quote_asset=None))]
    fn new(filters: &PySymbolFilters, quote_asset: Option<Text>) -> Self {
        PyPosition {
            inner: Position::new(&filters.inner, quote_asset.as_ref().map(|t| t.0.as_str())),
        }
    }
    /// Applies a fill and returns the PnL it realized.
    #[pyo3(signature = (side, quantity, price, fee=Float(0.0), fee_asset=None),
        text_signature = "($self, side, quantity, price, fee=0.0, fee_asset=None)")]
    fn apply_fill(
        &mut self,
        side: Side,
        quantity: Float,
        price: Float,
        fee: Float,
        fee_asset: Option<Text>,
    ) -> PyResult<f64> {
        let quantity = quantity.0;
        let price = price.0;
        let fee = fee.0;
        let fee_asset = fee_asset.as_ref().map(|t| t.0.as_str());
        Ok(self
            .inner
            .apply_fill(side, quantity, price, fee, fee_asset)?)
    }
    #[getter]
    fn symbol(&self) -> &str {
        self.inner.symbol()
    }
    #[getter]
    fn quote_asset(&self) -> Option<&str> {
        self.inner.quote_asset()
    }
    #[getter]
    fn quantity(&self) -> f64 {
        self.inner.quantity()
    }
    #[getter]
    fn is_flat(&self) -> bool {
        self.inner.is_flat()
    }
    #[getter]
    fn average_entry(&self) -> Option<f64> {
        self.inner.average_entry()
    }
    #[getter]
    fn realized_pnl(&self) -> f64 {
        self.inner.realized_pnl()
    }
    #[getter]
    fn net_realized_pnl(&self) -> f64 {
        self.inner.net_realized_pnl()
    }
    #[getter]
    fn fees(&self) -> BTreeMap<String, f64> {
        self.inner.fees().clone()
    }
    #[getter]
    fn fill_count(&self) -> u64 {
        self.inner.fill_count()
    }
    fn unrealized_pnl(&self, mark: Float) -> f64 {
        let mark = mark.0;
        self.inner.unrealized_pnl(mark)
    }
    fn notional(&self, mark: Float) -> f64 {
        let mark = mark.0;
        self.inner.notional(mark)
    }
    fn exposure(&self, mark: Float) -> f64 {
        let mark = mark.0;
        self.inner.exposure(mark)
    }
    fn to_json(&self) -> String {
        self.inner.to_json()
    }
    #[staticmethod]
    fn from_json(raw: &Bound<'_, PyAny>) -> PyResult<Self> {
        let text = text_arg(raw, "Position JSON")?;
        Ok(PyPosition {
            inner: Position::from_json(&text)?,
        })
    }
    fn __repr__(&self) -> String {
        format!(
            "Position({}, quantity={}, average_entry={:?}, realized_pnl={})",
            self.inner.symbol(),
            self.inner.quantity(),
            self.inner.average_entry(),
            self.inner.realized_pnl()
        )
    }
}

/// Deterministic Binance-valid client order id `"{strategy}.{session:base36}.{seq:base36}"`.
#[pyfunction]
pub fn client_order_id(strategy: Text, session: Int<u64>, seq: Int<u64>) -> PyResult<String> {
    Ok(client_id::client_order_id(&strategy.0, session.0, seq.0)?)
}

/// (strategy, session, seq) of an id made by `client_order_id`.
#[pyfunction]
pub fn parse_client_order_id(client_order_id: Text) -> PyResult<(String, u64, u64)> {
    Ok(client_id::parse_client_order_id(&client_order_id.0)?)
}

/// Whether the order status table allows `from_status -> to_status`.
#[pyfunction]
#[pyo3(name = "transition_allowed")]
pub fn py_transition_allowed(from_status: OrderStatus, to_status: OrderStatus) -> bool {
    transition_allowed(from_status, to_status)
}
