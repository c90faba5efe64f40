use proptest::prelude::*;

use super::*;
use crate::fixed::Grid;
use crate::orderbook::Market;
use crate::sim::replay::Recording;

// Grids: tick 0.01, step 0.001. Prices below are in ticks (10000 = 100.00), sizes in steps.
const SNAPSHOT: &[u8] = br#"{"lastUpdateId":10,"bids":[["100.00","0.005"],["99.99","0.003"]],"asks":[["100.01","0.002"],["100.02","0.004"]]}"#;

/// The snapshot's levels with another update id (a resync snapshot after a gap).
fn snapshot_at(id: u64) -> Vec<u8> {
    String::from_utf8_lossy(SNAPSHOT)
        .replace("\"lastUpdateId\":10", &format!("\"lastUpdateId\":{id}"))
        .into_bytes()
}

fn config(queue: QueueModel, entry: i64, cancel: i64) -> L2Config {
    L2Config::new(
        0.0002,
        0.001,
        queue,
        Latency::constant(entry).unwrap(),
        Latency::constant(cancel).unwrap(),
    )
    .unwrap()
}

fn venue_with(config: L2Config) -> L2Venue {
    let book = OrderBook::new(
        "BTCUSDT",
        Grid::parse("0.01").unwrap(),
        Grid::parse("0.001").unwrap(),
        Market::Spot,
    )
    .unwrap();
    let mut v = L2Venue::new(book, config);
    v.process(0, FrameKind::SNAPSHOT, SNAPSHOT).unwrap();
    v
}

fn venue() -> L2Venue {
    venue_with(config(QueueModel::RiskAverse, 0, 0))
}

fn trade(price: &str, qty: &str, buyer_is_maker: bool) -> Vec<u8> {
    format!(
        r#"{{"stream":"btcusdt@trade","data":{{"e":"trade","E":1,"s":"BTCUSDT","t":1,"p":"{price}","q":"{qty}","T":1,"m":{buyer_is_maker},"M":true}}}}"#
    )
    .into_bytes()
}

fn diff(first: u64, last: u64, bids: &str, asks: &str) -> Vec<u8> {
    format!(
        r#"{{"stream":"btcusdt@depth@100ms","data":{{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":{first},"u":{last},"b":[{bids}],"a":[{asks}]}}}}"#
    )
    .into_bytes()
}

fn order(
    id: &str,
    side: Side,
    order_type: OrderType,
    qty: i64,
    price: Option<i64>,
) -> OrderRequest<'_> {
    OrderRequest {
        client_id: id,
        side,
        order_type,
        qty,
        price,
    }
}

fn fills(v: &mut L2Venue) -> Vec<(i64, i64, Liquidity)> {
    v.take_fills()
        .into_iter()
        .map(|f| (f.price, f.qty, f.liquidity))
        .collect()
}

fn statuses(v: &mut L2Venue) -> Vec<(OrderStatus, Option<VenueReject>)> {
    v.take_order_events()
        .into_iter()
        .map(|e| (e.status, e.reason))
        .collect()
}

#[test]
fn market_order_walks_the_book_and_expires_what_is_not_there() {
    let mut v = venue();
    v.submit(1, order("m1", Side::BUY, OrderType::MARKET, 5, None))
        .unwrap();
    v.advance_to(1).unwrap();
    assert_eq!(
        fills(&mut v),
        vec![(10001, 2, Liquidity::TAKER), (10002, 3, Liquidity::TAKER)]
    );
    v.submit(2, order("m2", Side::BUY, OrderType::MARKET, 10, None))
        .unwrap();
    v.advance_to(2).unwrap();
    // The book is the market's: the second order sees the same 6 displayed.
    assert_eq!(
        fills(&mut v),
        vec![(10001, 2, Liquidity::TAKER), (10002, 4, Liquidity::TAKER)]
    );
    assert_eq!(
        statuses(&mut v),
        vec![
            (OrderStatus::NEW, None),
            (OrderStatus::FILLED, None),
            (OrderStatus::NEW, None),
            (OrderStatus::EXPIRED, None)
        ]
    );
    let b = v.balances();
    assert_eq!(b.base_steps, 11);
    assert_eq!(
        b.quote_units,
        -(10001 * 2 + 10002 * 3 + 10001 * 2 + 10002 * 4)
    );
    let fee = (100.01 * 0.004 + 100.02 * 0.007) * 0.001;
    assert!((b.fees - fee).abs() < 1e-12, "{}", b.fees);
    assert_eq!(v.open_orders(), 0);
}

