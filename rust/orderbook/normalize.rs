//! Prices, top-of-book statistics and the fixed-length feature vector the model consumes.
//!
//! Floats appear only here, at the edge; every quantity below is computed from the integer book.
//! The feature layout is fixed for a given `levels` = k, so training, backtest and live read the
//! same columns (`feature_names(k)` names them):
//!   spread_bps, microprice_bps,
//!   imbalance_1..k        (cumB_i - cumA_i) / (cumB_i + cumA_i) over the best i levels,
//!   bid_bps_1..k          (bid_i - mid) / mid * 1e4 (negative),
//!   ask_bps_1..k          (ask_i - mid) / mid * 1e4 (positive),
//!   bid_log_cum_qty_1..k  ln(1 + cumulative bid quantity in base units),
//!   ask_log_cum_qty_1..k  ln(1 + cumulative ask quantity).
//! A side shallower than k levels gives NaN prices beyond its depth while the cumulative sizes and
//! imbalances stay at their last value (no quantity is added by a missing level).

use crate::errors::{CoreError, CoreResult};

use super::book::OrderBook;

/// Most levels per side a feature vector may ask for: far beyond any real book's useful depth,
/// and small enough that the vector's length cannot overflow or exhaust memory.
pub const MAX_FEATURE_LEVELS: usize = 5000;

/// Length of the feature vector for `levels` levels per side (1..=`MAX_FEATURE_LEVELS`).
pub fn feature_len(levels: usize) -> CoreResult<usize> {
    if levels == 0 || levels > MAX_FEATURE_LEVELS {
        return Err(CoreError::invalid(format!(
            "features need 1 <= levels <= {MAX_FEATURE_LEVELS}, got {levels}"
        )));
    }
    Ok(2 + 5 * levels)
}

pub fn feature_names(levels: usize) -> CoreResult<Vec<String>> {
    feature_len(levels)?;
    let mut names = vec!["spread_bps".to_string(), "microprice_bps".to_string()];
    for prefix in [
        "imbalance",
        "bid_bps",
        "ask_bps",
        "bid_log_cum_qty",
        "ask_log_cum_qty",
    ] {
        names.extend((1..=levels).map(|i| format!("{prefix}_{i}")));
    }
    Ok(names)
}

/// The queries below answer for a valid book only: while `is_valid` is false (no snapshot yet,
/// or a sequence gap) every one of them is `BookNotSynced`, never the stale levels. `None` means
/// a valid book with an empty side.
impl OrderBook {
    fn require_valid(&self, what: &str) -> CoreResult<()> {
        if self.is_valid() {
            return Ok(());
        }
        Err(CoreError::BookNotSynced(format!(
            "{} book is not synced{}: no {what} until a snapshot is applied",
            self.symbol,
            if self.last_update_id.is_some() {
                " (a sequence gap invalidated it)"
            } else {
                ""
            }
        )))
    }

    pub fn best_bid_f64(&self) -> CoreResult<Option<(f64, f64)>> {
        self.require_valid("best bid")?;
        Ok(self
            .best_bid()
            .map(|(p, q)| (self.tick.to_f64(p), self.step.to_f64(q))))
    }

    pub fn best_ask_f64(&self) -> CoreResult<Option<(f64, f64)>> {
        self.require_valid("best ask")?;
        Ok(self
            .best_ask()
            .map(|(p, q)| (self.tick.to_f64(p), self.step.to_f64(q))))
    }

    /// (bid price, bid qty, ask price, ask qty) in floats when both sides have a level.
    fn top(&self) -> Option<(f64, f64, f64, f64)> {
        let (b, a) = (self.best_bid()?, self.best_ask()?);
        Some((
            self.tick.to_f64(b.0),
            self.step.to_f64(b.1),
            self.tick.to_f64(a.0),
            self.step.to_f64(a.1),
        ))
    }

    fn mid_unchecked(&self) -> Option<f64> {
        let (b, a) = (self.best_bid()?.0, self.best_ask()?.0);
        // Sum in ticks first: exact, and halves are the only rounding (i128: no overflow).
        Some(self.tick.to_f64_wide(i128::from(b) + i128::from(a)) / 2.0)
    }

    fn spread_unchecked(&self) -> Option<f64> {
        let (b, a) = (self.best_bid()?.0, self.best_ask()?.0);
        Some(self.tick.to_f64_wide(i128::from(a) - i128::from(b)))
    }

    /// Size-weighted mid: (bid * ask_qty + ask * bid_qty) / (bid_qty + ask_qty).
    fn microprice_unchecked(&self) -> Option<f64> {
        let (bp, bq, ap, aq) = self.top()?;
        Some((bp * aq + ap * bq) / (bq + aq))
    }

    pub fn mid(&self) -> CoreResult<Option<f64>> {
        self.require_valid("mid")?;
        Ok(self.mid_unchecked())
    }

    pub fn spread(&self) -> CoreResult<Option<f64>> {
        self.require_valid("spread")?;
        Ok(self.spread_unchecked())
    }

    pub fn microprice(&self) -> CoreResult<Option<f64>> {
        self.require_valid("microprice")?;
        Ok(self.microprice_unchecked())
    }

