//! Fixed-point prices and quantities.
//!
//! Invariant: inside the crate a price is an integer count of the symbol's tick size and a
//! quantity an integer count of its step size. Decimal text converts exactly (no float on the way),
//! and a value that is not a whole number of units is an error, never silently rounded. Floats
//! appear only at the Python edge (`to_f64`, `from_f64`).

use crate::errors::{CoreError, CoreResult};

const POW10: [u64; 20] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
    10_000_000_000,
    100_000_000_000,
    1_000_000_000_000,
    10_000_000_000_000,
    100_000_000_000_000,
    1_000_000_000_000_000,
    10_000_000_000_000_000,
    100_000_000_000_000_000,
    1_000_000_000_000_000_000,
    10_000_000_000_000_000_000,
];

/// A grid of values `k * unit` where `unit = mantissa * 10^-scale` (e.g. tick 0.01 is 1e-2).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Grid {
    mantissa: u64,
    scale: u32,
    /// `unit` as f64, cached for the float edge.
    unit: f64,
}

/// A non-negative decimal `digits * 10^-frac` read from text, before it is put on a grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Decimal {
    digits: u64,
    frac: u32,
    negative: bool,
}

fn parse_decimal(text: &[u8]) -> CoreResult<Decimal> {
    let bad = || {
        CoreError::invalid(format!(
            "not a decimal number: {:?}",
            String::from_utf8_lossy(text)
        ))
    };
    let (negative, body) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if body.is_empty() {
        return Err(bad());
    }
    let mut digits: u64 = 0;
    let mut frac: u32 = 0;
    let mut seen_dot = false;
    let mut seen_digit = false;
    // Trailing fractional zeros are dropped as they come so that "61602.01000000" fits easily.
    let mut pending_zeros: u32 = 0;
    for &b in body {
        match b {
            b'0'..=b'9' => {
                seen_digit = true;
                if seen_dot && b == b'0' {
                    pending_zeros += 1;
                    continue;
                }
                for _ in 0..pending_zeros {
                    digits = digits.checked_mul(10).ok_or_else(bad)?;
                }
                if seen_dot {
                    frac += pending_zeros + 1;
                }
                pending_zeros = 0;
                digits = digits
                    .checked_mul(10)
                    .and_then(|d| d.checked_add(u64::from(b - b'0')))
                    .ok_or_else(bad)?;
            }
            b'.' if !seen_dot => seen_dot = true,
            _ => return Err(bad()),
        }
    }
    if !seen_digit || frac as usize >= POW10.len() {
        return Err(bad());
    }
    Ok(Decimal {
        digits,
        frac,
        negative,
    })
}

impl Grid {
    /// A grid from decimal text such as "0.01" or "0.00001000".
    pub fn parse(unit: &str) -> CoreResult<Grid> {
        let d = parse_decimal(unit.trim().as_bytes())?;
        if d.negative || d.digits == 0 {
            return Err(CoreError::invalid(format!(
                "grid unit must be positive, got {unit:?}"
            )));
        }
        Ok(Grid {
            mantissa: d.digits,
            scale: d.frac,
            unit: d.digits as f64 / POW10[d.frac as usize] as f64,
        })
    }

    /// A grid from a float such as 0.01, read through its shortest round-trip decimal text.
    pub fn from_unit_f64(unit: f64) -> CoreResult<Grid> {
        if !unit.is_finite() || unit <= 0.0 {
            return Err(CoreError::invalid(format!(
                "grid unit must be a positive finite number, got {unit}"
            )));
        }
        Grid::parse(&format!("{unit}"))
    }

    pub fn unit(&self) -> f64 {
        self.unit
    }

    /// Exact conversion of decimal text to a count of units; off-grid text is an error.
    #[inline]
    pub fn units_from_text(&self, text: &[u8]) -> CoreResult<i64> {
        match self.units_from_plain_text(text) {
            Some(units) => Ok(units),
            None => self.units_from_text_general(text),
        }
    }

    /// The hot path of `units_from_text` for the form Binance sends ("61602.01000000").
    #[inline]
    fn units_from_plain_text(&self, text: &[u8]) -> Option<i64> {
        match self.units_from_prefix(text) {
            Some((units, used)) if used == text.len() => Some(units),
            _ => None,
        }
    }

