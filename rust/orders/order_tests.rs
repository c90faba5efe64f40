use super::*;
use crate::types::{Decimal, FilterSpec};
use proptest::prelude::*;

fn filters() -> SymbolFilters {
    let spec = FilterSpec {
        tick_size: Decimal::Text("0.01".into()),
        step_size: Decimal::Text("0.00001".into()),
        min_qty: Decimal::Text("0.00001".into()),
        min_notional: Decimal::Text("5".into()),
        max_qty: Decimal::Text("0".into()),
        min_price: Decimal::Text("0".into()),
        max_price: Decimal::Text("0".into()),
    };
    SymbolFilters::new("BTCUSDT", &spec).unwrap()
}

fn order() -> Order {
    Order::new(
        "s1.0.1",
        &filters(),
        Side::BUY,
        OrderType::LIMIT,
        1.0,
        Some(100.0),
        TimeInForce::GTC,
    )
    .unwrap()
}

fn report(x: &str, status: &str, l: &str, z: &str, price: &str, t: i64) -> String {
    format!(
        r#"{{"e":"executionReport","E":1,"s":"BTCUSDT","c":"s1.0.1","S":"BUY","o":"LIMIT","f":"GTC","q":"1.00000000","p":"100.00","X":"{status}","x":"{x}","i":42,"l":"{l}","z":"{z}","L":"{price}","n":"0.001","N":"BNB","T":7,"t":{t},"C":""}}"#
    )
}

#[test]
fn two_partial_fills_exact_average_and_fees() {
    let mut o = order();
    assert!(o
        .apply_execution_report_json(&report("NEW", "NEW", "0", "0", "0", -1))
        .unwrap());
    assert_eq!(o.status(), OrderStatus::NEW);
    assert_eq!(o.exchange_order_id(), Some(42));
    let r1 = report("TRADE", "PARTIALLY_FILLED", "0.3", "0.3", "100.00", 1);
    assert!(o.apply_execution_report_json(&r1).unwrap());
    assert!(!o.apply_execution_report_json(&r1).unwrap()); // duplicate
                                                           // A limit BUY at 100 fills at or below it.
    let r2 = report("TRADE", "FILLED", "0.7", "1.0", "99.00", 2);
    assert!(o.apply_execution_report_json(&r2).unwrap());
    assert_eq!(o.status(), OrderStatus::FILLED);
    // (0.3 * 100 + 0.7 * 99) / 1.0 = 99.3
    assert_eq!(o.average_price(), Some(99.3));
    assert!((o.fees()["BNB"] - 0.002).abs() < 1e-15);
    assert_eq!(o.fills().len(), 2);
    // Nothing leaves FILLED, and the order is unchanged by the attempt.
    let before = o.clone();
    assert!(matches!(
        o.transition(OrderStatus::CANCELED),
        Err(CoreError::InvalidTransition(_))
    ));
    assert_eq!(o, before);
}

#[test]
fn bad_reports_leave_the_order_unchanged() {
    let mut o = order();
    let before = o.clone();
    let other = report("NEW", "NEW", "0", "0", "0", -1).replace("\"i\":42", "\"i\":43");
    o.apply_execution_report_json(&report("NEW", "NEW", "0", "0", "0", -1))
        .unwrap();
    let after_new = o.clone();
    assert!(o.apply_execution_report_json(&other).is_err());
    assert!(o.apply_execution_report_json("{not json").is_err());
    let wrong_symbol = report("NEW", "NEW", "0", "0", "0", -1).replace("BTCUSDT", "ETHUSDT");
    assert!(o.apply_execution_report_json(&wrong_symbol).is_err());
    // A fill report whose cumulative quantity says one was missed.
    let gap = report("TRADE", "PARTIALLY_FILLED", "0.3", "0.6", "100.00", 9);
    assert!(o.apply_execution_report_json(&gap).is_err());
    let over = report("TRADE", "FILLED", "1.5", "1.5", "100.00", 9);
    assert!(matches!(
        o.apply_execution_report_json(&over),
        Err(CoreError::InvalidInput(_)) | Err(CoreError::Overfill(_))
    ));
    let off_tick = report("TRADE", "PARTIALLY_FILLED", "0.3", "0.3", "100.001", 9);
    assert!(o.apply_execution_report_json(&off_tick).is_err());
    assert_eq!(o, after_new);
    assert_ne!(o, before);
}

