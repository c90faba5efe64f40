//! Position accounting for one symbol: signed quantity, average entry, realized and unrealized
//! PnL, fees.
//!
//! Invariants: the quantity is an exact count of steps, so a position closed by the same
//! quantity it was opened with is exactly flat (and its cost exactly 0); `cost` is the signed
//! entry value (quantity * average entry), so the average entry never drifts on partial closes.
//! A fill that crosses zero closes the old side at its average entry and opens the rest at the
//! fill price. Quantities are the traded ones: a fee charged in the base asset is recorded in
//! `fees` but not deducted from the quantity (reconcile balances for that). Fees in the quote
//! asset are subtracted in `net_realized_pnl`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::errors::{CoreError, CoreResult};
use crate::fixed::Grid;
use crate::types::{exact_units, Side, SymbolFilters};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Position {
    symbol: String,
    step: Grid,
    quote_asset: Option<String>,
    qty_steps: i64,
    /// Signed quantity * average entry, in the quote asset.
    cost: f64,
    realized: f64,
    fees: BTreeMap<String, f64>,
    fills: u64,
}

impl Position {
    pub fn new(filters: &SymbolFilters, quote_asset: Option<&str>) -> Position {
        Position {
            symbol: filters.symbol.clone(),
            step: filters.step,
            quote_asset: quote_asset
                .map(str::to_string)
                .or_else(|| filters.quote_asset.clone()),
            qty_steps: 0,
            cost: 0.0,
            realized: 0.0,
            fees: BTreeMap::new(),
            fills: 0,
        }
    }

    pub fn symbol(&self) -> &str {
        &self.symbol
    }
    pub fn quote_asset(&self) -> Option<&str> {
        self.quote_asset.as_deref()
    }
    pub fn quantity(&self) -> f64 {
        self.step.to_f64(self.qty_steps)
    }
    pub fn quantity_steps(&self) -> i64 {
        self.qty_steps
    }
    pub fn is_flat(&self) -> bool {
        self.qty_steps == 0
    }
    pub fn realized_pnl(&self) -> f64 {
        self.realized
    }
    pub fn fill_count(&self) -> u64 {
        self.fills
    }
    pub fn fees(&self) -> &BTreeMap<String, f64> {
        &self.fees
    }

    /// Average entry price of the open quantity, None when flat.
    pub fn average_entry(&self) -> Option<f64> {
        (self.qty_steps != 0).then(|| self.cost / self.quantity())
    }

    pub fn unrealized_pnl(&self, mark: f64) -> f64 {
        self.quantity() * mark - self.cost
    }

    /// Signed position value at `mark` (quote asset).
    pub fn notional(&self, mark: f64) -> f64 {
        self.quantity() * mark
    }

    /// |position value| at `mark`.
    pub fn exposure(&self, mark: f64) -> f64 {
        self.notional(mark).abs()
    }

    /// Realized PnL less the fees paid in the quote asset.
    pub fn net_realized_pnl(&self) -> f64 {
        let quote_fees = self
            .quote_asset
            .as_ref()
            .and_then(|q| self.fees.get(q))
            .copied()
            .unwrap_or(0.0);
        self.realized - quote_fees
    }

    /// Applies a fill; returns the PnL it realized (0 for a fill that only adds).
    pub fn apply_fill(
        &mut self,
        side: Side,
        quantity: f64,
        price: f64,
        fee: f64,
        fee_asset: Option<&str>,
    ) -> CoreResult<f64> {
        if !quantity.is_finite() || quantity <= 0.0 || !price.is_finite() || price <= 0.0 {
            return Err(CoreError::invalid(format!(
                "fill quantity and price must be positive and finite, got {quantity} @ {price}"
            )));
        }
        if !fee.is_finite() {
            return Err(CoreError::invalid(format!("fee must be finite, got {fee}")));
        }
        let steps = exact_units(&self.step, quantity)
            .filter(|&s| s > 0)
            .ok_or_else(|| {
                CoreError::invalid(format!(
                    "fill quantity {quantity} is not a positive multiple of the step {}",
                    self.step.unit()
                ))
            })?;
        let delta = side.sign() * steps;
        let before = self.qty_steps;
        let after = before
            .checked_add(delta)
            .ok_or_else(|| CoreError::invalid("position quantity overflows".to_string()))?;
        let mut realized = 0.0;
        let cost = if before == 0 || (before > 0) == (delta > 0) {
            self.cost + self.step.to_f64(delta) * price
        } else {
            let closing = steps.min(before.abs());
            let average = self.cost / self.step.to_f64(before);
            // Long closes earn price - average per unit, shorts the opposite.
            let sign = before.signum() as f64;
            realized = self.step.to_f64(closing) * (price - average) * sign;
            if after == 0 {
                0.0
            } else if (after > 0) == (before > 0) {
                average * self.step.to_f64(after)
            } else {
                self.step.to_f64(after) * price
            }
        };
        let total_realized = self.realized + realized;
        let fee_total = match fee_asset {
            Some(asset) if fee != 0.0 => {
                Some((asset, self.fees.get(asset).copied().unwrap_or(0.0) + fee))
            }
            _ => None,
        };
        // Float accumulation is checked like the integer sums: a value that is no longer finite
        // is refused before anything changes.
        if !cost.is_finite()
            || !realized.is_finite()
            || !total_realized.is_finite()
            || fee_total.is_some_and(|(_, f)| !f.is_finite())
        {
            return Err(CoreError::invalid(format!(
                "position {}: fill {quantity} @ {price} (fee {fee}) overflows its cost, PnL or fees",
                self.symbol
            )));
        }
        self.qty_steps = after;
        self.cost = cost;
        self.realized = total_realized;
        if let Some((asset, total)) = fee_total {
            self.fees.insert(asset.to_string(), total);
        }
        self.fills += 1;
        Ok(realized)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("position serializes")
    }

