//! Drawdown circuit breaker.
//!
//! Invariant: the state only moves forward (ACTIVE -> REDUCING -> HALTED) until `reset`; a
//! recovery of equity never re-opens trading by itself, a person (or the operator's code) must.

use serde::{Deserialize, Serialize};

use crate::errors::{CoreError, CoreResult};

/// What the risk engine lets through: everything, only exposure-reducing orders, or nothing.
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(eq, eq_int, hash, frozen, from_py_object, module = "gradtrade._core")
)]
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum TradingState {
    #[default]
    ACTIVE,
    REDUCING,
    HALTED,
}

impl TradingState {
    pub fn name(self) -> &'static str {
        match self {
            TradingState::ACTIVE => "ACTIVE",
            TradingState::REDUCING => "REDUCING",
            TradingState::HALTED => "HALTED",
        }
    }
}

/// Follows equity against its high-water mark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrawdownBreaker {
    reduce_drawdown: f64,
    halt_drawdown: f64,
    /// Highest equity seen since construction or the last reset (0 before the first update).
    high_water_mark: f64,
    last_equity: Option<f64>,
    state: TradingState,
}

impl DrawdownBreaker {
    pub fn new(reduce_drawdown: f64, halt_drawdown: f64) -> CoreResult<DrawdownBreaker> {
        let ok = |v: f64| v.is_finite() && v > 0.0 && v <= 1.0;
        if !ok(reduce_drawdown) || !ok(halt_drawdown) || reduce_drawdown > halt_drawdown {
            return Err(CoreError::invalid(format!(
                "drawdown levels must satisfy 0 < reduce_drawdown ({reduce_drawdown}) <= \
                 halt_drawdown ({halt_drawdown}) <= 1"
            )));
        }
        Ok(DrawdownBreaker {
            reduce_drawdown,
            halt_drawdown,
            high_water_mark: 0.0,
            last_equity: None,
            state: TradingState::ACTIVE,
        })
    }

    pub fn state(&self) -> TradingState {
        self.state
    }

    pub fn high_water_mark(&self) -> f64 {
        self.high_water_mark
    }

    pub fn reduce_drawdown(&self) -> f64 {
        self.reduce_drawdown
    }

    pub fn halt_drawdown(&self) -> f64 {
        self.halt_drawdown
    }

    /// Current drawdown from the high-water mark, a fraction (0 before the first update).
    pub fn drawdown(&self) -> f64 {
        match self.last_equity {
            Some(e) if self.high_water_mark > 0.0 => {
                ((self.high_water_mark - e) / self.high_water_mark).max(0.0)
            }
            Some(e) if e < self.high_water_mark => 1.0,
            _ => 0.0,
        }
    }

    /// Records an equity value (quote asset) and returns the state after it.
    pub fn update(&mut self, equity: f64) -> CoreResult<TradingState> {
        if !equity.is_finite() {
            return Err(CoreError::invalid(format!(
                "equity must be finite, got {equity}"
            )));
        }
        // The mark is never negative: equity at or below 0 halts whatever the mark says.
        if self.last_equity.is_none() || equity > self.high_water_mark {
            self.high_water_mark = equity.max(0.0);
        }
        self.last_equity = Some(equity);
        self.state = self.state.max(self.level());
        Ok(self.state)
    }

    /// The state the last equity value calls for on its own (the state is at least this).
    fn level(&self) -> TradingState {
        let dd = self.drawdown();
        if dd >= self.halt_drawdown || self.last_equity.is_some_and(|e| e <= 0.0) {
            TradingState::HALTED
        } else if dd >= self.reduce_drawdown {
            TradingState::REDUCING
        } else {
            TradingState::ACTIVE
        }
    }

    /// Back to ACTIVE with the last equity (or `equity` when given) as the new high-water mark.
    pub fn reset(&mut self, equity: Option<f64>) -> CoreResult<()> {
        if let Some(e) = equity {
            if !e.is_finite() || e <= 0.0 {
                return Err(CoreError::invalid(format!(
                    "reset equity must be a positive finite number, got {e}"
                )));
            }
            self.last_equity = Some(e);
        }
        if let Some(e) = self.last_equity.filter(|&e| e <= 0.0) {
            return Err(CoreError::invalid(format!(
                "cannot reset to ACTIVE at equity {e}: pass the positive equity to resume from"
            )));
        }
        self.high_water_mark = self.last_equity.unwrap_or(0.0).max(0.0);
        self.state = TradingState::ACTIVE;
        Ok(())
    }

    /// Reads `serde_json` text back through `validate` (unknown fields refused).
    pub fn from_json(raw: &str) -> CoreResult<DrawdownBreaker> {
        let breaker: DrawdownBreaker = serde_json::from_str(raw)
            .map_err(|e| CoreError::invalid(format!("not a DrawdownBreaker JSON: {e}")))?;
        breaker.validate()?;
        Ok(breaker)
    }