#[test]
fn crossing_limit_takes_then_rests_and_post_only_is_rejected() {
    let mut v = venue();
    v.submit(
        1,
        order("pm", Side::BUY, OrderType::LIMIT_MAKER, 3, Some(10001)),
    )
    .unwrap();
    v.submit(1, order("l1", Side::BUY, OrderType::LIMIT, 3, Some(10001)))
        .unwrap();
    v.advance_to(1).unwrap();
    assert_eq!(fills(&mut v), vec![(10001, 2, Liquidity::TAKER)]);
    assert_eq!(
        statuses(&mut v),
        vec![
            (
                OrderStatus::REJECTED,
                Some(VenueReject::POST_ONLY_WOULD_CROSS)
            ),
            (OrderStatus::NEW, None)
        ]
    );
    assert_eq!(
        v.order_state("l1").unwrap(),
        (OrderStatus::PARTIALLY_FILLED, 2, Some(0))
    );
    // A sell aggressor at our price: nothing displayed ahead of us on the bid at 100.01.
    v.process(5, FrameKind::TRADE, &trade("100.01", "0.004", true))
        .unwrap();
    assert_eq!(fills(&mut v), vec![(10001, 1, Liquidity::MAKER)]);
    assert_eq!(v.order_state("l1").unwrap().0, OrderStatus::FILLED);
}

#[test]
fn resting_limit_fills_after_the_queue_ahead_and_on_trades_through() {
    let mut v = venue();
    v.submit(1, order("b1", Side::BUY, OrderType::LIMIT, 3, Some(10000)))
        .unwrap();
    v.advance_to(1).unwrap();
    assert_eq!(v.order_state("b1").unwrap().2, Some(5));
    // A buyer aggressor does not touch our bid.
    v.process(2, FrameKind::TRADE, &trade("100.00", "0.009", false))
        .unwrap();
    assert_eq!(v.order_state("b1").unwrap().2, Some(5));
    v.process(3, FrameKind::TRADE, &trade("100.00", "0.003", true))
        .unwrap();
    assert!(fills(&mut v).is_empty());
    assert_eq!(v.order_state("b1").unwrap().2, Some(2));
    v.process(4, FrameKind::TRADE, &trade("100.00", "0.004", true))
        .unwrap();
    assert_eq!(fills(&mut v), vec![(10000, 2, Liquidity::MAKER)]);
    // A trade below our price went through us: fill the rest up to its size.
    v.process(5, FrameKind::TRADE, &trade("99.99", "0.005", true))
        .unwrap();
    assert_eq!(fills(&mut v), vec![(10000, 1, Liquidity::MAKER)]);
    let b = v.balances();
    assert_eq!((b.base_steps, b.quote_units), (3, -30000));
    assert!((b.fees - 100.0 * 0.003 * 0.0002).abs() < 1e-15);
}

