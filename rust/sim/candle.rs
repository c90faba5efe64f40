//! Candle fill model: how an order decided on bars fills, every assumption a field of the config.
//!
//! Conventions (all prices are floats: bars come from a float store, not from the book grid):
//! - a market order decided at bar t's close fills at bar t+1's open (`FillAt::NEXT_OPEN`) or at
//!   bar t's close (`FillAt::DECISION_CLOSE`, for parity with the vectorised evaluation), moved
//!   against us by the half spread plus the impact `k * sigma * sqrt(q / V)` (relative, capped at
//!   `max_impact_bps`), where sigma is the per-bar volatility known at the decision and V the
//!   volume of the bar whose price is used; taker fee;
//! - a resting limit order fills only when the bar trades *through* it (buy: low < price, sell:
//!   high > price), at its price, at most `max_volume_share * volume` per bar, maker fee; a limit
//!   that is marketable when it arrives at a bar's open takes liquidity like a market order but
//!   never at a price worse than its limit, under the same volume cap;
//! - a stop (stop-market) triggers when the bar reaches it (buy: high >= stop, sell: low <= stop)
//!   and fills at the stop, or at the open when the bar opens past it (a gap), plus taker costs;
//! - protective stop-loss and take-profit (both market on trigger) in the same bar resolve
//!   adversely: the stop-loss first, unless the open itself is already past the take-profit;
//! - perpetual funding is in `funding.rs`.
//!
//! Every function is pure; bad input (NaN, infinities, negative sizes, a bar whose high is below
//! its low) is an `InvalidInput` naming the field.

use crate::errors::{CoreError, CoreResult};
use crate::types::Side;

/// Which price a market order decided at bar t's close gets.
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(eq, eq_int, hash, frozen, from_py_object, module = "gradtrade._core")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum FillAt {
    /// Bar t+1's open: the realistic default (the decision needs bar t's close).
    NEXT_OPEN,
    /// Bar t's close: the vectorised evaluation's assumption, for the parity test.
    DECISION_CLOSE,
}

/// Whether a fill added liquidity (maker fee) or took it (taker fee).
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(eq, eq_int, hash, frozen, from_py_object, module = "gradtrade._core")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum Liquidity {
    MAKER,
    TAKER,
}

/// Which rule produced a candle fill.
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(eq, eq_int, hash, frozen, from_py_object, module = "gradtrade._core")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
pub enum FillReason {
    /// A market order at the configured reference price.
    MARKET,
    /// A resting limit order the bar traded through.
    LIMIT,
    /// A limit order marketable at its arrival (taker, capped at its limit).
    MARKETABLE_LIMIT,
    /// A stop-market order that triggered.
    STOP,
    /// The protective stop-loss of a position.
    STOP_LOSS,
    /// The protective take-profit of a position.
    TAKE_PROFIT,
}

/// The assumptions of the candle fill model. Construct with `CandleFillConfig::new`, which
/// validates every field; the struct is never mutated afterwards.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CandleFillConfig {
    /// Half the bid-ask spread, in basis points of the reference price, paid by every taker fill.
    pub half_spread_bps: f64,
    /// k of the square-root impact k * sigma * sqrt(q / V) (dimensionless, >= 0).
    pub impact_k: f64,
    /// Fee rate of taker fills (0.001 = 10 bps), charged on the notional.
    pub taker_fee_rate: f64,
    /// Fee rate of maker fills; may be negative (a rebate).
    pub maker_fee_rate: f64,
    /// Largest share of a bar's volume a limit order may fill in that bar, in (0, 1].
    pub max_volume_share: f64,
    /// Which bar's price a market order gets.
    pub fill_at: FillAt,
    /// Cap on the impact term, in basis points (a bar with no volume would otherwise be
    /// infinitely expensive; it pays this cap instead).
    pub max_impact_bps: f64,
}

impl Default for CandleFillConfig {
    /// Binance spot VIP0 fees (0.1% both sides), one basis point of half spread, k = 1, a tenth
    /// of each bar's volume for limits, impact capped at 5%, next-open fills.
    fn default() -> Self {
        CandleFillConfig {
            half_spread_bps: 1.0,
            impact_k: 1.0,
            taker_fee_rate: 0.001,
            maker_fee_rate: 0.001,
            max_volume_share: 0.1,
            fill_at: FillAt::NEXT_OPEN,
            max_impact_bps: 500.0,
        }
    }
}

/// One OHLCV bar. Checked by `Bar::new`: finite, prices > 0, low <= open, close <= high,
/// volume >= 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub close: f64,
    pub volume: f64,
}

