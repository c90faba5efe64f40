//! One order's life: status transitions, fills, fees.
//!
//! Invariants (`Order::validate`), checked on every change, at construction and on JSON read
//! back from disk:
//! - `0 <= filled <= quantity` (in steps); a fill past the quantity is `Overfill`; every sum
//!   (filled steps, notional, fees) is checked, so an overflow is `InvalidInput`, never a wrap.
//! - filled, notional and the per-asset fee totals are exactly the sums over `fills`; every
//!   fill has a positive quantity and price, a distinct trade id, and a price its limit allows
//!   (a limit BUY never fills above its price, a SELL never below).
//! - status follows `transition_allowed`; FILLED iff filled == quantity; PARTIALLY_FILLED iff
//!   0 < filled < quantity; PENDING_NEW, NEW and REJECTED have no fills; PENDING_CANCEL iff a
//!   status to return to is kept.
//! - a failed operation leaves the order exactly as it was (changes are built on a copy).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::client_id::validate_client_order_id;
use super::status::{transition_allowed, OrderStatus};
use crate::errors::{CoreError, CoreResult};
use crate::fixed::Grid;
use crate::types::{exact_units, OrderType, Side, SymbolFilters, TimeInForce};

/// Fees are kept exactly in units of 1e-10 of their asset (Binance reports at most 8 decimals).
pub const FEE_SCALE: f64 = 1e10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fill {
    pub trade_id: u64,
    pub qty_steps: i64,
    pub price_ticks: i64,
    pub fee_units: i64,
    pub fee_asset: Option<String>,
    pub time_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    pub(super) client_order_id: String,
    pub(super) symbol: String,
    pub(super) side: Side,
    pub(super) order_type: OrderType,
    pub(super) time_in_force: TimeInForce,
    pub(super) tick: Grid,
    pub(super) step: Grid,
    pub(super) quantity_steps: i64,
    pub(super) price_ticks: Option<i64>,
    pub(super) exchange_order_id: Option<u64>,
    pub(super) status: OrderStatus,
    /// Status to return to when a cancel request is rejected.
    pub(super) status_before_cancel: Option<OrderStatus>,
    pub(super) filled_steps: i64,
    /// Sum of price_ticks * qty_steps over fills: the exact filled notional.
    pub(super) notional: i128,
    pub(super) fees: BTreeMap<String, i64>,
    pub(super) trade_ids: BTreeSet<u64>,
    pub(super) fills: Vec<Fill>,
    pub(super) updated_ms: i64,
}

fn positive_units(grid: &Grid, value: f64, what: &str) -> CoreResult<i64> {
    if !value.is_finite() || value <= 0.0 {
        return Err(CoreError::invalid(format!(
            "{what} must be a positive finite number, got {value}"
        )));
    }
    exact_units(grid, value).filter(|&u| u > 0).ok_or_else(|| {
        CoreError::invalid(format!(
            "{what} {value} is not a positive multiple of {}",
            grid.unit()
        ))
    })
}

fn overflow(what: &str) -> CoreError {
    CoreError::invalid(format!("{what} overflows the fixed-point range"))
}

pub fn fee_units(fee: f64) -> CoreResult<i64> {
    if !fee.is_finite() || fee.abs() > 9.0e8 {
        return Err(CoreError::invalid(format!(
            "fee must be finite and below 9e8, got {fee}"
        )));
    }
    Ok((fee * FEE_SCALE).round() as i64)
}

impl Order {
    pub fn new(
        client_order_id: &str,
        filters: &SymbolFilters,
        side: Side,
        order_type: OrderType,
        quantity: f64,
        price: Option<f64>,
        time_in_force: TimeInForce,
    ) -> CoreResult<Order> {
        validate_client_order_id(client_order_id)?;
        let quantity_steps = positive_units(&filters.step, quantity, "quantity")?;
        let price_ticks = price
            .map(|p| positive_units(&filters.tick, p, "price"))
            .transpose()?;
        let order = Order {
            client_order_id: client_order_id.to_string(),
            symbol: filters.symbol.clone(),
            side,
            order_type,
            time_in_force,
            tick: filters.tick,
            step: filters.step,
            quantity_steps,
            price_ticks,
            exchange_order_id: None,
            status: OrderStatus::PENDING_NEW,
            status_before_cancel: None,
            filled_steps: 0,
            notional: 0,
            fees: BTreeMap::new(),
            trade_ids: BTreeSet::new(),
            fills: Vec::new(),
            updated_ms: 0,
        };
        order.validate()?;
        Ok(order)
    }

