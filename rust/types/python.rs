//! Python bindings of `types`: the shared enums' methods and `SymbolFilters`, and the one copy
//! of the argument helpers every binding uses (text from `str | bytes`, a decimal from text or a
//! float, an array-like as float64). Other `python.rs` files import only this one.

use std::borrow::Cow;

use numpy::PyReadonlyArrayDyn;
use pyo3::exceptions::{PyOverflowError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use super::filters;
use super::{Decimal, FilterSpec, Side, SymbolFilters};
use crate::errors::CoreError;

/// Text from a `str` or UTF-8 `bytes` argument, without a copy. Every `from_json` takes its
/// argument through here, so all of them accept `str | bytes`.
pub(crate) fn text_arg<'a>(obj: &'a Bound<'_, PyAny>, what: &str) -> PyResult<Cow<'a, str>> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Cow::Borrowed(str_text(s, what)?));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        let text = std::str::from_utf8(b.as_bytes())
            .map_err(|e| CoreError::invalid(format!("{what} is not UTF-8: {e}")))?;
        return Ok(Cow::Borrowed(text));
    }
    Err(PyTypeError::new_err(format!("{what} must be str or bytes")))
}

/// The UTF-8 text of a `str`; a string that has none (a lone surrogate) is `InvalidInput`.
pub(crate) fn str_text<'a>(s: &'a Bound<'_, PyString>, what: &str) -> PyResult<&'a str> {
    s.to_str()
        .map_err(|_| CoreError::invalid(format!("{what} is not valid Unicode text")).into())
}

/// A `str` argument. PyO3's own `&str` raises `UnicodeEncodeError` (a bare `ValueError`) for a
/// string without a UTF-8 form (a lone surrogate); this is `InvalidInput` like all bad input.
pub struct Text(pub String);

impl<'a, 'py> FromPyObject<'a, 'py> for Text {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let s = obj.cast::<PyString>().map_err(|_| {
            let kind = obj
                .get_type()
                .name()
                .map_or_else(|_| "?".to_owned(), |n| n.to_string());
            PyTypeError::new_err(format!("expected str, got {kind}"))
        })?;
        Ok(Text(str_text(&s, "a text argument")?.to_owned()))
    }
}

/// An integer argument of type `T`. PyO3's own conversion raises `OverflowError` (outside
/// gradtrade's error tree) for an int outside `T`'s range (a negative id, 2**64); this is
/// `InvalidInput` naming the range.
pub struct Int<T>(pub T);

macro_rules! int_arg {
    ($($t:ty),+) => {$(
        impl<'a, 'py> FromPyObject<'a, 'py> for Int<$t> {
            type Error = PyErr;

            fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
                match obj.extract::<$t>() {
                    Ok(v) => Ok(Int(v)),
                    Err(e) if e.is_instance_of::<PyOverflowError>(obj.py()) => {
                        Err(CoreError::invalid(format!(
                            "integer argument out of range: must be between {} and {}",
                            <$t>::MIN,
                            <$t>::MAX
                        ))
                        .into())
                    }
                    Err(e) => Err(e),
                }
            }
        }
    )+};
}

int_arg!(u64, i64, u32, usize);

/// A float argument. PyO3's own conversion raises `OverflowError` for an int beyond the float
/// range (10**400); this is `InvalidInput`. NaN and infinities pass: each method checks them.
pub struct Float(pub f64);

impl<'a, 'py> FromPyObject<'a, 'py> for Float {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        match obj.extract::<f64>() {
            Ok(v) => Ok(Float(v)),
            Err(e) if e.is_instance_of::<PyOverflowError>(obj.py()) => {
                Err(CoreError::invalid("number argument is beyond the float range").into())
            }
            Err(e) => Err(e),
        }
    }
}

/// A size or price argument: exact text ("0.01", preferred) or a number.
pub(crate) enum DecimalArg {
    Text(String),
    Float(f64),
}

