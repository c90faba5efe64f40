//! The L2 simulated venue: a recorded (or live) Binance book, our orders, and how they fill.
//!
//! Invariants and assumptions (each a rule of `L2Venue`):
//! - time only moves forward: market events and our actions are applied strictly in time
//!   order; an action taking effect at T comes after the market events stamped at T;
//! - an order is applied at `sent + entry latency`, a cancel at `sent + cancel latency`; until
//!   the cancel is applied the order can still fill;
//! - the book is the market's, never changed by us: a market order walks the opposite side
//!   from the best level, consuming each level's displayed size for that order only (partial if
//!   the book is thinner; the rest expires); a limit that crosses at arrival takes the same way
//!   up to its price, then rests; a post-only that would cross is rejected;
//! - a resting order has a queue position (`queue`); trades on our side at our price fill us
//!   once the queue ahead is exhausted, trades through our price fill us up to the traded size.
//!   Each of our orders sees the whole trade (our orders are assumed small against the flow).
//!   A book that moves through our price without a trade does not fill us: every execution is
//!   in the trade stream;
//! - while the book is invalid (no snapshot yet, or a sequence gap) nothing fills: arriving
//!   orders are rejected with `BOOK_NOT_SYNCED`, trades are counted and skipped, and the gap and
//!   the resync are reported as `BookEvent`s. Diffs received meanwhile are held and replayed onto
//!   the next snapshot (Binance's sync procedure, `sync`); after a resync every resting order
//!   rejoins the back of its level (what happened in the gap is unknown);
//! - accounting is exact: base in steps (i64) and quote in tick*step units (i128), checked;
//!   fees are floats in the quote asset. A call refused for a bad argument changes nothing.

use std::collections::HashMap;
use std::sync::Arc;

use super::candle::Liquidity;
use super::frames::{parse_trade, FrameKind};
use super::latency::Latency;
use super::queue::{QueueModel, QueuePosition};
use super::report::{BookEvent, BookStatus, Counters, OrderEvent, SimFill, VenueReject};
use super::sync::DiffBuffer;
use crate::errors::{CoreError, CoreResult};
use crate::orderbook::OrderBook;
use crate::orders::{validate_client_order_id, OrderStatus};
use crate::types::{OrderType, Side};

/// The venue's assumptions; validated by `new`, never mutated.
#[derive(Debug, Clone, PartialEq)]
pub struct L2Config {
    pub maker_fee_rate: f64,
    pub taker_fee_rate: f64,
    pub queue: QueueModel,
    pub entry_latency: Latency,
    pub cancel_latency: Latency,
}

impl L2Config {
    pub fn new(
        maker_fee_rate: f64,
        taker_fee_rate: f64,
        queue: QueueModel,
        entry_latency: Latency,
        cancel_latency: Latency,
    ) -> CoreResult<L2Config> {
        for (name, rate) in [
            ("maker_fee_rate", maker_fee_rate),
            ("taker_fee_rate", taker_fee_rate),
        ] {
            if !(rate.is_finite() && (-0.1..=0.1).contains(&rate)) {
                return Err(CoreError::invalid(format!(
                    "{name} must be finite and in [-0.1, 0.1], got {rate}"
                )));
            }
        }
        Ok(L2Config {
            maker_fee_rate,
            taker_fee_rate,
            queue,
            entry_latency,
            cancel_latency,
        })
    }
}

/// A new order as sent by us. Quantities are steps and prices ticks of the venue's book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderRequest<'a> {
    pub client_id: &'a str,
    pub side: Side,
    /// MARKET, LIMIT, or LIMIT_MAKER (post-only).
    pub order_type: OrderType,
    pub qty: i64,
    /// Required for limits, absent for market orders.
    pub price: Option<i64>,
}

#[derive(Debug, Clone)]
struct SimOrder {
    id: Arc<str>,
    side: Side,
    order_type: OrderType,
    price: i64,
    qty: i64,
    filled: i64,
    status: OrderStatus,
    arrive_at: i64,
    cancel_at: Option<i64>,
    queue: QueuePosition,
    /// Displayed size at our price when we last looked (for the queue model's deltas).
    level_qty: i64,
}

impl SimOrder {
    fn remaining(&self) -> i64 {
        self.qty - self.filled
    }
}

/// The venue state seen from outside: our position and cash since the start.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Balances {
    /// Base asset bought minus sold, in steps.
    pub base_steps: i64,
    /// Quote asset received minus paid for fills, in tick*step units (fees excluded).
    pub quote_units: i128,
    /// Fees paid, quote asset.
    pub fees: f64,
}

