use super::*;

fn series(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut p = 100.0;
    let mut prices = Vec::with_capacity(n);
    let mut volumes = Vec::with_capacity(n);
    for i in 0..n {
        p *= 1.0 + 0.01 * ((i as f64 * 0.7).sin() + 0.3 * (i as f64 * 2.3).cos());
        prices.push(if i % 29 == 13 { f64::NAN } else { p });
        volumes.push(if i % 31 == 3 {
            f64::NAN
        } else {
            10.0 + (i % 7) as f64
        });
    }
    (prices, volumes)
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn transform_equals_updates_split_and_restart() {
    let (prices, volumes) = series(300);
    let mut batch = StreamingFeatures::new(FeatureConfig::default()).unwrap();
    let k = batch.n_features();
    let mut whole = vec![0.0; prices.len() * k];
    batch.transform(&prices, &volumes, &mut whole).unwrap();

    let mut live = StreamingFeatures::new(FeatureConfig::default()).unwrap();
    let mut stepped = vec![0.0; prices.len() * k];
    for i in 0..prices.len() {
        if i == 150 {
            live = StreamingFeatures::from_json(&live.to_json()).unwrap();
        }
        live.update(prices[i], volumes[i], &mut stepped[i * k..(i + 1) * k])
            .unwrap();
    }
    assert_eq!(bits(&whole), bits(&stepped));

    let mut split = StreamingFeatures::new(FeatureConfig::default()).unwrap();
    let mut parts = vec![0.0; prices.len() * k];
    for (a, b) in [(0, 1), (1, 77), (77, 78), (78, 300)] {
        split
            .transform(&prices[a..b], &volumes[a..b], &mut parts[a * k..b * k])
            .unwrap();
    }
    assert_eq!(bits(&whole), bits(&parts));
}

#[test]
fn missing_bar_keeps_state_and_next_return_spans_gap() {
    let config = FeatureConfig {
        ewma_halflives: vec![2.0],
        vol_windows: vec![2],
        ..FeatureConfig::default()
    };
    let mut f = StreamingFeatures::new(config).unwrap();
    let k = f.n_features();
    let mut out = vec![0.0; k];
    let prices = [100.0, 101.0, 102.0];
    for p in prices {
        f.update(p, 1.0, &mut out).unwrap();
    }
    let before = out.clone();
    f.update(f64::NAN, 1.0, &mut out).unwrap();
    assert!(out[0].is_nan());
    assert_eq!(out[1].to_bits(), before[1].to_bits()); // EWMA mean held
    assert_eq!(out[2].to_bits(), before[2].to_bits()); // EWMA variance held
    assert!(out[3].is_nan()); // no z-score without a return
    assert_eq!(out[4].to_bits(), before[4].to_bits()); // realized vol held
    assert!(out[5].is_nan()); // volume ignored on a missing bar
    assert!(out[6].is_nan() && out[8].is_nan() && out[9].is_nan());
    assert!(out[7].is_finite()); // predicted trend
    f.update(104.0, 1.0, &mut out).unwrap();
    assert_eq!(out[0], (104.0f64 / 102.0).ln());
}

#[test]
fn warm_up_is_nan_until_defined() {
    let config = FeatureConfig {
        ewma_halflives: vec![3.0],
        vol_windows: vec![3],
        ..FeatureConfig::default()
    };
    let mut f = StreamingFeatures::new(config).unwrap();
    let mut out = vec![0.0; f.n_features()];
    let nan_at = |out: &[f64]| -> Vec<bool> { out.iter().map(|v| v.is_nan()).collect() };
    let t = true;
    let x = false;
    let expected: [[bool; 10]; 5] = [
        // ret, mean, var, z, vol, volz, lvl, trend, innov, std
        [t, t, t, t, t, t, x, x, t, t],
        [x, x, t, t, t, t, x, x, x, x],
        [x, x, x, t, t, x, x, x, x, x],
        [x, x, x, x, x, x, x, x, x, x],
        [x, x, x, x, x, x, x, x, x, x],
    ];
    for (i, want) in expected.iter().enumerate() {
        f.update(100.0 + (i * i) as f64, 5.0 + i as f64, &mut out)
            .unwrap();
        assert_eq!(nan_at(&out), want.to_vec(), "bar {i}: {out:?}");
    }
}

#[test]
fn bad_input_is_rejected_and_changes_nothing() {
    let mut f = StreamingFeatures::new(FeatureConfig::default()).unwrap();
    let k = f.n_features();
    let mut out = vec![0.0; 3 * k];
    f.transform(&[1.0, 2.0, 3.0], &[1.0, 1.0, 1.0], &mut out)
        .unwrap();
    let saved = f.to_json();
    for (p, v) in [(-1.0, 1.0), (0.0, 1.0), (f64::INFINITY, 1.0), (1.0, -2.0)] {
        let err = f.update(p, v, &mut out[..k]).unwrap_err();
        assert!(matches!(err, CoreError::InvalidInput(_)));
    }
    let err = f
        .transform(&[1.0, 2.0, -3.0], &[1.0, 1.0, 1.0], &mut out)
        .unwrap_err();
    assert!(err.to_string().contains("index 2"), "{err}");
    assert!(f.transform(&[1.0], &[1.0, 2.0], &mut out[..k]).is_err());
    assert_eq!(f.to_json(), saved);
    assert!(StreamingFeatures::new(FeatureConfig {
        vol_windows: vec![0],
        ..FeatureConfig::default()
    })
    .is_err());
    assert!(StreamingFeatures::new(FeatureConfig {
        kalman_r: 0.0,
        ..FeatureConfig::default()
    })
    .is_err());
}

#[test]
fn ewma_matches_definition() {
    let mut e = stats::Ewma::new(1.0).unwrap();
    e.push(1.0);
    e.push(3.0);
    // alpha = 0.5: mean 2, var = 0.5 * (0 + 0.5 * 4) = 1.
    assert_eq!(e.mean(), 2.0);
    assert_eq!(e.variance(), 1.0);
    assert_eq!(e.zscore(4.0), 2.0);
    let mut r = stats::RollingMeanSquare::new(2).unwrap();
    r.push(3.0);
    assert!(r.rms().is_nan());
    r.push(4.0);
    assert_eq!(r.rms(), (12.5f64).sqrt());
    r.push(0.0);
    assert_eq!(r.rms(), 8.0f64.sqrt());
}
