//! Proptest-driven fuzz targets for every parser of untrusted bytes: the depth JSON scanner, the
//! REST snapshot parser, the execution-report parsers (spot `executionReport`, USD-M
//! `ORDER_TRADE_UPDATE`) and every `from_json`.
//!
//! Invariant checked by each target: arbitrary bytes and mutations of a valid input never panic;
//! whatever a parser accepts holds its type's invariants and round-trips through `to_json`; a
//! refused input leaves the target object exactly as it was. Cases are bounded so that the whole
//! `cargo test` stays fast; `PROPTEST_CASES` raises them for a longer run.

use proptest::prelude::*;

use crate::features::{FeatureConfig, StreamingFeatures};
use crate::fixed::Grid;
use crate::kalman::KalmanFilter;
use crate::orderbook::parse::{parse_depth_update, parse_snapshot, LevelGrids};
use crate::orderbook::{Market, OrderBook};
use crate::orders::{Order, Position};
use crate::risk::{DrawdownBreaker, PositionSizer, RiskEngine, RiskLimits};
use crate::types::{Decimal, FilterSpec, OrderType, Side, SymbolFilters, TimeInForce};

const DEPTH: &str = r#"{"e":"depthUpdate","E":1723161255208,"s":"BTCUSDT","U":50093239189,"u":50093239202,"b":[["61737.63000000","0.00000000"],["61730.17000000","1.5"]],"a":[["61837.64000000","1.54698000"]]}"#;
const USDM_DEPTH: &str = r#"{"stream":"btcusdt@depth","data":{"e":"depthUpdate","E":5,"T":4,"s":"BTCUSDT","U":100,"u":120,"pu":99,"b":[["61730.1","2.000"]],"a":[]}}"#;
const SNAPSHOT: &str = r#"{"lastUpdateId":50093239218,"E":5,"T":6,"bids":[["61837.63","3.78826"]],"asks":[["61837.64","1.54698"],["61840.00","0.1"]]}"#;
const SPOT_REPORT: &str = r#"{"e":"executionReport","E":1,"s":"BTCUSDT","c":"s1.0.1","S":"BUY","o":"LIMIT","f":"GTC","q":"1.00000000","p":"100.00","X":"PARTIALLY_FILLED","x":"TRADE","i":42,"l":"0.3","z":"0.3","L":"100.00","n":"0.001","N":"BNB","T":7,"t":5,"C":""}"#;
const USDM_REPORT: &str = r#"{"e":"ORDER_TRADE_UPDATE","E":1,"T":2,"o":{"s":"BTCUSDT","c":"s1.0.1","S":"BUY","o":"LIMIT","f":"GTC","q":"1","p":"100","ap":"100","sp":"0","x":"TRADE","X":"FILLED","i":7,"l":"1","z":"1","L":"99.5","N":"USDT","n":"0.04","T":2,"t":11,"b":"0","a":"0","m":false,"R":false,"wt":"CONTRACT_PRICE","ot":"LIMIT","ps":"BOTH","cp":false,"rp":"0"}}"#;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 192,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

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
    let mut f = SymbolFilters::new("BTCUSDT", &spec).unwrap();
    f.quote_asset = Some("USDT".into());
    f
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

fn limits() -> RiskLimits {
    RiskLimits::new(1e5, 1.0, 3.0, 10, 5, 50.0, 0.05, 0.1).unwrap()
}

fn synced_book() -> OrderBook {
    let mut book = OrderBook::new(
        "BTCUSDT",
        Grid::parse("0.01").unwrap(),
        Grid::parse("0.00001").unwrap(),
        Market::Spot,
    )
    .unwrap();
    // Just before DEPTH's ids and around its prices, so that DEPTH (and its mutations) apply.
    book.apply_snapshot(
        50093239190,
        &[(6_173_000, 100_000)],
        &[(6_183_800, 200_000)],
    )
    .unwrap();
    book
}

