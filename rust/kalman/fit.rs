//! Maximum-likelihood estimation of the noise variances of the two named models.
//!
//! The free parameters are the logs of the variances (so every trial point is valid), and the
//! exact Gaussian log-likelihood of the filter from its initial state is maximized with
//! Nelder-Mead, restarted once from the optimum to guard against a collapsed simplex.

use super::{KalmanFilter, Model};
use crate::errors::{CoreError, CoreResult};

#[derive(Clone, Debug)]
pub struct FitResult {
    /// A fresh filter (at the template's initial state) with the fitted variances.
    pub filter: KalmanFilter,
    pub params: Vec<(&'static str, f64)>,
    pub loglik: f64,
    pub iterations: usize,
    pub converged: bool,
}

/// Log-variances outside this range are clamped: far beyond anything a price series needs,
/// and keeps every trial filter finite.
const LOG_BOUND: f64 = 60.0;

fn build(template: &KalmanFilter, theta: &[f64]) -> CoreResult<KalmanFilter> {
    let v = |i: usize| theta[i].clamp(-LOG_BOUND, LOG_BOUND).exp();
    let (x0, p0) = template.initial_state();
    match template.model() {
        Model::LocalLevel { .. } => KalmanFilter::local_level(v(0), v(1), x0[0], p0.a[0][0]),
        Model::LocalLinearTrend { .. } => KalmanFilter::local_linear_trend(
            v(0),
            v(1),
            v(2),
            [x0[0], x0[1]],
            [p0.a[0][0], p0.a[1][1]],
        )
        .map(|mut kf| {
            // Keep any off-diagonal initial covariance the template had.
            kf.p0 = *p0;
            kf.p = *p0;
            kf
        }),
        Model::General => Err(CoreError::invalid(
            "fit() estimates the variances of local_level and local_linear_trend filters only",
        )),
    }
}

fn names(model: Model) -> &'static [&'static str] {
    match model {
        Model::LocalLevel { .. } => &["q", "r"],
        Model::LocalLinearTrend { .. } => &["q_level", "q_trend", "r"],
        Model::General => &[],
    }
}

/// Fits the variances of `template`'s model to `zs` (NaN = missing) by maximum likelihood.
pub fn fit(template: &KalmanFilter, zs: &[f64]) -> CoreResult<FitResult> {
    if let Model::General = template.model() {
        return Err(CoreError::invalid(
            "fit() estimates the variances of local_level and local_linear_trend filters only",
        ));
    }
    if zs.iter().any(|z| z.is_infinite()) {
        return Err(CoreError::invalid("observations contain infinite values"));
    }
    // Starting point from the data: Var(z_t - z_{t-1}) = q + 2r for the local level.
    let mut diffs = Vec::new();
    let mut prev = f64::NAN;
    for &z in zs {
        if z.is_nan() {
            continue;
        }
        if prev.is_finite() {
            diffs.push(z - prev);
        }
        prev = z;
    }
    if diffs.len() < 10 {
        return Err(CoreError::invalid(format!(
            "fit() needs at least 11 observations, got {}",
            diffs.len() + usize::from(prev.is_finite())
        )));
    }
    let mean = diffs.iter().sum::<f64>() / diffs.len() as f64;
    let var = diffs.iter().map(|d| (d - mean) * (d - mean)).sum::<f64>() / diffs.len() as f64;
    let var = if var > 0.0 { var } else { 1e-12 };
    let start: Vec<f64> = match template.model() {
        Model::LocalLevel { .. } => vec![(var / 3.0).ln(), (var / 3.0).ln()],
        _ => vec![(var / 3.0).ln(), (var / 300.0).ln(), (var / 3.0).ln()],
    };
    let objective = |theta: &[f64]| -> f64 {
        match build(template, theta).and_then(|kf| kf.loglik_of(zs)) {
            Ok(ll) if ll.is_finite() => -ll,
            _ => f64::INFINITY,
        }
    };
    let first = nelder_mead(objective, &start, 1.0, 2000);
    let second = nelder_mead(objective, &first.x, 0.5, 2000);
    let best = if second.f <= first.f { &second } else { &first };
    if !best.f.is_finite() {
        return Err(CoreError::Numerical(
            "fit() found no parameters with a finite likelihood".into(),
        ));
    }
    let filter = build(template, &best.x)?;
    let values: Vec<f64> = best
        .x
        .iter()
        .map(|t| t.clamp(-LOG_BOUND, LOG_BOUND).exp())
        .collect();
    let params = names(template.model())
        .iter()
        .copied()
        .zip(values)
        .collect();
    Ok(FitResult {
        filter,
        params,
        loglik: -best.f,
        iterations: first.iterations + second.iterations,
        converged: first.converged && second.converged,
    })
}