pub struct L2Venue {
    book: OrderBook,
    config: L2Config,
    orders: Vec<SimOrder>,
    by_id: HashMap<Arc<str>, usize>,
    /// Indices of orders not yet terminal (pending or resting).
    active: Vec<usize>,
    now: i64,
    fills: Vec<SimFill>,
    order_events: Vec<OrderEvent>,
    book_events: Vec<BookEvent>,
    counters: Counters,
    balances: Balances,
    /// Levels taken by one aggressive order; reused so the hot path keeps no allocation.
    scratch: Vec<(i64, i64)>,
    /// Diffs received while the book is not synced, for the next snapshot.
    held: DiffBuffer,
}

impl L2Venue {
    /// A venue around `book` (usually empty: the recording's snapshot syncs it).
    pub fn new(book: OrderBook, config: L2Config) -> L2Venue {
        L2Venue {
            book,
            config,
            orders: Vec::new(),
            by_id: HashMap::new(),
            active: Vec::new(),
            now: i64::MIN,
            fills: Vec::new(),
            order_events: Vec::new(),
            book_events: Vec::new(),
            counters: Counters::default(),
            balances: Balances {
                base_steps: 0,
                quote_units: 0,
                fees: 0.0,
            },
            scratch: Vec::new(),
            held: DiffBuffer::new(DiffBuffer::DEFAULT_CAPACITY),
        }
    }

    pub fn book(&self) -> &OrderBook {
        &self.book
    }
    pub fn config(&self) -> &L2Config {
        &self.config
    }
    /// The venue clock: the time of the last event or action applied (i64::MIN before any).
    pub fn now(&self) -> i64 {
        self.now
    }
    pub fn counters(&self) -> Counters {
        self.counters
    }
    pub fn balances(&self) -> Balances {
        self.balances
    }
    /// Orders sent and not finished (pending arrival or resting).
    pub fn open_orders(&self) -> usize {
        self.active
            .iter()
            .filter(|&&i| !self.orders[i].status.is_terminal())
            .count()
    }

    /// (status, filled steps, queue ahead in steps while resting) of an order.
    pub fn order_state(&self, client_id: &str) -> CoreResult<(OrderStatus, i64, Option<i64>)> {
        let o = &self.orders[self.index(client_id)?];
        let ahead = matches!(o.status, OrderStatus::NEW | OrderStatus::PARTIALLY_FILLED)
            .then(|| o.queue.ahead());
        Ok((o.status, o.filled, ahead))
    }

    pub fn take_fills(&mut self) -> Vec<SimFill> {
        std::mem::take(&mut self.fills)
    }
    pub fn take_order_events(&mut self) -> Vec<OrderEvent> {
        std::mem::take(&mut self.order_events)
    }
    pub fn take_book_events(&mut self) -> Vec<BookEvent> {
        std::mem::take(&mut self.book_events)
    }

    fn index(&self, client_id: &str) -> CoreResult<usize> {
        self.by_id
            .get(client_id)
            .copied()
            .ok_or_else(|| CoreError::invalid(format!("unknown client order id {client_id:?}")))
    }

    fn check_time(&self, ts_ns: i64, what: &str) -> CoreResult<()> {
        if ts_ns < self.now {
            return Err(CoreError::invalid(format!(
                "{what} at {ts_ns} ns is before the venue clock {} ns: events must come in time order",
                self.now
            )));
        }
        Ok(())
    }

    /// Sends a new order at `ts_ns`; it reaches the venue after the entry latency.
    pub fn submit(&mut self, ts_ns: i64, req: OrderRequest<'_>) -> CoreResult<()> {
        self.check_time(ts_ns, "order")?;
        validate_client_order_id(req.client_id)?;
        if self.by_id.contains_key(req.client_id) {
            return Err(CoreError::invalid(format!(
                "duplicate client order id {:?}",
                req.client_id
            )));
        }
        if req.qty <= 0 {
            return Err(CoreError::invalid(format!(
                "order quantity must be positive, got {}",
                self.book.step().format(req.qty)
            )));
        }
        let price = match (req.order_type, req.price) {
            (OrderType::MARKET, None) => 0,
            (OrderType::MARKET, Some(_)) => {
                return Err(CoreError::invalid("a MARKET order takes no price"));
            }
            (OrderType::LIMIT | OrderType::LIMIT_MAKER, Some(p)) if p > 0 => p,
            (OrderType::LIMIT | OrderType::LIMIT_MAKER, _) => {
                return Err(CoreError::invalid(format!(
                    "a {} order needs a positive price",
                    req.order_type.as_str()
                )));
            }
            (other, _) => {
                return Err(CoreError::invalid(format!(
                    "the L2 venue simulates MARKET, LIMIT and LIMIT_MAKER orders, not {}",
                    other.as_str()
                )));
            }
        };
        let id: Arc<str> = Arc::from(req.client_id);
        let index = self.orders.len();
        self.orders.push(SimOrder {
            id: id.clone(),
            side: req.side,
            order_type: req.order_type,
            price,
            qty: req.qty,
            filled: 0,
            status: OrderStatus::PENDING_NEW,
            arrive_at: self.config.entry_latency.effective(ts_ns),
            cancel_at: None,
            queue: QueuePosition::join(0),
            level_qty: 0,
        });
        self.by_id.insert(id, index);
        self.active.push(index);
        Ok(())
    }

