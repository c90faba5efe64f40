//! The state dict's parameter names and shapes for given layer sizes: the test and bench
//! scaffolding that builds weights (`tests.rs`, `benches/model.rs` through `#[path]`), std only.

/// (name, shape) of every parameter and buffer `NativeModel::new` takes, for `n` state
/// columns, encoder hidden `h`, latent `l`, vector-field hidden `f` (ODE only) and policy
/// hidden `p`; `ode` false: the GRU baseline's cell instead of the vector field.
pub fn state_dict_shapes(
    (n, h, l, f, p): (usize, usize, usize, usize, usize),
    ode: bool,
) -> Vec<(&'static str, Vec<usize>)> {
    let mut shapes: Vec<(&'static str, Vec<usize>)> = vec![
        ("encoder.gru.weight_ih_l0", vec![3 * h, n + 2]),
        ("encoder.gru.weight_hh_l0", vec![3 * h, h]),
        ("encoder.gru.bias_ih_l0", vec![3 * h]),
        ("encoder.gru.bias_hh_l0", vec![3 * h]),
        ("encoder.out.weight", vec![l, h]),
        ("encoder.out.bias", vec![l]),
        ("heads.linear.weight", vec![2 * n + 2, l]),
        ("heads.linear.bias", vec![2 * n + 2]),
        ("heads.ret_scale", vec![]),
        ("policy.net.0.weight", vec![p, n + 2]),
        ("policy.net.0.bias", vec![p]),
        ("policy.net.2.weight", vec![1, p]),
        ("policy.net.2.bias", vec![1]),
        ("policy.vol_target", vec![]),
        ("baseline_center", vec![]),
        ("baseline_scale", vec![]),
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
    shapes
}
