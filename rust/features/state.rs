//! The raw rows of the state X_t, one bar at a time: the streaming features plus the bar's own
//! columns (high-low range, funding, calendar, gap flags, extra columns), and their
//! normalization. One step serves a whole history and a live bar alike.
//!
//! Input is a chunk of bars already on the timeframe grid (`gradtrade.data.state` reindexes):
//! open times, the values `open, high, low, close, volume, extra...` per bar (NaN for a missing
//! bar) and whether each bar was present. A chunk starts right after the last real bar seen, so
//! the bar before a chunk's first row was present.
//!
//! Funding: events (time, rate) are registered ahead of the bars they fall in. A bar pays the
//! events in `(open, close]`: exactly the rate of a single event (the rule), the difference of
//! running sums of the rates for several; the rate column is the last event's rate at the
//! close (`last_rate` before any event).
//!
//! Invariant: rows depend only on the bars and events, never on how bars are chunked, so a
//! history processed at once and bar by bar give bit-identical rows (`tests.rs`).

use std::f64::consts::PI;

use serde::{Deserialize, Serialize};

use super::StreamingFeatures;
use crate::errors::{CoreError, CoreResult};

pub const NS_PER_HOUR: i64 = 3_600_000_000_000;
pub const NS_PER_DAY: i64 = 86_400_000_000_000;
/// `open, high, low, close, volume` lead every bar's values.
pub const OHLCV: usize = 5;
/// Columns after the streaming features: `hl_range, funding_rate`, four calendar, two flags.
pub const OWN_COLUMNS: usize = 8;

/// Funding events registered so far: times strictly increasing, with the running sum of the
/// rates (`cumulative[i]` = the first `i` rates summed in order; `cumulative[0] = 0`).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Funding {
    times_ns: Vec<i64>,
    rates: Vec<f64>,
    #[serde(skip)]
    cumulative: Vec<f64>,
}

impl Funding {
    pub fn from_parts(times_ns: Vec<i64>, rates: Vec<f64>) -> CoreResult<Self> {
        let mut f = Funding::default();
        f.extend(&times_ns, &rates)?;
        Ok(f)
    }

    pub fn times_ns(&self) -> &[i64] {
        &self.times_ns
    }

    pub fn rates(&self) -> &[f64] {
        &self.rates
    }

    /// Appends the events after the last registered one (earlier ones are already known).
    pub fn extend(&mut self, times_ns: &[i64], rates: &[f64]) -> CoreResult<()> {
        if times_ns.len() != rates.len() {
            return Err(CoreError::invalid(format!(
                "funding times and rates must have the same length, got {} and {}",
                times_ns.len(),
                rates.len()
            )));
        }
        if times_ns.windows(2).any(|w| w[1] <= w[0]) {
            return Err(CoreError::invalid(
                "funding times must be strictly increasing",
            ));
        }
        if let Some((i, r)) = rates.iter().enumerate().find(|(_, r)| !r.is_finite()) {
            return Err(CoreError::invalid(format!(
                "funding rate {i} must be finite, got {r}"
            )));
        }
        let after = self.times_ns.last().copied().unwrap_or(i64::MIN);
        if self.cumulative.is_empty() {
            self.cumulative.push(0.0);
        }
        for (t, r) in times_ns.iter().zip(rates) {
            if *t > after {
                self.times_ns.push(*t);
                self.rates.push(*r);
                let sum = self.cumulative[self.cumulative.len() - 1] + r;
                self.cumulative.push(sum);
            }
        }
        Ok(())
    }

    /// How many events happened at or before `t`.
    fn count_by(&self, t: i64) -> usize {
        self.times_ns.partition_point(|x| *x <= t)
    }
}

/// The carried state of `StateRows` besides the streaming features (saved for restarts).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Carry {
    /// The funding rate known before any registered event.
    pub last_rate: f64,
    /// Every streaming feature has been finite at some bar.
    pub warm: bool,
}

