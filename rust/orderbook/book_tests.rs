use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

fn spot() -> OrderBook {
    OrderBook::new(
        "BTCUSDT",
        Grid::parse("0.01").unwrap(),
        Grid::parse("0.00001").unwrap(),
        Market::Spot,
    )
    .unwrap()
}

fn usdm() -> OrderBook {
    OrderBook::new(
        "BTCUSDT",
        Grid::parse("0.1").unwrap(),
        Grid::parse("0.001").unwrap(),
        Market::UsdM,
    )
    .unwrap()
}

fn ids(first: u64, last: u64) -> DiffIds {
    DiffIds {
        first_update_id: first,
        final_update_id: last,
        prev_final_update_id: None,
    }
}

fn frame(first: u64, last: u64, bids: &str, asks: &str) -> String {
    format!(
        r#"{{"stream":"btcusdt@depth@100ms","data":{{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":{first},"u":{last},"b":[{bids}],"a":[{asks}]}}}}"#
    )
}

#[test]
fn diffs_before_a_snapshot_are_refused() {
    let mut b = spot();
    let err = b
        .apply_depth_json(frame(1, 2, "", "").as_bytes())
        .unwrap_err();
    assert!(matches!(err, CoreError::BookNotSynced(_)), "{err:?}");
}

#[test]
fn spot_sequence_rules() {
    let mut b = spot();
    b.apply_snapshot(100, &[(100, 5)], &[(110, 5)]).unwrap();
    // Stale: u <= lastUpdateId.
    assert!(!b.apply_diff(ids(90, 100), &[(101, 1)], &[]).unwrap());
    assert_eq!(b.bids().len(), 1);
    // First diff straddles 101.
    assert!(b.apply_diff(ids(95, 103), &[(101, 1)], &[]).unwrap());
    assert_eq!(b.last_update_id(), Some(103));
    // Next must start at 104: a duplicate is stale, a jump is a gap.
    assert!(!b.apply_diff(ids(95, 103), &[], &[]).unwrap());
    assert!(b.apply_diff(ids(104, 104), &[], &[(109, 2)]).unwrap());
    let err = b.apply_diff(ids(106, 107), &[], &[]).unwrap_err();
    match err {
        CoreError::SequenceGap {
            expected, received, ..
        } => assert_eq!((expected, received), (105, 106)),
        other => panic!("{other:?}"),
    }
    assert!(!b.is_valid());
    assert!(matches!(
        b.apply_diff(ids(105, 107), &[], &[]),
        Err(CoreError::BookNotSynced(_))
    ));
    b.apply_snapshot(200, &[(100, 5)], &[(110, 5)]).unwrap();
    assert!(b.is_valid());
}

#[test]
fn spot_first_diff_after_the_snapshot_must_straddle() {
    let mut b = spot();
    b.apply_snapshot(100, &[(100, 5)], &[(110, 5)]).unwrap();
    assert!(matches!(
        b.apply_diff(ids(102, 105), &[], &[]),
        Err(CoreError::SequenceGap { .. })
    ));
}