#[test]
fn latency_delays_arrival_and_cancel_and_fills_race_the_cancel() {
    let mut v = venue_with(config(QueueModel::RiskAverse, 100, 50));
    v.submit(
        1000,
        order("s1", Side::SELL, OrderType::LIMIT, 2, Some(10001)),
    )
    .unwrap();
    // Before arrival (at 1100) a buyer aggressor at our price cannot fill us.
    v.process(1050, FrameKind::TRADE, &trade("100.01", "0.010", false))
        .unwrap();
    assert_eq!(v.order_state("s1").unwrap().0, OrderStatus::PENDING_NEW);
    // Market events stamped at the arrival time come first.
    v.process(1100, FrameKind::TRADE, &trade("100.01", "0.010", false))
        .unwrap();
    assert_eq!(v.order_state("s1").unwrap().0, OrderStatus::PENDING_NEW);
    v.advance_to(1100).unwrap();
    assert_eq!(v.order_state("s1").unwrap(), (OrderStatus::NEW, 0, Some(2)));
    v.cancel(1200, "s1").unwrap();
    assert!(matches!(
        v.cancel(1201, "s1"),
        Err(CoreError::InvalidTransition(_))
    ));
    // 3 steps trade at our price before the cancel lands at 1250: 2 ahead, 1 for us.
    v.process(1240, FrameKind::TRADE, &trade("100.01", "0.003", false))
        .unwrap();
    assert_eq!(fills(&mut v), vec![(10001, 1, Liquidity::MAKER)]);
    v.advance_to(1250).unwrap();
    assert_eq!(
        v.order_state("s1").unwrap(),
        (OrderStatus::CANCELED, 1, None)
    );
    assert!(matches!(
        v.cancel(1300, "s1"),
        Err(CoreError::InvalidTransition(_))
    ));
    // A cancel that lands after a complete fill is reported, typed.
    v.submit(
        1300,
        order("s2", Side::SELL, OrderType::LIMIT, 1, Some(10100)),
    )
    .unwrap();
    v.advance_to(1400).unwrap();
    v.cancel(1400, "s2").unwrap();
    v.process(1420, FrameKind::TRADE, &trade("101.00", "0.001", false))
        .unwrap();
    v.advance_to(1450).unwrap();
    let events = statuses(&mut v);
    assert_eq!(
        events.last().unwrap(),
        &(OrderStatus::FILLED, Some(VenueReject::CANCEL_TOO_LATE))
    );
}

#[test]
fn cancel_before_arrival_cancels_the_pending_order() {
    let mut v = venue_with(config(QueueModel::RiskAverse, 100, 10));
    v.submit(0, order("b", Side::BUY, OrderType::LIMIT, 1, Some(10000)))
        .unwrap();
    v.cancel(5, "b").unwrap();
    v.advance_to(200).unwrap();
    assert_eq!(statuses(&mut v), vec![(OrderStatus::CANCELED, None)]);
}