/// What one chunk produced, row-major where two-dimensional.
#[derive(Clone, Debug, Default)]
pub struct Rows {
    pub raw: Vec<f64>,
    pub returns: Vec<f64>,
    pub paid: Vec<f64>,
    pub warm: Vec<bool>,
}

#[derive(Clone, Debug)]
pub struct StateRows {
    features: StreamingFeatures,
    n_extra: usize,
    funding: Funding,
    carry: Carry,
}

impl StateRows {
    pub fn new(features: StreamingFeatures, n_extra: usize) -> Self {
        StateRows {
            features,
            n_extra,
            funding: Funding::from_parts(Vec::new(), Vec::new()).expect("empty is valid"),
            carry: Carry {
                last_rate: 0.0,
                warm: false,
            },
        }
    }

    /// A restored state, validated like a new one.
    pub fn restore(
        features: StreamingFeatures,
        n_extra: usize,
        funding: Funding,
        carry: Carry,
    ) -> CoreResult<Self> {
        if !carry.last_rate.is_finite() {
            return Err(CoreError::invalid(format!(
                "last funding rate must be finite, got {}",
                carry.last_rate
            )));
        }
        Ok(StateRows {
            features,
            n_extra,
            funding,
            carry,
        })
    }

    pub fn features(&self) -> &StreamingFeatures {
        &self.features
    }

    pub fn funding(&self) -> &Funding {
        &self.funding
    }

    pub fn carry(&self) -> Carry {
        self.carry
    }

    pub fn n_values(&self) -> usize {
        OHLCV + self.n_extra
    }

    pub fn n_columns(&self) -> usize {
        self.features.n_features() + OWN_COLUMNS + self.n_extra
    }

    pub fn add_funding(&mut self, times_ns: &[i64], rates: &[f64]) -> CoreResult<()> {
        self.funding.extend(times_ns, rates)
    }

    pub fn reset(&mut self) {
        self.features.reset();
        self.funding = Funding::from_parts(Vec::new(), Vec::new()).expect("empty is valid");
        self.carry = Carry {
            last_rate: 0.0,
            warm: false,
        };
    }

    /// One chunk: `opens` (T,) on the grid of `step_ns`, `values` (T x n_values) row-major,
    /// `present` (T,). Bad input changes nothing.
    pub fn process(
        &mut self,
        opens: &[i64],
        step_ns: i64,
        values: &[f64],
        present: &[bool],
    ) -> CoreResult<Rows> {
        let (t, c) = (opens.len(), self.n_values());
        if values.len() != t * c || present.len() != t {
            return Err(CoreError::invalid(format!(
                "a chunk of {t} bars needs {t} x {c} values and {t} presence flags, got {} and {}",
                values.len(),
                present.len()
            )));
        }
        if step_ns <= 0 {
            return Err(CoreError::invalid(format!(
                "step must be > 0 ns, got {step_ns}"
            )));
        }
        let k_rust = self.features.n_features();
        let (close, volume): (Vec<f64>, Vec<f64>) = (0..t)
            .map(|i| (values[i * c + 3], values[i * c + 4]))
            .unzip();
        let mut rust = vec![0.0; t * k_rust];
        // the only fallible step, checked before it changes anything
        self.features.transform(&close, &volume, &mut rust)?;

        let k = self.n_columns();
        let mut rows = Rows {
            raw: vec![0.0; t * k],
            returns: vec![0.0; t],
            paid: vec![0.0; t],
            warm: vec![false; t],
        };
        let f = &self.funding;
        let mut previous_present = true;
        let mut warm = self.carry.warm;
        let mut rate = self.carry.last_rate;
        for i in 0..t {
            let v = &values[i * c..(i + 1) * c];
            let features = &rust[i * k_rust..(i + 1) * k_rust];
            let out = &mut rows.raw[i * k..(i + 1) * k];
            out[..k_rust].copy_from_slice(features);
            let open = opens[i];
            let (at_open, at_close) = (f.count_by(open), f.count_by(open.saturating_add(step_ns)));
            rate = if at_close == 0 {
                self.carry.last_rate
            } else {
                f.rates[at_close - 1]
            };
            rows.paid[i] = match at_close - at_open {
                0 => 0.0,
                1 => f.rates[at_open], // copied exactly: one event per bar is the rule
                _ => f.cumulative[at_close] - f.cumulative[at_open],
            };
            let hours =
                (open.rem_euclid(NS_PER_DAY) as f64 / NS_PER_HOUR as f64) * (2.0 * PI / 24.0);
            // 1970-01-01 was a Thursday
            let days = ((open.div_euclid(NS_PER_DAY) + 3).rem_euclid(7) as f64) * (2.0 * PI / 7.0);
            let missing = !present[i];
            let after_gap = present[i] && !previous_present;
            previous_present = present[i];
            let own = &mut out[k_rust..k_rust + OWN_COLUMNS];
            own[0] = (v[1] / v[2]).ln();
            own[1] = rate;
            own[2] = hours.sin();
            own[3] = hours.cos();
            own[4] = days.sin();
            own[5] = days.cos();
            own[6] = f64::from(u8::from(missing));
            own[7] = f64::from(u8::from(after_gap));
            out[k_rust + OWN_COLUMNS..].copy_from_slice(&v[OHLCV..]);
            warm |= features.iter().all(|x| x.is_finite());
            rows.warm[i] = warm;
            rows.returns[i] = if missing { 0.0 } else { features[0] };
        }
        if t > 0 {
            self.carry = Carry {
                last_rate: rate,
                warm,
            };
        }
        Ok(rows)
    }
}

