//! The native forward's pieces against hand-computed values: a GRU step, the fixed grids and
//! their solvers, the heads and the policy on weights whose output is known; and refusals.

use super::encoder::GruCell;
use super::evolve::{unit_grid, OdeEvolution};
use super::shapes::state_dict_shapes;
use super::*;

/// A tiny state dict: n_state 2, hidden 3, latent 2, field hidden 2, policy hidden 2; every
/// value `fill(name, index)`.
fn weights(kind: &str, fill: &dyn Fn(&str, usize) -> f64) -> Weights {
    let mut w = Weights::new();
    for (name, shape) in state_dict_shapes((2, 3, 2, 2, 2), kind == "ode") {
        let len = shape.iter().product::<usize>();
        let data = (0..len).map(|i| fill(name, i)).collect();
        w.insert(name, Param::new(shape, data).unwrap()).unwrap();
    }
    w
}

/// Zero weights, but the buffers (scales 1) and what `overrides` sets.
fn zero_but(name: &str, i: usize) -> f64 {
    match (name, i) {
        ("heads.ret_scale" | "policy.vol_target" | "baseline_scale", _) => 1.0,
        ("heads.linear.bias", _) => [0.3, -0.2, 0.0, 0.0, 0.01, -1.5][i],
        ("policy.net.2.bias", _) => 0.7,
        _ => 0.0,
    }
}

fn config(evolution: Evolution, variance: VarianceHead, prior: PolicyPrior) -> ModelConfig {
    ModelConfig::new(2, evolution, variance, prior, 1e-3).unwrap()
}

const RK4: Evolution = Evolution::Ode {
    solver: FixedSolver::Rk4,
    step_size: 0.5,
};

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

#[test]
fn a_gru_step_is_torchs_cell() {
    // input 1, hidden 1: gates r, z, n from hand-picked weights
    let mut w = Weights::new();
    let p = |v: &[f64], shape: Vec<usize>| Param::new(shape, v.to_vec()).unwrap();
    w.insert("c.weight_ih", p(&[0.5, -1.0, 2.0], vec![3, 1]))
        .unwrap();
    w.insert("c.weight_hh", p(&[0.25, 0.75, -0.5], vec![3, 1]))
        .unwrap();
    w.insert("c.bias_ih", p(&[0.1, 0.2, 0.3], vec![3])).unwrap();
    w.insert("c.bias_hh", p(&[-0.1, 0.0, 0.4], vec![3]))
        .unwrap();
    let mut cell = GruCell::take(&mut w, "c", "", 1, 1).unwrap();
    w.finish().unwrap();
    let (x, h0) = (0.8, -0.6);
    let r = sigmoid(0.5 * x + 0.1 + 0.25 * h0 - 0.1);
    let z = sigmoid(-x + 0.2 + 0.75 * h0);
    let n = (2.0 * x + 0.3 + r * (-0.5 * h0 + 0.4)).tanh();
    let want = (1.0 - z) * n + z * h0;
    let mut h = [h0];
    cell.step(&[x], &mut h);
    assert!((h[0] - want).abs() < 1e-15, "{} vs {want}", h[0]);
}

#[test]
fn the_grid_is_torchdiffeqs() {
    assert_eq!(unit_grid(1.0), vec![0.0, 1.0]);
    assert_eq!(unit_grid(0.5), vec![0.0, 0.5, 1.0]);
    // 1 / 0.3 + 1 = 4.33: five points, the last forced to 1 (not 1.2)
    assert_eq!(unit_grid(0.3), vec![0.0, 0.3, 0.6, 3.0 * 0.3, 1.0]);
    assert_eq!(unit_grid(0.25).len(), 5);
}

/// f(z, t) = tanh(tanh(a z + b t / 24)) for latent 1 and field width 1.
fn scalar_field(a: f64, b: f64, c: f64) -> Weights {
    let mut w = Weights::new();
    let p = |v: &[f64], shape: Vec<usize>| Param::new(shape, v.to_vec()).unwrap();
    w.insert("field.net.0.weight", p(&[a, b], vec![1, 2]))
        .unwrap();
    w.insert("field.net.0.bias", p(&[0.0], vec![1])).unwrap();
    w.insert("field.net.2.weight", p(&[1.0], vec![1, 1]))
        .unwrap();
    w.insert("field.net.2.bias", p(&[0.0], vec![1])).unwrap();
    w.insert("field.net.4.weight", p(&[1.0], vec![1, 1]))
        .unwrap();
    w.insert("field.net.4.bias", p(&[c], vec![1])).unwrap();
    w
}

