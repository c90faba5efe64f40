//! Binance's per-symbol exchange filters (`SymbolFilters`, built from a `FilterSpec` of
//! `Decimal`s or from an `exchangeInfo` body) and the exact / floor / ceil grid-unit helpers
//! that risk checks and order accounting both use.
//!
//! Invariant: a constructed `SymbolFilters` is valid (minimums at most maximums, finite
//! non-negative notional), so the hot-path checks never re-validate it.

use serde::{Deserialize, Serialize};

use crate::errors::{CoreError, CoreResult};
use crate::fixed::Grid;

/// Binance's per-symbol filters: PRICE_FILTER (tick, min/max price), LOT_SIZE (step, min/max
/// quantity) and NOTIONAL / MIN_NOTIONAL (min notional). Prices are kept as tick counts and
/// quantities as step counts so that multiples are checked exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SymbolFilters {
    pub symbol: String,
    pub tick: Grid,
    pub step: Grid,
    /// Smallest quantity in steps (at least 1).
    pub min_qty_steps: i64,
    /// Largest quantity in steps (`i64::MAX` when the exchange sets none).
    pub max_qty_steps: i64,
    /// Smallest price in ticks (0 when none).
    pub min_price_ticks: i64,
    /// Largest price in ticks (`i64::MAX` when none).
    pub max_price_ticks: i64,
    /// Smallest `price * quantity` in the quote asset (0 when none).
    pub min_notional: f64,
    /// Base and quote asset names (e.g. "BTC", "USDT") when known, for fee accounting.
    #[serde(default)]
    pub base_asset: Option<String>,
    #[serde(default)]
    pub quote_asset: Option<String>,
}

/// A size or price parameter as text (exact) or as a float.
#[derive(Debug, Clone)]
pub enum Decimal {
    Text(String),
    Float(f64),
}

impl Decimal {
    /// The grid whose unit is this value.
    pub fn grid(&self) -> CoreResult<Grid> {
        match self {
            Decimal::Text(t) => Grid::parse(t),
            Decimal::Float(f) => Grid::from_unit_f64(*f),
        }
    }

    fn as_f64(&self, name: &str) -> CoreResult<f64> {
        let v = match self {
            Decimal::Text(t) => t
                .trim()
                .parse::<f64>()
                .map_err(|_| CoreError::invalid(format!("{name} is not a number: {t:?}")))?,
            Decimal::Float(f) => *f,
        };
        if !v.is_finite() || v < 0.0 {
            return Err(CoreError::invalid(format!(
                "{name} must be a non-negative finite number, got {v}"
            )));
        }
        Ok(v)
    }
}

/// The exact count of `grid` units in `value`, or None when `value` is off the grid.
///
/// The tolerance is absolute (1e-7 units) plus what float division can err by, so that a price
/// half a tick off is refused at any magnitude (`Grid::units_from_f64` allows 1e-6 * count,
/// which is several ticks at BTC prices).
#[inline]
pub fn exact_units(grid: &Grid, value: f64) -> Option<i64> {
    let exact = value / grid.unit();
    let rounded = exact.round();
    let tol = 1e-7 + exact.abs() * 1e-14;
    if (exact - rounded).abs() <= tol && rounded.abs() < 9.0e18 {
        Some(rounded as i64)
    } else {
        None
    }
}

fn snapped(grid: &Grid, value: f64) -> CoreResult<(f64, Option<f64>)> {
    if !value.is_finite() {
        return Err(CoreError::invalid(format!(
            "value must be finite, got {value}"
        )));
    }
    let exact = value / grid.unit();
    let rounded = exact.round();
    let tol = 1e-7 + exact.abs() * 1e-14;
    Ok((exact, ((exact - rounded).abs() <= tol).then_some(rounded)))
}

fn to_units(units: f64) -> CoreResult<i64> {
    if units.abs() >= 9.0e18 {
        return Err(CoreError::invalid(format!("{units} units is too large")));
    }
    Ok(units as i64)
}

/// Units of `grid` at or below `value` (a value within float noise of a multiple is that
/// multiple; `Grid::units_floor_f64` tolerates 1e-9 * count, a quarter tick at BTC prices).
pub fn floor_units(grid: &Grid, value: f64) -> CoreResult<i64> {
    let (exact, on_grid) = snapped(grid, value)?;
    to_units(on_grid.unwrap_or(exact.floor()))
}

/// Units of `grid` at or above `value`.
pub fn ceil_units(grid: &Grid, value: f64) -> CoreResult<i64> {
    let (exact, on_grid) = snapped(grid, value)?;
    to_units(on_grid.unwrap_or(exact.ceil()))
}

