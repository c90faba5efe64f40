//! Streaming features of a price/volume series, computed by ONE step function that serves both
//! a live feed (`update`, one bar) and whole arrays (`transform`, a loop over the same step), so
//! training, backtest and live see bit-identical values.
//!
//! Columns (see `names`): the log return; per EWMA halflife the EWMA mean and variance of
//! returns and the return's z-score; per window the realized volatility; the EWMA z-score of
//! log(1+volume) (first halflife); and a local-linear-trend Kalman filter on log price (level
//! minus log price, trend, innovation, innovation std).
//!
//! A NaN price is a missing bar: the Kalman filter predicts only, the return is NaN, EWMAs and
//! windows keep their state, and the next valid price's return spans the gap.

pub mod state;
pub mod stats;

#[cfg(feature = "python")]
pub mod python;
#[cfg(feature = "python")]
pub mod python_state;

pub use state::{Normalization, StateRows};

use serde::{Deserialize, Serialize};

use crate::errors::{CoreError, CoreResult};
use crate::kalman::{serial, KalmanFilter};
use stats::{Ewma, RollingMeanSquare};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureConfig {
    #[serde(with = "serial::exact_vec")]
    pub ewma_halflives: Vec<f64>,
    pub vol_windows: Vec<usize>,
    #[serde(with = "serial::exact")]
    pub kalman_q_level: f64,
    #[serde(with = "serial::exact")]
    pub kalman_q_trend: f64,
    #[serde(with = "serial::exact")]
    pub kalman_r: f64,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        FeatureConfig {
            ewma_halflives: vec![12.0, 48.0],
            vol_windows: vec![24],
            kalman_q_level: 1e-6,
            kalman_q_trend: 1e-8,
            kalman_r: 1e-5,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamingFeatures {
    config: FeatureConfig,
    /// Last valid price (NaN before the first); returns span missing bars from here.
    #[serde(with = "serial::exact")]
    last_price: f64,
    returns: Vec<Ewma>,
    vols: Vec<RollingMeanSquare>,
    volume: Ewma,
    /// Started at the first valid price (level = its log, trend 0).
    kalman: Option<crate::kalman::Snapshot>,
    #[serde(skip)]
    filter: Option<KalmanFilter>,
}

const VERSION: u32 = 1;

/// What `to_json` writes; `from_json` reads the two parts apart (see there).
#[derive(Serialize)]
struct Saved {
    version: u32,
    #[serde(flatten)]
    features: StreamingFeatures,
}

impl StreamingFeatures {
    pub fn new(config: FeatureConfig) -> CoreResult<Self> {
        if config.ewma_halflives.is_empty() {
            return Err(CoreError::invalid(
                "ewma_halflives needs at least one halflife (the first also scales volume)",
            ));
        }
        if config.ewma_halflives.len() > 64 || config.vol_windows.len() > 64 {
            return Err(CoreError::invalid("at most 64 halflives and 64 windows"));
        }
        let returns = config
            .ewma_halflives
            .iter()
            .map(|h| Ewma::new(*h))
            .collect::<CoreResult<Vec<_>>>()?;
        let vols = config
            .vol_windows
            .iter()
            .map(|w| RollingMeanSquare::new(*w))
            .collect::<CoreResult<Vec<_>>>()?;
        // Validates the Kalman variances now rather than at the first price.
        KalmanFilter::local_linear_trend(
            config.kalman_q_level,
            config.kalman_q_trend,
            config.kalman_r,
            [0.0, 0.0],
            [config.kalman_r, config.kalman_q_level],
        )
        .map_err(|e| CoreError::invalid(format!("kalman_{e}")))?;
        let volume = Ewma::new(config.ewma_halflives[0])?;
        Ok(StreamingFeatures {
            config,
            last_price: f64::NAN,
            returns,
            vols,
            volume,
            kalman: None,
            filter: None,
        })
    }

    pub fn config(&self) -> &FeatureConfig {
        &self.config
    }

    pub fn names(&self) -> Vec<String> {
        let mut names = vec!["log_return".to_string()];
        for h in &self.config.ewma_halflives {
            names.push(format!("ret_ewma_mean_hl{h}"));
            names.push(format!("ret_ewma_var_hl{h}"));
            names.push(format!("ret_zscore_hl{h}"));
        }
        for w in &self.config.vol_windows {
            names.push(format!("realized_vol_w{w}"));
        }
        names.extend(
            [
                "volume_zscore",
                "kalman_level_minus_log_price",
                "kalman_trend",
                "kalman_innovation",
                "kalman_innovation_std",
            ]
            .map(String::from),
        );
        names
    }

    pub fn n_features(&self) -> usize {
        1 + 3 * self.config.ewma_halflives.len() + self.config.vol_windows.len() + 5
    }

    pub fn reset(&mut self) {
        self.last_price = f64::NAN;
        self.returns.iter_mut().for_each(Ewma::reset);
        self.vols.iter_mut().for_each(RollingMeanSquare::reset);
        self.volume.reset();
        self.kalman = None;
        self.filter = None;
    }

    /// NaN price = missing bar; otherwise finite and > 0. Volume NaN = unknown; else finite >= 0.
    pub fn check_bar(index: usize, price: f64, volume: f64) -> CoreResult<()> {
        if !(price.is_nan() || (price.is_finite() && price > 0.0)) {
            return Err(CoreError::invalid(format!(
                "price at index {index} must be finite and > 0 (NaN marks a missing bar), got {price}"
            )));
        }
        if !(volume.is_nan() || (volume.is_finite() && volume >= 0.0)) {
            return Err(CoreError::invalid(format!(
                "volume at index {index} must be finite and >= 0 (NaN = unknown), got {volume}"
            )));
        }
        Ok(())
    }

    /// One bar. The only place features are computed; `transform` loops over it.
    pub fn update(&mut self, price: f64, volume: f64, out: &mut [f64]) -> CoreResult<()> {
        Self::check_bar(0, price, volume)?;
        self.step(price, volume, out)
    }

    /// Every bar of `prices`/`volumes`, into `out` (row-major `n x n_features`). All input is
    /// checked before any state changes, so bad input leaves the features as they were.
    pub fn transform(
        &mut self,
        prices: &[f64],
        volumes: &[f64],
        out: &mut [f64],
    ) -> CoreResult<()> {
        if prices.len() != volumes.len() {
            return Err(CoreError::invalid(format!(
                "prices and volumes must have the same length, got {} and {}",
                prices.len(),
                volumes.len()
            )));
        }
        let k = self.n_features();
        assert_eq!(out.len(), prices.len() * k);
        for (i, (p, v)) in prices.iter().zip(volumes).enumerate() {
            Self::check_bar(i, *p, *v)?;
        }
        let saved = self.clone();
        for (i, (p, v)) in prices.iter().zip(volumes).enumerate() {
            if let Err(e) = self.step(*p, *v, &mut out[i * k..(i + 1) * k]) {
                *self = saved;
                return Err(e);
            }
        }
        Ok(())
    }

    fn step(&mut self, price: f64, volume: f64, out: &mut [f64]) -> CoreResult<()> {
        debug_assert_eq!(out.len(), self.n_features());
        let missing = price.is_nan();
        let log_price = price.ln();
        let ret = if missing || self.last_price.is_nan() {
            f64::NAN
        } else {
            (price / self.last_price).ln()
        };

        // Kalman first: the only fallible part, so a numerical error leaves the rest untouched.
        let mut kalman = [f64::NAN; 4];
        if let Some(kf) = self.filter.as_mut() {
            kf.step_scalar(log_price)?;
            let state = kf.state();
            kalman[1] = state[1];
            if !missing {
                kalman[0] = state[0] - log_price;
                kalman[2] = kf.innovation()[0];
                kalman[3] = kf.innovation_covariance().a[0][0].sqrt();
            }
        } else if !missing {
            let c = &self.config;
            let kf = KalmanFilter::local_linear_trend(
                c.kalman_q_level,
                c.kalman_q_trend,
                c.kalman_r,
                [log_price, 0.0],
                [c.kalman_r, c.kalman_q_level],
            )?;
            kalman[0] = 0.0;
            kalman[1] = 0.0;
            self.filter = Some(kf);
        }

        let mut col = 0;
        out[col] = ret;
        col += 1;
        for ewma in &mut self.returns {
            let z = if ret.is_nan() {
                f64::NAN
            } else {
                ewma.zscore(ret)
            };
            if !ret.is_nan() {
                ewma.push(ret);
            }
            out[col] = ewma.mean();
            out[col + 1] = ewma.variance();
            out[col + 2] = z;
            col += 3;
        }
        for vol in &mut self.vols {
            if !ret.is_nan() {
                vol.push(ret);
            }
            out[col] = vol.rms();
            col += 1;
        }
        out[col] = if missing || volume.is_nan() {
            f64::NAN
        } else {
            let x = volume.ln_1p();
            let z = self.volume.zscore(x);
            self.volume.push(x);
            z
        };
        col += 1;
        out[col..col + 4].copy_from_slice(&kalman);
        if !missing {
            self.last_price = price;
        }
        Ok(())
    }

    pub fn to_json(&self) -> String {
        let mut features = self.clone();
        features.kalman = self.filter.as_ref().map(KalmanFilter::to_snapshot);
        serde_json::to_string(&Saved {
            version: VERSION,
            features,
        })
        .expect("features always serialize")
    }

    pub fn from_json(s: &str) -> CoreResult<Self> {
        let invalid = |e: serde_json::Error| {
            CoreError::invalid(format!("invalid StreamingFeatures JSON: {e}"))
        };
        // `Saved` flattens the state beside "version"; serde cannot refuse unknown fields through
        // `flatten`, so the version is taken off and the rest read strictly.
        let mut value: serde_json::Value = serde_json::from_str(s).map_err(invalid)?;
        let version = value
            .as_object_mut()
            .and_then(|o| o.remove("version"))
            .and_then(|v| v.as_u64());
        if version != Some(u64::from(VERSION)) {
            return Err(CoreError::invalid(format!(
                "unsupported StreamingFeatures state version {version:?}"
            )));
        }
        let mut f: StreamingFeatures = serde_json::from_value(value).map_err(invalid)?;
        // The configuration must be valid and the state must match its shape.
        let fresh = StreamingFeatures::new(f.config.clone())?;
        let halflives_match = f.returns.len() == fresh.returns.len()
            && f.returns
                .iter()
                .zip(&fresh.returns)
                .all(|(a, b)| a.halflife() == b.halflife())
            && f.volume.halflife() == fresh.volume.halflife();
        let windows_match = f.vols.len() == fresh.vols.len()
            && f.vols
                .iter()
                .zip(&fresh.vols)
                .all(|(a, b)| a.window() == b.window());
        if !(halflives_match && windows_match) {
            return Err(CoreError::invalid(
                "StreamingFeatures state does not match its configuration",
            ));
        }
        for e in f.returns.iter().chain(std::iter::once(&f.volume)) {
            e.check()?;
        }
        for v in &f.vols {
            v.check()?;
        }
        if !(f.last_price.is_nan() || (f.last_price.is_finite() && f.last_price > 0.0)) {
            return Err(CoreError::invalid(
                "last_price must be NaN or a positive price",
            ));
        }
        f.filter = match &f.kalman {
            Some(snap) => {
                let kf = KalmanFilter::from_snapshot(snap)?;
                let c = &f.config;
                let expected = crate::kalman::Model::LocalLinearTrend {
                    q_level: c.kalman_q_level,
                    q_trend: c.kalman_q_trend,
                    r: c.kalman_r,
                };
                if kf.model() != expected {
                    return Err(CoreError::invalid(
                        "the saved Kalman filter does not match kalman_q_level/q_trend/r",
                    ));
                }
                Some(kf)
            }
            None => None,
        };
        f.kalman = None;
        Ok(f)
    }
}

#[cfg(test)]
mod tests;
