//! The latent state's evolution over the first target interval [0, delta] (hours): the Neural
//! ODE on a fixed grid (`model/dynamics.py` + `model/fixed_grid.py`) or the recurrent
//! baseline's GRU step (`model/recurrent.py`).
//!
//! ODE: dz/ds = delta * f(z, t = s * delta) on s in [0, 1], f an MLP on [z, t / 24]
//! (Linear-Tanh-Linear-Tanh-Linear). The grid is torchdiffeq's `_grid_constructor_from_step_size`
//! on [0, 1]: ceil(1 / h + 1) points i * h, the last forced to 1. The stages are
//! `fixed_grid.py`'s (torchdiffeq's euler, midpoint and 3/8-rule rk4), each written as the same
//! operations in the same order, so the only differences from torch are those of the dot
//! products' summation order and of the libm.
//!
//! Every buffer, the grid included, is allocated at construction.

use super::config::FixedSolver;
use super::encoder::GruCell;
use super::weights::{Linear, Weights};
use super::TIME_SCALE_HOURS;
use crate::errors::CoreResult;

const ONE_THIRD: f64 = 1.0 / 3.0;
const TWO_THIRDS: f64 = 2.0 / 3.0;

/// torchdiffeq's grid on [0, 1] for `step_size` in (0, 1] (at least two points).
pub(crate) fn unit_grid(step_size: f64) -> Vec<f64> {
    let niters = (1.0 / step_size + 1.0).ceil();
    let count = (niters as usize).max(2);
    let mut grid: Vec<f64> = (0..count).map(|i| i as f64 * step_size + 0.0).collect();
    grid[count - 1] = 1.0;
    grid
}

/// f(z, t): the MLP of `VectorField` (`field.net.0`, `.2`, `.4`).
#[derive(Clone, Debug)]
struct VectorField {
    latent: usize,
    l0: Linear,
    l2: Linear,
    l4: Linear,
    inp: Vec<f64>,
    h1: Vec<f64>,
    h2: Vec<f64>,
}

impl VectorField {
    /// `out = delta * f(z, s * delta)`: dz/ds of the interval of length `delta` from t = 0.
    fn ds(&mut self, s: f64, delta: f64, z: &[f64], out: &mut [f64]) {
        let l = self.latent;
        self.inp[..l].copy_from_slice(z);
        self.inp[l] = (0.0 + s * delta) / TIME_SCALE_HOURS;
        self.l0.apply(&self.inp, &mut self.h1);
        self.h1.iter_mut().for_each(|v| *v = v.tanh());
        self.l2.apply(&self.h1, &mut self.h2);
        self.h2.iter_mut().for_each(|v| *v = v.tanh());
        self.l4.apply(&self.h2, out);
        out.iter_mut().for_each(|v| *v *= delta);
    }
}

/// The ODE on a fixed grid, with its stage buffers.
#[derive(Clone, Debug)]
pub(crate) struct OdeEvolution {
    field: VectorField,
    solver: FixedSolver,
    grid: Vec<f64>,
    k1: Vec<f64>,
    k2: Vec<f64>,
    k3: Vec<f64>,
    k4: Vec<f64>,
    stage: Vec<f64>,
}

impl OdeEvolution {
    /// `field.net.{0,2,4}`: (hidden, latent + 1), (hidden, hidden), (latent, hidden).
    pub(crate) fn take(
        weights: &mut Weights,
        latent: usize,
        hidden: usize,
        solver: FixedSolver,
        step_size: f64,
    ) -> CoreResult<Self> {
        let field = VectorField {
            latent,
            l0: Linear::take(weights, "field.net.0", hidden, latent + 1)?,
            l2: Linear::take(weights, "field.net.2", hidden, hidden)?,
            l4: Linear::take(weights, "field.net.4", latent, hidden)?,
            inp: vec![0.0; latent + 1],
            h1: vec![0.0; hidden],
            h2: vec![0.0; hidden],
        };
        Ok(OdeEvolution {
            field,
            solver,
            grid: unit_grid(step_size),
            k1: vec![0.0; latent],
            k2: vec![0.0; latent],
            k3: vec![0.0; latent],
            k4: vec![0.0; latent],
            stage: vec![0.0; latent],
        })
    }

    /// z <- z at s = 1 for the interval of length `delta` hours.
    pub(crate) fn evolve(&mut self, delta: f64, z: &mut [f64]) {
        let OdeEvolution {
            field,
            solver,
            grid,
            k1,
            k2,
            k3,
            k4,
            stage,
        } = self;
        for pair in grid.windows(2) {
            let (t0, t1) = (pair[0], pair[1]);
            let dt = t1 - t0;
            field.ds(t0, delta, z, k1);
            match solver {
                FixedSolver::Euler => {
                    for (y, f) in z.iter_mut().zip(k1.iter()) {
                        *y += dt * f;
                    }
                }
                FixedSolver::Midpoint => {
                    let half_dt = 0.5 * dt;
                    for ((s, y), f) in stage.iter_mut().zip(z.iter()).zip(k1.iter()) {
                        *s = y + f * half_dt;
                    }
                    field.ds(t0 + half_dt, delta, stage, k2);
                    for (y, f) in z.iter_mut().zip(k2.iter()) {
                        *y += dt * f;
                    }
                }
                FixedSolver::Rk4 => {
                    for ((s, y), a) in stage.iter_mut().zip(z.iter()).zip(k1.iter()) {
                        *s = y + dt * a * ONE_THIRD;
                    }
                    field.ds(t0 + dt * ONE_THIRD, delta, stage, k2);
                    for (i, s) in stage.iter_mut().enumerate() {
                        *s = z[i] + dt * (k2[i] - k1[i] * ONE_THIRD);
                    }
                    field.ds(t0 + dt * TWO_THIRDS, delta, stage, k3);
                    for (i, s) in stage.iter_mut().enumerate() {
                        *s = z[i] + dt * (k1[i] - k2[i] + k3[i]);
                    }
                    field.ds(t1, delta, stage, k4);
                    for (i, y) in z.iter_mut().enumerate() {
                        *y += (k1[i] + 3.0 * (k2[i] + k3[i]) + k4[i]) * dt * 0.125;
                    }
                }
            }
        }
    }
}

/// The recurrent baseline's step: `cell` (`nn.GRUCell(2, latent)`) on [t / 24, log(delta)].
#[derive(Clone, Debug)]
pub(crate) struct GruEvolution {
    cell: GruCell,
    inp: [f64; 2],
}

impl GruEvolution {
    pub(crate) fn take(weights: &mut Weights, latent: usize) -> CoreResult<Self> {
        Ok(GruEvolution {
            cell: GruCell::take(weights, "cell", "", 2, latent)?,
            inp: [0.0; 2],
        })
    }

    /// z <- the state at the end of the first interval, from t = 0 to `delta` hours.
    pub(crate) fn evolve(&mut self, delta: f64, z: &mut [f64]) {
        self.inp = [(0.0 + delta) / TIME_SCALE_HOURS, delta.ln()];
        self.cell.step(&self.inp, z);
    }
}

/// One of the two evolutions, chosen by the config (the ODE's buffers boxed: the variants'
/// sizes differ).
#[derive(Clone, Debug)]
pub(crate) enum Evolver {
    Ode(Box<OdeEvolution>),
    Gru(GruEvolution),
}

impl Evolver {
    pub(crate) fn evolve(&mut self, delta: f64, z: &mut [f64]) {
        match self {
            Evolver::Ode(ode) => ode.evolve(delta, z),
            Evolver::Gru(gru) => gru.evolve(delta, z),
        }
    }
}