pub struct Optimum {
    pub x: Vec<f64>,
    pub f: f64,
    pub iterations: usize,
    pub converged: bool,
}

/// Nelder-Mead minimization (standard coefficients 1, 2, 0.5, 0.5). Stops when the spread of
/// the simplex values falls below 1e-10 (absolute, plus relative) and the simplex below 1e-8.
pub fn nelder_mead(
    mut f: impl FnMut(&[f64]) -> f64,
    start: &[f64],
    step: f64,
    max_iter: usize,
) -> Optimum {
    let d = start.len();
    let mut simplex: Vec<Vec<f64>> = vec![start.to_vec()];
    for i in 0..d {
        let mut p = start.to_vec();
        p[i] += step;
        simplex.push(p);
    }
    let mut values: Vec<f64> = simplex.iter().map(|p| f(p)).collect();
    let mut iterations = 0;
    let mut converged = false;
    while iterations < max_iter {
        let mut order: Vec<usize> = (0..=d).collect();
        order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
        simplex = order.iter().map(|&i| simplex[i].clone()).collect();
        values = order.iter().map(|&i| values[i]).collect();
        let spread = (values[d] - values[0]).abs();
        let size = simplex[1..]
            .iter()
            .flat_map(|p| p.iter().zip(&simplex[0]).map(|(a, b)| (a - b).abs()))
            .fold(0.0, f64::max);
        if spread <= 1e-10 * (1.0 + values[0].abs()) && size <= 1e-8 {
            converged = true;
            break;
        }
        iterations += 1;
        let centroid: Vec<f64> = (0..d)
            .map(|j| simplex[..d].iter().map(|p| p[j]).sum::<f64>() / d as f64)
            .collect();
        let along = |t: f64| -> Vec<f64> {
            (0..d)
                .map(|j| centroid[j] + t * (simplex[d][j] - centroid[j]))
                .collect()
        };
        let reflected = along(-1.0);
        let fr = f(&reflected);
        if fr < values[0] {
            let expanded = along(-2.0);
            let fe = f(&expanded);
            if fe < fr {
                simplex[d] = expanded;
                values[d] = fe;
            } else {
                simplex[d] = reflected;
                values[d] = fr;
            }
        } else if fr < values[d - 1] {
            simplex[d] = reflected;
            values[d] = fr;
        } else {
            let (contracted, fc) = if fr < values[d] {
                let c = along(-0.5);
                let fc = f(&c);
                (c, fc)
            } else {
                let c = along(0.5);
                let fc = f(&c);
                (c, fc)
            };
            if fc < values[d].min(fr) {
                simplex[d] = contracted;
                values[d] = fc;
            } else {
                for i in 1..=d {
                    let shrunk: Vec<f64> = (0..d)
                        .map(|j| simplex[0][j] + 0.5 * (simplex[i][j] - simplex[0][j]))
                        .collect();
                    values[i] = f(&shrunk);
                    simplex[i] = shrunk;
                }
            }
        }
    }
    let best = (0..=d)
        .min_by(|&a, &b| values[a].total_cmp(&values[b]))
        .unwrap_or(0);
    Optimum {
        x: simplex[best].clone(),
        f: values[best],
        iterations,
        converged,
    }
}
