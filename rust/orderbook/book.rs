//! The L2 order book of one symbol and Binance's sequence rules.
//!
//! Invariants:
//! - prices are integer ticks and quantities integer steps of the symbol's grids; no stored
//!   quantity is zero or negative;
//! - after any call that returns an error the book is exactly as before the call (frames are
//!   parsed and checked in full, then applied with an undo log that is replayed if the result
//!   would be crossed), except that a sequence gap marks the book invalid;
//! - while the book is valid, `last_update_id` is the final update id of the last applied event
//!   and every applied diff continued the sequence by the market's rule.

use crate::errors::{CoreError, CoreResult};
use crate::fixed::Grid;

use super::parse::{self, LevelGrids};
use super::side::{Side, SideKind};

/// Which Binance market's sequence rule applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Market {
    /// Spot: each diff has `U == last_u + 1`; the first after a snapshot `U <= id+1 <= u`.
    Spot,
    /// USD-M futures: each diff has `pu == last_u`; the first after a snapshot `U <= id <= u`.
    UsdM,
}

impl Market {
    pub fn parse(text: &str) -> CoreResult<Market> {
        match text.to_ascii_lowercase().as_str() {
            "spot" => Ok(Market::Spot),
            "usdm" | "usd-m" | "futures" => Ok(Market::UsdM),
            other => Err(CoreError::invalid(format!(
                "market must be \"spot\" or \"usdm\", got {other:?}"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Market::Spot => "spot",
            Market::UsdM => "usdm",
        }
    }
}

/// Where the book stands in Binance's sync procedure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SyncState {
    /// No snapshot yet, or a gap was found: diffs are refused until the next snapshot.
    NotSynced,
    /// A snapshot was applied; the next diff must straddle its id.
    AwaitingFirstDiff,
    /// Diffs must continue the sequence exactly.
    Live,
}

/// Update ids of one diff, whatever its source (JSON or already-parsed levels).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiffIds {
    pub first_update_id: u64,
    pub final_update_id: u64,
    pub prev_final_update_id: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct OrderBook {
    pub(super) symbol: String,
    pub(super) market: Market,
    pub(super) tick: Grid,
    pub(super) step: Grid,
    pub(super) bids: Side,
    pub(super) asks: Side,
    pub(super) last_update_id: Option<u64>,
    pub(super) state: SyncState,
    pub(super) last_event_time_ms: Option<u64>,
    /// Order-flow imbalance accumulated since the last `take_ofi`, in quantity steps.
    pub(super) ofi_steps: i128,
    /// Scratch buffers reused by every frame so that the hot path does not allocate.
    scratch_bids: Vec<(i64, i64)>,
    scratch_asks: Vec<(i64, i64)>,
    undo: Vec<(SideKind, i64, i64)>,
}

impl OrderBook {
    pub fn new(symbol: &str, tick: Grid, step: Grid, market: Market) -> CoreResult<OrderBook> {
        let symbol = symbol.trim().to_ascii_uppercase();
        if symbol.is_empty() || !symbol.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(CoreError::invalid(format!(
                "symbol must be a Binance symbol such as \"BTCUSDT\", got {symbol:?}"
            )));
        }
        Ok(OrderBook {
            symbol,
            market,
            tick,
            step,
            bids: Side::new(SideKind::Bid),
            asks: Side::new(SideKind::Ask),
            last_update_id: None,
            state: SyncState::NotSynced,
            last_event_time_ms: None,
            ofi_steps: 0,
            scratch_bids: Vec::new(),
            scratch_asks: Vec::new(),
            undo: Vec::new(),
        })
    }

    pub fn symbol(&self) -> &str {
        &self.symbol
    }
    pub fn market(&self) -> Market {
        self.market
    }
    pub fn tick(&self) -> &Grid {
        &self.tick
    }
    pub fn step(&self) -> &Grid {
        &self.step
    }
    pub fn last_update_id(&self) -> Option<u64> {
        self.last_update_id
    }
    pub fn last_event_time_ms(&self) -> Option<u64> {
        self.last_event_time_ms
    }
    pub fn state(&self) -> SyncState {
        self.state
    }
    pub fn is_valid(&self) -> bool {
        self.state != SyncState::NotSynced
    }
    pub fn bids(&self) -> &Side {
        &self.bids
    }
    pub fn asks(&self) -> &Side {
        &self.asks
    }
    pub fn best_bid(&self) -> Option<(i64, i64)> {
        self.bids.best()
    }
    pub fn best_ask(&self) -> Option<(i64, i64)> {
        self.asks.best()
    }

    pub fn is_crossed(&self) -> bool {
        matches!((self.bids.best(), self.asks.best()), (Some((b, _)), Some((a, _))) if b >= a)
    }

    fn side_mut(&mut self, kind: SideKind) -> &mut Side {
        match kind {
            SideKind::Bid => &mut self.bids,
            SideKind::Ask => &mut self.asks,
        }
    }

    /// Replaces the book with a REST snapshot. Levels are (ticks, steps); zero quantities are
    /// skipped, duplicates, non-positive prices, negative quantities and a crossed book refused.
    pub fn apply_snapshot(
        &mut self,
        last_update_id: u64,
        bids: &[(i64, i64)],
        asks: &[(i64, i64)],
    ) -> CoreResult<()> {
        let clean = |levels: &[(i64, i64)], side: &str| -> CoreResult<Vec<(i64, i64)>> {
            let mut out = Vec::with_capacity(levels.len());
            for &(price, qty) in levels {
                check_level(side, price, qty, &self.tick, &self.step)?;
                if qty > 0 {
                    out.push((price, qty));
                }
            }
            out.sort_unstable();
            if let Some(w) = out.windows(2).find(|w| w[0].0 == w[1].0) {
                return Err(CoreError::invalid(format!(
                    "{} snapshot lists the {side} price {} twice",
                    self.symbol,
                    self.tick.format(w[0].0)
                )));
            }
            Ok(out)
        };
        let bids = clean(bids, "bid")?;
        let asks = clean(asks, "ask")?;
        if let (Some(b), Some(a)) = (bids.last(), asks.first()) {
            if b.0 >= a.0 {
                return Err(CoreError::invalid(format!(
                    "{} snapshot is crossed: best bid {} >= best ask {}",
                    self.symbol,
                    self.tick.format(b.0),
                    self.tick.format(a.0)
                )));
            }
        }
        self.bids.replace(&bids);
        self.asks.replace(&asks);
        self.last_update_id = Some(last_update_id);
        self.state = SyncState::AwaitingFirstDiff;
        Ok(())
    }

    /// `apply_snapshot` from a REST depth response body.
    pub fn apply_snapshot_json(&mut self, raw: &[u8]) -> CoreResult<()> {
        let mut bids = std::mem::take(&mut self.scratch_bids);
        let mut asks = std::mem::take(&mut self.scratch_asks);
        bids.clear();
        asks.clear();
        let grids = LevelGrids {
            tick: &self.tick,
            step: &self.step,
        };
        let result = parse::parse_snapshot(raw, &grids, &mut bids, &mut asks)
            .map_err(|e| self.context("depth snapshot", e))
            .and_then(|h| self.apply_snapshot(h.last_update_id, &bids, &asks));
        self.scratch_bids = bids;
        self.scratch_asks = asks;
        result
    }

    fn context(&self, what: &str, e: CoreError) -> CoreError {
        match e {
            CoreError::InvalidInput(m) => {
                CoreError::InvalidInput(format!("{} {what}: {m}", self.symbol))
            }
            other => other,
        }
    }

    /// Applies one websocket depth frame (plain or combined-stream). Returns Ok(false) for a stale
    /// frame (already contained in the book), Ok(true) when applied.
    pub fn apply_depth_json(&mut self, raw: &[u8]) -> CoreResult<bool> {
        let mut bids = std::mem::take(&mut self.scratch_bids);
        let mut asks = std::mem::take(&mut self.scratch_asks);
        bids.clear();
        asks.clear();
        let grids = LevelGrids {
            tick: &self.tick,
            step: &self.step,
        };
        let result = match parse::parse_depth_update(raw, &grids, &mut bids, &mut asks) {
            Err(e) => Err(self.context("depth frame", e)),
            Ok(h) if h.symbol != self.symbol.as_bytes() => Err(CoreError::invalid(format!(
                "depth frame for symbol {:?} sent to the {} book",
                String::from_utf8_lossy(h.symbol),
                self.symbol
            ))),
            Ok(h) => {
                let ids = DiffIds {
                    first_update_id: h.first_update_id,
                    final_update_id: h.final_update_id,
                    prev_final_update_id: h.prev_final_update_id,
                };
                let applied = self.apply_checked_diff(ids, &bids, &asks);
                if matches!(applied, Ok(true)) {
                    self.last_event_time_ms = h.event_time_ms.or(self.last_event_time_ms);
                }
                applied
            }
        };
        self.scratch_bids = bids;
        self.scratch_asks = asks;
        result
    }

    /// Applies one diff of already-parsed levels (ticks, steps); same rules as `apply_depth_json`.
    pub fn apply_diff(
        &mut self,
        ids: DiffIds,
        bids: &[(i64, i64)],
        asks: &[(i64, i64)],
    ) -> CoreResult<bool> {
        for &(p, q) in bids {
            check_level("bid", p, q, &self.tick, &self.step)
                .map_err(|e| self.context("diff", e))?;
        }
        for &(p, q) in asks {
            check_level("ask", p, q, &self.tick, &self.step)
                .map_err(|e| self.context("diff", e))?;
        }
        if ids.first_update_id > ids.final_update_id {
            return Err(CoreError::invalid(format!(
                "{} diff has first update id {} after last update id {}",
                self.symbol, ids.first_update_id, ids.final_update_id
            )));
        }
        self.apply_checked_diff(ids, bids, asks)
    }

    /// Binance's continuity rule for the next diff: Ok(false) if stale, an error on a gap.
    fn check_sequence(&mut self, ids: DiffIds) -> CoreResult<bool> {
        let last = match (self.state, self.last_update_id) {
            (SyncState::NotSynced, _) | (_, None) => {
                return Err(CoreError::BookNotSynced(format!(
                    "{} book is not synced: apply a depth snapshot before diffs{}",
                    self.symbol,
                    if self.last_update_id.is_some() {
                        " (a sequence gap invalidated it)"
                    } else {
                        ""
                    }
                )))
            }
            (_, Some(last)) => last,
        };
        let first_diff = self.state == SyncState::AwaitingFirstDiff;
        let (u_first, u_last) = (ids.first_update_id, ids.final_update_id);
        let (continues, expected, received) = match self.market {
            Market::Spot => {
                if u_last <= last {
                    return Ok(false);
                }
                let ok = if first_diff {
                    u_first <= last + 1
                } else {
                    u_first == last + 1
                };
                (ok, last + 1, u_first)
            }
            Market::UsdM => {
                if u_last < last || (!first_diff && u_last == last) {
                    return Ok(false);
                }
                if first_diff {
                    (u_first <= last, last, u_first)
                } else {
                    let pu = ids.prev_final_update_id.ok_or_else(|| {
                        CoreError::invalid(format!(
                            "{} USD-M depth diff lacks the previous final update id \"pu\"",
                            self.symbol
                        ))
                    })?;
                    (pu == last, last, pu)
                }
            }
        };
        if continues {
            return Ok(true);
        }
        self.state = SyncState::NotSynced;
        let rule = match (self.market, first_diff) {
            (Market::Spot, true) => "first diff after the snapshot needs U <= lastUpdateId+1 <= u",
            (Market::Spot, false) => "spot diffs need U == previous u + 1",
            (Market::UsdM, true) => "first diff after the snapshot needs U <= lastUpdateId <= u",
            (Market::UsdM, false) => "USD-M diffs need pu == previous u",
        };
        Err(CoreError::SequenceGap {
            message: format!(
                "{} depth sequence gap: book at update {last}, diff U={u_first} u={u_last}{} ({rule}); \
                 the book is invalid until the next snapshot",
                self.symbol,
                ids.prev_final_update_id
                    .map(|p| format!(" pu={p}"))
                    .unwrap_or_default(),
            ),
            expected,
            received,
        })
    }

    fn apply_checked_diff(
        &mut self,
        ids: DiffIds,
        bids: &[(i64, i64)],
        asks: &[(i64, i64)],
    ) -> CoreResult<bool> {
        if !self.check_sequence(ids)? {
            return Ok(false);
        }
        let before = (self.bids.best(), self.asks.best());
        self.undo.clear();
        for &(price, qty) in bids {
            let old = self.bids.set(price, qty);
            self.undo.push((SideKind::Bid, price, old));
        }
        for &(price, qty) in asks {
            let old = self.asks.set(price, qty);
            self.undo.push((SideKind::Ask, price, old));
        }
        if self.is_crossed() {
            let (b, a) = (self.bids.best(), self.asks.best());
            let undo = std::mem::take(&mut self.undo);
            for &(kind, price, old) in undo.iter().rev() {
                self.side_mut(kind).set(price, old);
            }
            self.undo = undo;
            let fmt = |l: Option<(i64, i64)>| l.map(|l| self.tick.format(l.0)).unwrap_or_default();
            return Err(CoreError::invalid(format!(
                "{} diff U={} u={} would cross the book (best bid {} >= best ask {}); not applied",
                self.symbol,
                ids.first_update_id,
                ids.final_update_id,
                fmt(b),
                fmt(a)
            )));
        }
        self.accumulate_ofi(before, (self.bids.best(), self.asks.best()));
        self.last_update_id = Some(ids.final_update_id);
        self.state = SyncState::Live;
        Ok(true)
    }

    /// Order-flow imbalance of one event (Cont, Kukanov & Stoikov 2014, eq. 10):
    /// e = 1{Pb >= Pb'} qb - 1{Pb <= Pb'} qb' - 1{Pa <= Pa'} qa + 1{Pa >= Pa'} qa',
    /// primes denoting the top of book before the event. An event here is one applied diff.
    fn accumulate_ofi(&mut self, before: TopOfBook, after: TopOfBook) {
        if let (Some((pb0, qb0)), Some((pb, qb))) = (before.0, after.0) {
            let mut e = 0i128;
            if pb >= pb0 {
                e += i128::from(qb);
            }
            if pb <= pb0 {
                e -= i128::from(qb0);
            }
            self.ofi_steps += e;
        }
        if let (Some((pa0, qa0)), Some((pa, qa))) = (before.1, after.1) {
            let mut e = 0i128;
            if pa <= pa0 {
                e -= i128::from(qa);
            }
            if pa >= pa0 {
                e += i128::from(qa0);
            }
            self.ofi_steps += e;
        }
    }

    /// OFI accumulated since the previous call, in base-asset units; resets the accumulator.
    pub fn take_ofi(&mut self) -> f64 {
        let steps = std::mem::take(&mut self.ofi_steps);
        let clamped = steps.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
        self.step.to_f64(clamped)
    }
}

type TopOfBook = (Option<(i64, i64)>, Option<(i64, i64)>);

fn check_level(side: &str, price: i64, qty: i64, tick: &Grid, step: &Grid) -> CoreResult<()> {
    if price <= 0 {
        return Err(CoreError::invalid(format!(
            "{side} price must be positive, got {}",
            tick.format(price)
        )));
    }
    if qty < 0 {
        return Err(CoreError::invalid(format!(
            "{side} quantity must not be negative, got {}",
            step.format(qty)
        )));
    }
    Ok(())
}

#[cfg(test)]
#[path = "book_tests.rs"]
mod tests;
