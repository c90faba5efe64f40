//! The trained model's live decision in one call: `optim.predict.FirstStep(model)` for one
//! window, in f64, for the two model kinds of `gradtrade.model` (Neural ODE on a fixed grid and
//! its recurrent baseline).
//!
//! Invariant: `NativeModel::forward` computes what the eager torch forward computes for a batch
//! of one window and one target time: the same operations in the same order, so they differ only
//! by the rounding of the dot products' summation order and of the libm (held to 1e-12 of the
//! eager forward by `tests/optim/test_native.py`, and checked on an example window by the
//! Python `NativePredictor` before it is used). It is a second implementation of the same
//! arithmetic, like `model/fixed_grid.py`: a change of the torch model's math must be made here
//! too, and the tests fail until it is.
//!
//! - `config`: the hyperparameters the weights do not carry (evolution, heads, prior);
//! - `weights`: the state dict taken apart into checked dense layers;
//! - `encoder`: the GRU over the window (and the GRU cell the baseline reuses);
//! - `evolve`: the ODE's fixed-grid solvers and the baseline's GRU step;
//! - `heads`: X_hat, the next-bar return mean and variance, and the policy's position.
//! - `shapes` (tests and `benches/model.rs` only): the state dict's names and shapes.
//!
//! Construction checks every parameter's shape and finiteness and refuses unknown ones; a
//! forward checks its window (shapes, finite values, t_y > 0) and then allocates nothing.

pub mod config;
mod encoder;
mod evolve;
mod heads;
#[cfg(test)]
mod shapes;
pub mod weights;

pub use config::{Evolution, FixedSolver, ModelConfig, PolicyPrior, VarianceHead, MAX_GRID_STEPS};
pub use weights::{Param, Weights};

#[cfg(feature = "python")]
pub mod python;

use crate::errors::{CoreError, CoreResult};
use encoder::ContextEncoder;
use evolve::{Evolver, GruEvolution, OdeEvolution};
use heads::{Heads, Policy};

/// Hours per unit of the models' time features (`model/base.py`'s `TIME_SCALE_HOURS`).
pub(crate) const TIME_SCALE_HOURS: f64 = 24.0;

/// The layer sizes, read from the weights' shapes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizes {
    pub n_state: usize,
    pub hidden: usize,
    pub latent: usize,
    /// The vector field's hidden width (0 for the GRU baseline, which has none).
    pub field_hidden: usize,
    pub policy_hidden: usize,
}

/// The first step's predictions of one window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Forecast<'a> {
    /// The predicted next (normalized) state, `n_state` values.
    pub x_hat: &'a [f64],
    /// The next bar's log-return mean and variance.
    pub ret_mean: f64,
    pub ret_var: f64,
    /// The position u_t.
    pub position: f64,
}

/// A trained `DynamicalSystem` (fixed-grid solver) or `RecurrentBaseline`, ready to decide.
#[derive(Clone, Debug)]
pub struct NativeModel {
    config: ModelConfig,
    sizes: Sizes,
    encoder: ContextEncoder,
    evolver: Evolver,
    heads: Heads,
    policy: Policy,
    z: Vec<f64>,
}

impl NativeModel {
    /// Builds the model from its `state_dict()` (every parameter and buffer but the integer
    /// `baseline_column`, which `config` carries). Sizes come from the shapes; every other
    /// shape is checked against them, values must be finite, and unknown names are refused.
    pub fn new(config: ModelConfig, mut weights: Weights) -> CoreResult<Self> {
        let n_state = config.n_state();
        let hidden = weights.dims("encoder.gru.weight_hh_l0", 2)?[1];
        let latent = weights.dims("encoder.out.weight", 2)?[0];
        let policy_hidden = weights.dims("policy.net.0.weight", 2)?[0];
        let (evolver, field_hidden) = match config.evolution() {
            Evolution::Ode { solver, step_size } => {
                let field_hidden = weights.dims("field.net.0.weight", 2)?[0];
                let ode =
                    OdeEvolution::take(&mut weights, latent, field_hidden, solver, step_size)?;
                (Evolver::Ode(Box::new(ode)), field_hidden)
            }
            Evolution::Gru => (Evolver::Gru(GruEvolution::take(&mut weights, latent)?), 0),
        };
        let encoder = ContextEncoder::take(&mut weights, n_state, hidden, latent)?;
        let heads = Heads::take(
            &mut weights,
            n_state,
            latent,
            config.var_floor(),
            config.variance(),
        )?;
        let policy = Policy::take(&mut weights, n_state, policy_hidden, config.prior())?;
        weights.finish()?;
        Ok(NativeModel {
            config,
            sizes: Sizes {
                n_state,
                hidden,
                latent,
                field_hidden,
                policy_hidden,
            },
            encoder,
            evolver,
            heads,
            policy,
            z: vec![0.0; latent],
        })
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    pub fn sizes(&self) -> Sizes {
        self.sizes
    }

    /// The first-step forecast and position of one window: `x` its rows (C rows of `n_state`,
    /// row-major), `t_x` their hours (C values, <= 0 relative to the anchor), `t_y` the first
    /// target's hours (> 0). Refuses mismatched shapes, non-finite values and `t_y <= 0`, as
    /// the torch forward does.
    pub fn forward(&mut self, x: &[f64], t_x: &[f64], t_y: f64) -> CoreResult<Forecast<'_>> {
        let n = self.sizes.n_state;
        let rows = t_x.len();
        if rows == 0 {
            return Err(CoreError::invalid("the window has no rows (t_x is empty)"));
        }
        if Some(x.len()) != rows.checked_mul(n) {
            return Err(CoreError::invalid(format!(
                "x must hold {rows} rows (one per time in t_x) of n_state={n} values, got {} \
                 values",
                x.len()
            )));
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(CoreError::invalid("state contains NaN or infinite values"));
        }
        if t_x.iter().any(|v| !v.is_finite()) || !t_y.is_finite() {
            return Err(CoreError::invalid(
                "time stamps contain NaN or infinite values",
            ));
        }
        if t_y <= 0.0 {
            return Err(CoreError::invalid(format!(
                "the target time t_y must be positive, got {t_y}"
            )));
        }
        self.encoder.encode(x, t_x, &mut self.z);
        // the first interval starts at the anchor: t_prev = 0, delta = t_y - 0
        self.evolver.evolve(t_y - 0.0, &mut self.z);
        let ret = self.heads.apply(&self.z, &x[(rows - 1) * n..]);
        let position = self.policy.position(self.heads.x_hat(), ret);
        Ok(Forecast {
            x_hat: self.heads.x_hat(),
            ret_mean: ret.mean,
            ret_var: ret.var,
            position,
        })
    }
}

#[cfg(test)]
mod tests;
