//! A linear-Gaussian Kalman filter for small state dimensions (at most `MAX_DIM`).
//!
//! Model: `x_t = F x_{t-1} + w_t, w ~ N(0, Q)` and `z_t = H x_t + v_t, v ~ N(0, R)`. One `step`
//! is predict then update, the same order and formulas as filterpy (`K = P H' S^-1`, Joseph
//! form `P = (I-KH) P (I-KH)' + K R K'`), so the two agree to rounding. After every step P is
//! made exactly symmetric. A step allocates nothing: matrices live on the stack.
//!
//! An observation with any NaN component is missing: the step predicts only, the innovation is
//! NaN and the log-likelihood is unchanged. Infinite observations are invalid input.

pub mod fit;
pub mod matrix;
pub mod serial;

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
#[serde(tag = "kind", rename_all = "snake_case")]
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

    fn predict(&self) -> ([f64; MAX_DIM], Mat) {
        let x = self.f.mul_vec(&self.x);
        let p = self.f.mul(&self.p).mul_t(&self.f).add(&self.q);
        (x, p)
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

    /// `z` has the right length and no infinities.
    fn step_checked(&mut self, z: &[f64]) -> CoreResult<()> {
        let (xp, pp) = self.predict();
        if z.iter().any(|v| v.is_nan()) {
            self.x = xp;
            self.p = pp;
            self.p.symmetrize();
            self.y = [f64::NAN; MAX_DIM];
            self.s = nan_mat(self.m);
            self.n_steps += 1;
            return Ok(());
        }
        let (n, m) = (self.n, self.m);
        let hx = self.h.mul_vec(&xp);
        let mut y = [0.0; MAX_DIM];
        for i in 0..m {
            y[i] = z[i] - hx[i];
        }
        let pht = pp.mul_t(&self.h);
        let s = self.h.mul(&pht).add(&self.r);
        let (si, logdet) = s.spd_inverse_logdet().ok_or_else(|| {
            CoreError::Numerical(format!(
                "innovation covariance is not positive definite at step {}",
                self.n_steps
            ))
        })?;
        let k = pht.mul(&si);
        let ky = k.mul_vec(&y);
        let mut x = xp;
        for i in 0..n {
            x[i] += ky[i];
        }
        let i_kh = Mat::identity(n).sub(&k.mul(&self.h));
        let mut p = i_kh.mul(&pp).mul_t(&i_kh).add(&k.mul(&self.r).mul_t(&k));
        p.symmetrize();
        let siy = si.mul_vec(&y);
        let mut mahalanobis = 0.0;
        for i in 0..m {
            mahalanobis += y[i] * siy[i];
        }
        let ll = -0.5 * (m as f64 * LN_2PI + logdet + mahalanobis);
        if !(ll.is_finite() && p.is_finite() && x.iter().all(|v| v.is_finite())) {
            return Err(CoreError::Numerical(format!(
                "the filter diverged at step {} (non-finite state or likelihood)",
                self.n_steps
            )));
        }
        self.x = x;
        self.p = p;
        self.y = y;
        self.s = s;
        self.loglik += ll;
        self.n_obs += 1;
        self.n_steps += 1;
        Ok(())
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

    pub fn to_snapshot(&self) -> Snapshot {
        let mut s = self.s;
        s.rows = self.m;
        s.cols = self.m;
        Snapshot {
            version: 1,
            model: self.model,
            f: self.f.to_rows(),
            h: self.h.to_rows(),
            q: self.q.to_rows(),
            r: self.r.to_rows(),
            x0: self.x0[..self.n].to_vec(),
            p0: self.p0.to_rows(),
            x: self.state().to_vec(),
            p: self.p.to_rows(),
            innovation: self.innovation().to_vec(),
            innovation_variance: s.to_rows(),
            loglik: self.loglik,
            n_observations: self.n_obs,
            n_steps: self.n_steps,
        }
    }

    pub fn from_snapshot(snap: &Snapshot) -> CoreResult<Self> {
        if snap.version != 1 {
            return Err(CoreError::invalid(format!(
                "unsupported KalmanFilter state version {}",
                snap.version
            )));
        }
        let mut kf = Self::with_model(
            snap.model,
            Mat::from_rows(&snap.f, "F")?,
            Mat::from_rows(&snap.h, "H")?,
            Mat::from_rows(&snap.q, "Q")?,
            Mat::from_rows(&snap.r, "R")?,
            &snap.x0,
            Mat::from_rows(&snap.p0, "P0")?,
        )?;
        let (n, m) = (kf.n, kf.m);
        if snap.x.len() != n || snap.x.iter().any(|v| !v.is_finite()) {
            return Err(CoreError::invalid(format!(
                "state x must be {n} finite numbers"
            )));
        }
        let p = Mat::from_rows(&snap.p, "P")?;
        if p.rows != n || p.cols != n {
            return Err(CoreError::invalid(format!("P must have shape ({n}, {n})")));
        }
        check_covariance(&p, "P", false)?;
        if snap.innovation.len() != m {
            return Err(CoreError::invalid(format!(
                "innovation must have length {m}"
            )));
        }
        let s = Mat::from_rows(&snap.innovation_variance, "innovation_variance")?;
        if s.rows != m || s.cols != m {
            return Err(CoreError::invalid(format!(
                "innovation_variance must have shape ({m}, {m})"
            )));
        }
        if !snap.loglik.is_finite() {
            return Err(CoreError::invalid("loglik must be finite"));
        }
        kf.x[..n].copy_from_slice(&snap.x);
        kf.p = p;
        kf.y[..m].copy_from_slice(&snap.innovation);
        kf.s = s;
        kf.loglik = snap.loglik;
        kf.n_obs = snap.n_observations;
        kf.n_steps = snap.n_steps;
        Ok(kf)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.to_snapshot()).expect("a snapshot always serializes")
    }

    pub fn from_json(s: &str) -> CoreResult<Self> {
        let snap: Snapshot = serde_json::from_str(s)
            .map_err(|e| CoreError::invalid(format!("invalid KalmanFilter JSON: {e}")))?;
        Self::from_snapshot(&snap)
    }
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

/// Everything needed to continue a filter bit for bit after a restart: model, initial state
/// and the current state.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Snapshot {
    pub version: u32,
    pub model: Model,
    #[serde(with = "serial::exact_mat")]
    pub f: Vec<Vec<f64>>,
    #[serde(with = "serial::exact_mat")]
    pub h: Vec<Vec<f64>>,
    #[serde(with = "serial::exact_mat")]
    pub q: Vec<Vec<f64>>,
    #[serde(with = "serial::exact_mat")]
    pub r: Vec<Vec<f64>>,
    #[serde(with = "serial::exact_vec")]
    pub x0: Vec<f64>,
    #[serde(with = "serial::exact_mat")]
    pub p0: Vec<Vec<f64>>,
    #[serde(with = "serial::exact_vec")]
    pub x: Vec<f64>,
    #[serde(with = "serial::exact_mat")]
    pub p: Vec<Vec<f64>>,
    #[serde(with = "serial::exact_vec")]
    pub innovation: Vec<f64>,
    #[serde(with = "serial::exact_mat")]
    pub innovation_variance: Vec<Vec<f64>>,
    #[serde(with = "serial::exact")]
    pub loglik: f64,
    pub n_observations: u64,
    pub n_steps: u64,
}

#[cfg(test)]
mod tests;
