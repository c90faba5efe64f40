//! Parsing of Binance depth JSON straight into integer ticks and steps.
//!
//! A strict single-pass scanner rather than serde: a depth frame is a fixed shape, and reading the
//! level strings directly onto the grid avoids building any intermediate value. It is still a real
//! JSON reader (unknown keys are skipped value by value, strings with escapes included; trailing
//! garbage, missing fields, duplicate or wrong-typed fields are errors), so malformed input fails
//! with a message naming the problem instead of being half-read. Nothing here touches a book: the
//! caller validates the whole frame before applying any of it.

use crate::errors::{CoreError, CoreResult};
use crate::fixed::Grid;

/// The header of a `depthUpdate` (plain or inside a combined-stream `{"stream":..,"data":..}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepthHeader<'a> {
    pub symbol: &'a [u8],
    pub first_update_id: u64,
    pub final_update_id: u64,
    /// `pu` (USD-M only): the final update id of the previous frame.
    pub prev_final_update_id: Option<u64>,
    pub event_time_ms: Option<u64>,
}

/// A REST depth snapshot header (`GET /api/v3/depth`, `GET /fapi/v1/depth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotHeader {
    pub last_update_id: u64,
}

/// Reads price levels onto a grid. Prices must be > 0 and quantities >= 0.
pub struct LevelGrids<'g> {
    pub tick: &'g Grid,
    pub step: &'g Grid,
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn err(msg: impl Into<String>) -> CoreError {
    CoreError::invalid(msg)
}