    /// Whether the best bid is at or above the best ask (never true of an applied book).
    pub fn crossed(&self) -> CoreResult<bool> {
        self.require_valid("crossed check")?;
        Ok(self.is_crossed())
    }

    /// The top `n` levels of a side from the best outwards, as (price, qty) floats.
    pub fn levels_f64(&self, bid: bool, n: usize) -> CoreResult<Vec<(f64, f64)>> {
        self.require_valid("levels")?;
        let side = if bid { &self.bids } else { &self.asks };
        Ok(side
            .iter_best()
            .take(n)
            .map(|(p, q)| (self.tick.to_f64(p), self.step.to_f64(q)))
            .collect())
    }

    /// Writes `feature_len(levels)` values into `out`. Needs a valid book with both sides.
    pub fn features_into(&self, levels: usize, out: &mut [f64]) -> CoreResult<()> {
        let len = feature_len(levels)?;
        if out.len() != len {
            return Err(CoreError::invalid(format!(
                "feature buffer has {} slots, {levels} levels need {len}",
                out.len(),
            )));
        }
        self.require_valid("features")?;
        let (Some(mid), Some(spread), Some(micro)) = (
            self.mid_unchecked(),
            self.spread_unchecked(),
            self.microprice_unchecked(),
        ) else {
            return Err(CoreError::BookNotSynced(format!(
                "{} book has an empty side: no features",
                self.symbol
            )));
        };
        let bps = |x: f64| x / mid * 1e4;
        out[0] = bps(spread);
        out[1] = bps(micro - mid);
        let k = levels;
        let (imb, rest) = out[2..].split_at_mut(k);
        let (bid_px, rest) = rest.split_at_mut(k);
        let (ask_px, rest) = rest.split_at_mut(k);
        let (bid_cum, ask_cum) = rest.split_at_mut(k);
        let fill = |bid: bool, px: &mut [f64], cum: &mut [f64]| {
            let side = if bid { &self.bids } else { &self.asks };
            let mut it = side.iter_best();
            // i128: the sum of up to `MAX_FEATURE_LEVELS` i64 quantities cannot overflow.
            let mut total: i128 = 0;
            for i in 0..k {
                match it.next() {
                    Some((p, q)) => {
                        total += i128::from(q);
                        px[i] = bps(self.tick.to_f64(p) - mid);
                    }
                    None => px[i] = f64::NAN,
                }
                cum[i] = self.step.to_f64_wide(total);
            }
        };
        fill(true, bid_px, bid_cum);
        fill(false, ask_px, ask_cum);
        for i in 0..k {
            let (b, a) = (bid_cum[i], ask_cum[i]);
            imb[i] = (b - a) / (b + a);
            bid_cum[i] = b.ln_1p();
            ask_cum[i] = a.ln_1p();
        }
        Ok(())
    }

    pub fn features(&self, levels: usize) -> CoreResult<Vec<f64>> {
        let mut out = vec![0.0; feature_len(levels)?];
        self.features_into(levels, &mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixed::Grid;
    use crate::orderbook::book::Market;

    fn book() -> OrderBook {
        let mut b = OrderBook::new(
            "btcusdt",
            Grid::parse("0.01").unwrap(),
            Grid::parse("0.001").unwrap(),
            Market::Spot,
        )
        .unwrap();
        // bids 100.00 x 1.000, 99.99 x 3.000 ; asks 100.02 x 3.000
        b.apply_snapshot(1, &[(10_000, 1_000), (9_999, 3_000)], &[(10_002, 3_000)])
            .unwrap();
        b
    }

    #[test]
    fn top_of_book_statistics() {
        let b = book();
        assert_eq!(b.mid().unwrap(), Some(100.01));
        assert!((b.spread().unwrap().unwrap() - 0.02).abs() < 1e-12);
        // (100 * 3 + 100.02 * 1) / 4 = 100.005
        assert!((b.microprice().unwrap().unwrap() - 100.005).abs() < 1e-9);
    }

    #[test]
    fn feature_vector_layout() {
        let b = book();
        let f = b.features(2).unwrap();
        let names = feature_names(2).unwrap();
        assert_eq!(f.len(), names.len());
        let get = |n: &str| f[names.iter().position(|x| x == n).unwrap()];
        assert!((get("spread_bps") - 0.02 / 100.01 * 1e4).abs() < 1e-9);
        assert!(get("microprice_bps") < 0.0);
        assert!((get("imbalance_1") - (1.0 - 3.0) / 4.0).abs() < 1e-12);
        assert!((get("imbalance_2") - (4.0 - 3.0) / 7.0).abs() < 1e-12);
        assert!(get("bid_bps_1") < 0.0 && get("ask_bps_1") > 0.0);
        assert!(get("ask_bps_2").is_nan());
        assert!((get("ask_log_cum_qty_2") - 3f64.ln_1p()).abs() < 1e-12);
        assert!((get("bid_log_cum_qty_2") - 4f64.ln_1p()).abs() < 1e-12);
        assert!(b.features(0).is_err());
        assert!(b.features(MAX_FEATURE_LEVELS + 1).is_err());
        assert!(b.features(usize::MAX).is_err());
        assert!(feature_names(usize::MAX).is_err());
    }
}