/// Median/MAD normalization of raw rows (`fit` is in Python: it runs once per training).
#[derive(Clone, Debug)]
pub struct Normalization {
    center: Vec<f64>,
    scale: Vec<f64>,
    /// Columns z-scored and winsorized at `+-clip`; the others (calendar, flags) pass through.
    scaled: Vec<bool>,
    clip: f64,
}

impl Normalization {
    pub fn new(
        center: Vec<f64>,
        scale: Vec<f64>,
        scaled: Vec<bool>,
        clip: f64,
    ) -> CoreResult<Self> {
        if center.is_empty() {
            return Err(CoreError::invalid(
                "a normalization needs at least one column",
            ));
        }
        if center.len() != scale.len() || scaled.len() != scale.len() {
            return Err(CoreError::invalid(format!(
                "center, scale and scaled must have the same length, got {}, {} and {}",
                center.len(),
                scale.len(),
                scaled.len()
            )));
        }
        if let Some(i) = (0..scale.len())
            .find(|&i| !(center[i].is_finite() && scale[i].is_finite() && scale[i] > 0.0))
        {
            return Err(CoreError::invalid(format!(
                "column {i}: center must be finite and scale finite and > 0, got {} and {}",
                center[i], scale[i]
            )));
        }
        if !(clip.is_finite() && clip > 0.0) {
            return Err(CoreError::invalid(format!(
                "clip must be finite and > 0, got {clip}"
            )));
        }
        Ok(Normalization {
            center,
            scale,
            scaled,
            clip,
        })
    }

    pub fn width(&self) -> usize {
        self.center.len()
    }

    /// X_t of raw rows (row-major, `width` columns): `(x - center) / scale`, winsorized at
    /// `+-clip` where scaled, NaN -> 0, +-inf -> +-clip; every column NaN where not `warm`.
    pub fn apply(&self, raw: &[f64], warm: &[bool], out: &mut [f32]) {
        let k = self.width();
        debug_assert_eq!(raw.len(), warm.len() * k);
        for (i, row) in raw.chunks_exact(k).enumerate() {
            let dst = &mut out[i * k..(i + 1) * k];
            if !warm[i] {
                dst.fill(f32::NAN);
                continue;
            }
            for j in 0..k {
                let z = (row[j] - self.center[j]) / self.scale[j];
                let z = if z.is_nan() {
                    0.0
                } else if self.scaled[j] || z.is_infinite() {
                    z.clamp(-self.clip, self.clip)
                } else {
                    z
                };
                dst[j] = z as f32;
            }
        }
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
