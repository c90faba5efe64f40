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

#[test]
fn usdm_first_diff_may_chain_by_pu() {
    // The snapshot fell exactly between two frames: the next diff has U > lastUpdateId but its
    // pu equals it, so it continues the snapshot and must not count as a gap.
    let mut b = usdm();
    b.apply_snapshot(100, &[(100, 5)], &[(110, 5)]).unwrap();
    let chained = DiffIds {
        first_update_id: 103,
        final_update_id: 107,
        prev_final_update_id: Some(100),
    };
    assert!(b.apply_diff(chained, &[(101, 1)], &[]).unwrap());
    assert_eq!(b.last_update_id(), Some(107));
    let mut c = usdm();
    c.apply_snapshot(100, &[(100, 5)], &[(110, 5)]).unwrap();
    let gap = DiffIds {
        first_update_id: 103,
        final_update_id: 107,
        prev_final_update_id: Some(99),
    };
    assert!(matches!(
        c.apply_diff(gap, &[], &[]),
        Err(CoreError::SequenceGap { .. })
    ));
}

/// Issue 12: after a SequenceGap the book is invalid and every query of its levels is
/// BookNotSynced, never the stale prices; before any snapshot too. A valid book answers again
/// after the next snapshot.
#[test]
fn invalid_book_answers_no_query() {
    let fresh = spot();
    let mut book = spot();
    book.apply_snapshot(10, &[(10_000, 100_000)], &[(10_002, 200_000)])
        .unwrap();
    assert!(book.mid().unwrap().is_some());
    assert!(matches!(
        book.apply_diff(ids(50, 60), &[], &[]),
        Err(CoreError::SequenceGap { .. })
    ));
    assert!(!book.is_valid());
    for b in [&fresh, &book] {
        let not_synced = |r: CoreResult<()>| matches!(r, Err(CoreError::BookNotSynced(_)));
        assert!(not_synced(b.best_bid_f64().map(drop)));
        assert!(not_synced(b.best_ask_f64().map(drop)));
        assert!(not_synced(b.mid().map(drop)));
        assert!(not_synced(b.spread().map(drop)));
        assert!(not_synced(b.microprice().map(drop)));
        assert!(not_synced(b.crossed().map(drop)));
        assert!(not_synced(b.levels_f64(true, 5).map(drop)));
        assert!(not_synced(b.levels_f64(false, 5).map(drop)));
        assert!(not_synced(b.features(3).map(drop)));
    }
    book.apply_snapshot(70, &[(10_000, 1)], &[]).unwrap();
    assert_eq!(book.best_bid_f64().unwrap(), Some((100.0, 0.00001)));
    assert_eq!(book.mid().unwrap(), None);
}

/// Top-of-book arithmetic at the edge of the fixed-point range neither panics nor wraps.
#[test]
fn extreme_levels_do_not_overflow() {
    let mut book = spot();
    let top = i64::MAX - 1;
    book.apply_snapshot(
        1,
        &[(top - 1, i64::MAX), (top - 2, i64::MAX)],
        &[(top, i64::MAX)],
    )
    .unwrap();
    let mid = book.mid().unwrap().unwrap();
    assert!(mid.is_finite() && mid > 0.0);
    assert!(book.spread().unwrap().unwrap() > 0.0);
    let f = book.features(2).unwrap();
    assert!(f.iter().filter(|v| !v.is_nan()).all(|v| v.is_finite()));
}