impl Bar {
    pub fn new(open: f64, high: f64, low: f64, close: f64, volume: f64) -> CoreResult<Bar> {
        for (name, v) in [
            ("open", open),
            ("high", high),
            ("low", low),
            ("close", close),
        ] {
            if !v.is_finite() || v <= 0.0 {
                return Err(CoreError::invalid(format!(
                    "bar {name} must be a positive finite price, got {v}"
                )));
            }
        }
        if !volume.is_finite() || volume < 0.0 {
            return Err(CoreError::invalid(format!(
                "bar volume must be finite and >= 0, got {volume}"
            )));
        }
        if low > open.min(close) || high < open.max(close) {
            return Err(CoreError::invalid(format!(
                "bar is inconsistent: low {low} / high {high} do not contain open {open} and close {close}"
            )));
        }
        Ok(Bar {
            open,
            high,
            low,
            close,
            volume,
        })
    }
}

/// One simulated fill of the candle model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CandleFill {
    /// Execution price, costs (half spread, impact) included.
    pub price: f64,
    /// Filled quantity (base asset), > 0.
    pub qty: f64,
    /// Fee in the quote asset (negative for a maker rebate).
    pub fee: f64,
    pub liquidity: Liquidity,
    pub reason: FillReason,
    /// The price before costs (the open, close, stop or limit); `price - reference_price` per
    /// unit is the slippage paid.
    pub reference_price: f64,
    /// True when the fill happened at the bar's open because the bar gapped past the trigger.
    pub at_open: bool,
}

pub(super) fn finite_in(name: &str, v: f64, lo: f64, hi: f64) -> CoreResult<f64> {
    if v.is_finite() && v >= lo && v <= hi {
        Ok(v)
    } else {
        Err(CoreError::invalid(format!(
            "{name} must be finite and in [{lo}, {hi}], got {v}"
        )))
    }
}

fn positive_qty(qty: f64) -> CoreResult<f64> {
    if qty.is_finite() && qty > 0.0 {
        Ok(qty)
    } else {
        Err(CoreError::invalid(format!(
            "order quantity must be a positive finite number, got {qty}"
        )))
    }
}

pub(super) fn positive_price(name: &str, v: f64) -> CoreResult<f64> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(CoreError::invalid(format!(
            "{name} must be a positive finite price, got {v}"
        )))
    }
}

fn sigma_arg(sigma: f64) -> CoreResult<f64> {
    finite_in("sigma (per-bar volatility)", sigma, 0.0, f64::MAX)
}

impl CandleFillConfig {
    pub fn new(
        half_spread_bps: f64,
        impact_k: f64,
        taker_fee_rate: f64,
        maker_fee_rate: f64,
        max_volume_share: f64,
        fill_at: FillAt,
        max_impact_bps: f64,
    ) -> CoreResult<CandleFillConfig> {
        let share = max_volume_share;
        if !(share.is_finite() && share > 0.0 && share <= 1.0) {
            return Err(CoreError::invalid(format!(
                "max_volume_share must be in (0, 1], got {share}"
            )));
        }
        Ok(CandleFillConfig {
            half_spread_bps: finite_in("half_spread_bps", half_spread_bps, 0.0, 10_000.0)?,
            impact_k: finite_in("impact_k", impact_k, 0.0, 1e6)?,
            taker_fee_rate: finite_in("taker_fee_rate", taker_fee_rate, -0.1, 0.1)?,
            maker_fee_rate: finite_in("maker_fee_rate", maker_fee_rate, -0.1, 0.1)?,
            max_volume_share: share,
            fill_at,
            max_impact_bps: finite_in("max_impact_bps", max_impact_bps, 0.0, 10_000.0)?,
        })
    }

    /// Relative impact of `qty` in a bar of `volume` at per-bar volatility `sigma`, capped.
    pub fn impact(&self, qty: f64, volume: f64, sigma: f64) -> f64 {
        let cap = self.max_impact_bps * 1e-4;
        if self.impact_k == 0.0 || sigma == 0.0 {
            return 0.0;
        }
        if volume <= 0.0 {
            return cap;
        }
        (self.impact_k * sigma * (qty / volume).sqrt()).min(cap)
    }

    /// `reference` moved against a taker of `qty` on `side`: half spread plus impact.
    fn taker_price(&self, side: Side, reference: f64, qty: f64, volume: f64, sigma: f64) -> f64 {
        let cost = self.half_spread_bps * 1e-4 + self.impact(qty, volume, sigma);
        reference * (1.0 + side.sign() as f64 * cost)
    }

    fn taker_fill(
        &self,
        side: Side,
        reference: f64,
        qty: f64,
        bar: &Bar,
        sigma: f64,
    ) -> CandleFill {
        let price = self.taker_price(side, reference, qty, bar.volume, sigma);
        CandleFill {
            price,
            qty,
            fee: price * qty * self.taker_fee_rate,
            liquidity: Liquidity::TAKER,
            reason: FillReason::MARKET,
            reference_price: reference,
            at_open: false,
        }
    }

