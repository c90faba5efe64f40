//! The pre-trade check.
//!
//! `RiskEngine::check` is pure: it reads the limits, the filters, the breaker state and the
//! order-rate window and returns a `Decision`; nothing is recorded. An order that is then sent
//! must be recorded with `record_order(now_ns)` (or use `check_and_record`, which records exactly
//! when it approves), so that the rate limit counts what really went out.
//!
//! Rejections are values with a typed reason; only malformed construction or persisted state
//! raises. Non-finite or non-positive order inputs are a rejection (`InvalidOrder`): the hot
//! path's caller acts on `approved` and must never send such an order.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::breaker::{DrawdownBreaker, TradingState};
use super::limits::RiskLimits;
use crate::errors::{CoreError, CoreResult};
use crate::types::{exact_units, Side, SymbolFilters};

/// Why an order was refused. One reason per limit, so callers can branch on it.
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(eq, eq_int, hash, frozen, from_py_object, module = "gradtrade._core")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum RejectReason {
    /// Quantity, price, mid, position or equity is NaN, infinite or out of range.
    INVALID_ORDER,
    /// The breaker is HALTED: nothing goes out until reset.
    HALTED,
    /// The breaker is REDUCING and the order would increase |position| or flip it.
    REDUCING,
    /// A reduce-only order that would increase |position| or flip it.
    REDUCE_ONLY,
    /// Price is not a multiple of the tick size (PRICE_FILTER).
    PRICE_TICK,
    /// Price outside PRICE_FILTER's minPrice / maxPrice.
    PRICE_FILTER,
    /// Quantity is not a multiple of the step size (LOT_SIZE).
    QUANTITY_STEP,
    /// Quantity below LOT_SIZE's minQty.
    MIN_QUANTITY,
    /// Quantity above LOT_SIZE's maxQty.
    MAX_QUANTITY,
    /// price * quantity below NOTIONAL's minNotional.
    MIN_NOTIONAL,
    /// Price further from the mid (or mark) than the band allows.
    PRICE_BAND,
    /// price * quantity above the user's max order notional.
    MAX_ORDER_NOTIONAL,
    /// |position after| above the max position (only for orders that increase it).
    MAX_POSITION,
    /// |position after| * mid / equity above the max leverage (only when it increases).
    MAX_LEVERAGE,
    /// Already at the max number of open orders.
    MAX_OPEN_ORDERS,
    /// The order would exceed max orders per second in the sliding one-second window.
    RATE_LIMIT,
}

/// The outcome of a check: approved (`rejection == None`) or a reason with a message for humans.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub rejection: Option<(RejectReason, String)>,
}

impl Decision {
    pub const APPROVED: Decision = Decision { rejection: None };

    pub fn approved(&self) -> bool {
        self.rejection.is_none()
    }

    fn reject(reason: RejectReason, message: String) -> Decision {
        Decision {
            rejection: Some((reason, message)),
        }
    }
}

/// An order as the check sees it. Quantities in base units, prices in quote per base.
#[derive(Debug, Clone, Copy)]
pub struct OrderCheck {
    pub side: Side,
    pub quantity: f64,
    pub price: f64,
    /// Mid price (spot) or mark price (futures) the band and the leverage are measured against.
    pub mid_or_mark: f64,
    /// Signed current position in base units (positive long). The check does not know the
    /// resting orders' quantities: add same-side open quantity for a worst-case bound.
    pub position: f64,
    /// Orders already open on the symbol (negative is an invalid order).
    pub open_orders: i64,
    /// Account equity in the quote asset, for the leverage limit.
    pub equity: f64,
    pub now_ns: i64,
    pub reduce_only: bool,
}

/// Timestamps of the last `capacity` orders: an order is allowed when fewer than `capacity`
/// orders went out in the second before it (a sliding window, as strict as any fixed window).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateWindow {
    capacity: usize,
    sent_ns: VecDeque<i64>,
}

const SECOND_NS: i64 = 1_000_000_000;

impl RateWindow {
    fn allows(&self, now_ns: i64) -> bool {
        self.sent_ns.len() < self.capacity
            || self
                .sent_ns
                .front()
                .is_some_and(|&t| now_ns.saturating_sub(t) >= SECOND_NS)
    }