fn solve(solver: FixedSolver, step: f64, a: f64, b: f64, c: f64, delta: f64, z0: f64) -> f64 {
    let mut w = scalar_field(a, b, c);
    let mut ode = OdeEvolution::take(&mut w, 1, 1, solver, step).unwrap();
    w.finish().unwrap();
    let mut z = [z0];
    ode.evolve(delta, &mut z);
    z[0]
}

#[test]
fn a_constant_field_is_integrated_exactly() {
    for solver in [FixedSolver::Euler, FixedSolver::Midpoint, FixedSolver::Rk4] {
        for step in [1.0, 0.5, 0.3] {
            let z = solve(solver, step, 0.0, 0.0, 0.25, 2.0, 1.0);
            assert!((z - 1.5).abs() < 1e-15, "{solver:?} {step}: {z}");
        }
    }
}

#[test]
fn rk4_is_the_three_eighths_rule() {
    let (a, b, delta, z0) = (-0.7, 3.0, 2.0, 0.4);
    let f = |s: f64, z: f64| delta * (a * z + b * (s * delta) / 24.0).tanh().tanh();
    // one step of h = 1 by the textbook 3/8 rule
    let h = 1.0;
    let k1 = f(0.0, z0);
    let k2 = f(h / 3.0, z0 + h * k1 / 3.0);
    let k3 = f(2.0 * h / 3.0, z0 + h * (k2 - k1 / 3.0));
    let k4 = f(h, z0 + h * (k1 - k2 + k3));
    let want = z0 + h * (k1 + 3.0 * k2 + 3.0 * k3 + k4) / 8.0;
    let got = solve(FixedSolver::Rk4, 1.0, a, b, 0.0, delta, z0);
    assert!((got - want).abs() < 1e-15, "{got} vs {want}");
    // fourth order: halving the step cuts the error ~16x; euler is first order
    let fine = solve(FixedSolver::Rk4, 1.0 / 256.0, a, b, 0.0, delta, z0);
    let err = |solver, step| (solve(solver, step, a, b, 0.0, delta, z0) - fine).abs();
    let ratio = err(FixedSolver::Rk4, 0.5) / err(FixedSolver::Rk4, 0.25);
    assert!((10.0..24.0).contains(&ratio), "rk4 error ratio {ratio}");
    let ratio = err(FixedSolver::Euler, 1.0 / 16.0) / err(FixedSolver::Euler, 1.0 / 32.0);
    assert!((1.7..2.3).contains(&ratio), "euler error ratio {ratio}");
}

#[test]
fn zero_weights_give_the_heads_and_policy_biases() {
    // z0 = tanh(0) = 0 and the field is zero, so the heads see z = 0: o = their bias
    let x = [0.5, 2.0, -1.0, 4.0];
    let t_x = [-1.0, 0.0];
    let mut m = NativeModel::new(
        config(RK4, VarianceHead::Free, PolicyPrior::None),
        weights("ode", &zero_but),
    )
    .unwrap();
    let out = m.forward(&x, &t_x, 1.0).unwrap();
    assert_eq!(out.x_hat, &[0.3, -0.2]);
    assert_eq!(out.ret_mean, 0.01);
    let var = ((-1.5f64).exp().ln_1p() + 1e-3) * 1.0;
    assert!((out.ret_var - var).abs() < 1e-16);
    let u = 0.7f64.tanh() * 1.0 / (var + 1.0).sqrt();
    assert!((out.position - u).abs() < 1e-16, "{} vs {u}", out.position);

    // residual head: the baseline is the last row's column 1 (4.0), times exp(-1.5)
    let cfg = config(
        Evolution::Gru,
        VarianceHead::Residual { column: 1 },
        PolicyPrior::VolTarget { tilt: 0.5 },
    );
    let mut m = NativeModel::new(cfg, weights("gru", &zero_but)).unwrap();
    let out = m.forward(&x, &t_x, 1.0).unwrap();
    let var = 4.0 * (-1.5f64).exp();
    assert!((out.ret_var - var).abs() < 1e-15);
    let u = (1.0 / (var + 1.0).sqrt() * (1.0 + 0.5 * 0.7f64.tanh())).clamp(-1.0, 1.0);
    assert!((out.position - u).abs() < 1e-15);
}

