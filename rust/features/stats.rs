//! Streaming statistics: exponentially weighted mean/variance and a rolling mean of squares.
//! Each keeps O(1) (EWMA) or O(window) state, updates in O(1) and serializes exactly.

use serde::{Deserialize, Serialize};

use crate::errors::{CoreError, CoreResult};
use crate::kalman::serial;

/// Exponentially weighted mean and variance, `alpha = 1 - 2^(-1/halflife)`:
/// `d = x - m; m += alpha d; v = (1 - alpha)(v + alpha d^2)`, started at `m = x, v = 0`.
/// This is pandas' `ewm(halflife=h, adjust=False)` mean and `var(bias=True)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ewma {
    #[serde(with = "serial::exact")]
    halflife: f64,
    #[serde(with = "serial::exact")]
    alpha: f64,
    #[serde(with = "serial::exact")]
    mean: f64,
    #[serde(with = "serial::exact")]
    var: f64,
    count: u64,
}

impl Ewma {
    pub fn new(halflife: f64) -> CoreResult<Self> {
        if !(halflife.is_finite() && halflife > 0.0) {
            return Err(CoreError::invalid(format!(
                "EWMA halflife must be finite and > 0, got {halflife}"
            )));
        }
        Ok(Ewma {
            halflife,
            alpha: 1.0 - (-std::f64::consts::LN_2 / halflife).exp(),
            mean: f64::NAN,
            var: f64::NAN,
            count: 0,
        })
    }

    pub fn halflife(&self) -> f64 {
        self.halflife
    }

    /// Mean so far; NaN before the first value.
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// Variance so far; NaN before the second value (one value says nothing about spread).
    pub fn variance(&self) -> f64 {
        if self.count >= 2 {
            self.var
        } else {
            f64::NAN
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// `(x - mean) / std` against the statistics BEFORE `x` is included, so a value is never
    /// scored against itself. NaN until the variance is defined and positive.
    pub fn zscore(&self, x: f64) -> f64 {
        let v = self.variance();
        if v > 0.0 {
            (x - self.mean) / v.sqrt()
        } else {
            f64::NAN
        }
    }

    /// Includes `x` (finite). NaN must be filtered by the caller: a missing value keeps state.
    pub fn push(&mut self, x: f64) {
        if self.count == 0 {
            self.mean = x;
            self.var = 0.0;
        } else {
            let d = x - self.mean;
            self.mean += self.alpha * d;
            self.var = (1.0 - self.alpha) * (self.var + self.alpha * d * d);
        }
        self.count += 1;
    }

    pub fn reset(&mut self) {
        self.mean = f64::NAN;
        self.var = f64::NAN;
        self.count = 0;
    }

    pub(crate) fn check(&self) -> CoreResult<()> {
        let fresh = Ewma::new(self.halflife)?;
        if fresh.alpha.to_bits() != self.alpha.to_bits() {
            return Err(CoreError::invalid("EWMA alpha does not match its halflife"));
        }
        if self.count > 0 && !(self.mean.is_finite() && self.var.is_finite() && self.var >= 0.0) {
            return Err(CoreError::invalid(
                "EWMA state must be finite with variance >= 0",
            ));
        }
        Ok(())
    }
}

/// Largest rolling window (values kept in memory): a year of 1-minute bars, about 4 MB.
pub const MAX_WINDOW: usize = 1 << 19;

/// Mean of the squares of the last `window` values (a per-bar realized variance), kept as a
/// ring buffer and a running sum. The running sum is recomputed from the buffer each time the
/// ring wraps, so rounding drift is bounded to one window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollingMeanSquare {
    window: usize,
    #[serde(with = "serial::exact_vec")]
    buffer: Vec<f64>,
    position: usize,
    count: usize,
    #[serde(with = "serial::exact")]
    sum: f64,
}

impl RollingMeanSquare {
    pub fn new(window: usize) -> CoreResult<Self> {
        if window == 0 || window > MAX_WINDOW {
            return Err(CoreError::invalid(format!(
                "rolling window must be between 1 and {MAX_WINDOW}, got {window}"
            )));
        }
        Ok(RollingMeanSquare {
            window,
            buffer: vec![0.0; window],
            position: 0,
            count: 0,
            sum: 0.0,
        })
    }

    pub fn window(&self) -> usize {
        self.window
    }

    pub fn push(&mut self, x: f64) {
        let sq = x * x;
        self.sum += sq - self.buffer[self.position];
        self.buffer[self.position] = sq;
        self.position += 1;
        if self.position == self.window {
            self.position = 0;
            self.sum = self.buffer.iter().sum();
        }
        self.count = (self.count + 1).min(self.window);
    }

    /// `sqrt(mean of squares)` over the window; NaN until `window` values have been seen.
    pub fn rms(&self) -> f64 {
        if self.count < self.window {
            f64::NAN
        } else {
            (self.sum.max(0.0) / self.window as f64).sqrt()
        }
    }

    pub fn reset(&mut self) {
        self.buffer.iter_mut().for_each(|v| *v = 0.0);
        self.position = 0;
        self.count = 0;
        self.sum = 0.0;
    }

    pub(crate) fn check(&self) -> CoreResult<()> {
        if self.window == 0
            || self.buffer.len() != self.window
            || self.position >= self.window
            || self.count > self.window
            || !self.sum.is_finite()
            || self.buffer.iter().any(|v| !(v.is_finite() && *v >= 0.0))
        {
            return Err(CoreError::invalid("inconsistent rolling-window state"));
        }
        Ok(())
    }
}