    fn record(&mut self, now_ns: i64) {
        if self.sent_ns.len() >= self.capacity {
            self.sent_ns.pop_front();
        }
        self.sent_ns.push_back(now_ns);
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskEngine {
    limits: RiskLimits,
    filters: SymbolFilters,
    breaker: DrawdownBreaker,
    window: RateWindow,
}

impl RiskEngine {
    pub fn new(limits: RiskLimits, filters: SymbolFilters) -> CoreResult<RiskEngine> {
        limits.validate()?;
        filters.validate()?;
        let breaker = DrawdownBreaker::new(limits.reduce_drawdown, limits.halt_drawdown)?;
        let capacity = limits.max_orders_per_second as usize;
        Ok(RiskEngine {
            limits,
            filters,
            breaker,
            window: RateWindow {
                capacity,
                sent_ns: VecDeque::with_capacity(capacity),
            },
        })
    }

    pub fn limits(&self) -> &RiskLimits {
        &self.limits
    }

    pub fn filters(&self) -> &SymbolFilters {
        &self.filters
    }

    pub fn breaker(&self) -> &DrawdownBreaker {
        &self.breaker
    }

    pub fn state(&self) -> TradingState {
        self.breaker.state()
    }

    /// Feeds the breaker; returns the trading state after this equity value.
    pub fn update_equity(&mut self, equity: f64) -> CoreResult<TradingState> {
        self.breaker.update(equity)
    }

    /// Leaves REDUCING or HALTED (see `DrawdownBreaker::reset`).
    pub fn reset(&mut self, equity: Option<f64>) -> CoreResult<()> {
        self.breaker.reset(equity)
    }

    /// Counts an order that was sent at `now_ns` against the rate limit.
    pub fn record_order(&mut self, now_ns: i64) {
        self.window.record(now_ns);
    }

    /// `check`, then `record_order` when approved.
    pub fn check_and_record(&mut self, order: &OrderCheck) -> Decision {
        let decision = self.check(order);
        if decision.approved() {
            self.window.record(order.now_ns);
        }
        decision
    }

    pub fn check(&self, o: &OrderCheck) -> Decision {
        use RejectReason::*;
        let state = self.breaker.state();
        if state == TradingState::HALTED {
            return Decision::reject(HALTED, "trading is HALTED by the drawdown breaker".into());
        }
        let finite_pos = |v: f64| v.is_finite() && v > 0.0;
        if !finite_pos(o.quantity)
            || !finite_pos(o.price)
            || !finite_pos(o.mid_or_mark)
            || !o.position.is_finite()
            || !o.equity.is_finite()
            || o.open_orders < 0
        {
            return Decision::reject(
                INVALID_ORDER,
                format!(
                    "quantity, price and mid must be positive and finite, position and equity \
                     finite, open_orders not negative (quantity={}, price={}, mid={}, \
                     position={}, equity={}, open_orders={})",
                    o.quantity, o.price, o.mid_or_mark, o.position, o.equity, o.open_orders
                ),
            );
        }
        let raw_after = o.position + o.side.sign() as f64 * o.quantity;
        // Float noise (0.1 + 0.2 - 0.3) must not turn a full close into a flip: anything within
        // half a step of zero is flat.
        let after = if raw_after.abs() < 0.5 * self.filters.step.unit() {
            0.0
        } else {
            raw_after
        };
        // Moving toward zero without crossing it is the only exposure-reducing kind of order.
        let increases = after.abs() > o.position.abs() || after * o.position < 0.0;
        if increases && o.reduce_only {
            return Decision::reject(
                REDUCE_ONLY,
                format!(
                    "reduce-only order would take the position from {} to {after}",
                    o.position
                ),
            );
        }
        if increases && state == TradingState::REDUCING {
            return Decision::reject(
                REDUCING,
                format!(
                    "trading is REDUCING: only orders that shrink the position are allowed \
                     (position {} -> {after})",
                    o.position
                ),
            );
        }
        let f = &self.filters;
        let Some(ticks) = exact_units(&f.tick, o.price) else {
            return Decision::reject(
                PRICE_TICK,
                format!(
                    "price {} is not a multiple of the tick size {}",
                    o.price,
                    f.tick.unit()
                ),
            );
        };
        if ticks < f.min_price_ticks || ticks > f.max_price_ticks {
            return Decision::reject(
                PRICE_FILTER,
                format!(
                    "price {} is outside [{}, {}]",
                    o.price,
                    f.min_price(),
                    f.max_price().unwrap_or(f64::INFINITY)
                ),
            );
        }
        let Some(steps) = exact_units(&f.step, o.quantity) else {
            return Decision::reject(
                QUANTITY_STEP,
                format!(
                    "quantity {} is not a multiple of the step size {}",
                    o.quantity,
                    f.step.unit()
                ),
            );
        };
        if steps < f.min_qty_steps {
            return Decision::reject(
                MIN_QUANTITY,
                format!("quantity {} is below min_qty {}", o.quantity, f.min_qty()),
            );
        }
        if steps > f.max_qty_steps {
            return Decision::reject(
                MAX_QUANTITY,
                format!(
                    "quantity {} is above max_qty {}",
                    o.quantity,
                    f.max_qty().unwrap_or(f64::INFINITY)
                ),
            );
        }
        let notional = o.quantity * o.price;
        if notional < f.min_notional * (1.0 - 1e-12) {
            return Decision::reject(
                MIN_NOTIONAL,
                format!(
                    "notional {notional} is below min_notional {}",
                    f.min_notional
                ),
            );
        }
        let l = &self.limits;
        let band_bps = (o.price - o.mid_or_mark).abs() / o.mid_or_mark * 1e4;
        if band_bps > l.price_band_bps * (1.0 + 1e-12) {
            return Decision::reject(
                PRICE_BAND,
                format!(
                    "price {} is {band_bps:.2} bps from mid {}, band is {} bps",
                    o.price, o.mid_or_mark, l.price_band_bps
                ),
            );
        }
        if notional > l.max_order_notional * (1.0 + 1e-12) {
            return Decision::reject(
                MAX_ORDER_NOTIONAL,
                format!(
                    "notional {notional} is above max_order_notional {}",
                    l.max_order_notional
                ),
            );
        }
        if increases {
            if after.abs() > l.max_position * (1.0 + 1e-12) {
                return Decision::reject(
                    MAX_POSITION,
                    format!(
                        "position after the order {after} exceeds max_position {}",
                        l.max_position
                    ),
                );
            }
            let exposure = after.abs() * o.mid_or_mark;
            if o.equity <= 0.0 || exposure > l.max_leverage * o.equity * (1.0 + 1e-12) {
                return Decision::reject(
                    MAX_LEVERAGE,
                    format!(
                        "exposure {exposure} on equity {} exceeds max_leverage {}",
                        o.equity, l.max_leverage
                    ),
                );
            }
        }
        if o.open_orders >= i64::from(l.max_open_orders) {
            return Decision::reject(
                MAX_OPEN_ORDERS,
                format!(
                    "{} orders already open, max_open_orders is {}",
                    o.open_orders, l.max_open_orders
                ),
            );
        }
        if !self.window.allows(o.now_ns) {
            return Decision::reject(
                RATE_LIMIT,
                format!(
                    "{} orders in the last second, max_orders_per_second is {}",
                    self.window.capacity, l.max_orders_per_second
                ),
            );
        }
        Decision::APPROVED
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("risk engine state serializes")
    }

    pub fn from_json(raw: &str) -> CoreResult<RiskEngine> {
        let engine: RiskEngine = serde_json::from_str(raw)
            .map_err(|e| CoreError::invalid(format!("not a RiskEngine JSON: {e}")))?;
        engine.limits.validate()?;
        engine.filters.validate()?;
        engine.breaker.validate()?;
        if engine.breaker.reduce_drawdown() != engine.limits.reduce_drawdown
            || engine.breaker.halt_drawdown() != engine.limits.halt_drawdown
        {
            return Err(CoreError::invalid(
                "RiskEngine JSON: breaker drawdown levels differ from the limits'",
            ));
        }
        if engine.window.capacity != engine.limits.max_orders_per_second as usize
            || engine.window.sent_ns.len() > engine.window.capacity
        {
            return Err(CoreError::invalid(
                "RiskEngine JSON: rate window does not match max_orders_per_second",
            ));
        }
        Ok(engine)
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
