use super::matrix::{Mat, MAX_DIM};
use super::*;
use proptest::prelude::*;

/// Deterministic normal draws for simulations (xorshift64* + Box-Muller).
pub(crate) struct Normal(u64);

impl Normal {
    pub(crate) fn new(seed: u64) -> Self {
        Normal(seed.max(1))
    }
    fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let r = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        ((r >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    pub(crate) fn draw(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

#[test]
fn local_level_step_matches_closed_form() {
    let (q, r) = (0.5, 2.0);
    let mut kf = KalmanFilter::local_level(q, r, 1.0, 3.0).unwrap();
    kf.step_scalar(4.0).unwrap();
    let p_prior = 3.0 + q;
    let s = p_prior + r;
    let k = p_prior / s;
    assert!((kf.state()[0] - (1.0 + k * 3.0)).abs() < 1e-15);
    assert!((kf.covariance().a[0][0] - (1.0 - k) * p_prior).abs() < 1e-15);
    assert_eq!(kf.innovation()[0], 3.0);
    assert_eq!(kf.innovation_covariance().a[0][0], s);
    let ll = -0.5 * ((2.0 * std::f64::consts::PI * s).ln() + 9.0 / s);
    assert!((kf.loglik() - ll).abs() < 1e-14);
}

#[test]
fn nan_observation_predicts_only() {
    let mut kf =
        KalmanFilter::local_linear_trend(1e-3, 1e-5, 1e-2, [1.0, 0.1], [1.0, 1.0]).unwrap();
    kf.step_scalar(f64::NAN).unwrap();
    assert_eq!(kf.state(), &[1.1, 0.1]);
    assert_eq!(kf.covariance().a[0][0], 1.0 + 1.0 + 1e-3);
    assert_eq!(kf.covariance().a[0][1], 1.0);
    assert!(kf.innovation()[0].is_nan());
    assert_eq!(kf.loglik(), 0.0);
    assert_eq!((kf.n_observations(), kf.n_steps()), (0, 1));
}

#[test]
fn invalid_matrices_are_rejected_with_named_errors() {
    let err = |r: CoreResult<KalmanFilter>| match r {
        Err(CoreError::InvalidInput(m)) => m,
        other => panic!("expected InvalidInput, got {other:?}"),
    };
    let i2 = Mat::identity(2);
    let h = Mat::from_row_major(1, 2, &[1.0, 0.0]);
    let r = Mat::diag(&[1.0]);
    let asym = Mat::from_row_major(2, 2, &[1.0, 0.5, 0.0, 1.0]);
    assert!(err(KalmanFilter::new(i2, h, asym, r, &[0.0, 0.0], i2)).contains("Q must be symmetric"));
    let indef = Mat::from_row_major(2, 2, &[1.0, 2.0, 2.0, 1.0]);
    assert!(err(KalmanFilter::new(i2, h, i2, r, &[0.0, 0.0], indef)).contains("P0"));
    assert!(err(KalmanFilter::new(
        i2,
        h,
        i2,
        Mat::diag(&[0.0]),
        &[0.0, 0.0],
        i2
    ))
    .contains("R"));
    assert!(err(KalmanFilter::new(i2, h, i2, r, &[0.0], i2)).contains("x0"));
    let bad_h = Mat::from_row_major(1, 3, &[1.0, 0.0, 0.0]);
    assert!(err(KalmanFilter::new(i2, bad_h, i2, r, &[0.0, 0.0], i2)).contains("H"));
    assert!(err(KalmanFilter::local_level(f64::NAN, 1.0, 0.0, 1.0)).contains('q'));
    let mut kf = KalmanFilter::local_level(1.0, 1.0, 0.0, 1.0).unwrap();
    assert!(kf.step_scalar(f64::INFINITY).is_err());
    assert_eq!(kf.n_steps(), 0);
}

#[test]
fn json_restart_continues_bit_for_bit() {
    let mut rng = Normal::new(7);
    let mut a = KalmanFilter::local_linear_trend(1e-4, 1e-6, 1e-3, [0.0, 0.0], [1.0, 1.0]).unwrap();
    let zs: Vec<f64> = (0..200)
        .map(|i| {
            if i % 37 == 5 {
                f64::NAN
            } else {
                0.01 * i as f64 + 0.03 * rng.draw()
            }
        })
        .collect();
    for z in &zs[..100] {
        a.step_scalar(*z).unwrap();
    }
    let mut b = KalmanFilter::from_json(&a.to_json()).unwrap();
    for z in &zs[100..] {
        a.step_scalar(*z).unwrap();
        b.step_scalar(*z).unwrap();
        assert_eq!(a.state(), b.state());
        assert_eq!(a.covariance(), b.covariance());
        assert_eq!(a.loglik().to_bits(), b.loglik().to_bits());
    }
}

#[test]
fn filter_equals_repeated_steps_and_is_atomic_on_error() {
    let mut a = KalmanFilter::local_level(0.1, 1.0, 0.0, 10.0).unwrap();
    let mut b = a.clone();
    let zs = [1.0, f64::NAN, 2.5, 0.5, 3.0];
    let (mut st, mut var) = (vec![0.0; 5], vec![0.0; 5]);
    let ll = a.filter(&zs, &mut st, &mut var).unwrap();
    for (t, z) in zs.iter().enumerate() {
        b.step_scalar(*z).unwrap();
        assert_eq!(st[t], b.state()[0]);
        assert_eq!(var[t], b.covariance().a[0][0]);
    }
    assert_eq!(ll, b.loglik());
    let before = a.to_json();
    let bad = [1.0, f64::INFINITY];
    assert!(a.filter(&bad, &mut [0.0; 2], &mut [0.0; 2]).is_err());
    assert_eq!(a.to_json(), before);
}

#[test]
fn fit_recovers_local_level_variances() {
    let (q, r): (f64, f64) = (1e-4, 4e-4);
    let mut rng = Normal::new(42);
    let mut level = 10.0;
    let zs: Vec<f64> = (0..4000)
        .map(|_| {
            level += q.sqrt() * rng.draw();
            level + r.sqrt() * rng.draw()
        })
        .collect();
    let template = KalmanFilter::local_level(1.0, 1.0, zs[0], 1.0).unwrap();
    let fitted = fit::fit(&template, &zs).unwrap();
    let got: Vec<f64> = fitted.params.iter().map(|p| p.1).collect();
    assert!((got[0] / q - 1.0).abs() < 0.35, "q {got:?}");
    assert!((got[1] / r - 1.0).abs() < 0.15, "r {got:?}");
    assert!(fitted.converged);
    // The fitted optimum beats the true parameters' likelihood (it is the maximum).
    let truth = KalmanFilter::local_level(q, r, zs[0], 1.0).unwrap();
    assert!(fitted.loglik >= truth.loglik_of(&zs).unwrap());
}

#[test]
fn nelder_mead_finds_rosenbrock_minimum() {
    let rosen = |p: &[f64]| (1.0 - p[0]).powi(2) + 100.0 * (p[1] - p[0] * p[0]).powi(2);
    let opt = fit::nelder_mead(rosen, &[-1.2, 1.0], 0.5, 5000);
    assert!(opt.converged);
    assert!((opt.x[0] - 1.0).abs() < 1e-4 && (opt.x[1] - 1.0).abs() < 1e-4);
}

fn random_spd(entries: &[f64], n: usize, ridge: f64) -> Mat {
    let a = Mat::from_row_major(n, n, &entries[..n * n]);
    let mut s = a.mul_t(&a);
    for i in 0..n {
        s.a[i][i] += ridge;
    }
    s.symmetrize();
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// P stays exactly symmetric and positive semi-definite through any run of updates and
    /// missing observations, for random stable-ish models.
    #[test]
    fn covariance_stays_symmetric_psd(
        n in 1usize..7,
        m in 1usize..4,
        entries in prop::collection::vec(-1.0f64..1.0, 64 * 4),
        zs in prop::collection::vec(prop_oneof![4 => -10.0f64..10.0, 1 => Just(f64::NAN)], 1..80),
    ) {
        let f = Mat::from_row_major(n, n, &entries[..n * n]);
        let h = Mat::from_row_major(m, n, &entries[64..64 + m * n]);
        let q = random_spd(&entries[128..], n, 1e-6);
        let r = random_spd(&entries[192..], m, 1e-3);
        let x0 = &entries[100..100 + n];
        let p0 = random_spd(&entries[160..], n, 0.0);
        let mut kf = KalmanFilter::new(f, h, q, r, x0, p0).unwrap();
        for chunk in zs.chunks(m).filter(|c| c.len() == m) {
            kf.step(chunk).unwrap();
            let p = kf.covariance();
            prop_assert_eq!(p.asymmetry(), 0.0);
            prop_assert!(p.cholesky(1e-9).is_some(), "P not PSD: {:?}", p.to_rows());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// The unrolled scalar-observation path and the general matrix path are the same filter.
    #[test]
    fn scalar_path_matches_general_path(
        n in 1usize..5,
        entries in prop::collection::vec(-1.0f64..1.0, 256),
        zs in prop::collection::vec(prop_oneof![4 => -5.0f64..5.0, 1 => Just(f64::NAN)], 1..60),
    ) {
        let f = Mat::from_row_major(n, n, &entries[..n * n]);
        let h = Mat::from_row_major(1, n, &entries[64..64 + n]);
        let q = random_spd(&entries[128..], n, 1e-6);
        let r = random_spd(&entries[192..], 1, 1e-3);
        let p0 = random_spd(&entries[160..], n, 1e-3);
        let mut fast = KalmanFilter::new(f, h, q, r, &entries[100..100 + n], p0).unwrap();
        let mut general = fast.clone();
        for z in zs {
            fast.step_scalar(z).unwrap();
            general.step_at::<MAX_DIM>(&[z]).unwrap();
            for i in 0..n {
                let scale = 1.0 + general.state()[i].abs();
                prop_assert!((fast.state()[i] - general.state()[i]).abs() <= 1e-10 * scale);
                for j in 0..n {
                    let (a, b) = (fast.covariance().a[i][j], general.covariance().a[i][j]);
                    prop_assert!((a - b).abs() <= 1e-10 * (1.0 + b.abs()));
                }
            }
            let (a, b) = (fast.loglik(), general.loglik());
            prop_assert!((a - b).abs() <= 1e-9 * (1.0 + b.abs()));
        }
    }
}

/// Issue 12: predict-only steps with |F| > 1 grow P until it overflows to inf; the step that
/// would produce a non-finite state is refused (NumericalError) and the filter is left as before
/// it, so its JSON still reads back.
#[test]
fn predict_only_overflow_is_detected_at_its_step() {
    let f = Mat::from_row_major(1, 1, &[1e10]);
    let mut kf = KalmanFilter::new(
        f,
        Mat::identity(1),
        Mat::diag(&[1.0]),
        Mat::diag(&[1.0]),
        &[1.0],
        Mat::diag(&[1.0]),
    )
    .unwrap();
    let mut refused = None;
    for step in 0..100 {
        let before = kf.to_json();
        match kf.step_scalar(f64::NAN) {
            Ok(()) => assert!(kf.covariance().is_finite() && kf.state()[0].is_finite()),
            Err(e) => {
                assert!(matches!(e, CoreError::Numerical(_)), "{e}");
                assert_eq!(kf.to_json(), before);
                refused = Some(step);
                break;
            }
        }
    }
    assert!(refused.is_some(), "P never overflowed");
    KalmanFilter::from_json(&kf.to_json()).unwrap();
    // The general path (dim 5) detects it too.
    let n = 5;
    let mut big = KalmanFilter::new(
        Mat::diag(&[1e100; 5]),
        Mat::identity(n),
        Mat::identity(n),
        Mat::identity(n),
        &[1.0; 5],
        Mat::identity(n),
    )
    .unwrap();
    let nan = [f64::NAN; 5];
    let mut failed = false;
    for _ in 0..10 {
        let before = big.to_json();
        if big.step(&nan).is_err() {
            assert_eq!(big.to_json(), before);
            failed = true;
            break;
        }
    }
    assert!(failed);
}

/// Issue 12: restored state with a negative variance (however small next to the others), or a
/// model whose parameters disagree with its matrices, is refused.
#[test]
fn tampered_kalman_state_is_refused() {
    let mut kf =
        KalmanFilter::local_linear_trend(1e-4, 1e-6, 1e-2, [0.0, 0.0], [1.0, 1.0]).unwrap();
    kf.step_scalar(1.0).unwrap();
    let json = kf.to_json();
    let snap: Snapshot = serde_json::from_str(&json).unwrap();
    let mut negative = snap.clone();
    negative.p[1][1] = -1e-12;
    negative.p[0][1] = 0.0;
    negative.p[1][0] = 0.0;
    let err = KalmanFilter::from_snapshot(&negative).unwrap_err();
    assert!(err.to_string().contains("negative variance"), "{err}");
    let mut model = snap.clone();
    model.model = Model::LocalLinearTrend {
        q_level: -1.0,
        q_trend: 1e-6,
        r: 1e-2,
    };
    assert!(KalmanFilter::from_snapshot(&model).is_err());
    let mut mismatch = snap.clone();
    mismatch.q[0][0] = 5.0;
    assert!(KalmanFilter::from_snapshot(&mismatch).is_err());
    assert!(KalmanFilter::from_json(&json.replacen('{', "{\"x_extra\":1,", 1)).is_err());
}
