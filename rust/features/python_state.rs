//! Python bindings of the state rows: `StateRows` (raw X_t rows of a bar chunk) and
//! `StateNormalization` (their z-scores), the per-bar core of `gradtrade.data.state`.

use numpy::ndarray::Array2;
use numpy::{PyArray1, PyArray2, PyReadonlyArray1, PyUntypedArrayMethods};
use pyo3::prelude::*;

use super::python::{one_d, PyStreamingFeatures};
use super::state::{Carry, Funding, Normalization, StateRows};
use super::StreamingFeatures;
use crate::errors::CoreError;
use crate::types::python::{as_f64_array, text_arg, values, Float, Int, DETACH_MIN_LEN};

type Chunk<'py> = (
    Bound<'py, PyArray2<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<bool>>,
);

fn int64s(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<i64>> {
    let a = obj
        .extract::<PyReadonlyArray1<'_, i64>>()
        .map_err(|_| CoreError::invalid(format!("{what} must be a 1-D int64 array")))?;
    Ok(a.as_array().to_vec())
}

fn bools(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<bool>> {
    let a = obj
        .extract::<PyReadonlyArray1<'_, bool>>()
        .map_err(|_| CoreError::invalid(format!("{what} must be a 1-D bool array")))?;
    Ok(a.as_array().to_vec())
}

/// A matrix of ``width`` columns, row-major.
fn matrix(obj: &Bound<'_, PyAny>, what: &str, width: usize) -> PyResult<(usize, Vec<f64>)> {
    let a = as_f64_array(obj, what)?;
    if a.ndim() != 2 || a.shape()[1] != width {
        return Err(CoreError::invalid(format!(
            "{what} must have shape (rows, {width}), got {:?}",
            a.shape()
        ))
        .into());
    }
    Ok((a.shape()[0], values(&a)))
}

/// The raw rows of the state X_t for chunks of bars on the timeframe grid: the streaming
/// features, then ``hl_range``, ``funding_rate``, ``hour_sin``, ``hour_cos``, ``dow_sin``,
/// ``dow_cos``, ``missing_bar``, ``after_gap`` and the ``n_extra`` extra columns. One step per
/// bar whatever the chunking, so a history processed at once and bar by bar give bit-identical
/// rows. A chunk starts right after the last real bar seen. Funding events are registered
/// ahead of the bars they fall in; a bar pays the events in ``(open, close]``.
#[pyclass(module = "gradtrade._core", name = "StateRows")]
pub struct PyStateRows {
    inner: StateRows,
}

#[pymethods]
impl PyStateRows {
    /// ``features``: the streaming features to continue (their state is copied).
    #[new]
    #[pyo3(signature = (features, n_extra = Int(0)))]
    fn new(features: PyRef<'_, PyStreamingFeatures>, n_extra: Int<i64>) -> PyResult<Self> {
        let n_extra = usize::try_from(n_extra.0)
            .map_err(|_| CoreError::invalid(format!("n_extra must be >= 0, got {}", n_extra.0)))?;
        Ok(PyStateRows {
            inner: StateRows::new(features.inner().clone(), n_extra),
        })
    }

    /// Columns per row.
    #[getter]
    fn n_columns(&self) -> usize {
        self.inner.n_columns()
    }

    /// One chunk: ``opens`` (T,) int64 open times on the grid of ``step_ns``, ``values``
    /// (T, 5 + n_extra) float64 ``open, high, low, close, volume, extra...`` (NaN rows for
    /// missing bars), ``present`` (T,) bool. Returns ``(raw (T, n_columns), returns (T,),
    /// paid funding (T,), warm (T,))``. Bad input raises ``InvalidInput`` and changes nothing.
    fn process<'py>(
        &mut self,
        py: Python<'py>,
        opens: &Bound<'py, PyAny>,
        step_ns: Int<i64>,
        values: &Bound<'py, PyAny>,
        present: &Bound<'py, PyAny>,
    ) -> PyResult<Chunk<'py>> {
        let opens = int64s(opens, "opens")?;
        let (_, vals) = matrix(values, "values", self.inner.n_values())?;
        let present = bools(present, "present")?;
        let inner = &mut self.inner;
        let rows = if opens.len() >= DETACH_MIN_LEN {
            py.detach(|| inner.process(&opens, step_ns.0, &vals, &present))?
        } else {
            inner.process(&opens, step_ns.0, &vals, &present)?
        };
        let raw = Array2::from_shape_vec((opens.len(), self.inner.n_columns()), rows.raw)
            .expect("shape matches data");
        Ok((
            PyArray2::from_owned_array(py, raw),
            PyArray1::from_vec(py, rows.returns),
            PyArray1::from_vec(py, rows.paid),
            PyArray1::from_vec(py, rows.warm),
        ))
    }

    /// Registers funding events (``times_ns`` strictly increasing int64, finite ``rates``);
    /// those at or before the last registered one are already known and skipped.
    fn add_funding(
        &mut self,
        times_ns: &Bound<'_, PyAny>,
        rates: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let times = int64s(times_ns, "funding times")?;
        let rates = one_d(rates, "funding rates")?;
        Ok(self.inner.add_funding(&times, &rates)?)
    }

    /// Forgets the carried state (features, funding, last rate, warm-up).
    fn reset(&mut self) {
        self.inner.reset();
    }

    /// The streaming features' state as JSON (``StreamingFeatures.to_json``).
    fn features_json(&self) -> String {
        self.inner.features().to_json()
    }

    #[getter]
    fn funding_times_ns<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i64>> {
        PyArray1::from_slice(py, self.inner.funding().times_ns())
    }

    #[getter]
    fn funding_rates<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, self.inner.funding().rates())
    }

    /// The funding rate known before any registered event.
    #[getter]
    fn last_rate(&self) -> f64 {
        self.inner.carry().last_rate
    }

    /// Every streaming feature has been finite at some bar.
    #[getter]
    fn warm(&self) -> bool {
        self.inner.carry().warm
    }

    /// Replaces the carried state with a saved one, validated like new: the features' JSON
    /// must have this object's configuration, funding times increase, rates are finite.
    fn restore(
        &mut self,
        features_json: &Bound<'_, PyAny>,
        funding_times_ns: &Bound<'_, PyAny>,
        funding_rates: &Bound<'_, PyAny>,
        last_rate: Float,
        warm: bool,
    ) -> PyResult<()> {
        let text = text_arg(features_json, "StreamingFeatures JSON")?;
        let features = StreamingFeatures::from_json(&text)?;
        if features.config() != self.inner.features().config() {
            return Err(CoreError::invalid(
                "saved streaming features have another configuration than this transformer",
            )
            .into());
        }
        let funding = Funding::from_parts(
            int64s(funding_times_ns, "funding times")?,
            one_d(funding_rates, "funding rates")?,
        )?;
        let carry = Carry {
            last_rate: last_rate.0,
            warm,
        };
        let n_extra = self.inner.n_values() - super::state::OHLCV;
        self.inner = StateRows::restore(features, n_extra, funding, carry)?;
        Ok(())
    }
}

