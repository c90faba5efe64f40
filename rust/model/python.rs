//! Python bindings of the native model: `NativeModelConfig` (the hyperparameters, by the torch
//! model's own names) and `NativeModel` (its `state_dict()` as float64 NumPy arrays in, one
//! window's first-step forecast and position out).

use numpy::{PyArray1, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::{Evolution, FixedSolver, ModelConfig, NativeModel, Param, PolicyPrior, VarianceHead};
use super::{Forecast, Weights};
use crate::errors::CoreError;
use crate::types::python::{as_f64_array, values, Float, Int, Text};

/// The hyperparameters of a ``NativeModel``, named as the torch model names them.
///
/// ``kind``: "ode" (``DynamicalSystem``) or "gru" (``RecurrentBaseline``); ``method`` and
/// ``step_size``: the ODE's fixed-grid solver ("euler", "midpoint", "rk4"; adaptive solvers are
/// refused); ``variance_head``: "free" or "residual" (which needs ``baseline_column`` >= 0);
/// ``policy_prior``: "none" or "vol_target" (with ``policy_tilt`` in [0, 2]).
#[pyclass(module = "gradtrade._core", name = "NativeModelConfig", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PyNativeModelConfig {
    inner: ModelConfig,
}

#[pymethods]
impl PyNativeModelConfig {
    #[new]
    #[pyo3(signature = (*, n_state, kind, method = Text("rk4".to_owned()),
        step_size = Float(0.5), variance_head = Text("free".to_owned()),
        baseline_column = Int(-1), policy_prior = Text("none".to_owned()),
        policy_tilt = Float(0.5), var_floor = Float(1e-3)),
        text_signature = "(*, n_state, kind, method='rk4', step_size=0.5, variance_head='free', \
                          baseline_column=-1, policy_prior='none', policy_tilt=0.5, \
                          var_floor=0.001)")]
    #[allow(clippy::too_many_arguments)]
    fn new(
        n_state: Int<usize>,
        kind: Text,
        method: Text,
        step_size: Float,
        variance_head: Text,
        baseline_column: Int<i64>,
        policy_prior: Text,
        policy_tilt: Float,
        var_floor: Float,
    ) -> PyResult<Self> {
        let inner = ModelConfig::new(
            n_state.0,
            Evolution::parse(&kind.0, &method.0, step_size.0)?,
            VarianceHead::parse(&variance_head.0, baseline_column.0)?,
            PolicyPrior::parse(&policy_prior.0, policy_tilt.0)?,
            var_floor.0,
        )?;
        Ok(PyNativeModelConfig { inner })
    }

    #[getter]
    fn n_state(&self) -> usize {
        self.inner.n_state()
    }

    #[getter]
    fn kind(&self) -> &'static str {
        match self.inner.evolution() {
            Evolution::Ode { .. } => "ode",
            Evolution::Gru => "gru",
        }
    }

    /// The ODE's solver; None for the GRU baseline.
    #[getter]
    fn method(&self) -> Option<&'static str> {
        match self.inner.evolution() {
            Evolution::Ode { solver, .. } => Some(match solver {
                FixedSolver::Euler => "euler",
                FixedSolver::Midpoint => "midpoint",
                FixedSolver::Rk4 => "rk4",
            }),
            Evolution::Gru => None,
        }
    }

    /// The ODE's step size; None for the GRU baseline.
    #[getter]
    fn step_size(&self) -> Option<f64> {
        match self.inner.evolution() {
            Evolution::Ode { step_size, .. } => Some(step_size),
            Evolution::Gru => None,
        }
    }

    #[getter]
    fn variance_head(&self) -> &'static str {
        match self.inner.variance() {
            VarianceHead::Free => "free",
            VarianceHead::Residual { .. } => "residual",
        }
    }

    /// The residual head's baseline column; None for the free head.
    #[getter]
    fn baseline_column(&self) -> Option<usize> {
        match self.inner.variance() {
            VarianceHead::Free => None,
            VarianceHead::Residual { column } => Some(column),
        }
    }

    #[getter]
    fn policy_prior(&self) -> &'static str {
        match self.inner.prior() {
            PolicyPrior::None => "none",
            PolicyPrior::VolTarget { .. } => "vol_target",
        }
    }

    /// The vol-target prior's tilt; None without that prior.
    #[getter]
    fn policy_tilt(&self) -> Option<f64> {
        match self.inner.prior() {
            PolicyPrior::None => None,
            PolicyPrior::VolTarget { tilt } => Some(tilt),
        }
    }

    #[getter]
    fn var_floor(&self) -> f64 {
        self.inner.var_floor()
    }

    fn __repr__(&self) -> String {
        format!("NativeModelConfig({:?})", self.inner)
    }
}

