//! Saving and restoring a filter exactly (`to_json`/`from_json`), for restarts.

use serde::{Deserialize, Serialize};

use super::matrix::Mat;
use super::{check_covariance, serial, KalmanFilter, Model};
use crate::errors::{CoreError, CoreResult};

impl KalmanFilter {
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
        if snap.n_observations > snap.n_steps {
            return Err(CoreError::invalid(format!(
                "n_observations {} is above n_steps {}",
                snap.n_observations, snap.n_steps
            )));
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

/// Everything needed to continue a filter bit for bit after a restart: model, initial state
/// and the current state.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