    /// Reads a plain decimal (unsigned digits with at most one dot) at the start of `text`, up to
    /// the first other byte, and returns (units, bytes used). It only succeeds for text exactly on
    /// the grid with at most 18 significant digits, so everything fits u64 arithmetic (no u128
    /// division); None sends the caller to the general path, which also words the error.
    #[inline]
    pub fn units_from_prefix(&self, text: &[u8]) -> Option<(i64, usize)> {
        let scale = self.scale as usize;
        let mut value: u64 = 0;
        let mut digits = 0usize;
        let mut i = 0;
        while let Some(&b) = text.get(i) {
            if !b.is_ascii_digit() {
                break;
            }
            value = value * 10 + u64::from(b - b'0');
            digits += 1;
            i += 1;
            if digits + scale > 18 {
                return None;
            }
        }
        let mut frac = 0usize;
        if text.get(i) == Some(&b'.') {
            i += 1;
            while let Some(&b) = text.get(i) {
                if !b.is_ascii_digit() {
                    if b == b'.' {
                        return None;
                    }
                    break;
                }
                if frac < scale {
                    value = value * 10 + u64::from(b - b'0');
                    frac += 1;
                    digits += 1;
                } else if b != b'0' {
                    return None;
                }
                i += 1;
            }
        }
        if digits == 0 {
            return None;
        }
        value *= POW10[scale - frac];
        if self.mantissa != 1 {
            if value % self.mantissa != 0 {
                return None;
            }
            value /= self.mantissa;
        }
        Some((value as i64, i))
    }

    fn units_from_text_general(&self, text: &[u8]) -> CoreResult<i64> {
        let d = parse_decimal(text)?;
        let off_grid = || {
            CoreError::invalid(format!(
                "{} is not a multiple of {}",
                String::from_utf8_lossy(text),
                self.format_unit()
            ))
        };
        // value = digits * 10^-frac ; units = value / (mantissa * 10^-scale)
        //       = digits * 10^(scale - frac) / mantissa
        let scaled: u128 = if self.scale >= d.frac {
            u128::from(d.digits) * u128::from(POW10[(self.scale - d.frac) as usize])
        } else {
            let div = u128::from(POW10[(d.frac - self.scale) as usize]);
            let v = u128::from(d.digits);
            if v % div != 0 {
                return Err(off_grid());
            }
            v / div
        };
        let m = u128::from(self.mantissa);
        if scaled % m != 0 {
            return Err(off_grid());
        }
        let units = i64::try_from(scaled / m).map_err(|_| {
            CoreError::invalid(format!("{} is too large", String::from_utf8_lossy(text)))
        })?;
        Ok(if d.negative { -units } else { units })
    }

    /// Nearest count of units for a float; NaN, infinities and values further than 1e-6 units
    /// from the grid are errors.
    pub fn units_from_f64(&self, value: f64) -> CoreResult<i64> {
        if !value.is_finite() {
            return Err(CoreError::invalid(format!(
                "value must be finite, got {value}"
            )));
        }
        let exact = value / self.unit;
        let rounded = exact.round();
        if (exact - rounded).abs() > 1e-6 * rounded.abs().max(1.0) {
            return Err(CoreError::invalid(format!(
                "{value} is not a multiple of {}",
                self.format_unit()
            )));
        }
        if rounded.abs() >= 9.0e18 {
            return Err(CoreError::invalid(format!("{value} is too large")));
        }
        Ok(rounded as i64)
    }

    /// Units rounded toward zero (for sizing: never round a quantity up).
    pub fn units_floor_f64(&self, value: f64) -> CoreResult<i64> {
        if !value.is_finite() {
            return Err(CoreError::invalid(format!(
                "value must be finite, got {value}"
            )));
        }
        // A small tolerance keeps 0.3 / 0.1 = 2.9999999999999996 at 3 units.
        let exact = value / self.unit;
        let tol = 1e-9 * exact.abs().max(1.0);
        Ok((exact + tol.copysign(exact)).trunc() as i64)
    }

