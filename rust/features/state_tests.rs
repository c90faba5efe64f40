use super::*;
use crate::features::FeatureConfig;

const H: i64 = NS_PER_HOUR;

/// 200 hourly bars with one extra column; every 17th bar missing (NaN row, not present).
fn history() -> (Vec<i64>, Vec<f64>, Vec<bool>) {
    let (mut opens, mut values, mut present) = (Vec::new(), Vec::new(), Vec::new());
    let mut p = 100.0;
    for i in 0..200i64 {
        p *= 1.0 + 0.01 * ((i as f64) * 0.7).sin();
        opens.push(1_700_000_000_000_000_000 / H * H + i * H);
        if i % 17 == 5 {
            values.extend([f64::NAN; OHLCV + 1]);
            present.push(false);
        } else {
            values.extend([p, p * 1.01, p * 0.99, p, 10.0 + (i % 5) as f64, i as f64]);
            present.push(true);
        }
    }
    (opens, values, present)
}

fn rows() -> StateRows {
    let mut r = StateRows::new(StreamingFeatures::new(FeatureConfig::default()).unwrap(), 1);
    // events on bar boundaries and inside bars; two of them inside one bar
    let t0 = 1_700_000_000_000_000_000 / H * H;
    r.add_funding(
        &[
            t0 + 8 * H,
            t0 + 16 * H + 1,
            t0 + 16 * H + H / 2,
            t0 + 40 * H,
        ],
        &[1e-4, 2e-4, -3e-4, 5e-5],
    )
    .unwrap();
    r
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Splits the history at `cuts` (each chunk starts after a present bar, as the grid does).
fn chunked(cuts: &[usize]) -> Rows {
    let (opens, values, present) = history();
    let mut r = rows();
    let c = r.n_values();
    let mut all = Rows::default();
    let mut start = 0;
    for &end in cuts.iter().chain([opens.len()].iter()) {
        let got = r
            .process(
                &opens[start..end],
                H,
                &values[start * c..end * c],
                &present[start..end],
            )
            .unwrap();
        all.raw.extend(got.raw);
        all.returns.extend(got.returns);
        all.paid.extend(got.paid);
        all.warm.extend(got.warm);
        start = end;
    }
    all
}

#[test]
fn rows_do_not_depend_on_the_chunking() {
    let whole = chunked(&[]);
    let (_, _, present) = history();
    // bar by bar wherever a chunk may start: after a present bar
    let cuts: Vec<usize> = (1..present.len()).filter(|&i| present[i - 1]).collect();
    for other in [chunked(&cuts), chunked(&[3, 50, 51, 120])] {
        assert_eq!(bits(&whole.raw), bits(&other.raw));
        assert_eq!(bits(&whole.returns), bits(&other.returns));
        assert_eq!(bits(&whole.paid), bits(&other.paid));
        assert_eq!(whole.warm, other.warm);
    }
}

#[test]
fn funding_pays_the_events_inside_each_bar() {
    let got = chunked(&[]);
    let k = rows().n_columns();
    let rate = |i: usize| got.raw[i * k + 14];
    // an event at a bar's open belongs to the bar before (paid in (open, close])
    assert_eq!(got.paid[7], 1e-4);
    assert_eq!(got.paid[8], 0.0);
    assert_eq!(rate(6), 0.0);
    assert_eq!(rate(7), 1e-4);
    // two events in bar 16: their sum; the rate column is the later one
    assert_eq!(got.paid[16], 0.0 + 1e-4 + 2e-4 - 3e-4 - (0.0 + 1e-4));
    assert_eq!(rate(16), -3e-4);
    assert_eq!(got.paid[39], 5e-5);
    assert_eq!(rate(199), 5e-5);
}

#[test]
fn own_columns_follow_the_bar() {
    let (opens, values, present) = history();
    let got = chunked(&[]);
    let k = rows().n_columns();
    let kr = k - OWN_COLUMNS - 1;
    for i in [4usize, 5, 6] {
        let row = &got.raw[i * k..(i + 1) * k];
        let v = &values[i * 6..(i + 1) * 6];
        assert_eq!(row[kr + 6], f64::from(u8::from(!present[i])));
        assert_eq!(row[kr + 7], f64::from(u8::from(i == 6)), "after_gap at {i}");
        assert_eq!(row[k - 1].to_bits(), v[5].to_bits());
        let hour = (opens[i].rem_euclid(NS_PER_DAY) / H) as f64;
        assert!((row[kr + 2] - (hour * 2.0 * PI / 24.0).sin()).abs() < 1e-15);
        if present[i] {
            assert_eq!(row[kr], (v[1] / v[2]).ln());
            assert_eq!(got.returns[i].to_bits(), row[0].to_bits());
        } else {
            assert!(row[kr].is_nan());
            assert_eq!(got.returns[i], 0.0);
        }
    }
}

#[test]
fn bad_input_changes_nothing() {
    let (opens, mut values, present) = history();
    let mut r = rows();
    let before = r.features().to_json();
    values[3 * 6 + 3] = -1.0; // a negative close
    assert!(r.process(&opens, H, &values, &present).is_err());
    assert!(r.process(&opens, H, &values[..6], &present).is_err());
    assert!(r.process(&opens, 0, &values, &present).is_err());
    assert_eq!(r.features().to_json(), before);
    assert_eq!(
        r.carry(),
        Carry {
            last_rate: 0.0,
            warm: false
        }
    );
    assert!(r.add_funding(&[2, 1], &[0.0, 0.0]).is_err());
    assert!(r.add_funding(&[i64::MAX], &[f64::NAN]).is_err());
    assert!(r.add_funding(&[1], &[0.0, 1.0]).is_err());
    assert_eq!(r.funding().times_ns().len(), 4);
}

#[test]
fn restore_continues_bit_for_bit() {
    let (opens, values, present) = history();
    let whole = chunked(&[]);
    let mut r = rows();
    let c = r.n_values();
    r.process(&opens[..100], H, &values[..100 * c], &present[..100])
        .unwrap();
    let saved = (r.features().to_json(), r.funding().clone(), r.carry());
    let features = StreamingFeatures::from_json(&saved.0).unwrap();
    let funding =
        Funding::from_parts(saved.1.times_ns().to_vec(), saved.1.rates().to_vec()).unwrap();
    let mut back = StateRows::restore(features, 1, funding, saved.2).unwrap();
    let rest = back
        .process(&opens[100..], H, &values[100 * c..], &present[100..])
        .unwrap();
    let k = back.n_columns();
    assert_eq!(bits(&whole.raw[100 * k..]), bits(&rest.raw));
    let bad = Carry {
        last_rate: f64::INFINITY,
        warm: true,
    };
    let features = StreamingFeatures::from_json(&saved.0).unwrap();
    assert!(StateRows::restore(features, 1, Funding::default(), bad).is_err());
}

#[test]
fn normalization_winsorizes_scaled_columns_and_blanks_cold_rows() {
    let n = Normalization::new(
        vec![1.0, 0.0, 0.0],
        vec![2.0, 1.0, 1.0],
        vec![true, false, true],
        5.0,
    )
    .unwrap();
    let raw = [
        101.0,
        f64::INFINITY,
        f64::NAN,
        3.0,
        -0.5,
        -f64::INFINITY,
        1.0,
        2.0,
        3.0,
    ];
    let mut out = [0.0f32; 9];
    n.apply(&raw, &[true, true, false], &mut out);
    assert_eq!(&out[..6], &[5.0, 5.0, 0.0, 1.0, -0.5, -5.0]);
    assert!(out[6..].iter().all(|x| x.is_nan()));
    assert!(Normalization::new(vec![0.0], vec![0.0], vec![true], 5.0).is_err());
    assert!(Normalization::new(vec![], vec![], vec![], 5.0).is_err());
    assert!(Normalization::new(vec![f64::NAN], vec![1.0], vec![true], 5.0).is_err());
    assert!(Normalization::new(vec![0.0], vec![1.0], vec![true, false], 5.0).is_err());
    assert!(Normalization::new(vec![0.0], vec![1.0], vec![true], f64::NAN).is_err());
}
