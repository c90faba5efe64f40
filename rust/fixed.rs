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

#[inline(always)]
fn load8(text: &[u8], at: usize) -> Option<u64> {
    let bytes: [u8; 8] = text.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(bytes))
}

/// Number of ASCII digits at the start of the 8 little-endian bytes of `chunk` (0..=8). A byte
/// is a digit iff its high nibble is 3 both as is and after adding 6; the addition cannot carry
/// into an earlier byte, so the first non-digit is found exactly.
#[inline(always)]
fn leading_digits(chunk: u64) -> usize {
    const HIGH: u64 = 0xF0F0_F0F0_F0F0_F0F0;
    const THREES: u64 = 0x3030_3030_3030_3030;
    let not_digit =
        ((chunk & HIGH) ^ THREES) | ((chunk.wrapping_add(0x0606_0606_0606_0606) & HIGH) ^ THREES);
    (not_digit.trailing_zeros() / 8) as usize
}

/// Value of the first `n` (1..=8) ASCII digits of `chunk`, which must all be digits.
#[inline(always)]
fn parse_digits(chunk: u64, n: usize) -> u64 {
    debug_assert!((1..=8).contains(&n));
    // Move the n digits to the top bytes and fill the bottom with '0' (leading zeros).
    let aligned = if n == 8 {
        chunk
    } else {
        let shift = 8 * (8 - n) as u32;
        (chunk << shift) | (0x3030_3030_3030_3030u64 >> (64 - shift))
    };
    let mut v = aligned.wrapping_sub(0x3030_3030_3030_3030);
    v = v.wrapping_mul(10).wrapping_add(v >> 8);
    (((v & 0x0000_00FF_0000_00FF).wrapping_mul(100 + (1_000_000 << 32)))
        .wrapping_add(((v >> 16) & 0x0000_00FF_0000_00FF).wrapping_mul(1 + (10_000 << 32))))
        >> 32
}

/// How far (in units) a float may sit from a whole count of units and still count as on the grid:
/// the representation error of `value / unit` (a few ulps of the count), never less than `floor`.
/// The slack is absolute in units, so a price 0.5 tick off the grid is refused at any magnitude.
fn float_slack(units: f64, floor: f64) -> f64 {
    (units.abs() * 64.0 * f64::EPSILON).max(floor)
}

/// A grid of values `k * unit` where `unit = mantissa * 10^-scale` (e.g. tick 0.01 is 1e-2).
///
/// Invariant: `mantissa > 0` and `scale < 20` (so `POW10[scale]` exists and no division is by
/// zero); JSON read back goes through `Grid::checked`, the same check as `parse`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "GridFields")]
pub struct Grid {
    mantissa: u64,
    scale: u32,
    /// `unit` as f64, cached for the float edge.
    unit: f64,
}

/// `Grid` as stored, before `Grid::checked` accepts it.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct GridFields {
    mantissa: u64,
    scale: u32,
    unit: f64,
}

impl TryFrom<GridFields> for Grid {
    type Error = CoreError;

