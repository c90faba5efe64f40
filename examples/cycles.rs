// Temporary harness (not committed): `cycles <what> <reps>`, run under perf stat.
use _core::fixed::Grid;
use _core::orderbook::parse::{parse_depth_update, LevelGrids};
use _core::orderbook::side::{Side, SideKind};
use _core::orderbook::{Market, OrderBook};
use std::collections::BTreeMap;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let what = args[1].as_str();
    let reps: usize = args[2].parse().unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("gzip -dc /work/shared/data/recordings/hftbacktest/spot/btcusdt_2024080*.gz")
        .output()
        .unwrap();
    let mut snapshot = Vec::new();
    let mut diffs = Vec::new();
    for line in out.stdout.split(|&b| b == b'\n') {
        let Some(sp) = line.iter().position(|&b| b == b' ') else {
            continue;
        };
        let raw = &line[sp + 1..];
        if raw.starts_with(b"{\"lastUpdateId\"") {
            snapshot = raw.to_vec();
        } else if raw.windows(13).take(80).any(|w| w == b"\"depthUpdate\"") {
            diffs.push(raw.to_vec());
        }
    }
    let tick = Grid::parse("0.01").unwrap();
    let step = Grid::parse("0.00000001").unwrap();
    let mk = || {
        let mut b = OrderBook::new("BTCUSDT", tick, step, Market::Spot).unwrap();
        b.apply_snapshot_json(&snapshot).unwrap();
        b
    };
    let mut b0 = mk();
    diffs.retain(|raw| b0.apply_depth_json(raw).unwrap());
    let g = LevelGrids {
        tick: &tick,
        step: &step,
    };
    let mut stream = Vec::new();
    for raw in &diffs {
        let (mut b, mut a) = (Vec::new(), Vec::new());
        parse_depth_update(raw, &g, &mut b, &mut a).unwrap();
        stream.extend(b.into_iter().map(|(p, q)| (true, p, q)));
        stream.extend(a.into_iter().map(|(p, q)| (false, p, q)));
    }
    let sb: Vec<(i64, i64)> = mk().bids().iter_best().collect();
    let sa: Vec<(i64, i64)> = mk().asks().iter_best().collect();
    let mut sink = 0i64;
    for _ in 0..reps {
        match what {
            "parse" => {
                let (mut b, mut a) = (Vec::new(), Vec::new());
                for raw in &diffs {
                    b.clear();
                    a.clear();
                    sink += parse_depth_update(raw, &g, &mut b, &mut a)
                        .unwrap()
                        .final_update_id as i64;
                }
            }
            "replay" => {
                let mut book = mk();
                for raw in &diffs {
                    sink += book.apply_depth_json(raw).unwrap() as i64;
                }
            }
            "side" => {
                let mut bids = Side::new(SideKind::Bid);
                let mut asks = Side::new(SideKind::Ask);
                bids.replace(&sb);
                asks.replace(&sa);
                for &(ib, p, q) in &stream {
                    sink += if ib { bids.set(p, q) } else { asks.set(p, q) };
                }
            }
            "btree" => {
                let mut bids: BTreeMap<i64, i64> = sb.iter().copied().collect();
                let mut asks: BTreeMap<i64, i64> = sa.iter().copied().collect();
                for &(ib, p, q) in &stream {
                    let s = if ib { &mut bids } else { &mut asks };
                    sink += if q == 0 { s.remove(&p) } else { s.insert(p, q) }.unwrap_or(0);
                }
            }
            _ => {}
        }
    }
    println!("{} levels {} sink {}", what, stream.len(), sink);
}
