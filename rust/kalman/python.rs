//! Python bindings of the Kalman filter: `KalmanFilter` and the `KalmanFit` result of `fit`.

use numpy::ndarray::Array2;
use numpy::{PyArray1, PyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat};

use super::fit::fit;
use super::matrix::{Mat, MAX_DIM};
use super::{KalmanFilter, Model};
use crate::errors::CoreError;
use crate::types::python::{as_f64_array, text_arg, values, Float, DETACH_MIN_LEN};

fn matrix(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Mat> {
    let a = as_f64_array(obj, what)?;
    let shape = a.shape().to_vec();
    let (r, c) = match shape.as_slice() {
        [] => (1, 1),
        [r, c] => (*r, *c),
        _ => {
            return Err(CoreError::invalid(format!(
                "{what} must be a 2-D array, got shape {shape:?}"
            ))
            .into())
        }
    };
    if r == 0 || c == 0 || r > MAX_DIM || c > MAX_DIM {
        return Err(CoreError::invalid(format!(
            "{what} must be between 1x1 and {MAX_DIM}x{MAX_DIM}, got shape {shape:?}"
        ))
        .into());
    }
    Ok(Mat::from_row_major(r, c, &values(&a)))
}

fn vector(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<Vec<f64>> {
    let a = as_f64_array(obj, what)?;
    let shape = a.shape().to_vec();
    match shape.as_slice() {
        [] | [_] | [_, 1] => Ok(values(&a)),
        _ => Err(
            CoreError::invalid(format!("{what} must be a 1-D array, got shape {shape:?}")).into(),
        ),
    }
}

/// `(states, variances, loglik)` of `KalmanFilter.filter`.
type FilterOutput<'py> = (Bound<'py, PyArray2<f64>>, Bound<'py, PyArray2<f64>>, f64);

fn mat_to_py<'py>(py: Python<'py>, m: &Mat) -> Bound<'py, PyArray2<f64>> {
    let mut data = vec![0.0; m.rows * m.cols];
    m.write_row_major(&mut data);
    let arr = Array2::from_shape_vec((m.rows, m.cols), data).expect("shape matches data");
    PyArray2::from_owned_array(py, arr)
}

/// Linear-Gaussian Kalman filter for small dimensions (state and observation up to 8).
///
/// Model: ``x_t = F x_{t-1} + N(0, Q)``, ``z_t = H x_t + N(0, R)``; ``x0``/``P0`` are the state
/// and covariance before the first observation. Each ``update`` predicts then updates (Joseph
/// form, P kept exactly symmetric). A NaN observation (any component) means predict only.
#[pyclass(module = "gradtrade._core", name = "KalmanFilter")]
pub struct PyKalmanFilter {
    pub(crate) inner: KalmanFilter,
}

#[pymethods]
impl PyKalmanFilter {
    #[new]
    #[pyo3(signature = (F, H, Q, R, x0, P0))]
    #[allow(non_snake_case)]
    fn new(
        F: &Bound<'_, PyAny>,
        H: &Bound<'_, PyAny>,
        Q: &Bound<'_, PyAny>,
        R: &Bound<'_, PyAny>,
        x0: &Bound<'_, PyAny>,
        P0: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let inner = KalmanFilter::new(
            matrix(F, "F")?,
            matrix(H, "H")?,
            matrix(Q, "Q")?,
            matrix(R, "R")?,
            &vector(x0, "x0")?,
            matrix(P0, "P0")?,
        )?;
        Ok(PyKalmanFilter { inner })
    }

