//! The hyperparameters of a `NativeModel`: what the weights alone do not say (how the latent
//! state evolves, which variance head and policy prior the model was built with).
//!
//! Invariant: a `ModelConfig` that exists is valid (`ModelConfig::new` checks it), and an
//! impossible combination cannot be written: the solver and step size exist only for the ODE,
//! the baseline column only for the residual head, the tilt only for the vol-target prior.
//! The names parsed here are the torch model's own (`optim.config.ModelConfig` and
//! `SolverConfig`), so the Python side passes them through unchanged.

use crate::errors::{CoreError, CoreResult};

/// Above this many grid steps per interval a step size is refused (the grid is preallocated).
pub const MAX_GRID_STEPS: usize = 4096;

/// torchdiffeq's adaptive and multistep methods: the native forward does not run them.
const UNSUPPORTED_SOLVERS: [&str; 7] = [
    "dopri5",
    "dopri8",
    "bosh3",
    "fehlberg2",
    "adaptive_heun",
    "explicit_adams",
    "implicit_adams",
];

/// A fixed-grid ODE solver, as `model/fixed_grid.py` runs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FixedSolver {
    Euler,
    Midpoint,
    /// torchdiffeq's `rk4`: the 3/8 rule (`rk4_alt_step_func`).
    Rk4,
}

impl FixedSolver {
    /// torchdiffeq's method name; an adaptive method is refused with the reason.
    pub fn parse(method: &str) -> CoreResult<Self> {
        match method {
            "euler" => Ok(FixedSolver::Euler),
            "midpoint" => Ok(FixedSolver::Midpoint),
            "rk4" => Ok(FixedSolver::Rk4),
            m if UNSUPPORTED_SOLVERS.contains(&m) => Err(CoreError::invalid(format!(
                "solver {m:?} is not supported by the native forward (fixed grids only: euler, \
                 midpoint, rk4); an adaptive solver's steps depend on the values"
            ))),
            m => Err(CoreError::invalid(format!(
                "unknown solver {m:?}; the native forward runs euler, midpoint or rk4"
            ))),
        }
    }
}

/// How the latent state moves from the last context bar to the first target time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Evolution {
    /// `DynamicalSystem`: dz/ds = delta * f(z, s * delta) on s in [0, 1], on a fixed grid of
    /// `step_size` (a fraction of the interval, in (0, 1]).
    Ode { solver: FixedSolver, step_size: f64 },
    /// `RecurrentBaseline`: one GRU cell step fed with [t / 24, log(delta)].
    Gru,
}

impl Evolution {
    /// The model's `kind` ("ode" or "gru"); `method` and `step_size` are read for "ode" only.
    pub fn parse(kind: &str, method: &str, step_size: f64) -> CoreResult<Self> {
        match kind {
            "ode" => Ok(Evolution::Ode {
                solver: FixedSolver::parse(method)?,
                step_size,
            }),
            "gru" => Ok(Evolution::Gru),
            k => Err(CoreError::invalid(format!(
                "unknown model kind {k:?}; choose \"ode\" or \"gru\""
            ))),
        }
    }
}

/// How the next-bar return variance is formed from the head's last output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarianceHead {
    /// (softplus(o) + var_floor) * ret_scale^2.
    Free,
    /// baseline * exp(clamp(o, -5, 5)), the baseline read from state column `column` of the last
    /// context row, un-normalized and floored at var_floor * ret_scale^2.
    Residual { column: usize },
}

impl VarianceHead {
    /// The model's `variance_head`; `baseline_column` (the model's buffer, -1 when none is set)
    /// is required by "residual" and ignored by "free".
    pub fn parse(name: &str, baseline_column: i64) -> CoreResult<Self> {
        match name {
            "free" => Ok(VarianceHead::Free),
            "residual" => usize::try_from(baseline_column)
                .map(|column| VarianceHead::Residual { column })
                .map_err(|_| {
                    CoreError::invalid(format!(
                        "the residual variance head needs a baseline column >= 0, got \
                         {baseline_column} (set_variance_baseline was not called)"
                    ))
                }),
            v => Err(CoreError::invalid(format!(
                "unknown variance head {v:?}; choose \"free\" or \"residual\""
            ))),
        }
    }
}

/// The policy's prior (`model/base.py`'s `Policy`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PolicyPrior {
    /// u = tanh(g) * s.
    None,
    /// u = clip(s * (1 + tilt * tanh(g)), -1, 1), tilt in [0, 2].
    VolTarget { tilt: f64 },
}

impl PolicyPrior {
    /// The model's `policy_prior`; `tilt` is read for "vol_target" only.
    pub fn parse(name: &str, tilt: f64) -> CoreResult<Self> {
        match name {
            "none" => Ok(PolicyPrior::None),
            "vol_target" => Ok(PolicyPrior::VolTarget { tilt }),
            p => Err(CoreError::invalid(format!(
                "unknown policy prior {p:?}; choose \"none\" or \"vol_target\""
            ))),
        }
    }
}

/// Everything about a model that its weights do not carry. Frozen: build it with `new`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ModelConfig {
    n_state: usize,
    evolution: Evolution,
    variance: VarianceHead,
    prior: PolicyPrior,
    var_floor: f64,
}

impl ModelConfig {
    /// Checks every field: `n_state >= 1`, a step size in (0, 1] giving at most
    /// `MAX_GRID_STEPS` steps, a baseline column below `n_state`, a tilt in [0, 2] (as
    /// `Policy` requires) and a finite `var_floor >= 0`.
    pub fn new(
        n_state: usize,
        evolution: Evolution,
        variance: VarianceHead,
        prior: PolicyPrior,
        var_floor: f64,
    ) -> CoreResult<Self> {
        if n_state == 0 {
            return Err(CoreError::invalid("n_state must be >= 1"));
        }
        if let Evolution::Ode { step_size, .. } = evolution {
            if !(step_size > 0.0 && step_size <= 1.0) {
                return Err(CoreError::invalid(format!(
                    "step_size must be in (0, 1] (a fraction of one target interval), got \
                     {step_size}"
                )));
            }
            if 1.0 / step_size > MAX_GRID_STEPS as f64 {
                return Err(CoreError::invalid(format!(
                    "step_size {step_size} needs more than {MAX_GRID_STEPS} steps per interval"
                )));
            }
        }
        if let VarianceHead::Residual { column } = variance {
            if column >= n_state {
                return Err(CoreError::invalid(format!(
                    "baseline column {column} is not a state column (n_state {n_state})"
                )));
            }
        }
        if let PolicyPrior::VolTarget { tilt } = prior {
            if !(0.0..=2.0).contains(&tilt) {
                return Err(CoreError::invalid(format!(
                    "policy tilt must lie in [0, 2], got {tilt}"
                )));
            }
        }
        if !(var_floor.is_finite() && var_floor >= 0.0) {
            return Err(CoreError::invalid(format!(
                "var_floor must be finite and >= 0, got {var_floor}"
            )));
        }
        Ok(ModelConfig {
            n_state,
            evolution,
            variance,
            prior,
            var_floor,
        })
    }

    pub fn n_state(&self) -> usize {
        self.n_state
    }
    pub fn evolution(&self) -> Evolution {
        self.evolution
    }
    pub fn variance(&self) -> VarianceHead {
        self.variance
    }
    pub fn prior(&self) -> PolicyPrior {
        self.prior
    }
    pub fn var_floor(&self) -> f64 {
        self.var_floor
    }
}