    /// A market order of `qty` on `side`. `bar` is the bar whose price it gets: bar t+1 for
    /// `NEXT_OPEN` (its open), the decision bar t for `DECISION_CLOSE` (its close).
    pub fn market_fill(
        &self,
        side: Side,
        qty: f64,
        bar: &Bar,
        sigma: f64,
    ) -> CoreResult<CandleFill> {
        let qty = positive_qty(qty)?;
        let sigma = sigma_arg(sigma)?;
        let reference = match self.fill_at {
            FillAt::NEXT_OPEN => bar.open,
            FillAt::DECISION_CLOSE => bar.close,
        };
        Ok(self.taker_fill(side, reference, qty, bar, sigma))
    }

    /// A limit order with `qty` still open at `price`, during `bar`. `arriving` is true for the
    /// first bar the order is live in (it arrives at that bar's open): if it is marketable then,
    /// it takes liquidity. None when nothing fills; the caller keeps `qty - fill.qty` open.
    pub fn limit_fill(
        &self,
        side: Side,
        price: f64,
        qty: f64,
        bar: &Bar,
        sigma: f64,
        arriving: bool,
    ) -> CoreResult<Option<CandleFill>> {
        let price = positive_price("limit price", price)?;
        let qty = positive_qty(qty)?;
        let sigma = sigma_arg(sigma)?;
        let cap = self.max_volume_share * bar.volume;
        let take = qty.min(cap);
        if take <= 0.0 {
            return Ok(None);
        }
        let sign = side.sign() as f64;
        if arriving {
            let market = self.taker_price(side, bar.open, take, bar.volume, sigma);
            // Marketable at arrival: the touch at the open is at or better than the limit.
            let touch = bar.open * (1.0 + sign * self.half_spread_bps * 1e-4);
            if sign * (price - touch) >= 0.0 {
                let fill_price = if sign * (market - price) > 0.0 {
                    price
                } else {
                    market
                };
                return Ok(Some(CandleFill {
                    price: fill_price,
                    qty: take,
                    fee: fill_price * take * self.taker_fee_rate,
                    liquidity: Liquidity::TAKER,
                    reason: FillReason::MARKETABLE_LIMIT,
                    reference_price: bar.open,
                    at_open: true,
                }));
            }
        }
        let through = match side {
            Side::BUY => bar.low < price,
            Side::SELL => bar.high > price,
        };
        if !through {
            return Ok(None);
        }
        Ok(Some(CandleFill {
            price,
            qty: take,
            fee: price * take * self.maker_fee_rate,
            liquidity: Liquidity::MAKER,
            reason: FillReason::LIMIT,
            reference_price: price,
            at_open: false,
        }))
    }

    /// A stop-market order of `qty` on `side` at `stop`, during `bar`. None if not triggered.
    pub fn stop_fill(
        &self,
        side: Side,
        stop: f64,
        qty: f64,
        bar: &Bar,
        sigma: f64,
    ) -> CoreResult<Option<CandleFill>> {
        let stop = positive_price("stop price", stop)?;
        let qty = positive_qty(qty)?;
        let sigma = sigma_arg(sigma)?;
        Ok(self
            .stop_trigger(side, stop, bar)
            .map(|(reference, at_open)| {
                let mut fill = self.taker_fill(side, reference, qty, bar, sigma);
                fill.reason = FillReason::STOP;
                fill.at_open = at_open;
                fill
            }))
    }

    /// (reference price, at the open) if a stop on `side` at `stop` triggers in `bar`.
    fn stop_trigger(&self, side: Side, stop: f64, bar: &Bar) -> Option<(f64, bool)> {
        let (gapped, reached) = match side {
            Side::BUY => (bar.open >= stop, bar.high >= stop),
            Side::SELL => (bar.open <= stop, bar.low <= stop),
        };
        if gapped {
            Some((bar.open, true))
        } else if reached {
            Some((stop, false))
        } else {
            None
        }
    }

