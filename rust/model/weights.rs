//! A model's `state_dict()` as named float64 arrays, taken apart parameter by parameter into
//! dense layers whose every shape and value was checked.
//!
//! Invariant: a layer exists only with the shapes its model needs and finite values; a missing,
//! misshapen or non-finite parameter is refused naming it, and so is any parameter left over
//! when the model is built (`Weights::finish`): a state dict with a layer the native forward
//! does not know belongs to a model it does not compute.

use std::collections::BTreeMap;

use crate::errors::{CoreError, CoreResult};

/// One parameter or buffer: its shape and its values in C order.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    shape: Vec<usize>,
    data: Vec<f64>,
}

impl Param {
    /// `data.len()` must equal the product of `shape` (empty shape: one scalar).
    pub fn new(shape: Vec<usize>, data: Vec<f64>) -> CoreResult<Self> {
        let len = shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| CoreError::invalid(format!("shape {shape:?} overflows")))?;
        if len != data.len() {
            return Err(CoreError::invalid(format!(
                "shape {shape:?} needs {len} values, got {}",
                data.len()
            )));
        }
        Ok(Param { shape, data })
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }
}

/// Named parameters, consumed as the model is built.
#[derive(Clone, Debug, Default)]
pub struct Weights {
    pub(super) params: BTreeMap<String, Param>,
}

impl Weights {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `name`; a name given twice is refused.
    pub fn insert(&mut self, name: impl Into<String>, param: Param) -> CoreResult<()> {
        let name = name.into();
        if self.params.contains_key(&name) {
            return Err(CoreError::invalid(format!("parameter {name} given twice")));
        }
        self.params.insert(name, param);
        Ok(())
    }

    /// The shape of `name`, which must exist and have `ndim` dimensions, each >= 1.
    pub(crate) fn dims(&self, name: &str, ndim: usize) -> CoreResult<&[usize]> {
        let p = self
            .params
            .get(name)
            .ok_or_else(|| CoreError::invalid(format!("missing parameter {name}")))?;
        if p.shape.len() != ndim || p.shape.contains(&0) {
            return Err(CoreError::invalid(format!(
                "parameter {name} must be a non-empty {ndim}-D array, got shape {:?}",
                p.shape
            )));
        }
        Ok(&p.shape)
    }

    /// Removes `name`, checking its shape and that every value is finite.
    pub(crate) fn take(&mut self, name: &str, shape: &[usize]) -> CoreResult<Vec<f64>> {
        let p = self
            .params
            .remove(name)
            .ok_or_else(|| CoreError::invalid(format!("missing parameter {name}")))?;
        if p.shape != shape {
            return Err(CoreError::invalid(format!(
                "parameter {name} must have shape {shape:?}, got {:?}",
                p.shape
            )));
        }
        if let Some(i) = p.data.iter().position(|v| !v.is_finite()) {
            return Err(CoreError::invalid(format!(
                "parameter {name} is not finite (value {} at flat index {i})",
                p.data[i]
            )));
        }
        Ok(p.data)
    }

    /// Removes the 0-D parameter `name` (a buffer such as `heads.ret_scale`).
    pub(crate) fn scalar(&mut self, name: &str) -> CoreResult<f64> {
        Ok(self.take(name, &[])?[0])
    }

    /// Refuses whatever was not taken.
    pub(crate) fn finish(self) -> CoreResult<()> {
        if self.params.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = self.params.keys().map(String::as_str).collect();
        Err(CoreError::invalid(format!(
            "unexpected parameters {names:?}: the native forward does not compute a model that \
             has them"
        )))
    }
}

/// `sum_i a[i] * b[i]` over four running sums (independent chains, so it pipelines; the order
/// of the additions differs from torch's BLAS as any two BLAS kernels differ, within rounding).
#[inline]
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 4];
    let mut ca = a.chunks_exact(4);
    let mut cb = b.chunks_exact(4);
    for (x, y) in (&mut ca).zip(&mut cb) {
        acc[0] += x[0] * y[0];
        acc[1] += x[1] * y[1];
        acc[2] += x[2] * y[2];
        acc[3] += x[3] * y[3];
    }
    let mut tail = 0.0;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += x * y;
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// `nn.Linear`: y = W x + b with W (rows, cols) row-major.
#[derive(Clone, Debug)]
pub(crate) struct Linear {
    rows: usize,
    cols: usize,
    w: Vec<f64>,
    b: Vec<f64>,
}

impl Linear {
    /// Takes `{weight}` (rows, cols) and `{bias}` (rows,).
    pub(crate) fn take_named(
        weights: &mut Weights,
        weight: &str,
        bias: &str,
        rows: usize,
        cols: usize,
    ) -> CoreResult<Self> {
        let w = weights.take(weight, &[rows, cols])?;
        let b = weights.take(bias, &[rows])?;
        Ok(Linear { rows, cols, w, b })
    }

    /// Takes `{prefix}.weight` and `{prefix}.bias`, as `nn.Linear` names them.
    pub(crate) fn take(
        weights: &mut Weights,
        prefix: &str,
        rows: usize,
        cols: usize,
    ) -> CoreResult<Self> {
        Self::take_named(
            weights,
            &format!("{prefix}.weight"),
            &format!("{prefix}.bias"),
            rows,
            cols,
        )
    }

    /// `out = W x + b`; `x` has `cols` values, `out` `rows` (the callers' buffers are sized so).
    #[inline]
    pub(crate) fn apply(&self, x: &[f64], out: &mut [f64]) {
        debug_assert!(x.len() == self.cols && out.len() == self.rows);
        for ((o, row), b) in out
            .iter_mut()
            .zip(self.w.chunks_exact(self.cols))
            .zip(&self.b)
        {
            *o = dot(row, x) + b;
        }
    }
}

/// torch's `sigmoid` on CPU: 1 / (1 + exp(-x)).
#[inline]
pub(crate) fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// torch's `softplus` (beta 1, threshold 20): x above the threshold, else log1p(exp(x)).
#[inline]
pub(crate) fn softplus(x: f64) -> f64 {
    if x > 20.0 {
        x
    } else {
        x.exp().ln_1p()
    }
}