    pub fn client_order_id(&self) -> &str {
        &self.client_order_id
    }
    pub fn symbol(&self) -> &str {
        &self.symbol
    }
    pub fn side(&self) -> Side {
        self.side
    }
    pub fn order_type(&self) -> OrderType {
        self.order_type
    }
    pub fn time_in_force(&self) -> TimeInForce {
        self.time_in_force
    }
    pub fn status(&self) -> OrderStatus {
        self.status
    }
    pub fn exchange_order_id(&self) -> Option<u64> {
        self.exchange_order_id
    }
    pub fn quantity(&self) -> f64 {
        self.step.to_f64(self.quantity_steps)
    }
    pub fn price(&self) -> Option<f64> {
        self.price_ticks.map(|t| self.tick.to_f64(t))
    }
    pub fn filled_qty(&self) -> f64 {
        self.step.to_f64(self.filled_steps)
    }
    pub fn filled_steps(&self) -> i64 {
        self.filled_steps
    }
    pub fn quantity_steps(&self) -> i64 {
        self.quantity_steps
    }
    pub fn remaining_qty(&self) -> f64 {
        // validate() keeps 0 <= filled <= quantity, so this cannot overflow.
        self.step.to_f64(self.quantity_steps - self.filled_steps)
    }
    pub fn fills(&self) -> &[Fill] {
        &self.fills
    }
    pub fn updated_ms(&self) -> i64 {
        self.updated_ms
    }

    /// Volume-weighted average fill price, None before the first fill. Computed from the exact
    /// tick-step sum, so two fills of equal size at 100.00 and 101.00 give exactly 100.5.
    pub fn average_price(&self) -> Option<f64> {
        (self.filled_steps > 0).then(|| {
            // Whole ticks convert exactly (decimal division); only the remainder is a float.
            let filled = i128::from(self.filled_steps);
            let whole = i64::try_from(self.notional / filled).unwrap_or(i64::MAX);
            let rest = (self.notional % filled) as f64 / filled as f64;
            self.tick.to_f64(whole) + rest * self.tick.unit()
        })
    }

    /// price * quantity summed over fills, in the quote asset.
    pub fn filled_notional(&self) -> f64 {
        self.notional as f64 * self.tick.unit() * self.step.unit()
    }

    pub fn fees(&self) -> BTreeMap<String, f64> {
        self.fees
            .iter()
            .map(|(k, &v)| (k.clone(), v as f64 / FEE_SCALE))
            .collect()
    }

    /// Moves to `to`; `Ok(false)` when already there. FILLED and PARTIALLY_FILLED must agree
    /// with the fills received: a status cannot claim quantity that no fill delivered.
    pub fn transition(&mut self, to: OrderStatus) -> CoreResult<bool> {
        if to == self.status {
            return Ok(false);
        }
        let illegal = |why: &str| {
            CoreError::InvalidTransition(format!(
                "order {}: {} -> {} is not allowed{why}",
                self.client_order_id,
                self.status.as_str(),
                to.as_str()
            ))
        };
        if !transition_allowed(self.status, to) {
            return Err(illegal(""));
        }
        match to {
            OrderStatus::FILLED if self.filled_steps != self.quantity_steps => {
                return Err(illegal(&format!(
                    " (filled {} of {})",
                    self.filled_qty(),
                    self.quantity()
                )));
            }
            OrderStatus::PARTIALLY_FILLED
                if self.filled_steps == 0 || self.filled_steps == self.quantity_steps =>
            {
                return Err(illegal(&format!(
                    " (filled {} of {})",
                    self.filled_qty(),
                    self.quantity()
                )));
            }
            OrderStatus::NEW if self.filled_steps > 0 => {
                return Err(illegal(" (the order already has fills)"));
            }
            _ => {}
        }
        let mut next = self.clone();
        next.status_before_cancel = if to == OrderStatus::PENDING_CANCEL {
            Some(self.status)
        } else {
            None
        };
        next.status = to;
        next.validate()?;
        *self = next;
        Ok(true)
    }

    /// The exchange accepted the order (a REST / WebSocket API response carrying its id):
    /// records the id and moves PENDING_NEW to NEW. `Ok(false)` when nothing changes.
    pub fn acknowledge(&mut self, exchange_order_id: u64) -> CoreResult<bool> {
        if let Some(known) = self.exchange_order_id {
            if known != exchange_order_id {
                return Err(CoreError::invalid(format!(
                    "order {} already has exchange id {known}, not {exchange_order_id}",
                    self.client_order_id
                )));
            }
        }
        let mut changed = self.exchange_order_id.is_none();
        self.exchange_order_id = Some(exchange_order_id);
        if self.status == OrderStatus::PENDING_NEW {
            self.status = OrderStatus::NEW;
            changed = true;
        }
        Ok(changed)
    }

