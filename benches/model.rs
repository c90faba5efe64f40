//! Criterion benches of the native model forward (no Python): one live decision of the default
//! config's sizes (configs/btc_1h.yaml: 21 state columns, context 32, hidden 32, latent 16,
//! field hidden 32, policy hidden 16), Neural ODE (rk4, step 0.5) and GRU baseline. Weights
//! are deterministic pseudo-random values: the cost does not depend on them.
//!
//!     cargo bench --bench model

use criterion::{black_box, criterion_group, criterion_main, Criterion};

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
    let (n, h, l, f, p) = (N_STATE, HIDDEN, LATENT, FIELD, POLICY);
    let mut shapes: Vec<(&str, Vec<usize>)> = vec![
        ("encoder.gru.weight_ih_l0", vec![3 * h, n + 2]),
        ("encoder.gru.weight_hh_l0", vec![3 * h, h]),
        ("encoder.gru.bias_ih_l0", vec![3 * h]),
        ("encoder.gru.bias_hh_l0", vec![3 * h]),
        ("encoder.out.weight", vec![l, h]),
        ("encoder.out.bias", vec![l]),
        ("heads.linear.weight", vec![2 * n + 2, l]),
        ("heads.linear.bias", vec![2 * n + 2]),
        ("policy.net.0.weight", vec![p, n + 2]),
        ("policy.net.0.bias", vec![p]),
        ("policy.net.2.weight", vec![1, p]),
        ("policy.net.2.bias", vec![1]),
    ];
    if ode {
        shapes.extend([
            ("field.net.0.weight", vec![f, l + 1]),
            ("field.net.0.bias", vec![f]),
            ("field.net.2.weight", vec![f, f]),
            ("field.net.2.bias", vec![f]),
            ("field.net.4.weight", vec![l, f]),
            ("field.net.4.bias", vec![l]),
        ]);
    } else {
        shapes.extend([
            ("cell.weight_ih", vec![3 * l, 2]),
            ("cell.weight_hh", vec![3 * l, l]),
            ("cell.bias_ih", vec![3 * l]),
            ("cell.bias_hh", vec![3 * l]),
        ]);
    }
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut w = Weights::new();
    for (name, shape) in shapes {
        let len = shape.iter().product::<usize>();
        let data = (0..len).map(|_| 0.5 * uniform(&mut state)).collect();
        w.insert(name, Param::new(shape, data).expect("consistent"))
            .expect("new name");
    }
    for (name, value) in [
        ("heads.ret_scale", 0.01),
        ("policy.vol_target", 0.004),
        ("baseline_center", 1e-4),
        ("baseline_scale", 1e-4),
    ] {
        let p = Param::new(vec![], vec![value]).expect("scalar");
        w.insert(name, p).expect("new name");
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