    /// Sends a cancel at `ts_ns`; it takes effect after the cancel latency.
    pub fn cancel(&mut self, ts_ns: i64, client_id: &str) -> CoreResult<()> {
        self.check_time(ts_ns, "cancel")?;
        let i = self.index(client_id)?;
        let at = self.config.cancel_latency.effective(ts_ns);
        let o = &mut self.orders[i];
        if o.status.is_terminal() {
            return Err(CoreError::InvalidTransition(format!(
                "cannot cancel order {client_id:?}: it is already {}",
                o.status.as_str()
            )));
        }
        if o.cancel_at.is_some() {
            return Err(CoreError::InvalidTransition(format!(
                "order {client_id:?} already has a cancel in flight"
            )));
        }
        o.cancel_at = Some(at);
        Ok(())
    }

    /// Applies every action that takes effect before `ts_ns` (or at it, if `inclusive`).
    fn apply_actions(&mut self, ts_ns: i64, inclusive: bool) -> CoreResult<()> {
        loop {
            // The earliest pending action; an arrival goes before a cancel at the same time.
            let mut next: Option<(i64, u8, usize)> = None;
            for &i in &self.active {
                let o = &self.orders[i];
                let candidates = [
                    (o.status == OrderStatus::PENDING_NEW).then_some((o.arrive_at, 0u8, i)),
                    o.cancel_at.map(|c| (c, 1u8, i)),
                ];
                for c in candidates.into_iter().flatten() {
                    if next.map_or(true, |n| c < n) {
                        next = Some(c);
                    }
                }
            }
            let Some((at, what, i)) = next else {
                return Ok(());
            };
            if at > ts_ns || (at == ts_ns && !inclusive) {
                return Ok(());
            }
            self.now = self.now.max(at);
            if what == 0 && self.orders[i].status == OrderStatus::PENDING_NEW {
                self.arrive(i, at)?;
            } else {
                self.apply_cancel(i, at);
            }
            self.prune();
        }
    }

    /// Drops finished orders from the active list; one with a cancel still in flight stays
    /// until the cancel lands (and is reported as too late).
    fn prune(&mut self) {
        let orders = &self.orders;
        self.active
            .retain(|&i| !orders[i].status.is_terminal() || orders[i].cancel_at.is_some());
    }

    fn is_resting(&self, i: usize) -> bool {
        matches!(
            self.orders[i].status,
            OrderStatus::NEW | OrderStatus::PARTIALLY_FILLED
        )
    }

    fn event(&mut self, i: usize, ts_ns: i64, status: OrderStatus, reason: Option<VenueReject>) {
        self.order_events.push(OrderEvent {
            ts_ns,
            client_id: self.orders[i].id.clone(),
            status,
            reason,
        });
    }

    fn apply_cancel(&mut self, i: usize, at: i64) {
        let o = &mut self.orders[i];
        o.cancel_at = None;
        if o.status.is_terminal() {
            let status = o.status;
            self.event(i, at, status, Some(VenueReject::CANCEL_TOO_LATE));
            return;
        }
        o.status = OrderStatus::CANCELED;
        self.event(i, at, OrderStatus::CANCELED, None);
    }

    fn opposite_best(&self, side: Side) -> Option<i64> {
        match side {
            Side::BUY => self.book.best_ask().map(|l| l.0),
            Side::SELL => self.book.best_bid().map(|l| l.0),
        }
    }

    fn own_level(&self, side: Side, price: i64) -> i64 {
        match side {
            Side::BUY => self.book.bids().qty_at(price),
            Side::SELL => self.book.asks().qty_at(price),
        }
    }

