//! A linear-Gaussian Kalman filter for small state dimensions (at most `MAX_DIM`).
//!
//! Model: `x_t = F x_{t-1} + w_t, w ~ N(0, Q)` and `z_t = H x_t + v_t, v ~ N(0, R)`. One `step`
//! is predict then update, the same order and formulas as filterpy (`K = P H' S^-1`, Joseph
//! form `P = (I-KH) P (I-KH)' + K R K'`), so the two agree to rounding. After every step P is
//! made exactly symmetric. A step allocates nothing: matrices live on the stack.
//!
//! An observation with any NaN component is missing: the step predicts only, the innovation is
//! NaN and the log-likelihood is unchanged. Infinite observations are invalid input. Every step,
//! predict-only included, refuses (`Numerical`) a result that is not finite, leaving the filter
//! as before it, so a saved filter always reads back.

pub mod fit;
pub mod matrix;
mod scalar;
pub mod serial;
mod snapshot;
mod step;

pub use snapshot::Snapshot;

#[cfg(feature = "python")]
pub mod python;

use serde::{Deserialize, Serialize};

use crate::errors::{CoreError, CoreResult};
use matrix::{Mat, MAX_DIM};

const LN_2PI: f64 = 1.837_877_066_409_345_5;
/// Relative tolerance for "symmetric" and "positive semi-definite" checks of user matrices.
const SYMMETRY_TOL: f64 = 1e-9;

/// Which model a filter holds. The two named models can be fitted (`fit`); a general filter
/// cannot, because its free parameters are not known.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Model {
    General,
    LocalLevel {
        #[serde(with = "serial::exact")]
        q: f64,
        #[serde(with = "serial::exact")]
        r: f64,
    },
    LocalLinearTrend {
        #[serde(with = "serial::exact")]
        q_level: f64,
        #[serde(with = "serial::exact")]
        q_trend: f64,
        #[serde(with = "serial::exact")]
        r: f64,
    },
}

#[derive(Clone, Debug)]
pub struct KalmanFilter {
    model: Model,
    n: usize,
    m: usize,
    f: Mat,
    h: Mat,
    q: Mat,
    r: Mat,
    x0: [f64; MAX_DIM],
    p0: Mat,
    x: [f64; MAX_DIM],
    p: Mat,
    /// Last innovation `z - H x_prior` (NaN after a missing observation).
    y: [f64; MAX_DIM],
    /// Last innovation covariance `H P_prior H' + R` (NaN after a missing observation).
    s: Mat,
    loglik: f64,
    n_obs: u64,
    n_steps: u64,
}

fn check_finite(m: &Mat, what: &str) -> CoreResult<()> {
    if m.is_finite() {
        Ok(())
    } else {
        Err(CoreError::invalid(format!(
            "{what} contains NaN or infinite values"
        )))
    }
}

fn check_covariance(m: &Mat, what: &str, definite: bool) -> CoreResult<()> {
    check_finite(m, what)?;
    if m.rows != m.cols {
        return Err(CoreError::invalid(format!(
            "{what} must be square, got {}x{}",
            m.rows, m.cols
        )));
    }
    if m.asymmetry() > SYMMETRY_TOL {
        return Err(CoreError::invalid(format!("{what} must be symmetric")));
    }
    // The semi-definite tolerance below is relative to the largest variance; a variance of its
    // own is never negative, however small.
    if let Some(i) = (0..m.rows).find(|&i| m.a[i][i] < 0.0) {
        return Err(CoreError::invalid(format!(
            "{what} has a negative variance {} at [{i}, {i}]",
            m.a[i][i]
        )));
    }
    let ok = if definite {
        m.cholesky(0.0).is_some()
    } else {
        m.cholesky(SYMMETRY_TOL).is_some()
    };
    if !ok {
        let kind = if definite {
            "positive definite"
        } else {
            "positive semi-definite"
        };
        return Err(CoreError::invalid(format!("{what} must be {kind}")));
    }
    Ok(())
}