#[test]
fn cancel_flow_with_racing_fill() {
    let mut o = order();
    o.transition(OrderStatus::NEW).unwrap();
    o.transition(OrderStatus::PENDING_CANCEL).unwrap();
    let fill = report("TRADE", "PARTIALLY_FILLED", "0.4", "0.4", "100.00", 5);
    o.apply_execution_report_json(&fill).unwrap();
    assert_eq!(o.status(), OrderStatus::PENDING_CANCEL);
    o.cancel_rejected().unwrap();
    assert_eq!(o.status(), OrderStatus::PARTIALLY_FILLED);
    o.transition(OrderStatus::PENDING_CANCEL).unwrap();
    let canceled = report("CANCELED", "CANCELED", "0", "0.4", "0", -1)
        .replace("\"c\":\"s1.0.1\"", "\"c\":\"cancel1\"")
        .replace("\"C\":\"\"", "\"C\":\"s1.0.1\"");
    assert!(o.apply_execution_report_json(&canceled).unwrap());
    assert_eq!(o.status(), OrderStatus::CANCELED);
    assert!(o.apply_fill_f64(99, 0.1, 100.0, 0.0, None, 0).is_err());
}

#[test]
fn usdm_order_trade_update() {
    let mut o = order();
    let raw = r#"{"e":"ORDER_TRADE_UPDATE","E":1,"T":2,"o":{"s":"BTCUSDT","c":"s1.0.1","S":"BUY","o":"LIMIT","f":"GTC","q":"1","p":"100","ap":"100","sp":"0","x":"TRADE","X":"FILLED","i":7,"l":"1","z":"1","L":"100","N":"USDT","n":"0.04","T":2,"t":11,"b":"0","a":"0","m":false,"R":false,"wt":"CONTRACT_PRICE","ot":"LIMIT","ps":"BOTH","cp":false,"rp":"0"}}"#;
    assert!(o.apply_execution_report_json(raw).unwrap());
    assert_eq!(o.status(), OrderStatus::FILLED);
    assert_eq!(o.fees()["USDT"], 0.04);
    let wrapped = format!(r#"{{"stream":"x","data":{raw}}}"#);
    assert!(!o.apply_execution_report_json(&wrapped).unwrap());
}

fn stop_market() -> Order {
    Order::new(
        "s1.0.2",
        &filters(),
        Side::SELL,
        OrderType::STOP_MARKET,
        1.0,
        None,
        TimeInForce::GTC,
    )
    .unwrap()
}

fn usdm_report(o: &str, ot: &str, x: &str, status: &str, l: &str, z: &str, t: i64) -> String {
    format!(
        r#"{{"e":"ORDER_TRADE_UPDATE","E":1,"T":2,"o":{{"s":"BTCUSDT","c":"s1.0.2","S":"SELL","o":"{o}","f":"GTC","q":"1","p":"0","ap":"0","sp":"95","x":"{x}","X":"{status}","i":8,"l":"{l}","z":"{z}","L":"94.5","N":"USDT","n":"0.01","T":2,"t":{t},"b":"0","a":"0","m":false,"R":true,"wt":"CONTRACT_PRICE","ot":"{ot}","ps":"BOTH","cp":false,"rp":"0"}}}}"#
    )
}

#[test]
fn usdm_triggered_stop_market_reports_market_with_its_original_type() {
    let mut o = stop_market();
    let placed = usdm_report("STOP_MARKET", "STOP_MARKET", "NEW", "NEW", "0", "0", 0);
    assert!(o.apply_execution_report_json(&placed).unwrap());
    // The trigger: the same order id, now a MARKET order whose original type is STOP_MARKET.
    let triggered = usdm_report("MARKET", "STOP_MARKET", "NEW", "NEW", "0", "0", 0);
    assert!(!o.apply_execution_report_json(&triggered).unwrap());
    let fill = usdm_report("MARKET", "STOP_MARKET", "TRADE", "FILLED", "1", "1", 21);
    assert!(o.apply_execution_report_json(&fill).unwrap());
    assert_eq!(o.status(), OrderStatus::FILLED);
    assert_eq!(o.average_price(), Some(94.5));
    // A MARKET report of another original type, or a LIMIT one, is not this order's.
    let mut other = stop_market();
    for (kind, original) in [
        ("MARKET", "TAKE_PROFIT_MARKET"),
        ("LIMIT", "STOP_MARKET"),
        ("MARKET", "MARKET"),
    ] {
        let raw = usdm_report(kind, original, "NEW", "NEW", "0", "0", 0);
        assert!(
            other.apply_execution_report_json(&raw).is_err(),
            "{kind}/{original}"
        );
    }
    assert_eq!(other.exchange_order_id(), None);
}

#[test]
fn json_round_trip_and_tampering() {
    let mut o = order();
    o.apply_fill_f64(1, 0.25, 100.0, 0.01, Some("USDT"), 3)
        .unwrap();
    let back = Order::from_json(&o.to_json()).unwrap();
    assert_eq!(back, o);
    let tampered = o
        .to_json()
        .replace("\"filled_steps\":25000", "\"filled_steps\":26000");
    assert!(Order::from_json(&tampered).is_err());
}

/// Issue 12: two fills near the maximum quantity wrapped filled_qty negative and the fee total
/// around; every sum is now checked and an overflow is InvalidInput with the order unchanged.
#[test]
fn accumulation_overflow_is_refused_not_wrapped() {
    let mut o = Order::new(
        "s1.0.1",
        &filters(),
        Side::BUY,
        OrderType::MARKET,
        9.0e13,
        None,
        TimeInForce::GTC,
    )
    .unwrap();
    let big = Fill {
        trade_id: 1,
        qty_steps: i64::MAX - 10,
        price_ticks: i64::MAX,
        fee_units: i64::MAX - 1,
        fee_asset: Some("USDT".into()),
        time_ms: 1,
    };
    // Overfill first: quantity is 9e18 steps.
    o.quantity_steps = i64::MAX - 5;
    assert!(o.apply_fill(big.clone()).unwrap());
    let before = o.clone();
    let second = Fill {
        trade_id: 2,
        qty_steps: 20,
        ..big.clone()
    };
    assert!(matches!(
        o.apply_fill(second),
        Err(CoreError::InvalidInput(_))
    ));
    assert_eq!(o, before);
    let fee_wrap = Fill {
        trade_id: 3,
        qty_steps: 1,
        price_ticks: 1,
        fee_units: 10,
        fee_asset: Some("USDT".into()),
        time_ms: 2,
    };
    let err = o.apply_fill(fee_wrap).unwrap_err();
    assert!(err.to_string().contains("fee total"), "{err}");
    assert_eq!(o, before);
    assert!(o.filled_qty() > 0.0 && o.remaining_qty() >= 0.0);
    assert_eq!(Order::from_json(&o.to_json()).unwrap(), o);
}

/// Issue 12: amends Binance cannot send (raise the quantity, or shrink it to the filled amount
/// while still PARTIALLY_FILLED) and trades outside the limit are refused, the order intact.
#[test]
fn impossible_reports_are_refused_before_they_apply() {
    let mut o = order();
    let r1 = report("TRADE", "PARTIALLY_FILLED", "0.3", "0.3", "100.00", 1);
    assert!(o.apply_execution_report_json(&r1).unwrap());
    let before = o.clone();
    let amend = |q: &str, status: &str| {
        report("REPLACED", status, "0", "0.3", "0", -1)
            .replace("\"q\":\"1.00000000\"", &format!("\"q\":\"{q}\""))
    };
    for bad in [
        amend("0.3", "PARTIALLY_FILLED"),
        amend("1.5", "PARTIALLY_FILLED"),
        amend("0.2", "PARTIALLY_FILLED"),
        report("TRADE", "PARTIALLY_FILLED", "0.1", "0.4", "100.01", 2),
    ] {
        assert!(o.apply_execution_report_json(&bad).is_err(), "{bad}");
        assert_eq!(o, before);
        assert_eq!(Order::from_json(&o.to_json()).unwrap(), o);
    }
    // What Binance does send: an amend down to the filled quantity completes the order.
    assert!(o
        .apply_execution_report_json(&amend("0.3", "FILLED"))
        .unwrap());
    assert_eq!(o.status(), OrderStatus::FILLED);
    assert_eq!(Order::from_json(&o.to_json()).unwrap(), o);
    // A SELL never fills below its limit.
    let mut sell = Order::new(
        "s1.0.2",
        &filters(),
        Side::SELL,
        OrderType::LIMIT,
        1.0,
        Some(100.0),
        TimeInForce::GTC,
    )
    .unwrap();
    assert!(sell.apply_fill_f64(1, 0.1, 99.99, 0.0, None, 0).is_err());
    assert!(sell.apply_fill_f64(1, 0.1, 100.5, 0.0, None, 0).unwrap());
}

/// Issue 12: a tampered journal is refused by the same `validate` that guards every change.
#[test]
fn tampered_orders_are_refused() {
    let mut o = order();
    o.apply_fill_f64(1, 0.25, 100.0, 0.01, Some("USDT"), 3)
        .unwrap();
    let json = o.to_json();
    assert!(json.contains("\"status\":\"PARTIALLY_FILLED\""));
    let tampered = [
        json.replace("\"status\":\"PARTIALLY_FILLED\"", "\"status\":\"NEW\""),
        json.replace("\"status\":\"PARTIALLY_FILLED\"", "\"status\":\"FILLED\""),
        json.replace("\"qty_steps\":25000", "\"qty_steps\":-25000"),
        json.replace("\"fee_units\":100000000", "\"fee_units\":100000001"),
        json.replace("\"price_ticks\":10000,\"fee", "\"price_ticks\":10001,\"fee"),
        json.replace("\"scale\":2", "\"scale\":400"),
        json.replace(
            "\"mantissa\":1,\"scale\":2,\"unit\":0.01",
            "\"mantissa\":0,\"scale\":2,\"unit\":0.0",
        ),
        json.replace("\"updated_ms\":3", "\"updated_ms\":2"),
        json.replace(
            "\"status_before_cancel\":null",
            "\"status_before_cancel\":\"NEW\"",
        ),
        json.replace("{\"client_order_id\"", "{\"extra\":1,\"client_order_id\""),
    ];
    for (i, t) in tampered.iter().enumerate() {
        assert_ne!(t, &json, "tamper {i} did not apply");
        let err = Order::from_json(t).expect_err(t);
        assert!(matches!(err, CoreError::InvalidInput(_)), "{i}: {err}");
    }
}

#[derive(Debug, Clone)]
enum Op {
    Fill(u64, i64),
    Move(usize),
    CancelRejected,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u64..20, 1i64..60_000).prop_map(|(t, q)| Op::Fill(t, q)),
        (0usize..9).prop_map(Op::Move),
        Just(Op::CancelRejected),
    ]
}

