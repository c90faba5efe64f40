//! Position sizing and protective levels from the model's predicted return and volatility.
//!
//! Units: `mu` and `sigma` are the predicted mean and standard deviation of the simple return
//! over one and the same horizon; `target_vol` is a volatility over that horizon too. Leverage
//! is position notional / equity. Every size is rounded toward zero to the step size, so it
//! never exceeds any cap; a size the exchange would refuse (below min qty or notional) is 0.

use serde::{Deserialize, Serialize};

use crate::errors::{CoreError, CoreResult};
use crate::types::{ceil_units, floor_units, Side, SymbolFilters};

fn check(name: &str, value: f64, positive: bool) -> CoreResult<f64> {
    if !value.is_finite() || (positive && value <= 0.0) {
        let what = if positive {
            "a positive finite number"
        } else {
            "finite"
        };
        return Err(CoreError::invalid(format!(
            "{name} must be {what}, got {value}"
        )));
    }
    Ok(value)
}

/// Fractional Kelly leverage `fraction * mu / sigma^2` (signed like `mu`).
pub fn kelly_leverage(mu: f64, sigma: f64, fraction: f64) -> CoreResult<f64> {
    check("mu", mu, false)?;
    check("sigma", sigma, true)?;
    check("fraction", fraction, true)?;
    Ok(fraction * mu / (sigma * sigma))
}

