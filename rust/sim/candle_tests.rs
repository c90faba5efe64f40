use proptest::prelude::*;

use super::*;

fn cfg() -> CandleFillConfig {
    // 2 bps half spread, k = 0.5, taker 10 bps, maker 2 bps, 10% of volume, 5% impact cap.
    CandleFillConfig::new(2.0, 0.5, 0.001, 0.0002, 0.1, FillAt::NEXT_OPEN, 500.0).unwrap()
}

fn bar(open: f64, high: f64, low: f64, close: f64, volume: f64) -> Bar {
    Bar::new(open, high, low, close, volume).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

#[test]
fn market_buy_pays_half_spread_impact_and_taker_fee_at_next_open() {
    let b = bar(100.0, 105.0, 99.0, 104.0, 400.0);
    // impact = 0.5 * 0.02 * sqrt(4 / 400) = 0.001; cost = 0.0002 + 0.001 = 0.0012
    let fill = cfg().market_fill(Side::BUY, 4.0, &b, 0.02).unwrap();
    assert!(close(fill.price, 100.12), "{}", fill.price);
    assert!(close(fill.fee, 100.12 * 4.0 * 0.001));
    assert_eq!(fill.liquidity, Liquidity::TAKER);
    assert_eq!(fill.reason, FillReason::MARKET);
    assert_eq!(fill.reference_price, 100.0);
    let sell = cfg().market_fill(Side::SELL, 4.0, &b, 0.02).unwrap();
    assert!(close(sell.price, 99.88));
}

#[test]
fn decision_close_uses_the_close_and_zero_costs_are_exact() {
    let c =
        CandleFillConfig::new(0.0, 0.0, 0.0005, 0.0, 0.1, FillAt::DECISION_CLOSE, 500.0).unwrap();
    let b = bar(100.0, 105.0, 99.0, 104.0, 400.0);
    let fill = c.market_fill(Side::BUY, 2.0, &b, 0.3).unwrap();
    assert_eq!(fill.price, 104.0);
    assert!(close(fill.fee, 104.0 * 2.0 * 0.0005));
}

#[test]
fn impact_is_capped_and_zero_volume_pays_the_cap() {
    let c = cfg();
    assert!(close(c.impact(1.0, 0.0, 0.01), 0.05));
    assert!(close(c.impact(1e9, 1.0, 0.01), 0.05));
    assert_eq!(c.impact(1.0, 10.0, 0.0), 0.0);
}

#[test]
fn limit_buy_fills_only_when_the_low_trades_through() {
    let c = cfg();
    let touch = bar(101.0, 102.0, 100.0, 101.5, 50.0);
    assert_eq!(
        c.limit_fill(Side::BUY, 100.0, 1.0, &touch, 0.01, false)
            .unwrap(),
        None
    );
    let through = bar(101.0, 102.0, 99.99, 101.5, 50.0);
    let fill = c
        .limit_fill(Side::BUY, 100.0, 1.0, &through, 0.01, false)
        .unwrap()
        .unwrap();
    assert_eq!(fill.price, 100.0);
    assert_eq!(fill.qty, 1.0);
    assert!(close(fill.fee, 100.0 * 0.0002));
    assert_eq!(fill.liquidity, Liquidity::MAKER);
    assert_eq!(fill.reason, FillReason::LIMIT);
}

#[test]
fn limit_sell_needs_high_above_and_is_capped_by_volume_share() {
    let c = cfg();
    let b = bar(100.0, 100.5, 99.0, 100.2, 30.0);
    assert_eq!(
        c.limit_fill(Side::SELL, 100.5, 10.0, &b, 0.01, false)
            .unwrap(),
        None
    );
    // 10% of 30 = 3 of the 10 wanted; the caller keeps 7 open.
    let fill = c
        .limit_fill(Side::SELL, 100.4, 10.0, &b, 0.01, false)
        .unwrap()
        .unwrap();
    assert!(close(fill.qty, 3.0));
    assert_eq!(fill.price, 100.4);
    let none = bar(100.0, 101.0, 99.0, 100.0, 0.0);
    assert_eq!(
        c.limit_fill(Side::SELL, 100.4, 1.0, &none, 0.01, false)
            .unwrap(),
        None
    );
}

#[test]
fn limit_marketable_on_arrival_takes_at_the_open_never_beyond_its_limit() {
    let c = cfg();
    let b = bar(100.0, 101.0, 99.0, 100.0, 400.0);
    // Buy limit 101 arrives at open 100: market price 100 * (1 + 0.0002 + 0.5*0.02*sqrt(4/400)).
    let fill = c
        .limit_fill(Side::BUY, 101.0, 4.0, &b, 0.02, true)
        .unwrap()
        .unwrap();
    assert_eq!(fill.reason, FillReason::MARKETABLE_LIMIT);
    assert_eq!(fill.liquidity, Liquidity::TAKER);
    assert!(close(fill.price, 100.12));
    // A limit of 100.05 is marketable (touch 100.02) but the impact would pass it: capped.
    let capped = c
        .limit_fill(Side::BUY, 100.05, 4.0, &b, 0.02, true)
        .unwrap()
        .unwrap();
    assert_eq!(capped.price, 100.05);
    // Not arriving: the same order is a resting maker filled at its limit (low 99 < 101).
    let rest = c
        .limit_fill(Side::BUY, 101.0, 4.0, &b, 0.02, false)
        .unwrap()
        .unwrap();
    assert_eq!(rest.reason, FillReason::LIMIT);
    assert_eq!(rest.price, 101.0);
}

#[test]
fn stop_fills_at_the_stop_or_at_the_open_on_a_gap() {
    let c = CandleFillConfig::new(0.0, 0.0, 0.001, 0.0, 0.1, FillAt::NEXT_OPEN, 500.0).unwrap();
    let b = bar(100.0, 101.0, 97.0, 98.0, 10.0);
    let fill = c
        .stop_fill(Side::SELL, 98.5, 1.0, &b, 0.0)
        .unwrap()
        .unwrap();
    assert_eq!(
        (fill.price, fill.at_open, fill.reason),
        (98.5, false, FillReason::STOP)
    );
    let gap = bar(96.0, 97.0, 95.0, 96.5, 10.0);
    let fill = c
        .stop_fill(Side::SELL, 98.5, 1.0, &gap, 0.0)
        .unwrap()
        .unwrap();
    assert_eq!((fill.price, fill.at_open), (96.0, true));
    assert_eq!(c.stop_fill(Side::SELL, 96.9, 1.0, &b, 0.0).unwrap(), None);
    let up = c
        .stop_fill(Side::BUY, 100.8, 2.0, &b, 0.0)
        .unwrap()
        .unwrap();
    assert_eq!(up.price, 100.8);
    assert!(close(up.fee, 100.8 * 2.0 * 0.001));
}

#[test]
fn stop_loss_and_take_profit_in_one_bar_resolve_adversely() {
    let c = CandleFillConfig::new(0.0, 0.0, 0.001, 0.0, 0.1, FillAt::NEXT_OPEN, 500.0).unwrap();
    let wide = bar(100.0, 106.0, 94.0, 101.0, 10.0);
    let long = c.protective_fill(Side::BUY, 1.0, Some(95.0), Some(105.0), &wide, 0.0);
    let fill = long.unwrap().unwrap();
    assert_eq!((fill.reason, fill.price), (FillReason::STOP_LOSS, 95.0));
    let short = c.protective_fill(Side::SELL, 1.0, Some(105.0), Some(95.0), &wide, 0.0);
    let fill = short.unwrap().unwrap();
    assert_eq!((fill.reason, fill.price), (FillReason::STOP_LOSS, 105.0));
    // The open is already past the take-profit: that came first, at the open.
    let gap_up = bar(107.0, 108.0, 94.0, 100.0, 10.0);
    let fill = c
        .protective_fill(Side::BUY, 1.0, Some(95.0), Some(105.0), &gap_up, 0.0)
        .unwrap()
        .unwrap();
    assert_eq!(
        (fill.reason, fill.price, fill.at_open),
        (FillReason::TAKE_PROFIT, 107.0, true)
    );
    let only_tp = bar(100.0, 106.0, 99.0, 101.0, 10.0);
    let fill = c
        .protective_fill(Side::BUY, 1.0, Some(95.0), Some(105.0), &only_tp, 0.0)
        .unwrap()
        .unwrap();
    assert_eq!((fill.reason, fill.price), (FillReason::TAKE_PROFIT, 105.0));
    let quiet = bar(100.0, 101.0, 99.0, 100.0, 10.0);
    assert_eq!(
        c.protective_fill(Side::BUY, 1.0, Some(95.0), Some(105.0), &quiet, 0.0)
            .unwrap(),
        None
    );
    assert!(c
        .protective_fill(Side::BUY, 1.0, Some(105.0), Some(95.0), &quiet, 0.0)
        .is_err());
}

#[test]
fn bad_input_is_a_typed_error() {
    let c = cfg();
    let b = bar(100.0, 101.0, 99.0, 100.0, 10.0);
    for q in [f64::NAN, f64::INFINITY, -1.0, 0.0] {
        assert!(matches!(
            c.market_fill(Side::BUY, q, &b, 0.01),
            Err(CoreError::InvalidInput(_))
        ));
    }
    assert!(c.market_fill(Side::BUY, 1.0, &b, f64::NAN).is_err());
    assert!(c
        .limit_fill(Side::BUY, f64::NAN, 1.0, &b, 0.01, false)
        .is_err());
    assert!(c.stop_fill(Side::BUY, -5.0, 1.0, &b, 0.01).is_err());
    assert!(Bar::new(100.0, 99.0, 98.0, 100.0, 1.0).is_err());
    assert!(Bar::new(100.0, 101.0, 98.0, 100.0, -1.0).is_err());
    assert!(Bar::new(f64::NAN, 101.0, 98.0, 100.0, 1.0).is_err());
    assert!(CandleFillConfig::new(1.0, 1.0, 0.001, 0.001, 0.0, FillAt::NEXT_OPEN, 500.0).is_err());
    assert!(
        CandleFillConfig::new(f64::NAN, 1.0, 0.001, 0.001, 0.1, FillAt::NEXT_OPEN, 5.0).is_err()
    );
}

#[test]
fn batch_market_fills_match_single_fills() {
    let c = cfg();
    let open = [100.0, 101.0, 102.0, 103.0];
    let high = [101.0, 102.0, 103.0, 104.0];
    let low = [99.0, 100.0, 101.0, 102.0];
    let closes = [100.5, 101.5, 102.5, 103.5];
    let volume = [10.0, 20.0, 0.0, 40.0];
    let sigma = [0.01, 0.02, 0.03, 0.04];
    let bars = BarArrays {
        open: &open,
        high: &high,
        low: &low,
        close: &closes,
        volume: &volume,
        sigma: &sigma,
    };
    let (p, f) = c.market_fills(&bars, &[1.0, 0.0, -2.0, 5.0]).unwrap();
    let one = c
        .market_fill(Side::BUY, 1.0, &bar(101.0, 102.0, 100.0, 101.5, 20.0), 0.01)
        .unwrap();
    assert_eq!((p[0], f[0]), (one.price, one.fee));
    assert!(p[1].is_nan());
    let two = c
        .market_fill(
            Side::SELL,
            2.0,
            &bar(103.0, 104.0, 102.0, 103.5, 40.0),
            0.03,
        )
        .unwrap();
    assert_eq!((p[2], f[2]), (two.price, two.fee));
    assert!(p[3].is_nan(), "no bar after the last one");
    assert!(c.market_fills(&bars, &[1.0, 0.0]).is_err());
    assert!(c.market_fills(&bars, &[f64::NAN, 0.0, 0.0, 0.0]).is_err());
}

proptest! {
    /// A taker always pays at least the reference (buy) or receives at most it (sell), and a
    /// limit fill never exceeds the order or the bar's volume share.
    #[test]
    fn costs_never_help_a_taker_and_limits_respect_caps(
        open in 1.0f64..1e5, up in 0.0f64..0.1, down in 0.0f64..0.1,
        volume in 0.0f64..1e4, qty in 1e-6f64..1e3, sigma in 0.0f64..0.2,
        price_frac in -0.1f64..0.1, buy in any::<bool>(),
    ) {
        let c = cfg();
        let b = Bar::new(open, open * (1.0 + up), open * (1.0 - down), open, volume).unwrap();
        let side = if buy { Side::BUY } else { Side::SELL };
        let f = c.market_fill(side, qty, &b, sigma).unwrap();
        prop_assert!(side.sign() as f64 * (f.price - open) >= 0.0);
        let price = open * (1.0 + price_frac);
        if let Some(l) = c.limit_fill(side, price, qty, &b, sigma, false).unwrap() {
            prop_assert!(l.qty <= qty && l.qty <= c.max_volume_share * volume + 1e-12);
            prop_assert_eq!(l.price, price);
        }
    }
}