    fn try_from(g: GridFields) -> CoreResult<Grid> {
        let grid = Grid::checked(g.mantissa, g.scale)?;
        if grid.unit != g.unit {
            return Err(CoreError::invalid(format!(
                "grid unit {} does not match mantissa {} and scale {}",
                g.unit, g.mantissa, g.scale
            )));
        }
        Ok(grid)
    }
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
        Grid::checked(d.digits, d.frac)
    }

    /// The grid `mantissa * 10^-scale`; the one place a `Grid` is built, so every grid (parsed
    /// or restored from JSON) holds the invariant.
    pub fn checked(mantissa: u64, scale: u32) -> CoreResult<Grid> {
        if mantissa == 0 {
            return Err(CoreError::invalid(
                "grid unit must be positive, got mantissa 0",
            ));
        }
        if scale as usize >= POW10.len() {
            return Err(CoreError::invalid(format!(
                "grid scale must be below {}, got {scale}",
                POW10.len()
            )));
        }
        Ok(Grid {
            mantissa,
            scale,
            unit: mantissa as f64 / POW10[scale as usize] as f64,
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
        if let Some(found) = self.units_from_prefix_swar(text) {
            return Some(found);
        }
        self.units_from_prefix_bytes(text)
    }

    /// `units_from_prefix` eight bytes at a time: the integer digits and the fraction digits are
    /// each read with one 8-byte load (SWAR, as in simdjson / fast_float). Needs 8 readable bytes
    /// at each part, at most 7 integer and 8 fraction digits, scale <= 10; None otherwise (the caller falls back
    /// to the byte loop, which handles every form the fast path declines).
    #[inline(always)]
    fn units_from_prefix_swar(&self, text: &[u8]) -> Option<(i64, usize)> {
        let scale = self.scale as usize;
        if scale > 10 {
            return None;
        }
        let head = load8(text, 0)?;
        let n_int = leading_digits(head);
        if n_int == 8 || n_int == 0 {
            return None;
        }
        let int_part = parse_digits(head, n_int);
        if text.get(n_int) != Some(&b'.') {
            let value = int_part * POW10[scale];
            return (value % self.mantissa == 0).then(|| ((value / self.mantissa) as i64, n_int));
        }
        let frac_chunk = load8(text, n_int + 1)?;
        let n_frac = leading_digits(frac_chunk);
        if n_frac == 8 && text.get(n_int + 9).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let take = n_frac.min(scale);
        // Digits past the grid's scale must all be '0'.
        if n_frac > take {
            let extra = (frac_chunk >> (8 * take)) ^ 0x3030_3030_3030_3030;
            if extra & (u64::MAX >> (64 - 8 * (n_frac - take))) != 0 {
                return None;
            }
        }
        let frac_part = if take == 0 {
            0
        } else {
            parse_digits(frac_chunk, take)
        };
        let mut value = int_part * POW10[scale] + frac_part * POW10[scale - take];
        if self.mantissa != 1 {
            if value % self.mantissa != 0 {
                return None;
            }
            value /= self.mantissa;
        }
        Some((value as i64, n_int + 1 + n_frac))
    }

    #[inline]
    fn units_from_prefix_bytes(&self, text: &[u8]) -> Option<(i64, usize)> {
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
        if (exact - rounded).abs() > float_slack(exact, 1e-6) {
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
        // The slack keeps 0.3 / 0.1 = 2.9999999999999996 at 3 units; it only absorbs float
        // representation error, never a real fraction of a unit.
        let exact = value / self.unit;
        let tol = float_slack(exact, 1e-9);
        Ok((exact + tol.copysign(exact)).trunc() as i64)
    }

    pub fn to_f64(&self, units: i64) -> f64 {
        // Exact division by a power of ten where possible keeps 6160201 * 0.01 at 61602.01.
        (units as f64 * self.mantissa as f64) / POW10[self.scale as usize] as f64
    }

    /// `to_f64` of a wide count (a sum of i64 counts), rounded once.
    pub fn to_f64_wide(&self, units: i128) -> f64 {
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
        // Large counts: off-grid by a fraction of a tick is refused, flooring never rounds up.
        let cent = Grid::parse("0.01").unwrap();
        assert_eq!(cent.units_from_f64(61602.01).unwrap(), 6_160_201);
        assert!(cent.units_from_f64(61602.015).is_err());
        assert!(cent.units_from_f64(61602.0101).is_err());
        assert_eq!(cent.units_floor_f64(24_000.009976).unwrap(), 2_400_000);
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

    #[test]
    fn swar_path_takes_binance_text() {
        let tick = Grid::parse("0.01").unwrap();
        let step = Grid::parse("0.00000001").unwrap();
        let price = b"61000.01000000\",\"1.5\"]";
        assert_eq!(tick.units_from_prefix_swar(price), Some((6_100_001, 14)));
        let qty = b"0.00012000\"]]";
        assert_eq!(step.units_from_prefix_swar(qty), Some((12_000, 10)));
        let futures_qty = b"10499\"]],\"a\"";
        assert_eq!(
            step.units_from_prefix_swar(futures_qty),
            Some((1_049_900_000_000, 5))
        );
    }

    #[test]
    fn swar_digits() {
        let chunk = u64::from_le_bytes(*b"61737.63");
        assert_eq!(leading_digits(chunk), 5);
        assert_eq!(parse_digits(chunk, 5), 61737);
        assert_eq!(
            parse_digits(u64::from_le_bytes(*b"12345678"), 8),
            12_345_678
        );
        assert_eq!(parse_digits(u64::from_le_bytes(*b"0000000\""), 7), 0);
        assert_eq!(leading_digits(u64::from_le_bytes(*b"\"1234567")), 0);
        assert_eq!(
            leading_digits(u64::from_le_bytes([b'1', 0xFA, b'2', 0, 0, 0, 0, 0])),
            1
        );
    }

    proptest::proptest! {
        /// The SWAR path, the byte path and the general parser agree on every plain decimal,
        /// whatever follows it in the buffer.
        #[test]
        fn fast_paths_agree_with_the_general_parser(
            int_digits in "[0-9]{0,10}",
            frac_digits in proptest::option::of("[0-9]{0,12}"),
            tail in "[\"\\],.a-z0-9]{0,9}",
            unit in proptest::sample::select(vec!["0.01", "0.00000001", "0.1", "1", "0.5", "0.0025", "10"]),
        ) {
            let grid = Grid::parse(unit).unwrap();
            let number = match &frac_digits {
                Some(f) => format!("{int_digits}.{f}"),
                None => int_digits.clone(),
            };
            let text = format!("{number}{tail}");
            let general = grid.units_from_text_general(number.as_bytes()).ok();
            let found = [
                grid.units_from_prefix_swar(text.as_bytes()),
                grid.units_from_prefix_bytes(text.as_bytes()),
                grid.units_from_prefix(text.as_bytes()),
            ];
            for (units, used) in found.into_iter().flatten() {
                {
                    // A prefix parse may stop early only where the text stops being a number.
                    if used == number.len() {
                        proptest::prop_assert_eq!(Some(units), general, "{} on {}", text, unit);
                    } else {
                        proptest::prop_assert!(grid.units_from_text(&text.as_bytes()[..used]).is_ok());
                    }
                }
            }
        }

        #[test]
        fn text_round_trip(units in -1_000_000_000_000i64..1_000_000_000_000i64, scale in 0u32..9) {
            let grid = Grid::parse(&Grid { mantissa: 1, scale, unit: 0.0 }.format(1)).unwrap();
            let text = grid.format(units);
            proptest::prop_assert_eq!(grid.units_from_text(text.as_bytes()).unwrap(), units);
        }
    }
}