impl<'a> Cursor<'a> {
    #[inline]
    fn ws(&mut self) {
        while let Some(&b) = self.buf.get(self.pos) {
            if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                break;
            }
            self.pos += 1;
        }
    }

    #[inline]
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.buf.get(self.pos).copied()
    }

    fn unexpected(&self, wanted: &str) -> CoreError {
        match self.buf.get(self.pos) {
            Some(&b) => err(format!(
                "malformed JSON: expected {wanted} at byte {}, found {:?}",
                self.pos, b as char
            )),
            None => err(format!(
                "malformed JSON: expected {wanted} at byte {}, found end of input",
                self.pos
            )),
        }
    }

    #[inline]
    fn eat(&mut self, byte: u8) -> CoreResult<()> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.unexpected(&format!("{:?}", byte as char)))
        }
    }

    /// After a value inside a container: true if another element follows (`,` consumed),
    /// false at the closing byte (consumed).
    #[inline]
    fn more(&mut self, close: u8) -> CoreResult<bool> {
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                Ok(true)
            }
            Some(b) if b == close => {
                self.pos += 1;
                Ok(false)
            }
            _ => Err(self.unexpected(&format!("',' or {:?}", close as char))),
        }
    }

    /// The raw bytes of a string without escapes (keys, symbols, decimal text). A string that
    /// holds an escape is valid JSON but never occurs in these fields, so it is refused by name.
    #[inline]
    fn plain_string(&mut self) -> CoreResult<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.pos;
        let rest = &self.buf[start..];
        match rest
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        {
            Some(n) if rest[n] == b'"' => {
                self.pos = start + n + 1;
                Ok(&rest[..n])
            }
            Some(n) if rest[n] == b'\\' => Err(err(format!(
                "unsupported escape sequence in string at byte {}",
                start + n
            ))),
            Some(n) => Err(err(format!(
                "malformed JSON: control character in string at byte {}",
                start + n
            ))),
            None => Err(err("malformed JSON: unterminated string")),
        }
    }

    fn skip_string(&mut self) -> CoreResult<()> {
        self.eat(b'"')?;
        while let Some(&b) = self.buf.get(self.pos) {
            self.pos += 1;
            match b {
                b'"' => return Ok(()),
                b'\\' => {
                    if self.buf.get(self.pos).is_none() {
                        break;
                    }
                    self.pos += 1;
                }
                0..=0x1f => return Err(err("malformed JSON: control character in string")),
                _ => {}
            }
        }
        Err(err("malformed JSON: unterminated string"))
    }

    /// The raw text of a JSON number token (validated by whoever converts it).
    fn number_token(&mut self) -> CoreResult<&'a [u8]> {
        self.ws();
        let start = self.pos;
        while let Some(&b) = self.buf.get(self.pos) {
            if !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
                break;
            }
            self.pos += 1;
        }
        if self.pos == start {
            return Err(self.unexpected("a number"));
        }
        Ok(&self.buf[start..self.pos])
    }

    fn u64_field(&mut self, name: &str) -> CoreResult<u64> {
        let tok = self.number_token()?;
        let mut v: u64 = 0;
        for &b in tok {
            if !b.is_ascii_digit() {
                return Err(err(format!(
                    "field {name:?} must be a non-negative integer, got {:?}",
                    String::from_utf8_lossy(tok)
                )));
            }
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(b - b'0')))
                .ok_or_else(|| err(format!("field {name:?} overflows 64 bits")))?;
        }
        Ok(v)
    }

    fn skip_literal(&mut self, lit: &[u8]) -> CoreResult<()> {
        if self.buf[self.pos..].starts_with(lit) {
            self.pos += lit.len();
            Ok(())
        } else {
            Err(self.unexpected("a JSON value"))
        }
    }

    fn skip_value(&mut self, depth: u32) -> CoreResult<()> {
        if depth > 64 {
            return Err(err("malformed JSON: nesting deeper than 64"));
        }
        match self.peek() {
            Some(b'"') => self.skip_string(),
            Some(b'{') => {
                self.pos += 1;
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    return Ok(());
                }
                loop {
                    self.skip_string()?;
                    self.eat(b':')?;
                    self.skip_value(depth + 1)?;
                    if !self.more(b'}')? {
                        return Ok(());
                    }
                }
            }
            Some(b'[') => {
                self.pos += 1;
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(());
                }
                loop {
                    self.skip_value(depth + 1)?;
                    if !self.more(b']')? {
                        return Ok(());
                    }
                }
            }
            Some(b't') => self.skip_literal(b"true"),
            Some(b'f') => self.skip_literal(b"false"),
            Some(b'n') => self.skip_literal(b"null"),
            Some(_) => self.number_token().map(|_| ()),
            None => Err(self.unexpected("a JSON value")),
        }
    }

    /// A decimal as a string (Binance's form) or a bare JSON number.
    #[inline]
    fn decimal_text(&mut self) -> CoreResult<&'a [u8]> {
        if self.peek() == Some(b'"') {
            self.plain_string()
        } else {
            self.number_token()
        }
    }

    /// One level in Binance's exact form `["<price>","<qty>"]` (no whitespace, plain decimals on
    /// the grid, price > 0), or None, leaving the cursor where it was for the general path.
    #[inline]
    fn binance_level(&mut self, grids: &LevelGrids<'_>) -> Option<(i64, i64)> {
        let rest = &self.buf[self.pos..];
        if rest.get(..2)? != b"[\"" {
            return None;
        }
        let (price, n) = grids.tick.units_from_prefix(&rest[2..])?;
        let mut i = 2 + n;
        if rest.get(i..i + 3)? != b"\",\"" {
            return None;
        }
        i += 3;
        let (qty, m) = grids.step.units_from_prefix(&rest[i..])?;
        i += m;
        if rest.get(i..i + 2)? != b"\"]" || price <= 0 {
            return None;
        }
        self.pos += i + 2;
        Some((price, qty))
    }

    /// `[[price, qty], ...]` appended to `out` as (ticks, steps).
    fn levels(
        &mut self,
        grids: &LevelGrids<'_>,
        side: &str,
        out: &mut Vec<(i64, i64)>,
    ) -> CoreResult<()> {
        self.eat(b'[')?;
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            if let Some(level) = self.binance_level(grids) {
                out.push(level);
                if !self.more(b']')? {
                    return Ok(());
                }
                continue;
            }
            self.eat(b'[')?;
            let price_text = self.decimal_text()?;
            self.eat(b',')?;
            let qty_text = self.decimal_text()?;
            if self.peek() != Some(b']') {
                return Err(err(format!(
                    "{side} level {} must be a [price, quantity] pair",
                    out.len()
                )));
            }
            self.pos += 1;
            out.push(read_level(grids, side, price_text, qty_text)?);
            if !self.more(b']')? {
                return Ok(());
            }
        }
    }

    fn end(&mut self) -> CoreResult<()> {
        if self.peek().is_some() {
            return Err(err(format!(
                "malformed JSON: trailing data after the object at byte {}",
                self.pos
            )));
        }
        Ok(())
    }
}

#[inline]
fn read_level(
    grids: &LevelGrids<'_>,
    side: &str,
    price_text: &[u8],
    qty_text: &[u8],
) -> CoreResult<(i64, i64)> {
    let price = grids
        .tick
        .units_from_text(price_text)
        .map_err(|e| err(format!("{side} price: {e}")))?;
    let qty = grids
        .step
        .units_from_text(qty_text)
        .map_err(|e| err(format!("{side} quantity: {e}")))?;
    if price <= 0 {
        return Err(err(format!(
            "{side} price must be positive, got {}",
            String::from_utf8_lossy(price_text)
        )));
    }
    if qty < 0 {
        return Err(err(format!(
            "{side} quantity must not be negative, got {}",
            String::from_utf8_lossy(qty_text)
        )));
    }
    Ok((price, qty))
}

fn set_once<T>(slot: &mut Option<T>, value: T, name: &str) -> CoreResult<()> {
    if slot.is_some() {
        return Err(err(format!("duplicate field {name:?}")));
    }
    *slot = Some(value);
    Ok(())
}

fn missing(name: &str, what: &str) -> CoreError {
    err(format!("{what} lacks field {name:?}"))
}