    pub fn from_json(raw: &str) -> CoreResult<Position> {
        let p: Position = serde_json::from_str(raw)
            .map_err(|e| CoreError::invalid(format!("not a Position JSON: {e}")))?;
        p.validate()?;
        Ok(p)
    }

    /// What every `apply_fill` keeps: finite cost, PnL and fees, no cost when flat.
    pub fn validate(&self) -> CoreResult<()> {
        if self.symbol.is_empty() {
            return Err(CoreError::invalid("position has an empty symbol"));
        }
        if !self.cost.is_finite()
            || !self.realized.is_finite()
            || (self.qty_steps == 0 && self.cost != 0.0)
            || self.fees.values().any(|f| !f.is_finite())
        {
            return Err(CoreError::invalid(format!(
                "position {} is inconsistent: cost {} for quantity {}, realized {}, fees {:?}",
                self.symbol,
                self.cost,
                self.quantity(),
                self.realized,
                self.fees
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Decimal, FilterSpec};
    use proptest::prelude::*;

    fn position() -> Position {
        let spec = FilterSpec {
            tick_size: Decimal::Text("0.01".into()),
            step_size: Decimal::Text("0.001".into()),
            min_qty: Decimal::Text("0.001".into()),
            min_notional: Decimal::Text("0".into()),
            max_qty: Decimal::Text("0".into()),
            min_price: Decimal::Text("0".into()),
            max_price: Decimal::Text("0".into()),
        };
        Position::new(&SymbolFilters::new("BTCUSDT", &spec).unwrap(), Some("USDT"))
    }

    #[test]
    fn flip_long_to_short() {
        let mut p = position();
        p.apply_fill(Side::BUY, 1.0, 100.0, 0.1, Some("USDT"))
            .unwrap();
        p.apply_fill(Side::BUY, 1.0, 110.0, 0.11, Some("USDT"))
            .unwrap();
        assert_eq!(p.average_entry(), Some(105.0));
        // Sell 3 at 120: closes 2 long (+30), opens 1 short at 120.
        let r = p
            .apply_fill(Side::SELL, 3.0, 120.0, 0.36, Some("USDT"))
            .unwrap();
        assert_eq!(r, 30.0);
        assert_eq!(p.quantity(), -1.0);
        assert_eq!(p.average_entry(), Some(120.0));
        assert_eq!(p.unrealized_pnl(100.0), 20.0);
        assert!((p.net_realized_pnl() - (30.0 - 0.57)).abs() < 1e-12);
        p.apply_fill(Side::BUY, 1.0, 90.0, 0.0, None).unwrap();
        assert!(p.is_flat());
        assert_eq!(p.realized_pnl(), 60.0);
        assert_eq!(p.average_entry(), None);
    }

    proptest! {
        #[test]
        fn round_trips_are_flat_and_pnl_adds_up(
            fills in proptest::collection::vec((any::<bool>(), 1i64..5_000, 9_000i64..11_000), 1..30),
        ) {
            let mut p = position();
            let mut cash = 0.0;
            for (buy, steps, ticks) in &fills {
                let side = if *buy { Side::BUY } else { Side::SELL };
                let q = *steps as f64 / 1000.0;
                let px = *ticks as f64 / 100.0;
                p.apply_fill(side, q, px, 0.0, None).unwrap();
                cash -= side.sign() as f64 * q * px;
            }
            // Closing at the last price: realized + unrealized equals the cash flow.
            let mark = fills.last().unwrap().2 as f64 / 100.0;
            let total = p.realized_pnl() + p.unrealized_pnl(mark);
            let expected = cash + p.quantity() * mark;
            prop_assert!((total - expected).abs() < 1e-6 * (1.0 + expected.abs()));
            let back = Position::from_json(&p.to_json()).unwrap();
            prop_assert_eq!(back, p);
        }
    }
}