    fn arrive(&mut self, i: usize, at: i64) -> CoreResult<()> {
        if !self.book.is_valid() {
            self.orders[i].status = OrderStatus::REJECTED;
            self.event(
                i,
                at,
                OrderStatus::REJECTED,
                Some(VenueReject::BOOK_NOT_SYNCED),
            );
            return Ok(());
        }
        let (side, price, kind) = {
            let o = &self.orders[i];
            (o.side, o.price, o.order_type)
        };
        let crosses = kind != OrderType::MARKET
            && self
                .opposite_best(side)
                .is_some_and(|best| side.sign() * (price - best) >= 0);
        if kind == OrderType::LIMIT_MAKER && crosses {
            self.orders[i].status = OrderStatus::REJECTED;
            self.event(
                i,
                at,
                OrderStatus::REJECTED,
                Some(VenueReject::POST_ONLY_WOULD_CROSS),
            );
            return Ok(());
        }
        self.orders[i].status = OrderStatus::NEW;
        self.event(i, at, OrderStatus::NEW, None);
        if kind == OrderType::MARKET || crosses {
            let limit = (kind != OrderType::MARKET).then_some(price);
            self.take(i, at, limit)?;
            if self.orders[i].status.is_terminal() {
                return Ok(());
            }
            if kind == OrderType::MARKET {
                self.orders[i].status = OrderStatus::EXPIRED;
                self.event(i, at, OrderStatus::EXPIRED, None);
                return Ok(());
            }
        }
        // Resting: we join the back of our level. After a crossing limit took what it could,
        // its level on our side is normally empty (nothing displayed ahead).
        let displayed = self.own_level(side, price);
        let o = &mut self.orders[i];
        o.queue = QueuePosition::join(displayed);
        o.level_qty = displayed;
        Ok(())
    }

    /// Walks the opposite side for order `i` up to `limit` (None: any price), as taker.
    fn take(&mut self, i: usize, at: i64, limit: Option<i64>) -> CoreResult<()> {
        let side = self.orders[i].side;
        let mut want = self.orders[i].remaining();
        let mut levels = std::mem::take(&mut self.scratch);
        levels.clear();
        let opposite = match side {
            Side::BUY => self.book.asks(),
            Side::SELL => self.book.bids(),
        };
        for (price, qty) in opposite.iter_best() {
            if want == 0 || limit.is_some_and(|l| side.sign() * (price - l) > 0) {
                break;
            }
            let q = qty.min(want);
            levels.push((price, q));
            want -= q;
        }
        let mut result = Ok(());
        for &(price, qty) in &levels {
            result = self.record_fill(i, at, price, qty, Liquidity::TAKER);
            if result.is_err() {
                break;
            }
        }
        self.scratch = levels;
        result
    }

    fn record_fill(
        &mut self,
        i: usize,
        at: i64,
        price: i64,
        qty: i64,
        liquidity: Liquidity,
    ) -> CoreResult<()> {
        let o = &self.orders[i];
        let filled = o
            .filled
            .checked_add(qty)
            .filter(|&f| f <= o.qty)
            .ok_or_else(|| {
                CoreError::Overfill(format!(
                    "fill of {qty} steps would take order {:?} past its quantity",
                    o.id
                ))
            })?;
        let signed = o.side.sign() * qty;
        let base = self.balances.base_steps.checked_add(signed);
        let quote = i128::from(price)
            .checked_mul(i128::from(signed))
            .and_then(|n| self.balances.quote_units.checked_sub(n));
        let (Some(base), Some(quote)) = (base, quote) else {
            return Err(CoreError::invalid(
                "position or cash overflowed the fixed-point range",
            ));
        };
        let rate = match liquidity {
            Liquidity::MAKER => self.config.maker_fee_rate,
            Liquidity::TAKER => self.config.taker_fee_rate,
        };
        let fee = self.book.tick().to_f64(price) * self.book.step().to_f64(qty) * rate;
        self.balances = Balances {
            base_steps: base,
            quote_units: quote,
            fees: self.balances.fees + fee,
        };
        let o = &mut self.orders[i];
        o.filled = filled;
        o.status = if filled == o.qty {
            OrderStatus::FILLED
        } else {
            OrderStatus::PARTIALLY_FILLED
        };
        let (id, side, done) = (o.id.clone(), o.side, filled == o.qty);
        self.fills.push(SimFill {
            ts_ns: at,
            client_id: id,
            side,
            price,
            qty,
            fee,
            liquidity,
        });
        if done {
            self.event(i, at, OrderStatus::FILLED, None);
        }
        Ok(())
    }