/// The first-step forward of a trained model for one window, in f64 (``rust/model``): what
/// ``optim.predict.FirstStep`` computes for a batch of one, to rounding.
///
/// ``weights`` is the model's ``state_dict()`` (without ``baseline_column``, which the config
/// carries) as contiguous float64 NumPy arrays; every shape is checked, non-finite values and
/// unknown names are refused (``InvalidInput`` naming the parameter).
#[pyclass(module = "gradtrade._core", name = "NativeModel")]
pub struct PyNativeModel {
    inner: NativeModel,
    /// Copies of non-contiguous inputs (kept so a repeated call allocates nothing new).
    x_buf: Vec<f64>,
    t_buf: Vec<f64>,
}

fn weights_from(dict: &Bound<'_, PyDict>) -> PyResult<Weights> {
    let mut weights = Weights::new();
    for (key, value) in dict.iter() {
        let name = key.extract::<Text>()?.0;
        let array = value
            .extract::<PyReadonlyArrayDyn<'_, f64>>()
            .map_err(|_| {
                CoreError::invalid(format!("parameter {name} must be a float64 NumPy array"))
            })?;
        let param = Param::new(array.shape().to_vec(), values(&array))
            .map_err(|e| CoreError::invalid(format!("parameter {name}: {e}")))?;
        weights.insert(name, param)?;
    }
    Ok(weights)
}

/// The values of `a` in C order: borrowed when contiguous, else copied into `buf`.
fn slice_of<'a>(a: &'a PyReadonlyArrayDyn<'_, f64>, buf: &'a mut Vec<f64>) -> &'a [f64] {
    match a.as_slice() {
        Ok(s) => s,
        Err(_) => {
            buf.clear();
            buf.extend(a.as_array().iter().copied());
            buf
        }
    }
}

#[pymethods]
impl PyNativeModel {
    #[new]
    fn new(config: &PyNativeModelConfig, weights: &Bound<'_, PyDict>) -> PyResult<Self> {
        let inner = NativeModel::new(config.inner, weights_from(weights)?)?;
        Ok(PyNativeModel {
            inner,
            x_buf: Vec::new(),
            t_buf: Vec::new(),
        })
    }

    /// One window: ``x`` (C, n_state) rows, ``t_x`` (C,) their hours (<= 0), ``t_y`` the first
    /// target's hours (> 0). Returns ``(x_hat (n_state,), ret_mean, ret_var, position)``.
    fn forward<'py>(
        &mut self,
        py: Python<'py>,
        x: &Bound<'py, PyAny>,
        t_x: &Bound<'py, PyAny>,
        t_y: Float,
    ) -> PyResult<(Bound<'py, PyArray1<f64>>, f64, f64, f64)> {
        let n = self.inner.sizes().n_state;
        let xa = as_f64_array(x, "x")?;
        let ta = as_f64_array(t_x, "t_x")?;
        if xa.ndim() != 2 || xa.shape()[1] != n {
            return Err(CoreError::invalid(format!(
                "x must have shape (rows, {n}), got {:?}",
                xa.shape()
            ))
            .into());
        }
        if ta.ndim() != 1 || ta.shape()[0] != xa.shape()[0] {
            return Err(CoreError::invalid(format!(
                "t_x must have shape ({},) to match x, got {:?}",
                xa.shape()[0],
                ta.shape()
            ))
            .into());
        }
        let xs = slice_of(&xa, &mut self.x_buf);
        let ts = slice_of(&ta, &mut self.t_buf);
        let Forecast {
            x_hat,
            ret_mean,
            ret_var,
            position,
        } = self.inner.forward(xs, ts, t_y.0)?;
        Ok((PyArray1::from_slice(py, x_hat), ret_mean, ret_var, position))
    }

    #[getter]
    fn config(&self) -> PyNativeModelConfig {
        PyNativeModelConfig {
            inner: *self.inner.config(),
        }
    }

    fn __repr__(&self) -> String {
        let s = self.inner.sizes();
        format!(
            "NativeModel(n_state={}, hidden={}, latent={}, field_hidden={}, policy_hidden={}, \
             config={:?})",
            s.n_state,
            s.hidden,
            s.latent,
            s.field_hidden,
            s.policy_hidden,
            self.inner.config()
        )
    }
}