#[test]
fn usdm_sequence_rules() {
    let mut b = usdm();
    b.apply_snapshot(100, &[(100, 5)], &[(110, 5)]).unwrap();
    let with_pu = |first, last, pu| DiffIds {
        first_update_id: first,
        final_update_id: last,
        prev_final_update_id: Some(pu),
    };
    assert!(!b.apply_diff(with_pu(80, 99, 70), &[], &[]).unwrap());
    // First: U <= 100 <= u.
    assert!(b
        .apply_diff(with_pu(90, 120, 85), &[(101, 1)], &[])
        .unwrap());
    assert!(b.apply_diff(with_pu(125, 130, 120), &[], &[]).unwrap());
    assert!(!b.apply_diff(with_pu(125, 130, 120), &[], &[]).unwrap());
    assert!(matches!(
        b.apply_diff(ids(131, 140), &[], &[]),
        Err(CoreError::InvalidInput(_))
    ));
    assert!(b.is_valid());
    let err = b.apply_diff(with_pu(141, 150, 135), &[], &[]).unwrap_err();
    assert!(
        matches!(
            err,
            CoreError::SequenceGap {
                expected: 130,
                received: 135,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!b.is_valid());
}

#[test]
fn bad_frames_leave_the_book_untouched() {
    let mut b = spot();
    b.apply_depth_json(frame(1, 2, "", "").as_bytes())
        .unwrap_err();
    b.apply_snapshot_json(
        br#"{"lastUpdateId":10,"bids":[["100.00","1"],["99.99","2"]],"asks":[["100.02","1"]]}"#,
    )
    .unwrap();
    let before = b.to_json();
    let bad = [
        frame(11, 12, r#"["100.01","1"],["100.005","1"]"#, ""),
        frame(11, 12, r#"["100.01","1"]"#, r#"["100.03","-1"]"#),
        frame(11, 12, r#"["100.01","1"]"#, r#"["100.03","NaN"]"#),
        frame(11, 12, r#"["100.02","1"]"#, ""),
        frame(11, 12, r#"["100.01","1"]"#, r#"["99.99","1"]"#),
        frame(11, 12, r#"["100.01","1"]"#, "").replace("BTCUSDT", "ETHUSDT"),
        frame(11, 12, r#"["100.01","1"]"#, "")[..40].to_string(),
    ];
    for raw in &bad {
        let err = b.apply_depth_json(raw.as_bytes()).unwrap_err();
        assert!(matches!(err, CoreError::InvalidInput(_)), "{raw}: {err:?}");
        assert_eq!(b.to_json(), before, "{raw} changed the book");
    }
    assert!(b
        .apply_depth_json(frame(11, 12, r#"["100.01","1"]"#, "").as_bytes())
        .unwrap());
    assert_eq!(b.best_bid(), Some((10_001, 100_000)));
}

#[test]
fn snapshots_are_validated() {
    let mut b = spot();
    assert!(b.apply_snapshot(1, &[(100, 1)], &[(100, 1)]).is_err());
    assert!(b.apply_snapshot(1, &[(100, 1), (100, 2)], &[]).is_err());
    assert!(b.apply_snapshot(1, &[(100, -1)], &[]).is_err());
    assert!(!b.is_valid());
    b.apply_snapshot(1, &[(100, 1), (99, 0)], &[]).unwrap();
    assert_eq!(b.bids().len(), 1);
}

#[test]
fn ofi_follows_cont_kukanov_stoikov() {
    let mut b = spot();
    b.apply_snapshot(1, &[(100, 10)], &[(102, 10)]).unwrap();
    // Bid queue grows by 5 at the same price: e = +5.
    b.apply_diff(ids(2, 2), &[(100, 15)], &[]).unwrap();
    // Ask price improves to 101 with 4: e = -4 (new ask qty), old ask not added (Pa < Pa').
    b.apply_diff(ids(3, 3), &[], &[(101, 4)]).unwrap();
    // Bid price drops (100 removed): e = -15 (old bid qty), new bid not added.
    b.apply_diff(ids(4, 4), &[(100, 0), (99, 7)], &[]).unwrap();
    let expected = (5 - 4 - 15) as f64 * 0.00001;
    assert!((b.take_ofi() - expected).abs() < 1e-12);
    assert_eq!(b.take_ofi(), 0.0);
}

/// The plain reference: one BTreeMap per side, no cleverness.
#[derive(Default)]
struct Reference {
    bids: BTreeMap<i64, i64>,
    asks: BTreeMap<i64, i64>,
}

impl Reference {
    fn set(map: &mut BTreeMap<i64, i64>, p: i64, q: i64) {
        if q == 0 {
            map.remove(&p);
        } else {
            map.insert(p, q);
        }
    }
    fn crossed(&self) -> bool {
        matches!((self.bids.keys().next_back(), self.asks.keys().next()), (Some(b), Some(a)) if b >= a)
    }
}

type Levels = Vec<(i64, i64)>;

fn diff_strategy() -> impl Strategy<Value = (Levels, Levels)> {
    // Prices straddle 1000 so that some diffs would cross the book and must be refused.
    let level = (950i64..1050, prop_oneof![Just(0i64), 1i64..50]);
    (
        prop::collection::vec(level.clone(), 0..12),
        prop::collection::vec(level, 0..12),
    )
}

proptest! {
    #[test]
    fn matches_reference_and_never_crosses(
        diffs in prop::collection::vec(diff_strategy(), 1..60)
    ) {
        let mut book = spot();
        let mut reference = Reference::default();
        let bids: Levels = (0..20).map(|i| (999 - i, 10 + i)).collect();
        let asks: Levels = (0..20).map(|i| (1001 + i, 10 + i)).collect();
        book.apply_snapshot(0, &bids, &asks).unwrap();
        for &(p, q) in &bids { reference.bids.insert(p, q); }
        for &(p, q) in &asks { reference.asks.insert(p, q); }
        let mut next = 1u64;
        for (db, da) in diffs {
            let mut candidate = Reference { bids: reference.bids.clone(), asks: reference.asks.clone() };
            for &(p, q) in &db { Reference::set(&mut candidate.bids, p, q); }
            for &(p, q) in &da { Reference::set(&mut candidate.asks, p, q); }
            let result = book.apply_diff(ids(next, next), &db, &da);
            if candidate.crossed() {
                prop_assert!(result.is_err());
            } else {
                prop_assert!(result.unwrap());
                reference = candidate;
                next += 1;
            }
            prop_assert!(!book.is_crossed());
            prop_assert_eq!(book.best_bid(), reference.bids.iter().next_back().map(|(&p, &q)| (p, q)));
            prop_assert_eq!(book.best_ask(), reference.asks.iter().next().map(|(&p, &q)| (p, q)));
            prop_assert_eq!(book.bids().len(), reference.bids.len());
            prop_assert_eq!(book.asks().len(), reference.asks.len());
        }
        let all_bids: Levels = book.bids().iter_best().collect();
        let ref_bids: Levels = reference.bids.iter().rev().map(|(&p, &q)| (p, q)).collect();
        prop_assert_eq!(all_bids, ref_bids);
        let all_asks: Levels = book.asks().iter_best().collect();
        let ref_asks: Levels = reference.asks.iter().map(|(&p, &q)| (p, q)).collect();
        prop_assert_eq!(all_asks, ref_asks);
    }
}