#[test]
fn probabilistic_queue_advances_on_cancellations_in_the_venue() {
    let mut v = venue_with(config(QueueModel::probabilistic(1.0).unwrap(), 0, 0));
    v.submit(1, order("b1", Side::BUY, OrderType::LIMIT, 1, Some(10000)))
        .unwrap();
    v.advance_to(1).unwrap();
    // Level 5 -> 15 (10 join behind us), then 15 -> 9: 6 cancelled, share ahead 5/15 -> 2.
    v.process(
        2,
        FrameKind::DEPTH,
        &diff(11, 11, r#"["100.00","0.015"]"#, ""),
    )
    .unwrap();
    v.process(
        3,
        FrameKind::DEPTH,
        &diff(12, 12, r#"["100.00","0.009"]"#, ""),
    )
    .unwrap();
    assert_eq!(v.order_state("b1").unwrap().2, Some(3));
    let mut averse = venue();
    averse
        .submit(1, order("b1", Side::BUY, OrderType::LIMIT, 1, Some(10000)))
        .unwrap();
    averse.advance_to(1).unwrap();
    averse
        .process(
            2,
            FrameKind::DEPTH,
            &diff(11, 11, r#"["100.00","0.015"]"#, ""),
        )
        .unwrap();
    averse
        .process(
            3,
            FrameKind::DEPTH,
            &diff(12, 12, r#"["100.00","0.009"]"#, ""),
        )
        .unwrap();
    assert_eq!(averse.order_state("b1").unwrap().2, Some(5));
}

#[test]
fn no_fill_on_an_invalid_book_and_resync_rejoins_the_back() {
    let mut v = venue();
    v.submit(1, order("b1", Side::BUY, OrderType::LIMIT, 2, Some(10000)))
        .unwrap();
    v.advance_to(1).unwrap();
    v.process(2, FrameKind::TRADE, &trade("100.00", "0.004", true))
        .unwrap();
    assert_eq!(v.order_state("b1").unwrap().2, Some(1));
    v.process(3, FrameKind::DEPTH, &diff(20, 21, "", ""))
        .unwrap();
    assert!(!v.book().is_valid());
    let events = v.take_book_events();
    assert_eq!(
        events.iter().map(|e| e.status).collect::<Vec<_>>(),
        [BookStatus::SYNCED, BookStatus::SEQUENCE_GAP]
    );
    v.process(4, FrameKind::TRADE, &trade("99.00", "1.000", true))
        .unwrap();
    assert!(fills(&mut v).is_empty(), "no fill on a stale book");
    v.submit(4, order("m1", Side::SELL, OrderType::MARKET, 1, None))
        .unwrap();
    v.advance_to(4).unwrap();
    assert_eq!(
        statuses(&mut v).last().unwrap(),
        &(OrderStatus::REJECTED, Some(VenueReject::BOOK_NOT_SYNCED))
    );
    let c = v.counters();
    assert_eq!((c.sequence_gaps, c.trades_on_invalid_book), (1, 1));
    // The resync snapshot contains the held diffs (stale: dropped).
    v.process(5, FrameKind::SNAPSHOT, &snapshot_at(25)).unwrap();
    assert_eq!(v.take_book_events()[0].status, BookStatus::SYNCED);
    assert_eq!(v.counters().depth_stale, 1);
    assert_eq!(
        v.order_state("b1").unwrap().2,
        Some(5),
        "back of the level again"
    );
}

#[test]
fn bad_input_is_a_typed_error_and_changes_nothing() {
    let mut v = venue();
    v.submit(5, order("a", Side::BUY, OrderType::LIMIT, 1, Some(9000)))
        .unwrap();
    let bad = [
        order("a", Side::BUY, OrderType::LIMIT, 1, Some(9000)),
        order("b", Side::BUY, OrderType::LIMIT, 0, Some(9000)),
        order("b", Side::BUY, OrderType::LIMIT, -1, Some(9000)),
        order("b", Side::BUY, OrderType::LIMIT, 1, None),
        order("b", Side::BUY, OrderType::LIMIT, 1, Some(-3)),
        order("b", Side::BUY, OrderType::MARKET, 1, Some(9000)),
        order("b", Side::BUY, OrderType::STOP_MARKET, 1, None),
        order("has space", Side::BUY, OrderType::MARKET, 1, None),
    ];
    for req in bad {
        assert!(
            matches!(v.submit(5, req), Err(CoreError::InvalidInput(_))),
            "{req:?}"
        );
    }
    assert!(matches!(
        v.cancel(5, "nope"),
        Err(CoreError::InvalidInput(_))
    ));
    v.advance_to(5).unwrap();
    assert!(v
        .submit(4, order("c", Side::BUY, OrderType::MARKET, 1, None))
        .is_err());
    assert!(v.process(4, FrameKind::BOOK_TICKER, b"{}").is_err());
    assert!(v
        .process(6, FrameKind::TRADE, b"{\"e\":\"trade\"}")
        .is_err());
    assert!(v.process(6, FrameKind::DEPTH, b"not json").is_err());
    assert_eq!(v.open_orders(), 1);
    assert_eq!(v.now(), 5);
    assert_eq!(v.counters().events, 1);
    assert!(v.book().is_valid());
    assert!(L2Config::new(
        f64::NAN,
        0.0,
        QueueModel::RiskAverse,
        Latency::Constant(0),
        Latency::Constant(0)
    )
    .is_err());
}

#[test]
fn replay_driver_runs_a_recording_until_a_time() {
    let frames: Vec<(i64, FrameKind, Vec<u8>)> = vec![
        (0, FrameKind::SNAPSHOT, SNAPSHOT.to_vec()),
        (
            10,
            FrameKind::DEPTH,
            diff(11, 12, r#"["100.00","0.007"]"#, ""),
        ),
        (20, FrameKind::TRADE, trade("100.00", "0.008", true)),
        (30, FrameKind::BOOK_TICKER, b"{}".to_vec()),
    ];
    let mut data = Vec::new();
    let mut offsets = vec![0i64];
    for (_, _, raw) in &frames {
        data.extend_from_slice(raw);
        offsets.push(data.len() as i64);
    }
    let ts: Vec<i64> = frames.iter().map(|f| f.0).collect();
    let kinds: Vec<u8> = frames.iter().map(|f| f.1 as u8).collect();
    let mut rec = Recording::new(ts.clone(), &kinds, data.clone(), &offsets).unwrap();
    let book = OrderBook::new(
        "BTCUSDT",
        Grid::parse("0.01").unwrap(),
        Grid::parse("0.001").unwrap(),
        Market::Spot,
    )
    .unwrap();
    let mut v = L2Venue::new(book, config(QueueModel::RiskAverse, 0, 0));
    assert_eq!(rec.run_until(&mut v, 5).unwrap(), 1);
    v.submit(5, order("b", Side::BUY, OrderType::LIMIT, 2, Some(10000)))
        .unwrap();
    assert_eq!(rec.run_until(&mut v, 25).unwrap(), 2);
    // Joined behind 5; the diff took the level to 7 (growth behind us); 8 traded: 3 pass.
    assert_eq!(fills(&mut v), vec![(10000, 2, Liquidity::MAKER)]);
    assert_eq!(rec.run_until(&mut v, 100).unwrap(), 1);
    assert_eq!(rec.next_ts(), None);
    assert_eq!(v.counters().events, 4);
    assert!(Recording::new(vec![1, 0], &[0, 0], vec![], &[0, 0, 0]).is_err());
    assert!(Recording::new(vec![0], &[7], vec![], &[0, 0]).is_err());
    assert!(Recording::new(vec![0], &[0], vec![1], &[0, 0]).is_err());
    assert!(Recording::new(vec![0], &[0], vec![], &[0]).is_err());
}

/// One random step against the venue.
#[derive(Debug, Clone)]
enum Op {
    Submit {
        buy: bool,
        limit: Option<i64>,
        qty: i64,
        post_only: bool,
    },
    Cancel(usize),
    Trade {
        price: i64,
        qty: i64,
        buyer_is_maker: bool,
    },
    Level {
        bid: bool,
        price: i64,
        qty: i64,
    },
    Gap,
    Snapshot,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (
            any::<bool>(),
            prop::option::of(9995i64..10006),
            1i64..8,
            any::<bool>()
        )
            .prop_map(|(buy, limit, qty, post_only)| Op::Submit {
                buy,
                limit,
                qty,
                post_only
            }),
        (0usize..20).prop_map(Op::Cancel),
        (9995i64..10006, 1i64..8, any::<bool>()).prop_map(|(price, qty, buyer_is_maker)| {
            Op::Trade {
                price,
                qty,
                buyer_is_maker,
            }
        }),
        (any::<bool>(), 0i64..6, 0i64..9).prop_map(|(bid, d, qty)| Op::Level {
            bid,
            price: if bid { 10000 - d } else { 10001 + d },
            qty
        }),
        Just(Op::Gap),
        Just(Op::Snapshot),
    ]
}

proptest! {
    /// Fills never exceed an order's quantity, the balances are exactly the sum of the fills,
    /// queue positions are never negative, and nothing fills while the book is invalid.
    #[test]
    fn venue_invariants_hold_under_random_flow(
        ops in prop::collection::vec(op(), 1..80),
        probabilistic in any::<bool>(),
        latency in 0i64..3,
    ) {
        let model = if probabilistic { QueueModel::probabilistic(2.0).unwrap() } else { QueueModel::RiskAverse };
        let mut v = venue_with(config(model, latency, latency));
        let mut ids: Vec<(String, i64)> = Vec::new();
        let mut last_u = 10u64;
        let mut max_u = 10u64;
        let mut all_fills = Vec::new();
        for (step, op) in ops.into_iter().enumerate() {
            let t = step as i64 * 2 + 1;
            let valid_before = v.book().is_valid();
            match op {
                Op::Submit { buy, limit, qty, post_only } => {
                    let id = format!("o{step}");
                    let side = if buy { Side::BUY } else { Side::SELL };
                    let kind = match (limit, post_only) {
                        (None, _) => OrderType::MARKET,
                        (Some(_), true) => OrderType::LIMIT_MAKER,
                        (Some(_), false) => OrderType::LIMIT,
                    };
                    v.submit(t, order(&id, side, kind, qty, limit)).unwrap();
                    ids.push((id, qty));
                }
                Op::Cancel(k) => {
                    if let Some((id, _)) = ids.get(k) {
                        let _ = v.cancel(t, id);
                    }
                }
                Op::Trade { price, qty, buyer_is_maker } => {
                    let p = Grid::parse("0.01").unwrap().format(price);
                    let q = Grid::parse("0.001").unwrap().format(qty);
                    v.process(t, FrameKind::TRADE, &trade(&p, &q, buyer_is_maker)).unwrap();
                }
                Op::Level { bid, price, qty } => {
                    let level = format!(
                        r#"["{}","{}"]"#,
                        Grid::parse("0.01").unwrap().format(price),
                        Grid::parse("0.001").unwrap().format(qty)
                    );
                    let (b, a) = if bid { (level, String::new()) } else { (String::new(), level) };
                    // A crossing diff is refused by the book and leaves it unchanged.
                    let valid = v.book().is_valid();
                    let result = v.process(t, FrameKind::DEPTH, &diff(last_u + 1, last_u + 1, &b, &a));
                    if result.is_ok() && valid && v.book().is_valid() {
                        last_u += 1;
                        max_u = max_u.max(last_u);
                    }
                }
                Op::Gap => {
                    max_u = max_u.max(last_u + 5);
                    v.process(t, FrameKind::DEPTH, &diff(last_u + 5, last_u + 5, "", "")).unwrap();
                }
                Op::Snapshot => {
                    // A resync snapshot newer than every diff sent: the held ones are stale.
                    v.process(t, FrameKind::SNAPSHOT, &snapshot_at(max_u)).unwrap();
                    last_u = max_u;
                    prop_assert!(v.book().is_valid());
                }
            }
            v.advance_to(t + 1).unwrap();
            let new_fills = v.take_fills();
            if !valid_before && !v.book().is_valid() {
                prop_assert!(new_fills.is_empty(), "fill on an invalid book");
            }
            all_fills.extend(new_fills);
            for (id, qty) in &ids {
                let (_, filled, ahead) = v.order_state(id).unwrap();
                prop_assert!(filled <= *qty);
                prop_assert!(ahead.unwrap_or(0) >= 0);
            }
        }
        let base: i64 = all_fills.iter().map(|f| f.side.sign() * f.qty).sum();
        let quote: i128 = all_fills.iter().map(|f| -i128::from(f.price) * i128::from(f.side.sign() * f.qty)).sum();
        let fees: f64 = all_fills.iter().map(|f| f.fee).sum();
        let b = v.balances();
        prop_assert_eq!(b.base_steps, base);
        prop_assert_eq!(b.quote_units, quote);
        prop_assert!((b.fees - fees).abs() < 1e-12);
        for (id, qty) in &ids {
            let filled: i64 = all_fills.iter().filter(|f| &*f.client_id == id.as_str()).map(|f| f.qty).sum();
            prop_assert!(filled <= *qty);
            prop_assert_eq!(filled, v.order_state(id).unwrap().1);
        }
    }
}

#[test]
fn diffs_before_the_snapshot_are_held_and_replayed_onto_it() {
    let book = OrderBook::new(
        "BTCUSDT",
        Grid::parse("0.01").unwrap(),
        Grid::parse("0.001").unwrap(),
        Market::Spot,
    )
    .unwrap();
    let mut v = L2Venue::new(book, config(QueueModel::RiskAverse, 0, 0));
    v.process(1, FrameKind::DEPTH, &diff(3, 9, r#"["99.00","0.001"]"#, ""))
        .unwrap();
    v.process(
        2,
        FrameKind::DEPTH,
        &diff(10, 12, r#"["100.00","0.009"]"#, ""),
    )
    .unwrap();
    v.process(
        3,
        FrameKind::DEPTH,
        &diff(13, 13, "", r#"["100.01","0.000"]"#),
    )
    .unwrap();
    v.process(4, FrameKind::TRADE, &trade("100.00", "0.001", true))
        .unwrap();
    assert_eq!(v.counters().depth_buffered, 3);
    assert_eq!(v.counters().trades_on_invalid_book, 1);
    v.process(5, FrameKind::SNAPSHOT, SNAPSHOT).unwrap();
    let c = v.counters();
    assert_eq!((c.depth_stale, c.depth_applied, c.sequence_gaps), (1, 2, 0));
    assert_eq!(v.book().best_bid(), Some((10000, 9)));
    assert_eq!(v.book().best_ask(), Some((10002, 4)));
    assert_eq!(
        v.book().bids().qty_at(9900),
        0,
        "the stale diff was not applied"
    );
    // The next live diff continues the sequence.
    v.process(6, FrameKind::DEPTH, &diff(14, 14, "", ""))
        .unwrap();
    assert_eq!(v.counters().depth_applied, 3);
}