/// One edit of a byte string: delete, insert, overwrite or duplicate a range.
#[derive(Debug, Clone)]
enum Mutation {
    Delete(usize, usize),
    Insert(usize, u8),
    Replace(usize, u8),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Bytes JSON cares about are more likely than random ones.
    let byte = prop_oneof![
        proptest::sample::select(b"{}[]\",:-.0123456789eE+ nulltrue\\".to_vec()),
        any::<u8>(),
    ];
    prop_oneof![
        (any::<usize>(), 1usize..8).prop_map(|(at, n)| Mutation::Delete(at, n)),
        (any::<usize>(), byte.clone()).prop_map(|(at, b)| Mutation::Insert(at, b)),
        (any::<usize>(), byte).prop_map(|(at, b)| Mutation::Replace(at, b)),
        (any::<usize>(), 1usize..24).prop_map(|(at, n)| Mutation::Duplicate(at, n)),
    ]
}

fn mutate(valid: &[u8], edits: &[Mutation]) -> Vec<u8> {
    let mut v = valid.to_vec();
    for m in edits {
        let len = v.len().max(1);
        match *m {
            Mutation::Delete(at, n) => {
                let at = at % len;
                let end = (at + n).min(v.len());
                if at < end {
                    v.drain(at..end);
                }
            }
            Mutation::Insert(at, b) => v.insert(at % (v.len() + 1), b),
            Mutation::Replace(at, b) => {
                if !v.is_empty() {
                    let i = at % v.len();
                    v[i] = b;
                }
            }
            Mutation::Duplicate(at, n) => {
                let at = at % len;
                let end = (at + n).min(v.len());
                let piece: Vec<u8> = v.get(at..end).map(<[u8]>::to_vec).unwrap_or_default();
                v.splice(at..at, piece);
            }
        }
    }
    v
}

fn inputs(valid: &'static str) -> BoxedStrategy<Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..256),
        proptest::collection::vec(mutation(), 1..6).prop_map(move |m| mutate(valid.as_bytes(), &m)),
    ]
    .boxed()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A `from_json` target: mutated input never panics; what it accepts round-trips exactly.
fn round_trips<T: PartialEq + std::fmt::Debug>(
    raw: &[u8],
    from_json: impl Fn(&str) -> crate::errors::CoreResult<T>,
    to_json: impl Fn(&T) -> String,
) -> Result<(), TestCaseError> {
    if let Ok(value) = from_json(&text(raw)) {
        let again = from_json(&to_json(&value));
        prop_assert!(
            again.is_ok(),
            "accepted {:?} but not its own JSON",
            text(raw)
        );
        prop_assert_eq!(again.unwrap(), value);
    }
    Ok(())
}