/// Median/MAD normalization of raw state rows: ``(x - center) / scale``, winsorized at
/// ``+-clip`` where ``scaled``, NaN -> 0, +-inf -> +-clip, as float32; a row that is not
/// ``warm`` is all NaN.
#[pyclass(module = "gradtrade._core", name = "StateNormalization", frozen)]
pub struct PyStateNormalization {
    inner: Normalization,
}

#[pymethods]
impl PyStateNormalization {
    #[new]
    fn new(
        center: &Bound<'_, PyAny>,
        scale: &Bound<'_, PyAny>,
        scaled: &Bound<'_, PyAny>,
        clip: Float,
    ) -> PyResult<Self> {
        Ok(PyStateNormalization {
            inner: Normalization::new(
                one_d(center, "center")?,
                one_d(scale, "scale")?,
                bools(scaled, "scaled")?,
                clip.0,
            )?,
        })
    }

    /// X_t of ``raw`` (T, width) with ``warm`` (T,) -> (T, width) float32.
    fn apply<'py>(
        &self,
        py: Python<'py>,
        raw: &Bound<'py, PyAny>,
        warm: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let width = self.inner.width();
        let (t, raw) = matrix(raw, "raw", width)?;
        let warm = bools(warm, "warm")?;
        if warm.len() != t {
            return Err(CoreError::invalid(format!(
                "warm must have {t} flags, one per row, got {}",
                warm.len()
            ))
            .into());
        }
        let mut out = vec![0.0f32; t * width];
        self.inner.apply(&raw, &warm, &mut out);
        let out = Array2::from_shape_vec((t, width), out).expect("shape matches data");
        Ok(PyArray2::from_owned_array(py, out))
    }
}
