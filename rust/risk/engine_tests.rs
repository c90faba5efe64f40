use super::*;
use crate::types::{Decimal, FilterSpec};
use proptest::prelude::*;

fn filters() -> SymbolFilters {
    let spec = FilterSpec {
        tick_size: Decimal::Text("0.01".into()),
        step_size: Decimal::Text("0.00001".into()),
        min_qty: Decimal::Text("0.00001".into()),
        min_notional: Decimal::Text("5".into()),
        max_qty: Decimal::Text("9000".into()),
        min_price: Decimal::Text("0.01".into()),
        max_price: Decimal::Text("1000000".into()),
    };
    SymbolFilters::new("BTCUSDT", &spec).unwrap()
}

fn engine() -> RiskEngine {
    let limits = RiskLimits::new(20_000.0, 0.5, 3.0, 4, 3, 50.0, 0.05, 0.10).unwrap();
    RiskEngine::new(limits, filters()).unwrap()
}

fn order(side: Side, quantity: f64, price: f64) -> OrderCheck {
    OrderCheck {
        side,
        quantity,
        price,
        mid_or_mark: 60_000.0,
        position: 0.0,
        open_orders: 0,
        equity: 10_000.0,
        now_ns: 0,
        reduce_only: false,
    }
}

fn reason(e: &RiskEngine, o: &OrderCheck) -> Option<RejectReason> {
    e.check(o).rejection.map(|(r, _)| r)
}

#[test]
fn each_limit_has_its_reason() {
    use RejectReason::*;
    let e = engine();
    assert_eq!(reason(&e, &order(Side::BUY, 0.1, 60_000.0)), None);
    assert_eq!(
        reason(&e, &order(Side::BUY, 0.1, 60_000.005)),
        Some(PRICE_TICK)
    );
    assert_eq!(
        reason(&e, &order(Side::BUY, 0.100005, 60_000.0)),
        Some(QUANTITY_STEP)
    );
    assert_eq!(
        reason(&e, &order(Side::BUY, 0.00005, 60_000.0)),
        Some(MIN_NOTIONAL)
    );
    assert_eq!(
        reason(&e, &order(Side::BUY, 0.1, 60_400.0)),
        Some(PRICE_BAND)
    );
    assert_eq!(reason(&e, &order(Side::BUY, 0.1, 59_700.0)), None);
    assert_eq!(
        reason(&e, &order(Side::BUY, 0.1, 59_699.99)),
        Some(PRICE_BAND)
    );
    assert_eq!(reason(&e, &order(Side::BUY, 0.1, 60_299.99)), None);
    assert_eq!(
        reason(&e, &order(Side::BUY, 0.4, 60_000.0)),
        Some(MAX_ORDER_NOTIONAL)
    );
    assert_eq!(
        reason(&e, &order(Side::BUY, f64::NAN, 60_000.0)),
        Some(INVALID_ORDER)
    );
    assert_eq!(
        reason(&e, &order(Side::BUY, -0.1, 60_000.0)),
        Some(INVALID_ORDER)
    );
    let mut o = order(Side::BUY, 0.3, 60_000.0);
    o.position = 0.3;
    assert_eq!(reason(&e, &o), Some(MAX_POSITION));
    o.side = Side::SELL; // 0.3 -> 0.0: reduces, allowed even with a large position
    o.position = 0.8;
    assert_eq!(reason(&e, &o), None);
    let mut o = order(Side::BUY, 0.3, 60_000.0);
    o.position = 0.2; // 0.5 * 60000 = 30000 > 3 * 9000
    o.equity = 9_000.0;
    assert_eq!(reason(&e, &o), Some(MAX_LEVERAGE));
    o.equity = -1.0;
    assert_eq!(reason(&e, &o), Some(MAX_LEVERAGE));
    let mut o = order(Side::BUY, 0.1, 60_000.0);
    o.open_orders = 4;
    assert_eq!(reason(&e, &o), Some(MAX_OPEN_ORDERS));
    o.open_orders = -1;
    assert_eq!(reason(&e, &o), Some(INVALID_ORDER));
}