impl<'a, 'py> FromPyObject<'a, 'py> for DecimalArg {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Ok(s) = obj.cast::<PyString>() {
            return Ok(DecimalArg::Text(
                str_text(&s, "a size or price")?.to_owned(),
            ));
        }
        obj.extract::<f64>().map(DecimalArg::Float).map_err(|e| {
            if e.is_instance_of::<PyOverflowError>(obj.py()) {
                return CoreError::invalid("a size or price is beyond the float range").into();
            }
            let kind = obj
                .get_type()
                .name()
                .map_or_else(|_| "?".to_owned(), |n| n.to_string());
            PyTypeError::new_err(format!(
                "a size or price must be str (exact, e.g. \"0.01\") or a number, got {kind}"
            ))
        })
    }
}

impl From<DecimalArg> for Decimal {
    fn from(arg: DecimalArg) -> Decimal {
        match arg {
            DecimalArg::Text(t) => Decimal::Text(t),
            DecimalArg::Float(f) => Decimal::Float(f),
        }
    }
}

/// Arrays at least this long are processed with the GIL released.
pub(crate) const DETACH_MIN_LEN: usize = 2048;

/// Any array-like as a float64 NumPy array (no copy when it already is one).
pub(crate) fn as_f64_array<'py>(
    obj: &Bound<'py, PyAny>,
    what: &str,
) -> PyResult<PyReadonlyArrayDyn<'py, f64>> {
    if let Ok(a) = obj.extract::<PyReadonlyArrayDyn<'py, f64>>() {
        return Ok(a);
    }
    let converted = obj
        .py()
        .import("numpy")?
        .call_method1("asarray", (obj, "float64"))
        .map_err(|e| CoreError::invalid(format!("{what} must be a float64 array: {e}")))?;
    Ok(converted
        .extract::<PyReadonlyArrayDyn<'py, f64>>()
        .map_err(|e| CoreError::invalid(format!("{what} must be a float64 array: {e}")))?)
}

/// The array's values in C order (copied; arrays here are small or about to be released).
pub(crate) fn values(a: &PyReadonlyArrayDyn<'_, f64>) -> Vec<f64> {
    match a.as_slice() {
        Ok(s) => s.to_vec(),
        Err(_) => a.as_array().iter().copied().collect(),
    }
}

#[pymethods]
impl Side {
    /// +1 for BUY, -1 for SELL.
    #[getter(sign)]
    fn py_sign(&self) -> i64 {
        self.sign()
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
        symbol: Text,
        tick_size: DecimalArg,
        step_size: DecimalArg,
        min_qty: DecimalArg,
        min_notional: DecimalArg,
        max_qty: DecimalArg,
        min_price: DecimalArg,
        max_price: DecimalArg,
        base_asset: Option<Text>,
        quote_asset: Option<Text>,
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
        let mut inner = SymbolFilters::new(&symbol.0, &spec)?;
        inner.base_asset = base_asset.map(|t| t.0);
        inner.quote_asset = quote_asset.map(|t| t.0);
        Ok(PySymbolFilters { inner })
    }
    #[staticmethod]
    fn from_exchange_info_json(raw: &Bound<'_, PyAny>, symbol: Text) -> PyResult<Self> {
        let text = text_arg(raw, "exchangeInfo")?;
        Ok(PySymbolFilters {
            inner: filters::from_exchange_info_json(text.as_bytes(), &symbol.0)?,
        })
    }
    /// Filters of every symbol in an `exchangeInfo` response, by symbol.
    #[staticmethod]
    fn all_from_exchange_info_json(
        raw: &Bound<'_, PyAny>,
    ) -> PyResult<std::collections::BTreeMap<String, PySymbolFilters>> {
        let text = text_arg(raw, "exchangeInfo")?;
        Ok(filters::all_from_exchange_info_json(text.as_bytes())?
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
        Ok(PySymbolFilters {
            inner: SymbolFilters::from_json(&text)?,
        })
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