fn err_of<T: std::fmt::Debug>(r: CoreResult<T>) -> String {
    match r {
        Err(CoreError::InvalidInput(m)) => m,
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[test]
fn bad_weights_are_refused_naming_the_parameter() {
    let cfg = config(RK4, VarianceHead::Free, PolicyPrior::None);
    let mut w = weights("ode", &zero_but);
    w.params.remove("field.net.2.bias");
    assert!(err_of(NativeModel::new(cfg, w)).contains("missing parameter field.net.2.bias"));

    let mut w = weights("ode", &zero_but);
    let bad = Param::new(vec![3, 3], vec![0.0; 9]).unwrap();
    w.params.insert("field.net.2.weight".into(), bad);
    let msg = err_of(NativeModel::new(cfg, w));
    assert!(
        msg.contains("field.net.2.weight must have shape [2, 2], got [3, 3]"),
        "{msg}"
    );

    let nan = |name: &str, i: usize| {
        if name == "heads.linear.weight" && i == 3 {
            f64::NAN
        } else {
            zero_but(name, i)
        }
    };
    let msg = err_of(NativeModel::new(cfg, weights("ode", &nan)));
    assert!(msg.contains("heads.linear.weight is not finite"), "{msg}");

    let mut w = weights("ode", &zero_but);
    w.insert("extra.weight", Param::new(vec![1], vec![0.0]).unwrap())
        .unwrap();
    assert!(err_of(NativeModel::new(cfg, w)).contains("extra.weight"));

    // a GRU state dict is not an ODE's (no field, an unknown cell)
    let msg = err_of(NativeModel::new(cfg, weights("gru", &zero_but)));
    assert!(msg.contains("field.net.0.weight"), "{msg}");
    // the config's n_state must match the encoder's input (n_state + 2)
    let cfg3 = ModelConfig::new(3, RK4, VarianceHead::Free, PolicyPrior::None, 1e-3).unwrap();
    let msg = err_of(NativeModel::new(cfg3, weights("ode", &zero_but)));
    assert!(
        msg.contains("encoder.gru.weight_ih_l0 must have shape [9, 5]"),
        "{msg}"
    );
    assert!(err_of(Param::new(vec![2, 2], vec![0.0; 3])).contains("needs 4 values"));
}

#[test]
fn bad_configs_are_refused() {
    assert!(err_of(Evolution::parse("ode", "dopri5", 0.5)).contains("not supported"));
    assert!(err_of(Evolution::parse("ode", "rk45", 0.5)).contains("unknown solver"));
    assert!(err_of(Evolution::parse("lstm", "rk4", 0.5)).contains("unknown model kind"));
    assert!(err_of(VarianceHead::parse("residual", -1)).contains("baseline column"));
    assert!(err_of(PolicyPrior::parse("kelly", 0.5)).contains("unknown policy prior"));
    let ode = |step_size| Evolution::Ode {
        solver: FixedSolver::Euler,
        step_size,
    };
    let free = VarianceHead::Free;
    for step in [0.0, -0.5, 1.5, f64::NAN, 1e-9] {
        assert!(ModelConfig::new(2, ode(step), free, PolicyPrior::None, 1e-3).is_err());
    }
    let tilt = PolicyPrior::VolTarget { tilt: 2.5 };
    assert!(err_of(ModelConfig::new(2, RK4, free, tilt, 1e-3)).contains("tilt"));
    let col = VarianceHead::Residual { column: 2 };
    assert!(err_of(ModelConfig::new(2, RK4, col, PolicyPrior::None, 1e-3)).contains("column"));
    assert!(ModelConfig::new(2, RK4, free, PolicyPrior::None, f64::INFINITY).is_err());
    assert!(ModelConfig::new(0, RK4, free, PolicyPrior::None, 1e-3).is_err());
}

#[test]
fn bad_windows_are_refused_and_the_model_still_decides() {
    let cfg = config(RK4, VarianceHead::Free, PolicyPrior::None);
    let mut m = NativeModel::new(
        cfg,
        weights("ode", &|n, i| zero_but(n, i) + 0.01 * i as f64),
    )
    .unwrap();
    let (x, t_x) = ([0.5, 2.0, -1.0, 4.0], [-1.0, 0.0]);
    let want = m.forward(&x, &t_x, 1.0).unwrap().position;
    assert!(err_of(m.forward(&x[..3], &t_x, 1.0)).contains("n_state=2"));
    assert!(err_of(m.forward(&[], &[], 1.0)).contains("no rows"));
    assert!(err_of(m.forward(&[0.5, f64::NAN, -1.0, 4.0], &t_x, 1.0)).contains("NaN"));
    assert!(err_of(m.forward(&x, &[f64::INFINITY, 0.0], 1.0)).contains("time stamps"));
    assert!(err_of(m.forward(&x, &t_x, 0.0)).contains("positive"));
    assert!(err_of(m.forward(&x, &t_x, f64::NAN)).contains("time stamps"));
    assert_eq!(m.forward(&x, &t_x, 1.0).unwrap().position, want);
}