fn check_variance(v: f64, what: &str, positive: bool) -> CoreResult<()> {
    let ok = v.is_finite() && if positive { v > 0.0 } else { v >= 0.0 };
    if ok {
        Ok(())
    } else {
        let bound = if positive { "> 0" } else { ">= 0" };
        Err(CoreError::invalid(format!(
            "{what} must be finite and {bound}, got {v}"
        )))
    }
}

impl KalmanFilter {
    /// A general filter. Shapes: F (n,n), H (m,n), Q (n,n), R (m,m), x0 (n), P0 (n,n); Q and P0
    /// symmetric positive semi-definite, R symmetric positive definite, everything finite.
    pub fn new(f: Mat, h: Mat, q: Mat, r: Mat, x0: &[f64], p0: Mat) -> CoreResult<Self> {
        Self::with_model(Model::General, f, h, q, r, x0, p0)
    }

    fn with_model(
        model: Model,
        f: Mat,
        h: Mat,
        q: Mat,
        r: Mat,
        x0: &[f64],
        p0: Mat,
    ) -> CoreResult<Self> {
        let n = f.rows;
        if f.cols != n {
            return Err(CoreError::invalid(format!(
                "F must be square, got {}x{}",
                f.rows, f.cols
            )));
        }
        let m = h.rows;
        if h.cols != n {
            return Err(CoreError::invalid(format!(
                "H must have shape (dim_z, {n}) to match F, got {}x{}",
                h.rows, h.cols
            )));
        }
        if q.rows != n || q.cols != n {
            return Err(CoreError::invalid(format!(
                "Q must have shape ({n}, {n}), got {}x{}",
                q.rows, q.cols
            )));
        }
        if r.rows != m || r.cols != m {
            return Err(CoreError::invalid(format!(
                "R must have shape ({m}, {m}), got {}x{}",
                r.rows, r.cols
            )));
        }
        if p0.rows != n || p0.cols != n {
            return Err(CoreError::invalid(format!(
                "P0 must have shape ({n}, {n}), got {}x{}",
                p0.rows, p0.cols
            )));
        }
        if x0.len() != n {
            return Err(CoreError::invalid(format!(
                "x0 must have length {n}, got {}",
                x0.len()
            )));
        }
        check_finite(&f, "F")?;
        check_finite(&h, "H")?;
        check_covariance(&q, "Q", false)?;
        check_covariance(&r, "R", true)?;
        check_covariance(&p0, "P0", false)?;
        if x0.iter().any(|v| !v.is_finite()) {
            return Err(CoreError::invalid("x0 contains NaN or infinite values"));
        }
        check_model(&model, &f, &h, &q, &r)?;
        let mut x = [0.0; MAX_DIM];
        x[..n].copy_from_slice(x0);
        let mut p0 = p0;
        p0.symmetrize();
        let mut q = q;
        q.symmetrize();
        let mut r = r;
        r.symmetrize();
        Ok(KalmanFilter {
            model,
            n,
            m,
            f,
            h,
            q,
            r,
            x0: x,
            p0,
            x,
            p: p0,
            y: [f64::NAN; MAX_DIM],
            s: nan_mat(m),
            loglik: 0.0,
            n_obs: 0,
            n_steps: 0,
        })
    }

    /// Random walk plus noise: `level_t = level_{t-1} + N(0, q)`, `z_t = level_t + N(0, r)`.
    pub fn local_level(q: f64, r: f64, x0: f64, p0: f64) -> CoreResult<Self> {
        check_variance(q, "q", false)?;
        check_variance(r, "r", true)?;
        check_variance(p0, "p0", false)?;
        let one = Mat::identity(1);
        Self::with_model(
            Model::LocalLevel { q, r },
            one,
            one,
            Mat::diag(&[q]),
            Mat::diag(&[r]),
            &[x0],
            Mat::diag(&[p0]),
        )
    }