fn grids() -> (Grid, Grid) {
    (
        Grid::parse("0.01").unwrap(),
        Grid::parse("0.00001").unwrap(),
    )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn depth_scanner_never_panics(raw in prop_oneof![inputs(DEPTH), inputs(USDM_DEPTH)]) {
        let (tick, step) = grids();
        let g = LevelGrids { tick: &tick, step: &step };
        let (mut b, mut a) = (Vec::new(), Vec::new());
        if parse_depth_update(&raw, &g, &mut b, &mut a).is_ok() {
            prop_assert!(b.iter().chain(&a).all(|&(_, q)| q >= 0));
        }
        // Through the book: a refused frame leaves a synced book as it was.
        let mut book = synced_book();
        let before = book.to_json();
        if book.apply_depth_json(&raw).is_err() && book.is_valid() {
            prop_assert_eq!(book.to_json(), before);
        }
    }

    #[test]
    fn snapshot_parser_never_panics(raw in inputs(SNAPSHOT)) {
        let (tick, step) = grids();
        let g = LevelGrids { tick: &tick, step: &step };
        let (mut b, mut a) = (Vec::new(), Vec::new());
        let _ = parse_snapshot(&raw, &g, &mut b, &mut a);
        let mut book = synced_book();
        let before = book.to_json();
        match book.apply_snapshot_json(&raw) {
            Ok(()) => {
                let back = OrderBook::from_json(&book.to_json());
                prop_assert!(back.is_ok(), "{:?}", back.err());
                prop_assert_eq!(back.unwrap().to_json(), book.to_json());
            }
            Err(_) => prop_assert_eq!(book.to_json(), before),
        }
    }

    #[test]
    fn execution_report_parsers_never_panic(
        raw in prop_oneof![inputs(SPOT_REPORT), inputs(USDM_REPORT)],
    ) {
        let mut o = order();
        let before = o.clone();
        match o.apply_execution_report_json(&text(&raw)) {
            Ok(_) => {
                prop_assert!(o.validate().is_ok());
                prop_assert_eq!(Order::from_json(&o.to_json()).unwrap(), o);
            }
            Err(_) => prop_assert_eq!(o, before),
        }
    }

    #[test]
    fn order_from_json(raw in inputs(valid_order())) {
        round_trips(&raw, Order::from_json, Order::to_json)?;
    }

    #[test]
    fn position_from_json(raw in inputs(valid_position())) {
        round_trips(&raw, Position::from_json, Position::to_json)?;
    }

    #[test]
    fn book_from_json(raw in inputs(valid_book())) {
        if let Ok(book) = OrderBook::from_json(&text(&raw)) {
            let back = OrderBook::from_json(&book.to_json()).unwrap();
            prop_assert_eq!(back.to_json(), book.to_json());
        }
    }

    #[test]
    fn kalman_from_json(raw in inputs(valid_kalman())) {
        if let Ok(kf) = KalmanFilter::from_json(&text(&raw)) {
            let back = KalmanFilter::from_json(&kf.to_json()).unwrap();
            prop_assert_eq!(back.to_json(), kf.to_json());
        }
    }

    #[test]
    fn features_from_json(raw in inputs(valid_features())) {
        if let Ok(f) = StreamingFeatures::from_json(&text(&raw)) {
            let back = StreamingFeatures::from_json(&f.to_json()).unwrap();
            prop_assert_eq!(back.to_json(), f.to_json());
        }
    }

    #[test]
    fn risk_from_json(
        engine in inputs(valid_engine()),
        breaker in inputs(valid_breaker()),
        limits in inputs(valid_limits()),
        filters in inputs(valid_filters()),
        sizer in inputs(valid_sizer()),
    ) {
        round_trips(&engine, RiskEngine::from_json, RiskEngine::to_json)?;
        round_trips(&breaker, DrawdownBreaker::from_json, |b| serde_json::to_string(b).unwrap())?;
        round_trips(&limits, RiskLimits::from_json, |l| serde_json::to_string(l).unwrap())?;
        round_trips(&filters, SymbolFilters::from_json, |f| serde_json::to_string(f).unwrap())?;
        round_trips(&sizer, PositionSizer::from_json, |s| serde_json::to_string(s).unwrap())?;
    }
}

/// Valid inputs of each `from_json`, written by `to_json` of real objects (leaked once so the
/// strategies can hold them).
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn valid_order() -> &'static str {
    static SEED: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    SEED.get_or_init(|| {
        let mut o = order();
        o.apply_execution_report_json(SPOT_REPORT).unwrap();
        leak(o.to_json())
    })
}

fn valid_position() -> &'static str {
    static SEED: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    SEED.get_or_init(|| {
        let mut p = Position::new(&filters(), None);
        p.apply_fill(Side::BUY, 1.0, 100.0, 0.1, Some("USDT"))
            .unwrap();
        p.apply_fill(Side::SELL, 0.4, 101.0, 0.1, Some("USDT"))
            .unwrap();
        leak(p.to_json())
    })
}

fn valid_book() -> &'static str {
    static SEED: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    SEED.get_or_init(|| leak(synced_book().to_json()))
}

fn valid_kalman() -> &'static str {
    static SEED: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    SEED.get_or_init(|| {
        let mut kf =
            KalmanFilter::local_linear_trend(1e-4, 1e-6, 1e-2, [0.0, 0.0], [1.0, 1.0]).unwrap();
        kf.step_scalar(1.0).unwrap();
        kf.step_scalar(f64::NAN).unwrap();
        leak(kf.to_json())
    })
}