    /// The protective exit of a position of `qty` held on `position_side` (BUY = long), with an
    /// optional stop-loss and take-profit, during `bar`. Both are market orders on trigger; when
    /// both are inside the bar the stop-loss wins (adverse first), unless the bar opens past the
    /// take-profit (the open is the first price, so the take-profit triggered first).
    pub fn protective_fill(
        &self,
        position_side: Side,
        qty: f64,
        stop_loss: Option<f64>,
        take_profit: Option<f64>,
        bar: &Bar,
        sigma: f64,
    ) -> CoreResult<Option<CandleFill>> {
        let qty = positive_qty(qty)?;
        let sigma = sigma_arg(sigma)?;
        let sl = stop_loss
            .map(|p| positive_price("stop_loss", p))
            .transpose()?;
        let tp = take_profit
            .map(|p| positive_price("take_profit", p))
            .transpose()?;
        let exit = match position_side {
            Side::BUY => Side::SELL,
            Side::SELL => Side::BUY,
        };
        let sign = position_side.sign() as f64;
        if let (Some(sl), Some(tp)) = (sl, tp) {
            if sign * (tp - sl) <= 0.0 {
                return Err(CoreError::invalid(format!(
                    "take_profit {tp} must be on the profit side of stop_loss {sl} for a {} position",
                    if sign > 0.0 { "long" } else { "short" }
                )));
            }
        }
        // A take-profit is a stop on the exit side mirrored: it triggers when price moves in the
        // position's favour, i.e. like a stop of the opposite side at the same level.
        let sl_hit = sl.and_then(|p| self.stop_trigger(exit, p, bar).map(|t| (p, t)));
        let tp_hit = tp.and_then(|p| self.stop_trigger(position_side, p, bar).map(|t| (p, t)));
        let chosen = match (sl_hit, tp_hit) {
            (Some(s), Some(t)) => {
                if t.1 .1 && !s.1 .1 {
                    Some((FillReason::TAKE_PROFIT, t.1))
                } else {
                    Some((FillReason::STOP_LOSS, s.1))
                }
            }
            (Some(s), None) => Some((FillReason::STOP_LOSS, s.1)),
            (None, Some(t)) => Some((FillReason::TAKE_PROFIT, t.1)),
            (None, None) => None,
        };
        Ok(chosen.map(|(reason, (reference, at_open))| {
            let mut fill = self.taker_fill(exit, reference, qty, bar, sigma);
            fill.reason = reason;
            fill.at_open = at_open;
            fill
        }))
    }

    /// Market orders of a whole series at once: `qty[t]` (signed, + buys, 0 none) is decided at
    /// bar t's close and fills per `fill_at`. Returns (price, fee) per bar, NaN where no order
    /// or, for `NEXT_OPEN`, at the last bar (no next bar to fill in).
    pub fn market_fills(
        &self,
        bars: &BarArrays<'_>,
        qty: &[f64],
    ) -> CoreResult<(Vec<f64>, Vec<f64>)> {
        let n = bars.check_len(qty.len())?;
        let mut prices = vec![f64::NAN; n];
        let mut fees = vec![f64::NAN; n];
        for t in 0..n {
            let q = qty[t];
            if !q.is_finite() {
                return Err(CoreError::invalid(format!(
                    "qty[{t}] must be finite, got {q}"
                )));
            }
            if q == 0.0 {
                continue;
            }
            let at = match self.fill_at {
                FillAt::NEXT_OPEN if t + 1 < n => t + 1,
                FillAt::NEXT_OPEN => continue,
                FillAt::DECISION_CLOSE => t,
            };
            let bar = bars
                .bar(at)
                .map_err(|e| CoreError::invalid(format!("bar {at}: {e}")))?;
            let sigma = sigma_arg(bars.sigma[t])
                .map_err(|e| CoreError::invalid(format!("bar {t}: {e}")))?;
            let side = if q > 0.0 { Side::BUY } else { Side::SELL };
            let fill = self.market_fill(side, q.abs(), &bar, sigma)?;
            prices[t] = fill.price;
            fees[t] = fill.fee;
        }
        Ok((prices, fees))
    }
}

/// Columns of a bar series plus the per-bar volatility known at each bar's close.
#[derive(Debug, Clone, Copy)]
pub struct BarArrays<'a> {
    pub open: &'a [f64],
    pub high: &'a [f64],
    pub low: &'a [f64],
    pub close: &'a [f64],
    pub volume: &'a [f64],
    pub sigma: &'a [f64],
}

impl BarArrays<'_> {
    fn check_len(&self, n: usize) -> CoreResult<usize> {
        let lens = [
            ("open", self.open.len()),
            ("high", self.high.len()),
            ("low", self.low.len()),
            ("close", self.close.len()),
            ("volume", self.volume.len()),
            ("sigma", self.sigma.len()),
        ];
        for (name, len) in lens {
            if len != n {
                return Err(CoreError::invalid(format!(
                    "{name} has {len} values but qty has {n}"
                )));
            }
        }
        Ok(n)
    }

    fn bar(&self, t: usize) -> CoreResult<Bar> {
        Bar::new(
            self.open[t],
            self.high[t],
            self.low[t],
            self.close[t],
            self.volume[t],
        )
    }
}

#[cfg(test)]
#[path = "candle_tests.rs"]
mod tests;