    /// The exchange refused a cancel request: back to the status before PENDING_CANCEL.
    pub fn cancel_rejected(&mut self) -> CoreResult<()> {
        let back = match (self.status, self.status_before_cancel) {
            (OrderStatus::PENDING_CANCEL, Some(prev)) => prev,
            _ => {
                return Err(CoreError::InvalidTransition(format!(
                    "order {} is {}, not PENDING_CANCEL",
                    self.client_order_id,
                    self.status.as_str()
                )))
            }
        };
        // Fills may have arrived while the cancel was pending.
        let back = if self.filled_steps > 0 && back == OrderStatus::NEW {
            OrderStatus::PARTIALLY_FILLED
        } else {
            back
        };
        self.status = back;
        self.status_before_cancel = None;
        Ok(())
    }

    /// Applies a fill; `Ok(false)` for a trade id already applied (nothing changes).
    pub fn apply_fill(&mut self, fill: Fill) -> CoreResult<bool> {
        if self.trade_ids.contains(&fill.trade_id) {
            return Ok(false);
        }
        if self.status.is_terminal() {
            return Err(CoreError::InvalidTransition(format!(
                "order {} is {}: it cannot receive fill {}",
                self.client_order_id,
                self.status.as_str(),
                fill.trade_id
            )));
        }
        if fill.qty_steps <= 0 || fill.price_ticks <= 0 {
            return Err(CoreError::invalid(format!(
                "fill {} needs a positive quantity and price",
                fill.trade_id
            )));
        }
        if !self.limit_allows(fill.price_ticks) {
            return Err(CoreError::invalid(format!(
                "order {}: fill {} at {} is outside the {} limit {}",
                self.client_order_id,
                fill.trade_id,
                self.tick.format(fill.price_ticks),
                self.side.as_str(),
                self.price_ticks
                    .map(|t| self.tick.format(t))
                    .unwrap_or_default()
            )));
        }
        let filled = self
            .filled_steps
            .checked_add(fill.qty_steps)
            .ok_or_else(|| overflow("filled quantity"))?;
        if filled > self.quantity_steps {
            return Err(CoreError::Overfill(format!(
                "order {}: fill {} of {} would take filled to {} of {}",
                self.client_order_id,
                fill.trade_id,
                self.step.to_f64(fill.qty_steps),
                self.step.to_f64(filled),
                self.quantity()
            )));
        }
        let notional = self
            .notional
            .checked_add(i128::from(fill.price_ticks) * i128::from(fill.qty_steps))
            .ok_or_else(|| overflow("filled notional"))?;
        let fee_total = match &fill.fee_asset {
            Some(asset) => Some(
                self.fees
                    .get(asset)
                    .copied()
                    .unwrap_or(0)
                    .checked_add(fill.fee_units)
                    .ok_or_else(|| overflow("fee total"))?,
            ),
            None => None,
        };
        // Nothing has changed so far; from here on nothing can fail.
        self.filled_steps = filled;
        self.notional = notional;
        if let (Some(asset), Some(total)) = (&fill.fee_asset, fee_total) {
            self.fees.insert(asset.clone(), total);
        }
        self.updated_ms = self.updated_ms.max(fill.time_ms);
        self.trade_ids.insert(fill.trade_id);
        self.fills.push(fill);
        let complete = filled == self.quantity_steps;
        match self.status {
            OrderStatus::PENDING_CANCEL => {
                let prev = if complete {
                    self.status = OrderStatus::FILLED;
                    None
                } else {
                    Some(OrderStatus::PARTIALLY_FILLED)
                };
                self.status_before_cancel = prev;
            }
            _ if complete => self.status = OrderStatus::FILLED,
            _ => self.status = OrderStatus::PARTIALLY_FILLED,
        }
        Ok(true)
    }

    /// A fill given in floats (converted exactly to the order's grids).
    #[allow(clippy::too_many_arguments)]
    pub fn apply_fill_f64(
        &mut self,
        trade_id: u64,
        quantity: f64,
        price: f64,
        fee: f64,
        fee_asset: Option<&str>,
        time_ms: i64,
    ) -> CoreResult<bool> {
        if self.trade_ids.contains(&trade_id) {
            return Ok(false);
        }
        let fill = Fill {
            trade_id,
            qty_steps: positive_units(&self.step, quantity, "fill quantity")?,
            price_ticks: positive_units(&self.tick, price, "fill price")?,
            fee_units: fee_units(fee)?,
            fee_asset: fee_asset.map(str::to_string),
            time_ms,
        };
        self.apply_fill(fill)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("order serializes")
    }

    pub fn from_json(raw: &str) -> CoreResult<Order> {
        let order: Order = serde_json::from_str(raw)
            .map_err(|e| CoreError::invalid(format!("not an Order JSON: {e}")))?;
        order.validate()?;
        Ok(order)
    }
}

#[cfg(test)]
#[path = "order_tests.rs"]
mod tests;