proptest! {
    #[test]
    fn invariants_hold_under_any_sequence(ops in proptest::collection::vec(op(), 1..40)) {
        let mut o = order();
        for op in ops {
            let before = o.clone();
            let result = match op {
                Op::Fill(t, q) => o.apply_fill(Fill {
                    trade_id: t, qty_steps: q, price_ticks: 10_000, fee_units: 1,
                    fee_asset: Some("BNB".into()), time_ms: 0,
                }),
                Op::Move(i) => o.transition(OrderStatus::ALL[i]),
                Op::CancelRejected => o.cancel_rejected().map(|_| true),
            };
            match result {
                Err(_) => prop_assert_eq!(&o, &before),
                Ok(false) => prop_assert_eq!(&o, &before),
                Ok(true) => {
                    prop_assert!(
                        before.status() == o.status()
                            || !before.status().is_terminal()
                    );
                }
            }
            if before.status().is_terminal() {
                prop_assert_eq!(o.status(), before.status());
            }
            prop_assert!(o.filled_steps() <= o.quantity_steps());
            prop_assert!(o.validate().is_ok());
            // Re-applying every fill already seen is a no-op (dedup is idempotent).
            for f in before.fills().to_vec() {
                let again = o.clone();
                prop_assert_eq!(o.apply_fill(f).unwrap(), false);
                prop_assert_eq!(&o, &again);
            }
        }
    }
}
