//! Risk limits chosen by the user (the exchange's filters are `crate::types::SymbolFilters`).
//!
//! Invariant: a constructed `RiskLimits` is valid (finite, positive limits, drawdown levels
//! ordered), so the hot-path check never re-validates it.

use serde::{Deserialize, Serialize};

use crate::errors::{CoreError, CoreResult};

/// The user's pre-trade limits. Notional values are in the quote asset, positions in the base.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskLimits {
    /// Largest `quantity * price` of one order.
    pub max_order_notional: f64,
    /// Largest |position| after an order fills, in base units.
    pub max_position: f64,
    /// Largest |position after| * mid / equity.
    pub max_leverage: f64,
    /// Orders already open on the symbol at or above which a new one is refused.
    pub max_open_orders: u32,
    /// Orders allowed in any sliding one-second window.
    pub max_orders_per_second: u32,
    /// Largest distance of a limit price from the mid (or mark) price, in basis points.
    pub price_band_bps: f64,
    /// Drawdown from the equity high-water mark (a fraction, 0.05 = 5%) that enters REDUCING.
    pub reduce_drawdown: f64,
    /// Drawdown that enters HALTED; at least `reduce_drawdown`.
    pub halt_drawdown: f64,
}

fn positive(name: &str, value: f64) -> CoreResult<()> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(CoreError::invalid(format!(
            "{name} must be a positive finite number, got {value}"
        )))
    }
}

impl RiskLimits {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        max_order_notional: f64,
        max_position: f64,
        max_leverage: f64,
        max_open_orders: u32,
        max_orders_per_second: u32,
        price_band_bps: f64,
        reduce_drawdown: f64,
        halt_drawdown: f64,
    ) -> CoreResult<RiskLimits> {
        let limits = RiskLimits {
            max_order_notional,
            max_position,
            max_leverage,
            max_open_orders,
            max_orders_per_second,
            price_band_bps,
            reduce_drawdown,
            halt_drawdown,
        };
        limits.validate()?;
        Ok(limits)
    }

    /// Reads `to_json` text back through `validate` (unknown fields refused).
    pub fn from_json(raw: &str) -> CoreResult<RiskLimits> {
        let limits: RiskLimits = serde_json::from_str(raw)
            .map_err(|e| CoreError::invalid(format!("not a RiskLimits JSON: {e}")))?;
        limits.validate()?;
        Ok(limits)
    }

    /// Checks every field; also run on JSON read back from disk.
    pub fn validate(&self) -> CoreResult<()> {
        positive("max_order_notional", self.max_order_notional)?;
        positive("max_position", self.max_position)?;
        positive("max_leverage", self.max_leverage)?;
        positive("price_band_bps", self.price_band_bps)?;
        positive("reduce_drawdown", self.reduce_drawdown)?;
        positive("halt_drawdown", self.halt_drawdown)?;
        if self.max_open_orders == 0 {
            return Err(CoreError::invalid("max_open_orders must be at least 1"));
        }
        if self.max_orders_per_second == 0 || self.max_orders_per_second > 100_000 {
            return Err(CoreError::invalid(format!(
                "max_orders_per_second must be between 1 and 100000, got {}",
                self.max_orders_per_second
            )));
        }
        if self.halt_drawdown > 1.0 || self.reduce_drawdown > self.halt_drawdown {
            return Err(CoreError::invalid(format!(
                "drawdown levels must satisfy 0 < reduce_drawdown ({}) <= halt_drawdown ({}) <= 1",
                self.reduce_drawdown, self.halt_drawdown
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> RiskLimits {
        RiskLimits::new(10_000.0, 1.0, 3.0, 10, 5, 50.0, 0.05, 0.1).unwrap()
    }

    #[test]
    fn limits_validate_every_field() {
        limits();
        assert!(RiskLimits::new(f64::NAN, 1.0, 3.0, 10, 5, 50.0, 0.05, 0.1).is_err());
        assert!(RiskLimits::new(1.0, -1.0, 3.0, 10, 5, 50.0, 0.05, 0.1).is_err());
        assert!(RiskLimits::new(1.0, 1.0, f64::INFINITY, 10, 5, 50.0, 0.05, 0.1).is_err());
        assert!(RiskLimits::new(1.0, 1.0, 3.0, 0, 5, 50.0, 0.05, 0.1).is_err());
        assert!(RiskLimits::new(1.0, 1.0, 3.0, 10, 0, 50.0, 0.05, 0.1).is_err());
        assert!(RiskLimits::new(1.0, 1.0, 3.0, 10, 5, 0.0, 0.05, 0.1).is_err());
        assert!(RiskLimits::new(1.0, 1.0, 3.0, 10, 5, 50.0, 0.2, 0.1).is_err());
        assert!(RiskLimits::new(1.0, 1.0, 3.0, 10, 5, 50.0, 0.05, 1.5).is_err());
    }
}