/// Parses a depthUpdate frame, plain or wrapped in a combined-stream object, appending its levels
/// to `bids` and `asks` (which the caller clears). Any error leaves only those buffers touched.
pub fn parse_depth_update<'a>(
    raw: &'a [u8],
    grids: &LevelGrids<'_>,
    bids: &mut Vec<(i64, i64)>,
    asks: &mut Vec<(i64, i64)>,
) -> CoreResult<DepthHeader<'a>> {
    let mut cur = Cursor { buf: raw, pos: 0 };
    let header = depth_object(&mut cur, grids, bids, asks, true)?;
    cur.end()?;
    Ok(header)
}

fn depth_object<'a>(
    cur: &mut Cursor<'a>,
    grids: &LevelGrids<'_>,
    bids: &mut Vec<(i64, i64)>,
    asks: &mut Vec<(i64, i64)>,
    outer: bool,
) -> CoreResult<DepthHeader<'a>> {
    let mut symbol = None;
    let mut first = None;
    let mut last = None;
    let mut prev = None;
    let mut event_time = None;
    let (mut saw_b, mut saw_a) = (false, false);
    let mut inner: Option<DepthHeader<'a>> = None;
    cur.eat(b'{')?;
    if cur.peek() == Some(b'}') {
        return Err(err("depth frame is an empty JSON object"));
    }
    loop {
        let key = cur.plain_string()?;
        cur.eat(b':')?;
        match key {
            b"e" => {
                let kind = cur.plain_string()?;
                if kind != b"depthUpdate" {
                    return Err(err(format!(
                        "not a depthUpdate frame (event type {:?})",
                        String::from_utf8_lossy(kind)
                    )));
                }
            }
            b"s" => set_once(&mut symbol, cur.plain_string()?, "s")?,
            b"U" => set_once(&mut first, cur.u64_field("U")?, "U")?,
            b"u" => set_once(&mut last, cur.u64_field("u")?, "u")?,
            b"pu" => set_once(&mut prev, cur.u64_field("pu")?, "pu")?,
            b"E" => set_once(&mut event_time, cur.u64_field("E")?, "E")?,
            b"b" if !saw_b => {
                saw_b = true;
                cur.levels(grids, "bid", bids)?;
            }
            b"a" if !saw_a => {
                saw_a = true;
                cur.levels(grids, "ask", asks)?;
            }
            b"b" | b"a" => return Err(err("duplicate field \"b\" or \"a\"")),
            b"data" if outer => {
                let header = depth_object(cur, grids, bids, asks, false)?;
                set_once(&mut inner, header, "data")?;
            }
            _ => cur.skip_value(0)?,
        }
        if !cur.more(b'}')? {
            break;
        }
    }
    if let Some(header) = inner {
        return Ok(header);
    }
    let what = "depthUpdate frame";
    if !saw_b {
        return Err(missing("b", what));
    }
    if !saw_a {
        return Err(missing("a", what));
    }
    let header = DepthHeader {
        symbol: symbol.ok_or_else(|| missing("s", what))?,
        first_update_id: first.ok_or_else(|| missing("U", what))?,
        final_update_id: last.ok_or_else(|| missing("u", what))?,
        prev_final_update_id: prev,
        event_time_ms: event_time,
    };
    if header.first_update_id > header.final_update_id {
        return Err(err(format!(
            "depthUpdate has U={} after u={}",
            header.first_update_id, header.final_update_id
        )));
    }
    Ok(header)
}

/// Parses a REST depth snapshot `{"lastUpdateId":..,"bids":[..],"asks":[..]}`.
pub fn parse_snapshot(
    raw: &[u8],
    grids: &LevelGrids<'_>,
    bids: &mut Vec<(i64, i64)>,
    asks: &mut Vec<(i64, i64)>,
) -> CoreResult<SnapshotHeader> {
    let mut cur = Cursor { buf: raw, pos: 0 };
    let mut last = None;
    let (mut saw_b, mut saw_a) = (false, false);
    cur.eat(b'{')?;
    if cur.peek() == Some(b'}') {
        return Err(err("depth snapshot is an empty JSON object"));
    }
    loop {
        let key = cur.plain_string()?;
        cur.eat(b':')?;
        match key {
            b"lastUpdateId" => set_once(&mut last, cur.u64_field("lastUpdateId")?, key_name(key))?,
            b"bids" if !saw_b => {
                saw_b = true;
                cur.levels(grids, "bid", bids)?;
            }
            b"asks" if !saw_a => {
                saw_a = true;
                cur.levels(grids, "ask", asks)?;
            }
            b"bids" | b"asks" => return Err(err("duplicate field \"bids\" or \"asks\"")),
            _ => cur.skip_value(0)?,
        }
        if !cur.more(b'}')? {
            break;
        }
    }
    cur.end()?;
    let what = "depth snapshot";
    if !saw_b {
        return Err(missing("bids", what));
    }
    if !saw_a {
        return Err(missing("asks", what));
    }
    Ok(SnapshotHeader {
        last_update_id: last.ok_or_else(|| missing("lastUpdateId", what))?,
    })
}

fn key_name(key: &[u8]) -> &str {
    std::str::from_utf8(key).unwrap_or("?")
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
