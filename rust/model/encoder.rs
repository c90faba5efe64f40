//! The context encoder (`model/base.py`'s `ContextEncoder`) and the GRU cell it shares with the
//! recurrent baseline's evolution.
//!
//! The cell is torch's CPU `GRUCell` (aten `RNN.cpp`), gate order r, z, n:
//! r = sigmoid(W_ir x + b_ir + W_hr h + b_hr), z = sigmoid(W_iz x + b_iz + W_hz h + b_hz),
//! n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h' = (h - n) * z + n (torch's form of
//! (1 - z) n + z h). Each row of the window is fed [x_row, t / 24, log(max(gap, 1e-3))] with the
//! gap to the previous row's time (the first row's gap is t0 - (t0 - 1), as `torch.diff` with
//! `prepend=t0 - 1` computes it), from h = 0; z0 = tanh(W_out h_last + b_out).
//!
//! Every buffer is allocated at construction: encoding a window allocates nothing.

use super::weights::{sigmoid, Linear, Weights};
use super::TIME_SCALE_HOURS;
use crate::errors::CoreResult;

/// One GRU cell with its gate buffers.
#[derive(Clone, Debug)]
pub(crate) struct GruCell {
    hidden: usize,
    ih: Linear,
    hh: Linear,
    gi: Vec<f64>,
    gh: Vec<f64>,
}

impl GruCell {
    /// `nn.GRUCell` names (`{prefix}.weight_ih`, ...) with `suffix` "" and `nn.GRU`'s first layer
    /// (`{prefix}.weight_ih_l0`, ...) with suffix "_l0".
    pub(crate) fn take(
        weights: &mut Weights,
        prefix: &str,
        suffix: &str,
        input: usize,
        hidden: usize,
    ) -> CoreResult<Self> {
        let name = |what: &str| format!("{prefix}.{what}{suffix}");
        let ih = Linear::take_named(
            weights,
            &name("weight_ih"),
            &name("bias_ih"),
            3 * hidden,
            input,
        )?;
        let hh = Linear::take_named(
            weights,
            &name("weight_hh"),
            &name("bias_hh"),
            3 * hidden,
            hidden,
        )?;
        Ok(GruCell {
            hidden,
            ih,
            hh,
            gi: vec![0.0; 3 * hidden],
            gh: vec![0.0; 3 * hidden],
        })
    }

    /// h <- GRU(x, h), in place (each h[k] is read once, after both gate products are formed).
    pub(crate) fn step(&mut self, x: &[f64], h: &mut [f64]) {
        let n = self.hidden;
        self.ih.apply(x, &mut self.gi);
        self.hh.apply(h, &mut self.gh);
        let (gi, gh) = (&self.gi, &self.gh);
        for (k, hk) in h.iter_mut().enumerate() {
            let r = sigmoid(gh[k] + gi[k]);
            let z = sigmoid(gh[n + k] + gi[n + k]);
            let new = (gi[2 * n + k] + gh[2 * n + k] * r).tanh();
            *hk = (*hk - new) * z + new;
        }
    }
}

/// The GRU over the window, then tanh(Linear) to the initial latent state.
#[derive(Clone, Debug)]
pub(crate) struct ContextEncoder {
    n_state: usize,
    cell: GruCell,
    out: Linear,
    feats: Vec<f64>,
    h: Vec<f64>,
}

impl ContextEncoder {
    /// `encoder.gru.*_l0` (input `n_state + 2`, `hidden`) and `encoder.out` (latent, hidden).
    pub(crate) fn take(
        weights: &mut Weights,
        n_state: usize,
        hidden: usize,
        latent: usize,
    ) -> CoreResult<Self> {
        let cell = GruCell::take(weights, "encoder.gru", "_l0", n_state + 2, hidden)?;
        let out = Linear::take(weights, "encoder.out", latent, hidden)?;
        Ok(ContextEncoder {
            n_state,
            cell,
            out,
            feats: vec![0.0; n_state + 2],
            h: vec![0.0; hidden],
        })
    }

    /// z0 of the window `x` (rows of `n_state`, row-major) at hours `t_x` (one per row, >= 1
    /// row; the caller checked the lengths).
    pub(crate) fn encode(&mut self, x: &[f64], t_x: &[f64], z0: &mut [f64]) {
        let n = self.n_state;
        self.h.fill(0.0);
        let mut prev = t_x.first().map_or(0.0, |t0| t0 - 1.0);
        for (row, &t) in x.chunks_exact(n).zip(t_x) {
            self.feats[..n].copy_from_slice(row);
            self.feats[n] = t / TIME_SCALE_HOURS;
            self.feats[n + 1] = (t - prev).max(1e-3).ln();
            prev = t;
            self.cell.step(&self.feats, &mut self.h);
        }
        self.out.apply(&self.h, z0);
        for v in z0.iter_mut() {
            *v = v.tanh();
        }
    }
}