    pub fn to_f64(&self, units: i64) -> f64 {
        // Exact division by a power of ten where possible keeps 6160201 * 0.01 at 61602.01.
        (units as f64 * self.mantissa as f64) / POW10[self.scale as usize] as f64
    }

    /// Exact decimal text of `units` on this grid.
    pub fn format(&self, units: i64) -> String {
        let value = u128::from(units.unsigned_abs()) * u128::from(self.mantissa);
        let p = u128::from(POW10[self.scale as usize]);
        let sign = if units < 0 { "-" } else { "" };
        if self.scale == 0 {
            format!("{sign}{value}")
        } else {
            format!(
                "{sign}{}.{:0width$}",
                value / p,
                value % p,
                width = self.scale as usize
            )
        }
    }

    fn format_unit(&self) -> String {
        self.format(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_binance_text_exactly() {
        let tick = Grid::parse("0.01").unwrap();
        assert_eq!(tick.units_from_text(b"61602.01000000").unwrap(), 6_160_201);
        assert_eq!(tick.units_from_text(b"61602").unwrap(), 6_160_200);
        assert_eq!(tick.units_from_text(b"0.00").unwrap(), 0);
        let step = Grid::parse("0.00001000").unwrap();
        assert_eq!(step.units_from_text(b"0.00012000").unwrap(), 12);
        assert_eq!(step.format(12), "0.00012");
    }

    #[test]
    fn off_grid_and_garbage_are_errors() {
        let tick = Grid::parse("0.01").unwrap();
        assert!(tick.units_from_text(b"1.001").is_err());
        assert!(tick.units_from_text(b"1.0.1").is_err());
        assert!(tick.units_from_text(b"").is_err());
        assert!(tick.units_from_text(b"abc").is_err());
        assert!(tick.units_from_f64(f64::NAN).is_err());
        assert!(tick.units_from_f64(1.005).is_err());
        let half = Grid::parse("0.5").unwrap();
        assert_eq!(half.units_from_text(b"2.5").unwrap(), 5);
        assert!(half.units_from_text(b"2.25").is_err());
        assert!(Grid::parse("0").is_err());
        assert!(Grid::parse("-1").is_err());
    }

    #[test]
    fn float_edge_round_trips() {
        let tick = Grid::from_unit_f64(0.1).unwrap();
        assert_eq!(tick.units_from_f64(61659.7).unwrap(), 616_597);
        assert_eq!(tick.to_f64(616_597), 61659.7);
        assert_eq!(tick.format(616_597), "61659.7");
        assert_eq!(tick.units_floor_f64(0.3).unwrap(), 3);
        assert_eq!(tick.units_floor_f64(0.39).unwrap(), 3);
        assert_eq!(Grid::from_unit_f64(1e-8).unwrap().format(1), "0.00000001");
    }

    #[test]
    fn fast_and_general_paths_agree() {
        for unit in ["0.01", "0.00000001", "0.5", "1", "10", "0.0025"] {
            let grid = Grid::parse(unit).unwrap();
            for text in [
                "61602.01000000",
                "0",
                "0.",
                ".5",
                "5.",
                "12.5",
                "0.00000000",
                "25.42618900",
                "100",
                "2.50",
                "0.0075",
                "999999999999",
                "1.",
                "00.10",
                "1e5",
                "-1",
                "+2",
                "1..2",
                ".",
                "",
                "123456789012345678901234",
            ] {
                let fast = grid.units_from_plain_text(text.as_bytes());
                let general = grid.units_from_text_general(text.as_bytes()).ok();
                if fast.is_some() {
                    assert_eq!(fast, general, "{text} on {unit}");
                }
                assert_eq!(
                    grid.units_from_text(text.as_bytes()).ok(),
                    general,
                    "{text}"
                );
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn text_round_trip(units in -1_000_000_000_000i64..1_000_000_000_000i64, scale in 0u32..9) {
            let grid = Grid::parse(&Grid { mantissa: 1, scale, unit: 0.0 }.format(1)).unwrap();
            let text = grid.format(units);
            proptest::prop_assert_eq!(grid.units_from_text(text.as_bytes()).unwrap(), units);
        }
    }
}