    /// Applies one market event stamped `ts_ns` (after the actions due before it).
    pub fn process(&mut self, ts_ns: i64, kind: FrameKind, raw: &[u8]) -> CoreResult<()> {
        self.check_time(ts_ns, "market event")?;
        self.apply_actions(ts_ns, false)?;
        // A refused frame leaves the book, our orders and the clock as they were (the actions
        // due before it were due anyway).
        match kind {
            FrameKind::DEPTH => self.on_depth(ts_ns, raw)?,
            FrameKind::SNAPSHOT => self.on_snapshot(ts_ns, raw)?,
            FrameKind::TRADE => self.on_trade(ts_ns, raw)?,
            FrameKind::BOOK_TICKER => self.counters.book_tickers += 1,
        }
        self.now = ts_ns;
        self.counters.events += 1;
        Ok(())
    }

    /// Applies every action due up to and including `ts_ns` and moves the clock there.
    pub fn advance_to(&mut self, ts_ns: i64) -> CoreResult<()> {
        self.check_time(ts_ns, "advance")?;
        self.apply_actions(ts_ns, true)?;
        self.now = ts_ns;
        Ok(())
    }

    fn on_depth(&mut self, ts_ns: i64, raw: &[u8]) -> CoreResult<()> {
        if !self.book.is_valid() {
            self.held.push(raw);
            self.counters.depth_buffered += 1;
            return Ok(());
        }
        match self.book.apply_depth_json(raw) {
            Ok(true) => {
                self.counters.depth_applied += 1;
                self.update_queues(false);
                Ok(())
            }
            Ok(false) => {
                self.counters.depth_stale += 1;
                Ok(())
            }
            Err(CoreError::SequenceGap { .. }) => {
                // The frame that revealed the gap is needed by the resync.
                self.held.push(raw);
                self.report_gap(ts_ns);
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn report_gap(&mut self, ts_ns: i64) {
        self.counters.sequence_gaps += 1;
        self.book_events.push(BookEvent {
            ts_ns,
            status: BookStatus::SEQUENCE_GAP,
        });
    }

    /// Applies a snapshot, then the held diffs it does not already contain.
    fn on_snapshot(&mut self, ts_ns: i64, raw: &[u8]) -> CoreResult<()> {
        let was_valid = self.book.is_valid();
        self.book.apply_snapshot_json(raw)?;
        self.counters.snapshots += 1;
        while let Some(frame) = self.held.pop() {
            match self.book.apply_depth_json(&frame) {
                Ok(true) => self.counters.depth_applied += 1,
                Ok(false) => self.counters.depth_stale += 1,
                Err(CoreError::SequenceGap { .. }) => {
                    self.held.unpop(frame);
                    self.report_gap(ts_ns);
                    return Ok(());
                }
                Err(_) => self.counters.depth_refused += 1,
            }
            self.held.recycle(frame);
        }
        if !was_valid {
            self.book_events.push(BookEvent {
                ts_ns,
                status: BookStatus::SYNCED,
            });
        }
        self.update_queues(!was_valid);
        Ok(())
    }

    /// Feeds each resting order's level change to its queue model (or rejoins after a gap).
    fn update_queues(&mut self, rejoin: bool) {
        for k in 0..self.active.len() {
            let i = self.active[k];
            if !self.is_resting(i) {
                continue;
            }
            let (side, price) = (self.orders[i].side, self.orders[i].price);
            let new = self.own_level(side, price);
            let model = self.config.queue;
            let o = &mut self.orders[i];
            if rejoin {
                o.queue.rejoin(new);
            } else if new != o.level_qty {
                o.queue.on_depth(&model, o.level_qty, new);
            }
            o.level_qty = new;
        }
    }

    fn on_trade(&mut self, ts_ns: i64, raw: &[u8]) -> CoreResult<()> {
        let trade = parse_trade(raw, self.book.symbol(), self.book.tick(), self.book.step())?;
        self.counters.trades += 1;
        if !self.book.is_valid() {
            self.counters.trades_on_invalid_book += 1;
            return Ok(());
        }
        // A sell aggressor (buyer is maker) trades against the bids, i.e. our buys.
        let hit = if trade.buyer_is_maker {
            Side::BUY
        } else {
            Side::SELL
        };
        for k in 0..self.active.len() {
            let i = self.active[k];
            if self.orders[i].side != hit || !self.is_resting(i) {
                continue;
            }
            let o = &mut self.orders[i];
            let beyond = hit.sign() * (o.price - trade.price);
            let passing = if beyond > 0 {
                o.queue.on_trade_through();
                trade.qty
            } else if beyond == 0 {
                o.queue.on_trade(trade.qty)
            } else {
                continue;
            };
            let qty = passing.min(o.remaining());
            if qty > 0 {
                let price = o.price;
                self.record_fill(i, ts_ns, price, qty, Liquidity::MAKER)?;
            }
        }
        self.prune();
        Ok(())
    }
}

#[cfg(test)]
#[path = "l2_tests.rs"]
mod tests;
