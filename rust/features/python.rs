//! Python bindings of the streaming features: `StreamingFeatures` (the model's feature vector)
//! and the primitives `Ewma` and `RollingVolatility`.

use numpy::ndarray::Array2;
use numpy::{PyArray1, PyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;

use super::stats::{Ewma, RollingMeanSquare};
use super::{FeatureConfig, StreamingFeatures};
use crate::errors::CoreError;
use crate::types::python::{as_f64_array, text_arg, values, Float, Int, DETACH_MIN_LEN};

/// A 1-D float64 array's values (any array-like is converted; other shapes are refused).
pub(super) fn one_d(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<f64>> {
    let a = as_f64_array(obj, what)?;
    if a.ndim() != 1 {
        return Err(CoreError::invalid(format!(
            "{what} must be a 1-D array, got shape {:?}",
            a.shape()
        ))
        .into());
    }
    Ok(values(&a))
}

/// Streaming features of one price/volume series, one row per bar, computed by a single Rust
/// step function that serves both ``update`` (live, one bar) and ``transform`` (arrays): the
/// two give bit-identical output, and ``transform`` continues from the current state.
///
/// Columns (``names``), in order:
///
/// - ``log_return``: ``log(p_t / p_prev)``, ``p_prev`` = last valid price (spans gaps).
/// - per halflife ``h`` of ``ewma_halflives``: ``ret_ewma_mean_hl{h}``, ``ret_ewma_var_hl{h}``
///   (pandas ``ewm(halflife=h, adjust=False)`` mean and ``var(bias=True)`` of returns) and
///   ``ret_zscore_hl{h}`` = ``(r - mean) / sqrt(var)`` using the statistics BEFORE ``r``.
/// - per window ``w`` of ``vol_windows``: ``realized_vol_w{w}`` =
///   ``sqrt(mean of r^2 over the last w returns)`` (per bar, not annualized).
/// - ``volume_zscore``: z-score of ``log(1 + volume)`` against its EWMA (first halflife),
///   again with the statistics before this bar.
/// - Kalman local linear trend on log price (``kalman_q_level``, ``kalman_q_trend``,
///   ``kalman_r``): ``kalman_level_minus_log_price`` (filtered level minus log price),
///   ``kalman_trend`` (log-price drift per bar), ``kalman_innovation`` (log price minus the
///   predicted level) and ``kalman_innovation_std`` (its predicted standard deviation).
///
/// Warm-up (NaN until defined): the first valid bar has no return; an EWMA mean needs one
/// return, its variance two, its z-score two earlier returns (three bars); realized vol needs
/// ``w`` returns; the volume z-score needs two earlier volumes. The Kalman filter starts at the
/// first valid price (level = log price, trend = 0, P0 = diag(kalman_r, kalman_q_level)), so
/// there level gap and trend are 0 and the innovation columns NaN.
///
/// Missing data: a NaN price is a missing bar: the return, z-scores, volume z-score, level gap
/// and innovations are NaN, the EWMAs and windows keep (and output) their state, the Kalman
/// filter predicts only (``kalman_trend`` is the prediction), and the next valid return spans
/// the gap. Windows count returns, not bars. A NaN volume with a valid price gives a NaN
/// volume z-score and leaves the volume EWMA as it was. Negative or zero prices, negative
/// volumes, infinities and mismatched lengths raise ``InvalidInput`` and change nothing.
#[pyclass(module = "gradtrade._core", name = "StreamingFeatures")]
pub struct PyStreamingFeatures {
    inner: StreamingFeatures,
    row: Vec<f64>,
}

impl PyStreamingFeatures {
    pub(super) fn inner(&self) -> &StreamingFeatures {
        &self.inner
    }

    fn wrap(inner: StreamingFeatures) -> Self {
        let row = vec![0.0; inner.n_features()];
        PyStreamingFeatures { inner, row }
    }
}

#[pymethods]
impl PyStreamingFeatures {
    #[new]
    #[pyo3(signature = (*, ewma_halflives = vec![12.0, 48.0], vol_windows = vec![24],
        kalman_q_level = Float(1e-6), kalman_q_trend = Float(1e-8), kalman_r = Float(1e-5)),
        text_signature = "(*, ewma_halflives=(12.0, 48.0), vol_windows=[24], kalman_q_level=1e-6, \
                          kalman_q_trend=1e-8, kalman_r=1e-5)")]
    fn new(
        ewma_halflives: Vec<f64>,
        vol_windows: Vec<i64>,
        kalman_q_level: Float,
        kalman_q_trend: Float,
        kalman_r: Float,
    ) -> PyResult<Self> {
        let kalman_q_level = kalman_q_level.0;
        let kalman_q_trend = kalman_q_trend.0;
        let kalman_r = kalman_r.0;
        let vol_windows = vol_windows
            .into_iter()
            .map(|w| {
                usize::try_from(w)
                    .map_err(|_| CoreError::invalid(format!("vol_windows must be >= 1, got {w}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let config = FeatureConfig {
            ewma_halflives,
            vol_windows,
            kalman_q_level,
            kalman_q_trend,
            kalman_r,
        };
        Ok(Self::wrap(StreamingFeatures::new(config)?))
    }

    /// One name per output column, in column order.
    #[getter]
    fn names(&self) -> Vec<String> {
        self.inner.names()
    }

    #[getter]
    fn n_features(&self) -> usize {
        self.inner.n_features()
    }

    /// One bar (NaN price = missing bar) -> float64 array of shape ``(n_features,)``.
    fn update<'py>(
        &mut self,
        py: Python<'py>,
        price: Float,
        volume: Float,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let price = price.0;
        let volume = volume.0;
        self.inner.update(price, volume, &mut self.row)?;
        Ok(PyArray1::from_slice(py, &self.row))
    }

    /// Every bar of ``prices``/``volumes`` (1-D, same length) -> ``(n, n_features)``, through
    /// the same step as ``update``, continuing from the current state. Releases the GIL on long
    /// arrays. All input is checked first: on error nothing changes.
    fn transform<'py>(
        &mut self,
        py: Python<'py>,
        prices: &Bound<'py, PyAny>,
        volumes: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let prices = one_d(prices, "prices")?;
        let volumes = one_d(volumes, "volumes")?;
        if prices.len() != volumes.len() {
            return Err(CoreError::invalid(format!(
                "prices and volumes must have the same length, got {} and {}",
                prices.len(),
                volumes.len()
            ))
            .into());
        }
        let k = self.inner.n_features();
        let mut out = vec![0.0; prices.len() * k];
        let inner = &mut self.inner;
        if prices.len() >= DETACH_MIN_LEN {
            py.detach(|| inner.transform(&prices, &volumes, &mut out))?;
        } else {
            inner.transform(&prices, &volumes, &mut out)?;
        }
        let out = Array2::from_shape_vec((prices.len(), k), out).expect("shape matches data");
        Ok(PyArray2::from_owned_array(py, out))
    }

    /// Forget all state (as if newly constructed with the same configuration).
    fn reset(&mut self) {
        self.inner.reset();
    }

    /// Configuration and full state as JSON (floats as exact strings), for live restarts:
    /// ``from_json(f.to_json())`` continues bit for bit.
    fn to_json(&self) -> String {
        self.inner.to_json()
    }

    #[staticmethod]
    fn from_json(raw: &Bound<'_, PyAny>) -> PyResult<Self> {
        let text = text_arg(raw, "StreamingFeatures JSON")?;
        Ok(Self::wrap(StreamingFeatures::from_json(&text)?))
    }

    fn __repr__(&self) -> String {
        let c = self.inner.config();
        format!(
            "StreamingFeatures(ewma_halflives={:?}, vol_windows={:?}, kalman_q_level={:?}, \
             kalman_q_trend={:?}, kalman_r={:?})",
            c.ewma_halflives, c.vol_windows, c.kalman_q_level, c.kalman_q_trend, c.kalman_r
        )
    }
}

/// Exponentially weighted mean and variance (``alpha = 1 - 2**(-1/halflife)``), as pandas
/// ``ewm(halflife=h, adjust=False)`` ``mean()`` and ``var(bias=True)``. NaN input is skipped.
#[pyclass(module = "gradtrade._core", name = "Ewma")]
pub struct PyEwma {
    inner: Ewma,
}

#[pymethods]
impl PyEwma {
    #[new]
    fn new(halflife: Float) -> PyResult<Self> {
        let halflife = halflife.0;
        Ok(PyEwma {
            inner: Ewma::new(halflife)?,
        })
    }

    /// Includes ``x`` (NaN: skipped) and returns the mean.
    fn update(&mut self, x: Float) -> PyResult<f64> {
        let x = x.0;
        if x.is_infinite() {
            return Err(CoreError::invalid("Ewma.update: x is infinite").into());
        }
        if !x.is_nan() {
            self.inner.push(x);
        }
        Ok(self.inner.mean())
    }

    /// ``update`` over an array; returns the mean after each value.
    fn transform<'py>(
        &mut self,
        py: Python<'py>,
        xs: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let xs = one_d(xs, "xs")?;
        if xs.iter().any(|x| x.is_infinite()) {
            return Err(CoreError::invalid("Ewma.transform: xs contains infinities").into());
        }
        let out: Vec<f64> = xs
            .iter()
            .map(|&x| {
                if !x.is_nan() {
                    self.inner.push(x);
                }
                self.inner.mean()
            })
            .collect();
        Ok(PyArray1::from_vec(py, out))
    }

    /// ``(x - mean) / std`` against the current statistics (NaN until two values were seen).
    fn zscore(&self, x: Float) -> f64 {
        let x = x.0;
        self.inner.zscore(x)
    }

    #[getter]
    fn mean(&self) -> f64 {
        self.inner.mean()
    }

    #[getter]
    fn variance(&self) -> f64 {
        self.inner.variance()
    }

    #[getter]
    fn halflife(&self) -> f64 {
        self.inner.halflife()
    }

    #[getter]
    fn count(&self) -> u64 {
        self.inner.count()
    }
}

