//! Criterion benches of the pure-Rust risk and order paths (no Python in the loop).
//! `cargo bench --bench risk`; the Python-boundary comparison is benches/compare_risk.py.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};

use _core::orders::{Order, Position};
use _core::risk::{OrderCheck, PositionSizer, RiskEngine, RiskLimits};
use _core::types::{Decimal, FilterSpec, OrderType, Side, SymbolFilters, TimeInForce};

fn filters() -> SymbolFilters {
    let text = |s: &str| Decimal::Text(s.into());
    let spec = FilterSpec {
        tick_size: text("0.01"),
        step_size: text("0.00001"),
        min_qty: text("0.00001"),
        min_notional: text("5"),
        max_qty: text("9000"),
        min_price: text("0.01"),
        max_price: text("1000000"),
    };
    SymbolFilters::new("BTCUSDT", &spec).expect("valid filters")
}

fn engine() -> RiskEngine {
    let limits = RiskLimits::new(50_000.0, 2.0, 5.0, 50, 1000, 50.0, 0.05, 0.1).expect("limits");
    RiskEngine::new(limits, filters()).expect("engine")
}

fn order_check(price: f64) -> OrderCheck {
    OrderCheck {
        side: Side::BUY,
        quantity: 0.01234,
        price,
        mid_or_mark: 61_602.015,
        position: 0.1,
        open_orders: 3,
        equity: 25_000.0,
        now_ns: 0,
        reduce_only: false,
    }
}

fn bench_check(c: &mut Criterion) {
    let e = engine();
    let approved = order_check(61_602.01);
    let off_tick = order_check(61_602.013);
    assert!(e.check(&approved).approved() && !e.check(&off_tick).approved());
    c.bench_function("risk_check_approved", |b| {
        b.iter(|| e.check(black_box(&approved)))
    });
    c.bench_function("risk_check_rejected_tick", |b| {
        b.iter(|| e.check(black_box(&off_tick)))
    });
    let mut e = engine();
    let mut now = 0i64;
    c.bench_function("risk_check_and_record", |b| {
        b.iter(|| {
            now += 2_000_000; // 500 orders/s, under the 1000/s limit
            let mut o = approved;
            o.now_ns = now;
            e.check_and_record(black_box(&o))
        })
    });
}

fn bench_sizing(c: &mut Criterion) {
    let s = PositionSizer::new(filters(), 0.5, 0.02, 3.0, 2.0, 3.0).expect("sizer");
    c.bench_function("sizer_size", |b| {
        b.iter(|| s.size(black_box(0.0004), black_box(0.012), 25_000.0, 61_602.01))
    });
    c.bench_function("sizer_stops", |b| {
        b.iter(|| s.stops(Side::BUY, black_box(61_602.01), black_box(0.012)))
    });
}

fn bench_orders(c: &mut Criterion) {
    let f = filters();
    let report = r#"{"e":"executionReport","E":1,"s":"BTCUSDT","c":"gt.0.1","S":"BUY","o":"LIMIT","f":"GTC","q":"1.00000000","p":"61602.01000000","P":"0.00000000","F":"0.00000000","g":-1,"C":"","x":"TRADE","X":"PARTIALLY_FILLED","r":"NONE","i":42,"l":"0.25000000","z":"0.25000000","L":"61602.01000000","n":"0.00001000","N":"BNB","T":2,"t":77,"v":3,"I":8,"w":false,"m":false,"M":true,"O":1,"Z":"15400.50250000","Y":"15400.50250000","Q":"0.00000000","W":1,"V":"NONE"}"#;
    let fresh = Order::new(
        "gt.0.1",
        &f,
        Side::BUY,
        OrderType::LIMIT,
        1.0,
        Some(61_602.01),
        TimeInForce::GTC,
    )
    .expect("order");
    c.bench_function("order_apply_execution_report", |b| {
        b.iter(|| {
            let mut o = fresh.clone();
            o.apply_execution_report_json(black_box(report))
        })
    });
    let mut p = Position::new(&f, Some("USDT"));
    let mut buy = true;
    c.bench_function("position_apply_fill", |b| {
        b.iter(|| {
            buy = !buy;
            let side = if buy { Side::BUY } else { Side::SELL };
            p.apply_fill(side, black_box(0.01234), 61_602.01, 0.01, Some("USDT"))
        })
    });
}

criterion_group!(benches, bench_check, bench_sizing, bench_orders);
criterion_main!(benches);