    /// Level and slope: `level_t = level_{t-1} + trend_{t-1} + N(0, q_level)`,
    /// `trend_t = trend_{t-1} + N(0, q_trend)`, `z_t = level_t + N(0, r)`.
    pub fn local_linear_trend(
        q_level: f64,
        q_trend: f64,
        r: f64,
        x0: [f64; 2],
        p0: [f64; 2],
    ) -> CoreResult<Self> {
        check_variance(q_level, "q_level", false)?;
        check_variance(q_trend, "q_trend", false)?;
        check_variance(r, "r", true)?;
        check_variance(p0[0], "p0 (level)", false)?;
        check_variance(p0[1], "p0 (trend)", false)?;
        Self::with_model(
            Model::LocalLinearTrend {
                q_level,
                q_trend,
                r,
            },
            Mat::from_row_major(2, 2, &[1.0, 1.0, 0.0, 1.0]),
            Mat::from_row_major(1, 2, &[1.0, 0.0]),
            Mat::diag(&[q_level, q_trend]),
            Mat::diag(&[r]),
            &x0,
            Mat::diag(&p0),
        )
    }

    pub fn model(&self) -> Model {
        self.model
    }
    pub fn dim_x(&self) -> usize {
        self.n
    }
    pub fn dim_z(&self) -> usize {
        self.m
    }
    pub fn state(&self) -> &[f64] {
        &self.x[..self.n]
    }
    pub fn covariance(&self) -> &Mat {
        &self.p
    }
    pub fn innovation(&self) -> &[f64] {
        &self.y[..self.m]
    }
    pub fn innovation_covariance(&self) -> &Mat {
        &self.s
    }
    /// Sum of the log-likelihoods of the observations seen since construction or `reset`.
    pub fn loglik(&self) -> f64 {
        self.loglik
    }
    pub fn n_observations(&self) -> u64 {
        self.n_obs
    }
    pub fn n_steps(&self) -> u64 {
        self.n_steps
    }
    pub fn matrices(&self) -> (&Mat, &Mat, &Mat, &Mat) {
        (&self.f, &self.h, &self.q, &self.r)
    }
    pub fn initial_state(&self) -> (&[f64], &Mat) {
        (&self.x0[..self.n], &self.p0)
    }

    /// Back to the initial state and covariance given at construction.
    pub fn reset(&mut self) {
        self.x = self.x0;
        self.p = self.p0;
        self.y = [f64::NAN; MAX_DIM];
        self.s = nan_mat(self.m);
        self.loglik = 0.0;
        self.n_obs = 0;
        self.n_steps = 0;
    }

    /// Predict, then update with `z` (length `dim_z`; any NaN component = missing observation).
    /// On error nothing changes.
    pub fn step(&mut self, z: &[f64]) -> CoreResult<()> {
        if z.len() != self.m {
            return Err(CoreError::invalid(format!(
                "observation must have length {}, got {}",
                self.m,
                z.len()
            )));
        }
        if z.iter().any(|v| v.is_infinite()) {
            return Err(CoreError::invalid("observation is infinite"));
        }
        self.step_checked(z)
    }

    /// `step` for a scalar observation (`dim_z == 1`).
    pub fn step_scalar(&mut self, z: f64) -> CoreResult<()> {
        self.step(&[z])
    }

    /// `z` has the right length and no infinities. One observed series with up to 4 states
    /// takes the unrolled scalar path (`scalar.rs`); otherwise the step runs at the smallest
    /// matrix capacity that holds the model (bit-identical across capacities).
    fn step_checked(&mut self, z: &[f64]) -> CoreResult<()> {
        if self.m == 1 {
            match self.n {
                1 => return self.step_scalar_obs::<1>(z[0]),
                2 => return self.step_scalar_obs::<2>(z[0]),
                3 => return self.step_scalar_obs::<3>(z[0]),
                4 => return self.step_scalar_obs::<4>(z[0]),
                _ => {}
            }
        }
        match self.n.max(self.m) {
            1 => self.step_at::<1>(z),
            2 => self.step_at::<2>(z),
            3 | 4 => self.step_at::<4>(z),
            _ => self.step_at::<MAX_DIM>(z),
        }
    }