/// Realized volatility over a rolling window of returns: ``sqrt(mean(r**2))`` over the last
/// ``window`` values (NaN until the window is full; NaN input is skipped).
#[pyclass(module = "gradtrade._core", name = "RollingVolatility")]
pub struct PyRollingVolatility {
    inner: RollingMeanSquare,
}

#[pymethods]
impl PyRollingVolatility {
    #[new]
    fn new(window: Int<i64>) -> PyResult<Self> {
        let window = window.0;
        let window = usize::try_from(window)
            .map_err(|_| CoreError::invalid(format!("window must be >= 1, got {window}")))?;
        Ok(PyRollingVolatility {
            inner: RollingMeanSquare::new(window)?,
        })
    }

    /// Includes the return ``r`` (NaN: skipped) and returns the current volatility.
    fn update(&mut self, r: Float) -> PyResult<f64> {
        let r = r.0;
        if r.is_infinite() {
            return Err(CoreError::invalid("RollingVolatility.update: r is infinite").into());
        }
        if !r.is_nan() {
            self.inner.push(r);
        }
        Ok(self.inner.rms())
    }

    /// ``update`` over an array of returns; returns the volatility after each.
    fn transform<'py>(
        &mut self,
        py: Python<'py>,
        rs: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let rs = one_d(rs, "rs")?;
        if rs.iter().any(|x| x.is_infinite()) {
            return Err(
                CoreError::invalid("RollingVolatility.transform: rs contains infinities").into(),
            );
        }
        let out: Vec<f64> = rs
            .iter()
            .map(|&r| {
                if !r.is_nan() {
                    self.inner.push(r);
                }
                self.inner.rms()
            })
            .collect();
        Ok(PyArray1::from_vec(py, out))
    }

    #[getter]
    fn window(&self) -> usize {
        self.inner.window()
    }
}
