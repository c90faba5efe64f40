//! Criterion benches of the order book on the real spot recording (hftbacktest BTCUSDT).
//!
//! `cargo bench --bench orderbook` (data from $GRADTRADE_TEST_DATA or ../shared/data). Groups:
//! - `parse`: JSON scan of every depth frame onto the grid, no book;
//! - `replay`: `apply_depth_json` of every frame after the snapshot (parse + sequence + apply);
//! - `apply_levels`: the pre-parsed levels into the book's sorted-Vec sides versus a
//!   `BTreeMap<i64, i64>` per side (the data-structure choice of `rust/orderbook/side.rs`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

use _core::fixed::Grid;
use _core::orderbook::parse::{parse_depth_update, LevelGrids};
use _core::orderbook::side::{Side, SideKind};
use _core::orderbook::{Market, OrderBook};

struct Recording {
    snapshot: Vec<u8>,
    diffs: Vec<Vec<u8>>,
    levels: u64,
}

fn data_dir() -> PathBuf {
    std::env::var_os("GRADTRADE_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"))
}

fn load() -> Recording {
    let spot = data_dir().join("recordings/hftbacktest/spot");
    let mut snapshot = Vec::new();
    let mut diffs = Vec::new();
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
            let raw = &line[space + 1..];
            if raw.starts_with(b"{\"lastUpdateId\"") {
                snapshot = raw.to_vec();
            } else if raw.windows(13).take(80).any(|w| w == b"\"depthUpdate\"") {
                diffs.push(raw.to_vec());
            }
        }
    }
    let mut book = new_book();
    book.apply_snapshot_json(&snapshot)
        .expect("snapshot applies");
    // Keep only the frames after the snapshot, as the Python comparison does.
    diffs.retain(|raw| book.apply_depth_json(raw).expect("recording replays"));
    let (tick, step) = grids();
    let g = LevelGrids {
        tick: &tick,
        step: &step,
    };
    let (mut b, mut a) = (Vec::new(), Vec::new());
    for raw in &diffs {
        parse_depth_update(raw, &g, &mut b, &mut a).unwrap();
    }
    let levels = (b.len() + a.len()) as u64;
    Recording {
        snapshot,
        diffs,
        levels,
    }
}

fn grids() -> (Grid, Grid) {
    (
        Grid::parse("0.01").unwrap(),
        Grid::parse("0.00000001").unwrap(),
    )
}

fn new_book() -> OrderBook {
    let (tick, step) = grids();
    OrderBook::new("BTCUSDT", tick, step, Market::Spot).unwrap()
}

fn benches(c: &mut Criterion) {
    let rec = load();
    let (tick, step) = grids();
    let g = LevelGrids {
        tick: &tick,
        step: &step,
    };
    let mut group = c.benchmark_group("orderbook");
    group.throughput(Throughput::Elements(rec.levels));
    group.sample_size(20);

    group.bench_function("parse", |bench| {
        let (mut b, mut a) = (Vec::new(), Vec::new());
        bench.iter(|| {
            for raw in &rec.diffs {
                b.clear();
                a.clear();
                black_box(parse_depth_update(raw, &g, &mut b, &mut a).unwrap());
            }
        })
    });

    group.bench_function("replay", |bench| {
        bench.iter_batched_ref(
            || {
                let mut book = new_book();
                book.apply_snapshot_json(&rec.snapshot).unwrap();
                book
            },
            |book| {
                for raw in &rec.diffs {
                    black_box(book.apply_depth_json(raw).unwrap());
                }
            },
            criterion::BatchSize::LargeInput,
        )
    });

    // Pre-parsed level streams: (is_bid, price, qty) in frame order, plus the snapshot levels.
    let mut stream = Vec::new();
    for raw in &rec.diffs {
        let (mut b, mut a) = (Vec::new(), Vec::new());
        parse_depth_update(raw, &g, &mut b, &mut a).unwrap();
        stream.extend(b.into_iter().map(|(p, q)| (true, p, q)));
        stream.extend(a.into_iter().map(|(p, q)| (false, p, q)));
    }
    let mut snap = new_book();
    snap.apply_snapshot_json(&rec.snapshot).unwrap();
    let snap_bids: Vec<(i64, i64)> = snap.bids().iter_best().collect();
    let snap_asks: Vec<(i64, i64)> = snap.asks().iter_best().collect();

    group.bench_function("apply_levels/sorted_vec", |bench| {
        bench.iter_batched_ref(
            || {
                let mut bids = Side::new(SideKind::Bid);
                let mut asks = Side::new(SideKind::Ask);
                bids.replace(&snap_bids);
                asks.replace(&snap_asks);
                (bids, asks)
            },
            |(bids, asks)| {
                for &(is_bid, p, q) in &stream {
                    black_box(if is_bid {
                        bids.set(p, q)
                    } else {
                        asks.set(p, q)
                    });
                }
            },
            criterion::BatchSize::LargeInput,
        )
    });

    group.bench_function("apply_levels/btreemap", |bench| {
        bench.iter_batched_ref(
            || {
                let bids: BTreeMap<i64, i64> = snap_bids.iter().copied().collect();
                let asks: BTreeMap<i64, i64> = snap_asks.iter().copied().collect();
                (bids, asks)
            },
            |(bids, asks)| {
                for &(is_bid, p, q) in &stream {
                    let side = if is_bid { &mut *bids } else { &mut *asks };
                    let old = if q == 0 {
                        side.remove(&p)
                    } else {
                        side.insert(p, q)
                    };
                    black_box(old);
                }
            },
            criterion::BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(orderbook, benches);
criterion_main!(orderbook);
