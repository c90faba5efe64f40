//! The output heads and the trading policy (`model/base.py`'s `Heads` and `Policy`), for the
//! first target step of one window.
//!
//! Heads: o = W z + b (2n + 2 values); X_hat = o[..n], the next-bar return mean o[2n] *
//! ret_scale and its variance from o[2n + 1]: "free" (softplus(o) + var_floor) * ret_scale^2,
//! "residual" max(baseline, var_floor * ret_scale^2) * exp(clamp(o, -5, 5)) with the baseline
//! x[last, column] * baseline_scale + baseline_center. (The state variances o[n..2n] are not part
//! of a decision and are not computed.)
//!
//! Policy: feats = [X_hat, mean / sigma, log(var / vt^2)], g = Linear-Tanh-Linear(feats),
//! s = vt / sqrt(var + vt^2); u = tanh(g) * s, or with the vol-target prior
//! clamp(s * (1 + tilt * tanh(g)), -1, 1). Squares are x * x, as torch's `pow(x, 2)`.

use super::config::{PolicyPrior, VarianceHead};
use super::weights::{softplus, Linear, Weights};
use crate::errors::CoreResult;

/// The next-bar return forecast of the first step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct ReturnForecast {
    pub mean: f64,
    pub var: f64,
}

#[derive(Clone, Debug)]
pub(crate) struct Heads {
    n_state: usize,
    linear: Linear,
    ret_scale: f64,
    var_floor: f64,
    variance: VarianceHead,
    baseline_center: f64,
    baseline_scale: f64,
    out: Vec<f64>,
}

impl Heads {
    /// `heads.linear` (2n + 2, latent), the buffers `heads.ret_scale`, `baseline_center` and
    /// `baseline_scale` (taken for either head: every state dict has them).
    pub(crate) fn take(
        weights: &mut Weights,
        n_state: usize,
        latent: usize,
        var_floor: f64,
        variance: VarianceHead,
    ) -> CoreResult<Self> {
        let linear = Linear::take(weights, "heads.linear", 2 * n_state + 2, latent)?;
        Ok(Heads {
            n_state,
            linear,
            ret_scale: weights.scalar("heads.ret_scale")?,
            var_floor,
            variance,
            baseline_center: weights.scalar("baseline_center")?,
            baseline_scale: weights.scalar("baseline_scale")?,
            out: vec![0.0; 2 * n_state + 2],
        })
    }

    /// Runs the heads on `z`; `last_row` is the window's last state row (the residual head's
    /// baseline). X_hat is `self.x_hat()` afterwards.
    pub(crate) fn apply(&mut self, z: &[f64], last_row: &[f64]) -> ReturnForecast {
        self.linear.apply(z, &mut self.out);
        let n = self.n_state;
        let scale = self.ret_scale;
        let scale2 = scale * scale;
        let raw = self.out[2 * n + 1];
        let var = match self.variance {
            VarianceHead::Free => (softplus(raw) + self.var_floor) * scale2,
            VarianceHead::Residual { column } => {
                let baseline = last_row[column] * self.baseline_scale + self.baseline_center;
                let base = baseline.max(self.var_floor * scale2);
                base * raw.clamp(-5.0, 5.0).exp()
            }
        };
        ReturnForecast {
            mean: self.out[2 * n] * scale,
            var,
        }
    }

    pub(crate) fn x_hat(&self) -> &[f64] {
        &self.out[..self.n_state]
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Policy {
    n_state: usize,
    l0: Linear,
    l2: Linear,
    vol_target: f64,
    prior: PolicyPrior,
    feats: Vec<f64>,
    hidden: Vec<f64>,
    g: [f64; 1],
}

impl Policy {
    /// `policy.net.0` (hidden, n + 2), `policy.net.2` (1, hidden), the buffer
    /// `policy.vol_target`.
    pub(crate) fn take(
        weights: &mut Weights,
        n_state: usize,
        hidden: usize,
        prior: PolicyPrior,
    ) -> CoreResult<Self> {
        Ok(Policy {
            n_state,
            l0: Linear::take(weights, "policy.net.0", hidden, n_state + 2)?,
            l2: Linear::take(weights, "policy.net.2", 1, hidden)?,
            vol_target: weights.scalar("policy.vol_target")?,
            prior,
            feats: vec![0.0; n_state + 2],
            hidden: vec![0.0; hidden],
            g: [0.0],
        })
    }

    /// The position u for the forecast (`x_hat` has `n_state` values).
    pub(crate) fn position(&mut self, x_hat: &[f64], ret: ReturnForecast) -> f64 {
        let n = self.n_state;
        let vt = self.vol_target;
        let vt2 = vt * vt;
        let sigma = ret.var.sqrt();
        self.feats[..n].copy_from_slice(x_hat);
        self.feats[n] = ret.mean / sigma;
        self.feats[n + 1] = (ret.var / vt2).ln();
        self.l0.apply(&self.feats, &mut self.hidden);
        self.hidden.iter_mut().for_each(|v| *v = v.tanh());
        self.l2.apply(&self.hidden, &mut self.g);
        let signal = self.g[0].tanh();
        let scaling = vt / (ret.var + vt2).sqrt();
        match self.prior {
            PolicyPrior::None => signal * scaling,
            PolicyPrior::VolTarget { tilt } => (scaling * (1.0 + tilt * signal)).clamp(-1.0, 1.0),
        }
    }
}