/// Volatility-targeting leverage `target_vol / predicted_vol` (non-negative).
pub fn vol_target_leverage(target_vol: f64, predicted_vol: f64) -> CoreResult<f64> {
    check("target_vol", target_vol, true)?;
    check("predicted_vol", predicted_vol, true)?;
    Ok(target_vol / predicted_vol)
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PositionSizer {
    filters: SymbolFilters,
    /// Fraction of full Kelly, in (0, 1].
    kelly_fraction: f64,
    target_vol: f64,
    max_leverage: f64,
    /// Stop-loss distance in predicted sigmas.
    k_sl: f64,
    /// Take-profit distance in predicted sigmas.
    k_tp: f64,
}

impl PositionSizer {
    /// Reads `serde_json` text back through `new`'s checks (unknown fields refused).
    pub fn from_json(raw: &str) -> CoreResult<PositionSizer> {
        let s: PositionSizer = serde_json::from_str(raw)
            .map_err(|e| CoreError::invalid(format!("not a PositionSizer JSON: {e}")))?;
        s.filters.validate()?;
        PositionSizer::new(
            s.filters,
            s.kelly_fraction,
            s.target_vol,
            s.max_leverage,
            s.k_sl,
            s.k_tp,
        )
    }

    pub fn new(
        filters: SymbolFilters,
        kelly_fraction: f64,
        target_vol: f64,
        max_leverage: f64,
        k_sl: f64,
        k_tp: f64,
    ) -> CoreResult<PositionSizer> {
        check("kelly_fraction", kelly_fraction, true)?;
        if kelly_fraction > 1.0 {
            return Err(CoreError::invalid(format!(
                "kelly_fraction must be in (0, 1], got {kelly_fraction}"
            )));
        }
        check("target_vol", target_vol, true)?;
        check("max_leverage", max_leverage, true)?;
        check("k_sl", k_sl, true)?;
        check("k_tp", k_tp, true)?;
        Ok(PositionSizer {
            filters,
            kelly_fraction,
            target_vol,
            max_leverage,
            k_sl,
            k_tp,
        })
    }

    pub fn filters(&self) -> &SymbolFilters {
        &self.filters
    }

    pub fn params(&self) -> (f64, f64, f64, f64, f64) {
        (
            self.kelly_fraction,
            self.target_vol,
            self.max_leverage,
            self.k_sl,
            self.k_tp,
        )
    }

    /// Target leverage: the smallest of fractional Kelly, the volatility target and the cap,
    /// with the sign of `mu`.
    pub fn leverage(&self, mu: f64, sigma: f64) -> CoreResult<f64> {
        let kelly = kelly_leverage(mu, sigma, self.kelly_fraction)?;
        let vol = vol_target_leverage(self.target_vol, sigma)?;
        Ok(kelly.signum() * kelly.abs().min(vol).min(self.max_leverage))
    }

    /// Target signed position in base units, a multiple of the step size (0 when not tradable).
    pub fn size(&self, mu: f64, sigma: f64, equity: f64, price: f64) -> CoreResult<f64> {
        check("equity", equity, false)?;
        check("price", price, true)?;
        let leverage = self.leverage(mu, sigma)?;
        if equity <= 0.0 || leverage == 0.0 {
            return Ok(0.0);
        }
        let f = &self.filters;
        let raw = leverage.abs() * equity / price;
        let mut steps = floor_units(&f.step, raw)?.min(f.max_qty_steps);
        // A value within float noise of a multiple snaps to it; never above the exact cap.
        if steps > 0 && f.step.to_f64(steps) > raw {
            steps -= 1;
        }
        if steps < f.min_qty_steps || f.step.to_f64(steps) * price < f.min_notional {
            return Ok(0.0);
        }
        Ok(leverage.signum() * f.step.to_f64(steps))
    }

    /// (stop-loss, take-profit) for a position entered at `entry` on `side`, at `k_sl * sigma`
    /// and `k_tp * sigma` relative moves, rounded to the tick toward the entry (a smaller loss,
    /// a take-profit that is reached sooner) and at least one tick away from it.
    pub fn stops(&self, side: Side, entry: f64, sigma: f64) -> CoreResult<(f64, f64)> {
        check("entry", entry, true)?;
        check("sigma", sigma, true)?;
        let tick = &self.filters.tick;
        let sign = side.sign() as f64;
        let sl = entry * (1.0 - sign * self.k_sl * sigma);
        let tp = entry * (1.0 + sign * self.k_tp * sigma);
        let floor = |v: f64| floor_units(tick, v);
        let ceil = |v: f64| ceil_units(tick, v);
        let entry_floor = floor(entry)?;
        let entry_ceil = ceil(entry)?;
        let (sl_ticks, tp_ticks) = match side {
            Side::BUY => (
                ceil(sl)?.min(entry_ceil - 1),
                floor(tp)?.max(entry_floor + 1),
            ),
            Side::SELL => (
                floor(sl)?.max(entry_floor + 1),
                ceil(tp)?.min(entry_ceil - 1),
            ),
        };
        if sl_ticks <= 0 || tp_ticks <= 0 {
            return Err(CoreError::invalid(format!(
                "protective levels for entry {entry} and sigma {sigma} reach zero or below \
                 (k_sl={}, k_tp={})",
                self.k_sl, self.k_tp
            )));
        }
        Ok((tick.to_f64(sl_ticks), tick.to_f64(tp_ticks)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Decimal, FilterSpec};
    use proptest::prelude::*;

    fn sizer() -> PositionSizer {
        let spec = FilterSpec {
            tick_size: Decimal::Text("0.01".into()),
            step_size: Decimal::Text("0.001".into()),
            min_qty: Decimal::Text("0.001".into()),
            min_notional: Decimal::Text("5".into()),
            max_qty: Decimal::Text("1000".into()),
            min_price: Decimal::Text("0".into()),
            max_price: Decimal::Text("0".into()),
        };
        let f = SymbolFilters::new("BTCUSDT", &spec).unwrap();
        PositionSizer::new(f, 0.5, 0.02, 2.0, 2.0, 3.0).unwrap()
    }

    #[test]
    fn hand_computed_sizes() {
        let s = sizer();
        // Kelly 0.5 * 0.001 / 0.01^2 = 5; vol target 0.02 / 0.01 = 2; cap 2 -> 2x.
        assert_eq!(s.leverage(0.001, 0.01).unwrap(), 2.0);
        // Kelly 0.5 * 0.0001 / 0.0001 = 0.5 is the smallest.
        assert_eq!(s.leverage(-0.0001, 0.01).unwrap(), -0.5);
        // 0.5 * 10000 / 30000 = 0.16666 -> 0.166 long.
        assert_eq!(s.size(0.0001, 0.01, 10_000.0, 30_000.0).unwrap(), 0.166);
        assert_eq!(s.size(-0.0001, 0.01, 10_000.0, 30_000.0).unwrap(), -0.166);
        assert_eq!(s.size(0.0, 0.01, 10_000.0, 30_000.0).unwrap(), 0.0);
        // Below min notional: 0.5 * 5 / 30000 rounds to 0 steps.
        assert_eq!(s.size(0.0001, 0.01, 5.0, 30_000.0).unwrap(), 0.0);
        assert!(s.size(0.0001, 0.0, 10_000.0, 30_000.0).is_err());
        assert!(s.size(f64::NAN, 0.01, 10_000.0, 30_000.0).is_err());
    }

    #[test]
    fn stops_round_toward_entry() {
        let s = sizer();
        // long at 100, sigma 1%: SL 98 - tiny -> 98.00 (up), TP 103.
        let (sl, tp) = s.stops(Side::BUY, 100.0, 0.01).unwrap();
        assert_eq!((sl, tp), (98.0, 103.0));
        let (sl, tp) = s.stops(Side::BUY, 100.003, 0.01).unwrap();
        assert_eq!((sl, tp), (98.01, 103.0)); // 98.00294 up, 103.00309 down
        let (sl, tp) = s.stops(Side::SELL, 100.003, 0.01).unwrap();
        assert_eq!((sl, tp), (102.0, 97.01)); // 102.00306 down, 97.00291 up
        let (sl, tp) = s.stops(Side::BUY, 100.0, 1e-9).unwrap();
        assert_eq!((sl, tp), (99.99, 100.01));
        assert!(s.stops(Side::BUY, 100.0, 0.6).is_err());
        // 24988.049976 is 0.9976 ticks above 24988.04: floor, not a tolerance that rounds up.
        let (sl, _) = s.stops(Side::SELL, 24988.0, 1e-6).unwrap();
        assert_eq!(sl, 24988.04);
    }

    proptest! {
        #[test]
        fn size_never_exceeds_caps(
            mu in -0.01f64..0.01,
            sigma in 0.0005f64..0.1,
            equity in 0.0f64..1e7,
            price in 1.0f64..100_000.0,
        ) {
            let s = sizer();
            let q = s.size(mu, sigma, equity, price).unwrap();
            let steps = (q / 0.001).round();
            prop_assert!((q / 0.001 - steps).abs() < 1e-6);
            let lev = q.abs() * price / equity.max(1e-300);
            prop_assert!(lev <= 2.0 * (1.0 + 1e-9));
            prop_assert!(lev <= 0.02 / sigma * (1.0 + 1e-9));
            prop_assert!(lev <= 0.5 * mu.abs() / (sigma * sigma) * (1.0 + 1e-9));
            prop_assert!(q.abs() <= 1000.0);
            prop_assert!(q == 0.0 || q.signum() == mu.signum());
        }
    }
}