    /// Runs `step` over `zs` (row-major, `len = n * dim_z`), writing each posterior state to
    /// `states` (`n * dim_x`) and the diagonal of each posterior covariance to `variances`.
    /// Returns the log-likelihood of this batch. The filter continues from its current state
    /// and ends after the last observation, exactly as if `step` had been called n times. On
    /// error (infinite input, numerical failure) the filter is left as it was before the call.
    pub fn filter(
        &mut self,
        zs: &[f64],
        states: &mut [f64],
        variances: &mut [f64],
    ) -> CoreResult<f64> {
        let (n, m) = (self.n, self.m);
        if zs.len() % m != 0 {
            return Err(CoreError::invalid(format!(
                "observations must have {m} columns, got {} values",
                zs.len()
            )));
        }
        let len = zs.len() / m;
        assert!(states.len() == len * n && variances.len() == len * n);
        if let Some(i) = zs.iter().position(|v| v.is_infinite()) {
            return Err(CoreError::invalid(format!(
                "observation {} is infinite",
                i / m
            )));
        }
        let saved = self.clone();
        let start = self.loglik;
        for t in 0..len {
            if let Err(e) = self.step_checked(&zs[t * m..(t + 1) * m]) {
                *self = saved;
                return Err(e);
            }
            states[t * n..(t + 1) * n].copy_from_slice(&self.x[..n]);
            for i in 0..n {
                variances[t * n + i] = self.p.a[i][i];
            }
        }
        Ok(self.loglik - start)
    }

    /// Log-likelihood of `zs` (dim_z = 1) under this model from its initial state, without
    /// touching this filter's state. Used by `fit`.
    pub fn loglik_of(&self, zs: &[f64]) -> CoreResult<f64> {
        let mut probe = self.clone();
        probe.reset();
        for z in zs {
            probe.step_checked(std::slice::from_ref(z))?;
        }
        Ok(probe.loglik)
    }
}

/// A named model's parameters are valid variances and are exactly the matrices it holds, so a
/// restored filter cannot carry a `q` its `Q` does not have (and `fit` starts from the truth).
fn check_model(model: &Model, f: &Mat, h: &Mat, q: &Mat, r: &Mat) -> CoreResult<()> {
    let expected = match *model {
        Model::General => return Ok(()),
        Model::LocalLevel { q, r } => {
            check_variance(q, "q", false)?;
            check_variance(r, "r", true)?;
            let one = Mat::identity(1);
            (one, one, Mat::diag(&[q]), Mat::diag(&[r]))
        }
        Model::LocalLinearTrend {
            q_level,
            q_trend,
            r,
        } => {
            check_variance(q_level, "q_level", false)?;
            check_variance(q_trend, "q_trend", false)?;
            check_variance(r, "r", true)?;
            (
                Mat::from_row_major(2, 2, &[1.0, 1.0, 0.0, 1.0]),
                Mat::from_row_major(1, 2, &[1.0, 0.0]),
                Mat::diag(&[q_level, q_trend]),
                Mat::diag(&[r]),
            )
        }
    };
    let same = |a: &Mat, b: &Mat| a.to_rows() == b.to_rows();
    if !(same(f, &expected.0)
        && same(h, &expected.1)
        && same(q, &expected.2)
        && same(r, &expected.3))
    {
        return Err(CoreError::invalid(
            "the model's parameters do not match its F, H, Q, R matrices",
        ));
    }
    Ok(())
}

/// The error of a predict-only step whose state or covariance is no longer finite.
fn predict_diverged(step: u64) -> CoreError {
    CoreError::Numerical(format!(
        "the filter diverged at step {step}: predicting without an observation made the state \
         or covariance non-finite (the state is left as before the step)"
    ))
}

fn nan_mat(m: usize) -> Mat {
    let mut s = Mat::zeros(m, m);
    for row in s.a.iter_mut().take(m) {
        for v in row.iter_mut().take(m) {
            *v = f64::NAN;
        }
    }
    s
}

#[cfg(test)]
mod tests;
