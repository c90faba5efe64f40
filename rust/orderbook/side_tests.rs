use std::collections::BTreeMap;

use super::*;

#[test]
fn bids_best_is_highest_asks_best_is_lowest() {
    let mut bids = Side::new(SideKind::Bid);
    let mut asks = Side::new(SideKind::Ask);
    for p in [100, 105, 95, 103] {
        bids.set(p, 1);
        asks.set(p + 10, 2);
    }
    assert_eq!(bids.best(), Some((105, 1)));
    assert_eq!(asks.best(), Some((105, 2)));
    assert_eq!(
        bids.iter_best().map(|l| l.0).collect::<Vec<_>>(),
        vec![105, 103, 100, 95]
    );
    assert_eq!(
        asks.iter_best().map(|l| l.0).collect::<Vec<_>>(),
        vec![105, 110, 113, 115]
    );
    assert_eq!(bids.set(105, 0), 1);
    assert_eq!(bids.best(), Some((103, 1)));
    assert_eq!(bids.set(104, 0), 0);
    assert_eq!(bids.len(), 3);
    assert_eq!(asks.qty_at(113), 2);
    assert_eq!(asks.qty_at(114), 0);
}

#[test]
fn levels_outside_the_window_live_in_deep_and_merge_in_order() {
    let mut bids = Side::with_window(SideKind::Bid, 64);
    // Window centred on 1000: keys 968..1032.
    bids.replace(&[(1000, 1), (990, 2), (500, 3), (5000, 4)]);
    assert_eq!(bids.len(), 4);
    assert_eq!(bids.best(), Some((5000, 4)));
    bids.set(5000, 0);
    assert_eq!(bids.best(), Some((1000, 1)));
    bids.set(1031, 7);
    bids.set(1032, 8);
    let all: Vec<(i64, i64)> = bids.iter_best().collect();
    assert_eq!(
        all,
        vec![(1032, 8), (1031, 7), (1000, 1), (990, 2), (500, 3)]
    );
    for p in [1032, 1031, 1000, 990] {
        bids.set(p, 0);
    }
    assert_eq!(bids.best(), Some((500, 3)));
    assert_eq!(bids.len(), 1);
}

fn check_against_btreemap(
    kind: SideKind,
    window: usize,
    snapshot: &[(i64, i64)],
    ops: &[(i64, i64)],
) {
    let mut side = Side::with_window(kind, window);
    side.replace(snapshot);
    let mut reference: BTreeMap<i64, i64> = snapshot.iter().copied().collect();
    for &(price, qty) in ops {
        let old = if qty == 0 {
            reference.remove(&price)
        } else {
            reference.insert(price, qty)
        };
        assert_eq!(side.set(price, qty), old.unwrap_or(0), "set {price} {qty}");
        let best = match kind {
            SideKind::Bid => reference.iter().next_back(),
            SideKind::Ask => reference.iter().next(),
        };
        assert_eq!(side.best(), best.map(|(&p, &q)| (p, q)));
    }
    let ours: Vec<(i64, i64)> = side.iter_best().collect();
    let mut expected: Vec<(i64, i64)> = reference.into_iter().collect();
    if kind == SideKind::Bid {
        expected.reverse();
    }
    assert_eq!(side.len(), expected.len());
    assert_eq!(ours, expected);
    for &(p, q) in &expected {
        assert_eq!(side.qty_at(p), q);
    }
}

proptest::proptest! {
    #[test]
    fn matches_a_btreemap(
        snapshot in proptest::collection::btree_map(0i64..5000, 1i64..9, 0..200),
        ops in proptest::collection::vec((0i64..5000, 0i64..3), 1..2000),
        bid in proptest::bool::ANY,
        window in proptest::sample::select(vec![64usize, 128, 1024, 8192]),
    ) {
        let kind = if bid { SideKind::Bid } else { SideKind::Ask };
        let snapshot: Vec<(i64, i64)> = snapshot.into_iter().collect();
        check_against_btreemap(kind, window, &snapshot, &ops);
    }
}