/// Units of `grid` at or below `value`; 0 means "no limit" and maps to `i64::MAX`.
fn max_units(grid: &Grid, value: f64) -> CoreResult<i64> {
    if value == 0.0 || value >= grid.unit() * 9.0e18 {
        Ok(i64::MAX)
    } else {
        floor_units(grid, value)
    }
}

pub struct FilterSpec {
    pub tick_size: Decimal,
    pub step_size: Decimal,
    pub min_qty: Decimal,
    pub min_notional: Decimal,
    pub max_qty: Decimal,
    pub min_price: Decimal,
    pub max_price: Decimal,
}

impl SymbolFilters {
    pub fn new(symbol: &str, spec: &FilterSpec) -> CoreResult<SymbolFilters> {
        if symbol.is_empty() {
            return Err(CoreError::invalid("symbol must not be empty"));
        }
        let tick = spec.tick_size.grid()?;
        let step = spec.step_size.grid()?;
        let min_qty = spec.min_qty.as_f64("min_qty")?;
        let max_qty = spec.max_qty.as_f64("max_qty")?;
        let min_price = spec.min_price.as_f64("min_price")?;
        let max_price = spec.max_price.as_f64("max_price")?;
        let filters = SymbolFilters {
            symbol: symbol.to_string(),
            tick,
            step,
            min_qty_steps: ceil_units(&step, min_qty)?.max(1),
            max_qty_steps: max_units(&step, max_qty)?,
            min_price_ticks: ceil_units(&tick, min_price)?,
            max_price_ticks: max_units(&tick, max_price)?,
            min_notional: spec.min_notional.as_f64("min_notional")?,
            base_asset: None,
            quote_asset: None,
        };
        filters.validate()?;
        Ok(filters)
    }

    /// Reads `to_json` text back; the same `validate` as `new` (unknown fields refused).
    pub fn from_json(raw: &str) -> CoreResult<SymbolFilters> {
        let filters: SymbolFilters = serde_json::from_str(raw)
            .map_err(|e| CoreError::invalid(format!("not a SymbolFilters JSON: {e}")))?;
        filters.validate()?;
        Ok(filters)
    }

    pub fn validate(&self) -> CoreResult<()> {
        if self.symbol.is_empty() {
            return Err(CoreError::invalid("symbol must not be empty"));
        }
        if self.min_qty_steps > self.max_qty_steps || self.min_qty_steps < 1 {
            return Err(CoreError::invalid(format!(
                "{}: min_qty is above max_qty",
                self.symbol
            )));
        }
        if self.min_price_ticks > self.max_price_ticks || self.min_price_ticks < 0 {
            return Err(CoreError::invalid(format!(
                "{}: min_price is above max_price",
                self.symbol
            )));
        }
        if !self.min_notional.is_finite() || self.min_notional < 0.0 {
            return Err(CoreError::invalid(format!(
                "{}: min_notional must be a non-negative finite number",
                self.symbol
            )));
        }
        Ok(())
    }

    pub fn tick_size(&self) -> f64 {
        self.tick.unit()
    }

    pub fn step_size(&self) -> f64 {
        self.step.unit()
    }

    pub fn min_qty(&self) -> f64 {
        self.step.to_f64(self.min_qty_steps)
    }

    pub fn max_qty(&self) -> Option<f64> {
        (self.max_qty_steps != i64::MAX).then(|| self.step.to_f64(self.max_qty_steps))
    }

    pub fn min_price(&self) -> f64 {
        self.tick.to_f64(self.min_price_ticks)
    }

    pub fn max_price(&self) -> Option<f64> {
        (self.max_price_ticks != i64::MAX).then(|| self.tick.to_f64(self.max_price_ticks))
    }
}

#[derive(Deserialize)]
struct ExchangeInfo {
    symbols: Vec<SymbolInfo>,
}

#[derive(Deserialize)]
struct SymbolInfo {
    symbol: String,
    #[serde(rename = "baseAsset")]
    base_asset: Option<String>,
    #[serde(rename = "quoteAsset")]
    quote_asset: Option<String>,
    filters: Vec<serde_json::Map<String, serde_json::Value>>,
}

fn text_field(
    filter: &serde_json::Map<String, serde_json::Value>,
    key: &str,
    symbol: &str,
) -> CoreResult<Decimal> {
    match filter.get(key) {
        Some(serde_json::Value::String(s)) => Ok(Decimal::Text(s.clone())),
        Some(serde_json::Value::Number(n)) => Ok(Decimal::Text(n.to_string())),
        _ => Err(CoreError::invalid(format!(
            "exchangeInfo for {symbol}: filter {:?} has no field {key:?}",
            filter.get("filterType")
        ))),
    }
}