#[test]
fn reduce_only_and_reducing_refuse_flips() {
    use RejectReason::*;
    let mut e = engine();
    let mut o = order(Side::SELL, 0.2, 60_000.0);
    o.position = 0.1;
    o.reduce_only = true;
    assert_eq!(reason(&e, &o), Some(REDUCE_ONLY));
    o.quantity = 0.1;
    assert_eq!(reason(&e, &o), None);
    // A close that float noise would push a hair past zero is still a close.
    o.position = 0.1 + 0.2;
    o.quantity = 0.3;
    assert_eq!(reason(&e, &o), None);
    o.position = 0.3;
    o.quantity = 0.1 + 0.2;
    assert_eq!(reason(&e, &o), None);
    o.position = 0.1;
    o.quantity = 0.1;
    e.update_equity(10_000.0).unwrap();
    assert_eq!(e.update_equity(9_400.0).unwrap(), TradingState::REDUCING);
    o.reduce_only = false;
    assert_eq!(reason(&e, &o), None);
    o.quantity = 0.2;
    assert_eq!(reason(&e, &o), Some(REDUCING));
    assert_eq!(e.update_equity(8_900.0).unwrap(), TradingState::HALTED);
    o.quantity = 0.1;
    assert_eq!(reason(&e, &o), Some(HALTED));
    e.reset(None).unwrap();
    assert_eq!(reason(&e, &o), None);
}

#[test]
fn rate_window_slides() {
    let mut e = engine();
    let mut o = order(Side::BUY, 0.01, 60_000.0);
    for t in [0, 100, 200] {
        o.now_ns = t;
        assert!(e.check_and_record(&o).approved());
    }
    o.now_ns = 999_999_999;
    assert_eq!(reason(&e, &o), Some(RejectReason::RATE_LIMIT));
    assert!(!e.check_and_record(&o).approved());
    o.now_ns = 1_000_000_000;
    assert!(e.check_and_record(&o).approved());
    o.now_ns = 1_000_000_050;
    assert_eq!(reason(&e, &o), Some(RejectReason::RATE_LIMIT));
    o.now_ns = 1_000_000_100;
    assert_eq!(reason(&e, &o), None);
}

#[test]
fn json_round_trip_keeps_state() {
    let mut e = engine();
    e.update_equity(100.0).unwrap();
    e.update_equity(94.0).unwrap();
    e.record_order(5);
    let back = RiskEngine::from_json(&e.to_json()).unwrap();
    assert_eq!(back, e);
    assert_eq!(back.state(), TradingState::REDUCING);
    assert!(RiskEngine::from_json("{}").is_err());
    let bad = e
        .to_json()
        .replace("\"max_leverage\":3.0", "\"max_leverage\":-3.0");
    assert!(RiskEngine::from_json(&bad).is_err());
    let bad = e.to_json().replace(
        "\"halt_drawdown\":0.1,\"high",
        "\"halt_drawdown\":0.2,\"high",
    );
    assert_ne!(bad, e.to_json());
    assert!(RiskEngine::from_json(&bad).is_err());
}

proptest! {
    #[test]
    fn approved_orders_respect_every_limit(
        buy in any::<bool>(),
        steps in 1i64..100_000,
        ticks in 5_900_000i64..6_100_000,
        position_steps in -60_000i64..60_000,
        equity in 100.0f64..50_000.0,
        open_orders in 0i64..6,
    ) {
        let e = engine();
        let o = OrderCheck {
            side: if buy { Side::BUY } else { Side::SELL },
            quantity: steps as f64 * 1e-5,
            price: ticks as f64 / 100.0,
            mid_or_mark: 60_000.0,
            position: position_steps as f64 * 1e-5,
            open_orders,
            equity,
            now_ns: 0,
            reduce_only: false,
        };
        let d = e.check(&o);
        if d.approved() {
            let after = o.position + o.side.sign() as f64 * o.quantity;
            prop_assert!(o.quantity * o.price <= 20_000.0 * (1.0 + 1e-9));
            prop_assert!(o.quantity * o.price >= 5.0 * (1.0 - 1e-9));
            prop_assert!((o.price - 60_000.0).abs() <= 300.0 + 1e-6);
            prop_assert!(open_orders < 4);
            if after.abs() > o.position.abs() {
                prop_assert!(after.abs() <= 0.5 + 1e-12);
                prop_assert!(after.abs() * 60_000.0 <= 3.0 * equity * (1.0 + 1e-9));
            }
        } else {
            prop_assert!(!d.rejection.unwrap().1.is_empty());
        }
    }
}

/// Issue 12: a RiskEngine restored ACTIVE while its drawdown is past the halt level would
/// approve orders; restoring runs the breaker's validation and refuses it.
#[test]
fn engine_restored_active_past_halt_is_refused() {
    let mut e = engine();
    e.update_equity(1000.0).unwrap();
    e.update_equity(500.0).unwrap();
    assert_eq!(e.state(), TradingState::HALTED);
    let json = e.to_json();
    assert_eq!(RiskEngine::from_json(&json).unwrap(), e);
    let active = json.replace("\"HALTED\"", "\"ACTIVE\"");
    assert_ne!(active, json);
    assert!(RiskEngine::from_json(&active).is_err());
    let extra = json.replacen("{", "{\"extra\":true,", 1);
    assert!(RiskEngine::from_json(&extra).is_err());
}