fn valid_features() -> &'static str {
    static SEED: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    SEED.get_or_init(|| {
        let mut f = StreamingFeatures::new(FeatureConfig::default()).unwrap();
        let mut out = vec![0.0; f.n_features()];
        for (i, p) in [100.0, 101.0, 100.5].iter().enumerate() {
            f.update(*p, 1.0 + i as f64, &mut out).unwrap();
        }
        leak(f.to_json())
    })
}

fn valid_engine() -> &'static str {
    static SEED: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    SEED.get_or_init(|| {
        let mut e = RiskEngine::new(limits(), filters()).unwrap();
        e.update_equity(1000.0).unwrap();
        e.update_equity(960.0).unwrap();
        e.record_order(1);
        leak(e.to_json())
    })
}

fn valid_breaker() -> &'static str {
    static SEED: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    SEED.get_or_init(|| {
        let mut b = DrawdownBreaker::new(0.05, 0.1).unwrap();
        b.update(1000.0).unwrap();
        b.update(940.0).unwrap();
        leak(serde_json::to_string(&b).unwrap())
    })
}

fn valid_limits() -> &'static str {
    static SEED: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    SEED.get_or_init(|| leak(serde_json::to_string(&limits()).unwrap()))
}

fn valid_filters() -> &'static str {
    static SEED: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    SEED.get_or_init(|| leak(serde_json::to_string(&filters()).unwrap()))
}

fn valid_sizer() -> &'static str {
    static SEED: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    SEED.get_or_init(|| {
        let s = PositionSizer::new(filters(), 0.5, 0.2, 3.0, 2.0, 3.0).unwrap();
        leak(serde_json::to_string(&s).unwrap())
    })
}

/// The seeds are valid, so the mutation targets start from inputs that load.
#[test]
fn valid_inputs_load() {
    Order::from_json(valid_order()).unwrap();
    Position::from_json(valid_position()).unwrap();
    OrderBook::from_json(valid_book()).unwrap();
    KalmanFilter::from_json(valid_kalman()).unwrap();
    StreamingFeatures::from_json(valid_features()).unwrap();
    RiskEngine::from_json(valid_engine()).unwrap();
    DrawdownBreaker::from_json(valid_breaker()).unwrap();
    RiskLimits::from_json(valid_limits()).unwrap();
    SymbolFilters::from_json(valid_filters()).unwrap();
    PositionSizer::from_json(valid_sizer()).unwrap();
    synced_book()
        .apply_snapshot_json(SNAPSHOT.as_bytes())
        .unwrap();
    assert!(synced_book().apply_depth_json(DEPTH.as_bytes()).is_ok());
    let mut o = order();
    assert!(o.apply_execution_report_json(SPOT_REPORT).unwrap());
    let mut o = order();
    assert!(o.apply_execution_report_json(USDM_REPORT).unwrap());
}

/// Each `from_json` refuses an unknown field (a journal written by something else).
#[test]
fn unknown_fields_are_refused() {
    let extra = |json: &str| format!("{{\"surprise\":1,{}", &json[1..]);
    assert!(Order::from_json(&extra(valid_order())).is_err());
    assert!(Position::from_json(&extra(valid_position())).is_err());
    assert!(OrderBook::from_json(&extra(valid_book())).is_err());
    assert!(KalmanFilter::from_json(&extra(valid_kalman())).is_err());
    assert!(StreamingFeatures::from_json(&extra(valid_features())).is_err());
    assert!(RiskEngine::from_json(&extra(valid_engine())).is_err());
    assert!(DrawdownBreaker::from_json(&extra(valid_breaker())).is_err());
    assert!(RiskLimits::from_json(&extra(valid_limits())).is_err());
    assert!(SymbolFilters::from_json(&extra(valid_filters())).is_err());
    assert!(PositionSizer::from_json(&extra(valid_sizer())).is_err());
    let nested = valid_order().replace("\"mantissa\":1,", "\"mantissa\":1,\"x\":0,");
    assert!(Order::from_json(&nested).is_err());
}
