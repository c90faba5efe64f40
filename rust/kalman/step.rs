//! The general step: any state and observation dimension up to `MAX_DIM`, at a compile-time
//! matrix capacity `D` chosen by the caller.

use super::matrix::Mat;
use super::{KalmanFilter, LN_2PI};
use crate::errors::{CoreError, CoreResult};

impl KalmanFilter {
    pub(super) fn step_at<const D: usize>(&mut self, z: &[f64]) -> CoreResult<()> {
        let (n, m) = (self.n, self.m);
        let f: Mat<D> = self.f.resized();
        let h: Mat<D> = self.h.resized();
        let r: Mat<D> = self.r.resized();
        let mut x = [0.0; D];
        x[..n].copy_from_slice(&self.x[..n]);
        // Predict.
        let xp = f.mul_vec(&x);
        let mut pp = f
            .mul(&self.p.resized())
            .mul_t(&f)
            .add(&self.q.resized::<D>());
        if z.iter().any(|v| v.is_nan()) {
            pp.symmetrize();
            if !(pp.is_finite() && xp[..n].iter().all(|v| v.is_finite())) {
                return Err(super::predict_diverged(self.n_steps));
            }
            self.x[..n].copy_from_slice(&xp[..n]);
            pp.copy_into(&mut self.p);
            self.y[..m].fill(f64::NAN);
            for row in self.s.a.iter_mut().take(m) {
                row[..m].fill(f64::NAN);
            }
            self.n_steps += 1;
            return Ok(());
        }
        // Update, in filterpy's order: y, PH', S, S^-1, K, x, Joseph-form P.
        let hx = h.mul_vec(&xp);
        let mut y = [0.0; D];
        for i in 0..m {
            y[i] = z[i] - hx[i];
        }
        let pht = pp.mul_t(&h);
        let s = h.mul(&pht).add(&r);
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
        let i_kh = Mat::<D>::identity(n).sub(&k.mul(&h));
        let mut p = i_kh.mul(&pp).mul_t(&i_kh).add(&k.mul(&r).mul_t(&k));
        p.symmetrize();
        let siy = si.mul_vec(&y);
        let mut mahalanobis = 0.0;
        for i in 0..m {
            mahalanobis += y[i] * siy[i];
        }
        let ll = -0.5 * (m as f64 * LN_2PI + logdet + mahalanobis);
        if !(ll.is_finite() && p.is_finite() && x[..n].iter().all(|v| v.is_finite())) {
            return Err(CoreError::Numerical(format!(
                "the filter diverged at step {} (non-finite state or likelihood)",
                self.n_steps
            )));
        }
        self.x[..n].copy_from_slice(&x[..n]);
        p.copy_into(&mut self.p);
        self.y[..m].copy_from_slice(&y[..m]);
        s.copy_into(&mut self.s);
        self.loglik += ll;
        self.n_obs += 1;
        self.n_steps += 1;
        Ok(())
    }
}
