//! Criterion benches of the simulated venue on the real spot recording (hftbacktest BTCUSDT).
//!
//! `cargo bench --bench sim` (data from $GRADTRADE_TEST_DATA or ../shared/data). Groups:
//! - `replay/noop`: every event of the recording (depth, trades, bookTickers, the snapshot)
//!   through `Recording::run_until` into a fresh `L2Venue`, no orders;
//! - `replay/maker`: the same with a quote-at-best maker that cancels and requotes both sides
//!   every second of recording time (queue positions, trade matching, cancels in the path);
//! - `trade_parse`: `parse_trade` of every trade frame;
//! - `candle/market_fills`: the batch candle model over 100k bars.

use std::path::PathBuf;
use std::process::Command;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

use _core::fixed::Grid;
use _core::orderbook::{Market, OrderBook};
use _core::orders::OrderStatus;
use _core::sim::{
    parse_trade, BarArrays, CandleFillConfig, FrameKind, L2Config, L2Venue, Latency, OrderRequest,
    QueueModel, Recording,
};
use _core::types::{OrderType, Side};

fn data_dir() -> PathBuf {
    std::env::var_os("GRADTRADE_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"))
}

/// The two chained days as (ts, kind, raw) in receive order.
fn load() -> Vec<(i64, FrameKind, Vec<u8>)> {
    let spot = data_dir().join("recordings/hftbacktest/spot");
    let mut frames = Vec::new();
    for name in ["btcusdt_20240808.gz", "btcusdt_20240809.gz"] {
        let out = Command::new("gzip")
            .arg("-dc")
            .arg(spot.join(name))
            .output()
            .expect("gzip runs");
        assert!(
            out.status.success(),
            "cannot read {name} (set GRADTRADE_TEST_DATA)"
        );
        for line in out.stdout.split(|&b| b == b'\n') {
            let Some(space) = line.iter().position(|&b| b == b' ') else {
                continue;
            };
            let ts: i64 = std::str::from_utf8(&line[..space])
                .unwrap()
                .parse()
                .unwrap();
            let raw = line[space + 1..].to_vec();
            frames.push((ts, FrameKind::classify(&raw).unwrap(), raw));
        }
    }
    frames
}

fn recording(frames: &[(i64, FrameKind, Vec<u8>)]) -> Recording {
    let mut data = Vec::new();
    let mut offsets = vec![0i64];
    for (_, _, raw) in frames {
        data.extend_from_slice(raw);
        offsets.push(data.len() as i64);
    }
    let ts: Vec<i64> = frames.iter().map(|f| f.0).collect();
    let kinds: Vec<u8> = frames.iter().map(|f| f.1 as u8).collect();
    Recording::new(ts, &kinds, data, &offsets).unwrap()
}

fn venue() -> L2Venue {
    let book = OrderBook::new(
        "BTCUSDT",
        Grid::parse("0.01").unwrap(),
        Grid::parse("0.00000001").unwrap(),
        Market::Spot,
    )
    .unwrap();
    let config = L2Config::new(
        0.0002,
        0.001,
        QueueModel::probabilistic(2.0).unwrap(),
        Latency::constant(5_000_000).unwrap(),
        Latency::constant(3_000_000).unwrap(),
    )
    .unwrap();
    L2Venue::new(book, config)
}

fn maker_run(rec: &mut Recording, end: i64, ids: &[String]) -> usize {
    rec.rewind();
    let mut v = venue();
    let start = rec.next_ts().unwrap();
    let mut t = start;
    let mut k = 0usize;
    while t < end {
        rec.run_until(&mut v, t).unwrap();
        if let (Some((bid, _)), Some((ask, _))) = (v.book().best_bid(), v.book().best_ask()) {
            if k >= 2 {
                for id in &ids[2 * (k - 1)..2 * k] {
                    if let Ok((s, _, _)) = v.order_state(id) {
                        if !s.is_terminal() && s != OrderStatus::PENDING_NEW {
                            let _ = v.cancel(t, id);
                        }
                    }
                }
            }
            for (j, (side, price)) in [(Side::BUY, bid), (Side::SELL, ask)]
                .into_iter()
                .enumerate()
            {
                let req = OrderRequest {
                    client_id: &ids[2 * k + j],
                    side,
                    order_type: OrderType::LIMIT,
                    qty: 100_000,
                    price: Some(price),
                };
                v.submit(t, req).unwrap();
            }
            k += 1;
        }
        t += 1_000_000_000;
    }
    rec.run_until(&mut v, end).unwrap();
    v.take_fills().len()
}

fn benches(c: &mut Criterion) {
    let frames = load();
    let end = frames.last().unwrap().0;
    let mut rec = recording(&frames);
    let events = rec.len() as u64;

    let mut group = c.benchmark_group("replay");
    group.sample_size(20);
    group.throughput(Throughput::Elements(events));
    group.bench_function("noop", |b| {
        b.iter(|| {
            rec.rewind();
            let mut v = venue();
            black_box(rec.run_until(&mut v, end).unwrap())
        })
    });
    let ids: Vec<String> = (0..4000).map(|i| format!("q{i}")).collect();
    assert!(maker_run(&mut rec, end, &ids) > 0, "the maker fills");
    group.bench_function("maker", |b| {
        b.iter(|| black_box(maker_run(&mut rec, end, &ids)))
    });
    group.finish();

    let trades: Vec<&[u8]> = frames
        .iter()
        .filter(|f| f.1 == FrameKind::TRADE)
        .map(|f| f.2.as_slice())
        .collect();
    let (tick, step) = (
        Grid::parse("0.01").unwrap(),
        Grid::parse("0.00000001").unwrap(),
    );
    let mut group = c.benchmark_group("trade_parse");
    group.throughput(Throughput::Elements(trades.len() as u64));
    group.bench_function("all", |b| {
        b.iter(|| {
            let mut sum = 0i64;
            for raw in &trades {
                sum += parse_trade(raw, "BTCUSDT", &tick, &step).unwrap().qty;
            }
            black_box(sum)
        })
    });
    group.finish();

    let n = 100_000;
    let open: Vec<f64> = (0..n).map(|i| 100.0 + (i as f64 * 0.01).sin()).collect();
    let high: Vec<f64> = open.iter().map(|o| o * 1.01).collect();
    let low: Vec<f64> = open.iter().map(|o| o * 0.99).collect();
    let volume = vec![1_000.0; n];
    let sigma = vec![0.01; n];
    let qty: Vec<f64> = (0..n)
        .map(|i| if i % 3 == 0 { 1.5 } else { -0.5 })
        .collect();
    let bars = BarArrays {
        open: &open,
        high: &high,
        low: &low,
        close: &open,
        volume: &volume,
        sigma: &sigma,
    };
    let config = CandleFillConfig::default();
    let mut group = c.benchmark_group("candle");
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("market_fills", |b| {
        b.iter(|| black_box(config.market_fills(&bars, &qty).unwrap()))
    });
    group.finish();
}

criterion_group!(sim, benches);
criterion_main!(sim);