    /// What `new`, `update` and `reset` keep, for state read back from disk: levels as `new`
    /// checks them, a finite non-negative mark at or above the last equity, and a state at least
    /// the one the drawdown calls for (a breaker past its halt level is never ACTIVE).
    pub fn validate(&self) -> CoreResult<()> {
        DrawdownBreaker::new(self.reduce_drawdown, self.halt_drawdown)?;
        let hwm = self.high_water_mark;
        if !hwm.is_finite() || hwm < 0.0 || self.last_equity.is_some_and(|e| !e.is_finite()) {
            return Err(CoreError::invalid(format!(
                "breaker high-water mark must be finite and >= 0 and equity finite, got \
                 {hwm} and {:?}",
                self.last_equity
            )));
        }
        match self.last_equity {
            Some(e) if e > hwm => {
                return Err(CoreError::invalid(format!(
                    "breaker last equity {e} is above its high-water mark {hwm}"
                )))
            }
            None if hwm != 0.0 || self.state != TradingState::ACTIVE => {
                return Err(CoreError::invalid(
                    "breaker without an equity value must be ACTIVE with mark 0",
                ))
            }
            _ => {}
        }
        let level = self.level();
        if self.state < level {
            return Err(CoreError::invalid(format!(
                "breaker is {} but a drawdown of {} calls for {}",
                self.state.name(),
                self.drawdown(),
                level.name()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn moves_forward_and_needs_reset() {
        let mut b = DrawdownBreaker::new(0.05, 0.10).unwrap();
        assert_eq!(b.update(100.0).unwrap(), TradingState::ACTIVE);
        assert_eq!(b.update(110.0).unwrap(), TradingState::ACTIVE);
        assert_eq!(b.update(104.0).unwrap(), TradingState::REDUCING); // 5.45% below 110
        assert_eq!(b.update(120.0).unwrap(), TradingState::REDUCING); // sticky
        assert_eq!(b.update(107.9).unwrap(), TradingState::HALTED); // 10.08% below 120
        assert_eq!(b.update(500.0).unwrap(), TradingState::HALTED);
        b.reset(None).unwrap();
        assert_eq!(b.state(), TradingState::ACTIVE);
        assert_eq!(b.high_water_mark(), 500.0);
        assert_eq!(b.update(480.0).unwrap(), TradingState::ACTIVE);
        assert!(b.update(f64::NAN).is_err());
        assert!(DrawdownBreaker::new(0.2, 0.1).is_err());
        assert!(DrawdownBreaker::new(0.0, 0.1).is_err());
    }

    /// Issue 12: a breaker restored ACTIVE past its halt level (orders then approved), with a
    /// negative or sub-equity high-water mark, or an unknown field is refused.
    #[test]
    fn tampered_breakers_are_refused() {
        let mut b = DrawdownBreaker::new(0.05, 0.10).unwrap();
        b.update(1000.0).unwrap();
        b.update(850.0).unwrap();
        assert_eq!(b.state(), TradingState::HALTED);
        let json = serde_json::to_string(&b).unwrap();
        assert_eq!(DrawdownBreaker::from_json(&json).unwrap(), b);
        for bad in [
            json.replace("\"HALTED\"", "\"ACTIVE\""),
            json.replace("\"HALTED\"", "\"REDUCING\""),
            json.replace("\"high_water_mark\":1000.0", "\"high_water_mark\":-1000.0"),
            json.replace("\"high_water_mark\":1000.0", "\"high_water_mark\":800.0"),
            json.replace("{", "{\"extra\":0,"),
        ] {
            assert_ne!(bad, json);
            assert!(DrawdownBreaker::from_json(&bad).is_err(), "{bad}");
        }
        // A negative first equity halts without a negative mark, and reset needs a positive one.
        let mut n = DrawdownBreaker::new(0.05, 0.10).unwrap();
        assert_eq!(n.update(-5.0).unwrap(), TradingState::HALTED);
        assert_eq!(n.high_water_mark(), 0.0);
        assert!(n.reset(None).is_err());
        n.reset(Some(10.0)).unwrap();
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(DrawdownBreaker::from_json(&json).unwrap(), n);
    }

    proptest! {
        #[test]
        fn monotone_until_reset(equities in proptest::collection::vec(-10.0f64..1000.0, 1..60)) {
            let mut b = DrawdownBreaker::new(0.05, 0.2).unwrap();
            let mut prev = TradingState::ACTIVE;
            for e in equities {
                let s = b.update(e).unwrap();
                prop_assert!(s >= prev);
                prop_assert!(b.drawdown() >= 0.0);
                prev = s;
            }
            let json = serde_json::to_string(&b).unwrap();
            let back = DrawdownBreaker::from_json(&json).unwrap();
            prop_assert_eq!(back, b);
        }
    }
}
