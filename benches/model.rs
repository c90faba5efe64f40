//! Criterion benches of the native model forward (no Python): one live decision of the default
//! config's sizes (configs/btc_1h.yaml: 21 state columns, context 32, hidden 32, latent 16,
//! field hidden 32, policy hidden 16), Neural ODE (rk4, step 0.5) and GRU baseline. Weights
//! are deterministic pseudo-random values: the cost does not depend on them.
//!
//!     cargo bench --bench model

use criterion::{black_box, criterion_group, criterion_main, Criterion};

#[path = "../rust/model/shapes.rs"]
mod shapes;
use shapes::state_dict_shapes;

use _core::model::{
    Evolution, FixedSolver, ModelConfig, NativeModel, Param, PolicyPrior, VarianceHead, Weights,
};

const N_STATE: usize = 21;
const CONTEXT: usize = 32;
const HIDDEN: usize = 32;
const LATENT: usize = 16;
const FIELD: usize = 32;
const POLICY: usize = 16;

fn uniform(state: &mut u64) -> f64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
}

/// A state dict of the model's shapes, values in [-0.25, 0.25) (scales at sensible values).
fn weights(ode: bool) -> Weights {
    let sizes = (N_STATE, HIDDEN, LATENT, FIELD, POLICY);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut w = Weights::new();
    for (name, shape) in state_dict_shapes(sizes, ode) {
        let len = shape.iter().product::<usize>();
        let data = match name {
            "heads.ret_scale" => vec![0.01],
            "policy.vol_target" => vec![0.004],
            "baseline_center" | "baseline_scale" => vec![1e-4],
            _ => (0..len).map(|_| 0.5 * uniform(&mut state)).collect(),
        };
        w.insert(name, Param::new(shape, data).expect("consistent"))
            .expect("new name");
    }
    w
}

fn bench(c: &mut Criterion) {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let x: Vec<f64> = (0..CONTEXT * N_STATE)
        .map(|_| 4.0 * uniform(&mut state))
        .collect();
    let t_x: Vec<f64> = (0..CONTEXT)
        .map(|i| i as f64 - (CONTEXT - 1) as f64)
        .collect();
    let rk4 = Evolution::Ode {
        solver: FixedSolver::Rk4,
        step_size: 0.5,
    };
    for (name, evolution) in [
        ("model_decision_ode_rk4", rk4),
        ("model_decision_gru", Evolution::Gru),
    ] {
        let config = ModelConfig::new(
            N_STATE,
            evolution,
            VarianceHead::Residual { column: 2 },
            PolicyPrior::VolTarget { tilt: 0.5 },
            1e-3,
        )
        .expect("valid config");
        let ode = matches!(evolution, Evolution::Ode { .. });
        let mut model = NativeModel::new(config, weights(ode)).expect("valid weights");
        c.bench_function(name, |b| {
            b.iter(|| {
                let out = model
                    .forward(black_box(&x), black_box(&t_x), black_box(1.0))
                    .expect("valid window");
                black_box(out.position)
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
