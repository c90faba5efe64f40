//! The step for the common case of one observed series (`dim_z == 1`) and a state of 1-4
//! dimensions, with compile-time sizes so the compiler unrolls everything. Same formulas and
//! order as the general step (filterpy's), with the 1x1 innovation covariance as a scalar.

// Index loops read like the formulas and unroll at these sizes.
#![allow(clippy::needless_range_loop)]

use super::{predict_diverged, KalmanFilter, LN_2PI};
use crate::errors::{CoreError, CoreResult};

impl KalmanFilter {
    pub(super) fn step_scalar_obs<const N: usize>(&mut self, z: f64) -> CoreResult<()> {
        debug_assert!(self.n == N && self.m == 1);
        let mut f = [[0.0; N]; N];
        let mut q = [[0.0; N]; N];
        let mut p = [[0.0; N]; N];
        let mut h = [0.0; N];
        let mut x = [0.0; N];
        for i in 0..N {
            f[i].copy_from_slice(&self.f.a[i][..N]);
            q[i].copy_from_slice(&self.q.a[i][..N]);
            p[i].copy_from_slice(&self.p.a[i][..N]);
        }
        h.copy_from_slice(&self.h.a[0][..N]);
        x.copy_from_slice(&self.x[..N]);
        let r = self.r.a[0][0];

        // Predict: x = F x, P = (F P) F' + Q.
        let mut xp = [0.0; N];
        let mut fp = [[0.0; N]; N];
        for i in 0..N {
            for k in 0..N {
                xp[i] += f[i][k] * x[k];
                for j in 0..N {
                    fp[i][j] += f[i][k] * p[k][j];
                }
            }
        }
        let mut pp = [[0.0; N]; N];
        for i in 0..N {
            for j in 0..N {
                let mut s = 0.0;
                for k in 0..N {
                    s += fp[i][k] * f[j][k];
                }
                pp[i][j] = s + q[i][j];
            }
        }
        if z.is_nan() {
            symmetrize(&mut pp);
            // A predict-only step can grow P without bound (|F| > 1): refuse the step that
            // leaves the finite range, before anything changes.
            if !(xp.iter().all(|v| v.is_finite()) && pp.iter().flatten().all(|v| v.is_finite())) {
                return Err(predict_diverged(self.n_steps));
            }
            self.commit(&xp, &pp);
            self.y[0] = f64::NAN;
            self.s.a[0][0] = f64::NAN;
            self.n_steps += 1;
            return Ok(());
        }

        // Update: y = z - H x, PH', S = H PH' + R, K = PH'/S, Joseph form for P.
        let mut hx = 0.0;
        for k in 0..N {
            hx += h[k] * xp[k];
        }
        let y = z - hx;
        let mut pht = [0.0; N];
        for i in 0..N {
            for k in 0..N {
                pht[i] += pp[i][k] * h[k];
            }
        }
        let mut s = 0.0;
        for k in 0..N {
            s += h[k] * pht[k];
        }
        s += r;
        if !(s > 0.0 && s.is_finite()) {
            return Err(CoreError::Numerical(format!(
                "innovation variance is not positive at step {}",
                self.n_steps
            )));
        }
        let si = 1.0 / s;
        let mut gain = [0.0; N];
        let mut xn = xp;
        for i in 0..N {
            gain[i] = pht[i] * si;
            xn[i] += gain[i] * y;
        }
        let mut ikh = [[0.0; N]; N];
        for i in 0..N {
            for j in 0..N {
                ikh[i][j] = if i == j { 1.0 } else { 0.0 } - gain[i] * h[j];
            }
        }
        let mut a = [[0.0; N]; N];
        for i in 0..N {
            for k in 0..N {
                for j in 0..N {
                    a[i][j] += ikh[i][k] * pp[k][j];
                }
            }
        }
        let mut pn = [[0.0; N]; N];
        for i in 0..N {
            for j in 0..N {
                let mut acc = 0.0;
                for k in 0..N {
                    acc += a[i][k] * ikh[j][k];
                }
                pn[i][j] = acc + gain[i] * r * gain[j];
            }
        }
        symmetrize(&mut pn);
        let ll = -0.5 * (LN_2PI + s.ln() + y * si * y);
        let finite = ll.is_finite()
            && xn.iter().all(|v| v.is_finite())
            && pn.iter().all(|row| row.iter().all(|v| v.is_finite()));
        if !finite {
            return Err(CoreError::Numerical(format!(
                "the filter diverged at step {} (non-finite state or likelihood)",
                self.n_steps
            )));
        }
        self.commit(&xn, &pn);
        self.y[0] = y;
        self.s.a[0][0] = s;
        self.loglik += ll;
        self.n_obs += 1;
        self.n_steps += 1;
        Ok(())
    }

    #[inline(always)]
    fn commit<const N: usize>(&mut self, x: &[f64; N], p: &[[f64; N]; N]) {
        self.x[..N].copy_from_slice(x);
        for (dst, src) in self.p.a.iter_mut().zip(p) {
            dst[..N].copy_from_slice(src);
        }
    }
}

#[inline(always)]
fn symmetrize<const N: usize>(p: &mut [[f64; N]; N]) {
    for i in 0..N {
        for j in (i + 1)..N {
            let s = 0.5 * (p[i][j] + p[j][i]);
            p[i][j] = s;
            p[j][i] = s;
        }
    }
}