    /// Random walk plus noise: level variance ``q`` per step, observation variance ``r``.
    #[staticmethod]
    #[pyo3(signature = (q, r, *, x0 = Float(0.0), p0 = Float(1e6)),
        text_signature = "(q, r, *, x0=0.0, p0=1e6)")]
    fn local_level(q: Float, r: Float, x0: Float, p0: Float) -> PyResult<Self> {
        let q = q.0;
        let r = r.0;
        let x0 = x0.0;
        let p0 = p0.0;
        Ok(PyKalmanFilter {
            inner: KalmanFilter::local_level(q, r, x0, p0)?,
        })
    }

    /// Level + trend (state ``[level, trend]``, ``level += trend`` each step), observed level.
    #[staticmethod]
    #[pyo3(signature = (q_level, q_trend, r, *, x0 = (0.0, 0.0), p0 = Float(1e6)),
        text_signature = "(q_level, q_trend, r, *, x0=(0.0, 0.0), p0=1e6)")]
    fn local_linear_trend(
        q_level: Float,
        q_trend: Float,
        r: Float,
        x0: (f64, f64),
        p0: Float,
    ) -> PyResult<Self> {
        let q_level = q_level.0;
        let q_trend = q_trend.0;
        let r = r.0;
        let p0 = p0.0;
        Ok(PyKalmanFilter {
            inner: KalmanFilter::local_linear_trend(q_level, q_trend, r, [x0.0, x0.1], [p0, p0])?,
        })
    }

    /// Predict + update with one observation (float, or array of length ``dim_z``); returns the
    /// posterior state. NaN = missing observation (predict only).
    fn update<'py>(
        &mut self,
        py: Python<'py>,
        z: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        if let Ok(f) = z.cast::<PyFloat>() {
            self.inner.step_scalar(f.value())?;
        } else if let Ok(v) = z.extract::<f64>() {
            self.inner.step_scalar(v)?;
        } else {
            self.inner.step(&vector(z, "z")?)?;
        }
        Ok(PyArray1::from_slice(py, self.inner.state()))
    }

    /// Runs ``update`` over every observation of ``zs`` (shape ``(n,)`` when ``dim_z == 1``, or
    /// ``(n, dim_z)``), continuing from and advancing the current state. Returns ``(states
    /// (n, dim_x), variances (n, dim_x) = diagonal of each posterior P, loglik of these n)``.
    /// Releases the GIL on long arrays.
    fn filter<'py>(
        &mut self,
        py: Python<'py>,
        zs: &Bound<'py, PyAny>,
    ) -> PyResult<FilterOutput<'py>> {
        let a = as_f64_array(zs, "zs")?;
        let (n, m) = (self.inner.dim_x(), self.inner.dim_z());
        let shape = a.shape().to_vec();
        let len = match shape.as_slice() {
            [len] if m == 1 => *len,
            [len, cols] if *cols == m => *len,
            _ => {
                return Err(CoreError::invalid(format!(
                    "zs must have shape (n,) or (n, {m}), got {shape:?}"
                ))
                .into())
            }
        };
        let data = values(&a);
        drop(a);
        let mut states = vec![0.0; len * n];
        let mut variances = vec![0.0; len * n];
        let inner = &mut self.inner;
        let ll = if len >= DETACH_MIN_LEN {
            py.detach(|| inner.filter(&data, &mut states, &mut variances))?
        } else {
            inner.filter(&data, &mut states, &mut variances)?
        };
        let states = Array2::from_shape_vec((len, n), states).expect("shape matches data");
        let variances = Array2::from_shape_vec((len, n), variances).expect("shape matches data");
        Ok((
            PyArray2::from_owned_array(py, states),
            PyArray2::from_owned_array(py, variances),
            ll,
        ))
    }

    /// Maximum-likelihood fit of the variances (q, r / q_level, q_trend, r) of a local_level or
    /// local_linear_trend filter to ``zs`` (1-D, NaN = missing), starting from this filter's
    /// initial state ``x0, P0``. Returns a ``KalmanFit`` whose ``filter`` is fresh (at x0, P0).
    fn fit(&self, py: Python<'_>, zs: &Bound<'_, PyAny>) -> PyResult<PyKalmanFit> {
        let a = as_f64_array(zs, "zs")?;
        if a.ndim() != 1 {
            return Err(CoreError::invalid("fit() takes a 1-D array of observations").into());
        }
        let data = values(&a);
        drop(a);
        let inner = &self.inner;
        let result = py.detach(|| fit(inner, &data))?;
        Ok(PyKalmanFit {
            filter: Py::new(
                py,
                PyKalmanFilter {
                    inner: result.filter,
                },
            )?,
            params: result
                .params
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            loglik: result.loglik,
            iterations: result.iterations,
            converged: result.converged,
        })
    }

    /// Back to ``x0``, ``P0``; the log-likelihood restarts at 0.
    fn reset(&mut self) {
        self.inner.reset();
    }

    /// Model and full state as JSON (floats as exact strings), for restarts.
    fn to_json(&self) -> String {
        self.inner.to_json()
    }

    #[staticmethod]
    fn from_json(raw: &Bound<'_, PyAny>) -> PyResult<Self> {
        let text = text_arg(raw, "KalmanFilter JSON")?;
        Ok(PyKalmanFilter {
            inner: KalmanFilter::from_json(&text)?,
        })
    }

    #[getter]
    fn x<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, self.inner.state())
    }

    #[getter(P)]
    fn covariance<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        mat_to_py(py, self.inner.covariance())
    }

    /// Last ``z - H x_prior`` (NaN after a missing observation or before the first).
    #[getter]
    fn innovation<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f64>> {
        PyArray1::from_slice(py, self.inner.innovation())
    }

    /// Last ``H P_prior H' + R`` (NaN after a missing observation or before the first).
    #[getter]
    fn innovation_variance<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        mat_to_py(py, self.inner.innovation_covariance())
    }

    /// Log-likelihood of all observations since construction or ``reset``.
    #[getter]
    fn loglik(&self) -> f64 {
        self.inner.loglik()
    }

    #[getter]
    fn dim_x(&self) -> usize {
        self.inner.dim_x()
    }

    #[getter]
    fn dim_z(&self) -> usize {
        self.inner.dim_z()
    }

    #[getter(F)]
    fn transition<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        mat_to_py(py, self.inner.matrices().0)
    }

    #[getter(H)]
    fn observation<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        mat_to_py(py, self.inner.matrices().1)
    }

    #[getter(Q)]
    fn process_noise<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        mat_to_py(py, self.inner.matrices().2)
    }

    #[getter(R)]
    fn observation_noise<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f64>> {
        mat_to_py(py, self.inner.matrices().3)
    }

    fn __repr__(&self) -> String {
        let model = match self.inner.model() {
            Model::General => "general".to_string(),
            Model::LocalLevel { q, r } => format!("local_level(q={q:?}, r={r:?})"),
            Model::LocalLinearTrend {
                q_level,
                q_trend,
                r,
            } => format!("local_linear_trend(q_level={q_level:?}, q_trend={q_trend:?}, r={r:?})"),
        };
        format!(
            "KalmanFilter(model={model}, dim_x={}, dim_z={}, steps={}, loglik={:?})",
            self.inner.dim_x(),
            self.inner.dim_z(),
            self.inner.n_steps(),
            self.inner.loglik()
        )
    }
}

/// Result of ``KalmanFilter.fit``: the fitted filter, its parameters and log-likelihood.
#[pyclass(module = "gradtrade._core", name = "KalmanFit", frozen)]
pub struct PyKalmanFit {
    /// A fresh filter (at the template's x0, P0) with the fitted variances.
    #[pyo3(get)]
    filter: Py<PyKalmanFilter>,
    params: Vec<(String, f64)>,
    /// Maximized log-likelihood of the data.
    #[pyo3(get)]
    loglik: f64,
    /// Nelder-Mead iterations used.
    #[pyo3(get)]
    iterations: usize,
    /// Whether the simplex met its tolerance (else the iteration limit stopped it).
    #[pyo3(get)]
    converged: bool,
}

#[pymethods]
impl PyKalmanFit {
    /// Fitted variances by name: ``q, r`` or ``q_level, q_trend, r``.
    #[getter]
    fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in &self.params {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|(k, v)| format!("'{k}': {v:?}"))
            .collect();
        format!(
            "KalmanFit(params={{{}}}, loglik={:?}, iterations={}, converged={})",
            params.join(", "),
            self.loglik,
            self.iterations,
            if self.converged { "True" } else { "False" }
        )
    }
}