fn parse_exchange_info(raw: &[u8]) -> CoreResult<ExchangeInfo> {
    serde_json::from_slice(raw)
        .map_err(|e| CoreError::invalid(format!("exchangeInfo is not valid JSON: {e}")))
}

/// `SymbolFilters` of one symbol from a Binance spot or USD-M `exchangeInfo` response body.
pub fn from_exchange_info_json(raw: &[u8], symbol: &str) -> CoreResult<SymbolFilters> {
    let info = parse_exchange_info(raw)?;
    let entry = info
        .symbols
        .iter()
        .find(|s| s.symbol == symbol)
        .ok_or_else(|| CoreError::invalid(format!("symbol {symbol:?} is not in exchangeInfo")))?;
    filters_of(entry)
}

/// `SymbolFilters` of every symbol of an `exchangeInfo` body, in the response's order.
pub fn all_from_exchange_info_json(raw: &[u8]) -> CoreResult<Vec<SymbolFilters>> {
    parse_exchange_info(raw)?
        .symbols
        .iter()
        .map(filters_of)
        .collect()
}

fn filters_of(entry: &SymbolInfo) -> CoreResult<SymbolFilters> {
    let symbol = entry.symbol.as_str();
    let zero = || Decimal::Text("0".into());
    let mut tick = None;
    let mut step = None;
    let (mut min_qty, mut max_qty) = (zero(), zero());
    let (mut min_price, mut max_price) = (zero(), zero());
    let mut min_notional = zero();
    for filter in &entry.filters {
        match filter.get("filterType").and_then(|v| v.as_str()) {
            Some("PRICE_FILTER") => {
                tick = Some(text_field(filter, "tickSize", symbol)?);
                min_price = text_field(filter, "minPrice", symbol)?;
                max_price = text_field(filter, "maxPrice", symbol)?;
            }
            Some("LOT_SIZE") => {
                step = Some(text_field(filter, "stepSize", symbol)?);
                min_qty = text_field(filter, "minQty", symbol)?;
                max_qty = text_field(filter, "maxQty", symbol)?;
            }
            // Spot: NOTIONAL (current) or MIN_NOTIONAL (before 2023) with minNotional;
            // USD-M: MIN_NOTIONAL with notional.
            Some("NOTIONAL") | Some("MIN_NOTIONAL") => {
                min_notional = text_field(filter, "minNotional", symbol)
                    .or_else(|_| text_field(filter, "notional", symbol))?;
            }
            _ => {}
        }
    }
    let missing =
        |name: &str| CoreError::invalid(format!("exchangeInfo for {symbol} has no {name} filter"));
    let spec = FilterSpec {
        tick_size: tick.ok_or_else(|| missing("PRICE_FILTER"))?,
        step_size: step.ok_or_else(|| missing("LOT_SIZE"))?,
        min_qty,
        min_notional,
        max_qty,
        min_price,
        max_price,
    };
    let mut filters = SymbolFilters::new(symbol, &spec)?;
    filters.base_asset = entry.base_asset.clone();
    filters.quote_asset = entry.quote_asset.clone();
    Ok(filters)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_round_minimums_up_and_maximums_down() {
        let spec = FilterSpec {
            tick_size: Decimal::Text("0.01".into()),
            step_size: Decimal::Float(0.001),
            min_qty: Decimal::Float(0.0015),
            min_notional: Decimal::Float(5.0),
            max_qty: Decimal::Float(0.0),
            min_price: Decimal::Text("0.005".into()),
            max_price: Decimal::Text("100.009".into()),
        };
        let f = SymbolFilters::new("BTCUSDT", &spec).unwrap();
        assert_eq!(f.min_qty_steps, 2);
        assert_eq!(f.max_qty_steps, i64::MAX);
        assert_eq!(f.min_price_ticks, 1);
        assert_eq!(f.max_price_ticks, 10_000);
        assert_eq!(f.max_qty(), None);
    }

    #[test]
    fn exchange_info_errors_name_the_problem() {
        let raw = br#"{"symbols":[{"symbol":"X","filters":[{"filterType":"PRICE_FILTER","minPrice":"0","maxPrice":"0","tickSize":"0.1"}]}]}"#;
        let err = from_exchange_info_json(raw, "X").unwrap_err();
        assert!(err.to_string().contains("LOT_SIZE"), "{err}");
        let err = from_exchange_info_json(raw, "Y").unwrap_err();
        assert!(err.to_string().contains("\"Y\""), "{err}");
        assert!(from_exchange_info_json(b"{", "X").is_err());
    }
}
