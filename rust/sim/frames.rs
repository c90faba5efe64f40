//! Raw Binance frames the simulator reads besides depth: trades, and the kind of each frame.
//!
//! A trade frame (`trade` or `aggTrade`, plain or combined-stream) is read in place in one pass
//! over its (flat) object: symbol, price, quantity and `m` (buyer is maker, i.e. the seller was
//! the aggressor) are parsed exactly onto the book's grids; nothing is allocated.
//! Anything missing or off-grid is an `InvalidInput` naming the key.

use crate::errors::{CoreError, CoreResult};
use crate::fixed::Grid;

/// What a recorded frame is; stored as its `u8` value in replay arrays.
#[cfg_attr(
    feature = "python",
    pyo3::pyclass(eq, eq_int, hash, frozen, from_py_object, module = "gradtrade._core")
)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(non_camel_case_types, clippy::upper_case_acronyms)]
#[repr(u8)]
pub enum FrameKind {
    /// A websocket depthUpdate diff.
    DEPTH = 0,
    /// A REST depth snapshot body.
    SNAPSHOT = 1,
    /// A websocket trade (or aggTrade).
    TRADE = 2,
    /// A websocket bookTicker (counted, not used for matching).
    BOOK_TICKER = 3,
}

impl FrameKind {
    pub fn from_u8(v: u8) -> CoreResult<FrameKind> {
        Ok(match v {
            0 => FrameKind::DEPTH,
            1 => FrameKind::SNAPSHOT,
            2 => FrameKind::TRADE,
            3 => FrameKind::BOOK_TICKER,
            other => {
                return Err(CoreError::invalid(format!(
                    "frame kind must be 0 (depth), 1 (snapshot), 2 (trade) or 3 (bookTicker), got {other}"
                )))
            }
        })
    }

    /// The kind of a raw frame: a combined-stream frame by its stream name, else a REST depth
    /// snapshot if it has `lastUpdateId`, else by its event type `"e"`.
    pub fn classify(raw: &[u8]) -> CoreResult<FrameKind> {
        const STREAM: &[u8] = b"{\"stream\":\"";
        if let Some(rest) = raw.strip_prefix(STREAM) {
            let end = rest.iter().position(|&b| b == b'"').unwrap_or(rest.len());
            let name = &rest[..end];
            if contains(name, b"@depth") {
                return Ok(FrameKind::DEPTH);
            }
            if name.ends_with(b"@trade") || name.ends_with(b"@aggTrade") {
                return Ok(FrameKind::TRADE);
            }
            if name.ends_with(b"@bookTicker") {
                return Ok(FrameKind::BOOK_TICKER);
            }
            return Err(CoreError::invalid(format!(
                "unsupported stream {:?} (depth, trade, aggTrade and bookTicker are simulated)",
                String::from_utf8_lossy(name)
            )));
        }
        if contains(raw, b"\"lastUpdateId\"") {
            return Ok(FrameKind::SNAPSHOT);
        }
        if contains(raw, b"\"e\":\"depthUpdate\"") {
            return Ok(FrameKind::DEPTH);
        }
        if contains(raw, b"\"e\":\"trade\"") || contains(raw, b"\"e\":\"aggTrade\"") {
            return Ok(FrameKind::TRADE);
        }
        if contains(raw, b"\"A\":\"") && contains(raw, b"\"B\":\"") {
            return Ok(FrameKind::BOOK_TICKER);
        }
        Err(CoreError::invalid(
            "frame is neither a depth diff, a depth snapshot, a trade nor a bookTicker",
        ))
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    find(hay, needle, 0).is_some()
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// One public trade, on the book's grids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trade {
    /// Price in ticks.
    pub price: i64,
    /// Quantity in steps (> 0).
    pub qty: i64,
    /// True when the buyer was the maker: a sell aggressor hit the bids.
    pub buyer_is_maker: bool,
}

/// Parses a trade frame; `symbol` must match its `"s"`.
pub fn parse_trade(raw: &[u8], symbol: &str, tick: &Grid, step: &Grid) -> CoreResult<Trade> {
    let fields = trade_fields(raw)?;
    let s = fields.s.ok_or_else(|| missing(b"\"s\""))?;
    if s != symbol.as_bytes() {
        return Err(CoreError::invalid(format!(
            "trade frame for symbol {:?} sent to the {symbol} venue",
            String::from_utf8_lossy(s)
        )));
    }
    let price = tick
        .units_from_text(fields.p.ok_or_else(|| missing(b"\"p\""))?)
        .map_err(|e| CoreError::invalid(format!("trade price: {e}")))?;
    let qty = step
        .units_from_text(fields.q.ok_or_else(|| missing(b"\"q\""))?)
        .map_err(|e| CoreError::invalid(format!("trade quantity: {e}")))?;
    if price <= 0 || qty <= 0 {
        return Err(CoreError::invalid(format!(
            "trade price and quantity must be positive, got {} x {}",
            tick.format(price),
            step.format(qty)
        )));
    }
    let buyer_is_maker = match fields.m.ok_or_else(|| missing(b"\"m\""))? {
        b"true" => true,
        b"false" => false,
        _ => {
            return Err(CoreError::invalid(
                "trade frame: \"m\" must be true or false",
            ))
        }
    };
    Ok(Trade {
        price,
        qty,
        buyer_is_maker,
    })
}

/// Raw values of the keys a trade needs (strings without quotes, literals as they are).
#[derive(Default)]
struct TradeFields<'a> {
    s: Option<&'a [u8]>,
    p: Option<&'a [u8]>,
    q: Option<&'a [u8]>,
    m: Option<&'a [u8]>,
}

/// One pass over the trade object (inside `"data"` for a combined-stream frame). Binance's
/// trade values are flat: strings without escapes, numbers and booleans; anything else (a
/// nested object, an escape, a truncated frame) is refused.
fn trade_fields(raw: &[u8]) -> CoreResult<TradeFields<'_>> {
    let bad = || CoreError::invalid("trade frame is not a flat JSON object");
    let mut i = 0usize;
    // A combined-stream frame closes its outer object right after the data object.
    let mut outer = false;
    const STREAM: &[u8] = b"{\"stream\":\"";
    if raw.starts_with(STREAM) {
        outer = true;
        let name_end = STREAM.len()
            + raw[STREAM.len()..]
                .iter()
                .position(|&b| b == b'"')
                .ok_or_else(bad)?;
        const DATA: &[u8] = b",\"data\":";
        if !raw[name_end + 1..].starts_with(DATA) {
            return Err(CoreError::invalid(
                "combined-stream trade frame lacks \"data\" after \"stream\"",
            ));
        }
        i = name_end + 1 + DATA.len();
    }
    if raw.get(i) != Some(&b'{') {
        return Err(bad());
    }
    i += 1;
    let mut out = TradeFields::default();
    loop {
        if raw.get(i) != Some(&b'"') {
            return Err(bad());
        }
        let key_len = raw[i + 1..]
            .iter()
            .position(|&b| b == b'"')
            .ok_or_else(bad)?;
        let key = &raw[i + 1..i + 1 + key_len];
        i += key_len + 2;
        if raw.get(i) != Some(&b':') {
            return Err(bad());
        }
        i += 1;
        let value = if raw.get(i) == Some(&b'"') {
            let len = raw[i + 1..]
                .iter()
                .position(|&b| b == b'"')
                .ok_or_else(bad)?;
            let v = &raw[i + 1..i + 1 + len];
            if v.contains(&b'\\') {
                return Err(bad());
            }
            i += len + 2;
            v
        } else {
            let len = raw[i..]
                .iter()
                .position(|&b| b == b',' || b == b'}')
                .ok_or_else(bad)?;
            let v = &raw[i..i + len];
            if v.is_empty() || v.contains(&b'{') || v.contains(&b'[') || v.contains(&b'"') {
                return Err(bad());
            }
            i += len;
            v
        };
        match key {
            b"s" => out.s = Some(value),
            b"p" => out.p = Some(value),
            b"q" => out.q = Some(value),
            b"m" => out.m = Some(value),
            _ => {}
        }
        match raw.get(i) {
            Some(b',') => i += 1,
            Some(b'}') => {
                let rest = &raw[i + 1..];
                let closed = if outer { rest == b"}" } else { rest.is_empty() };
                return if closed { Ok(out) } else { Err(bad()) };
            }
            _ => return Err(bad()),
        }
    }
}

fn missing(key: &[u8]) -> CoreError {
    let name = String::from_utf8_lossy(key);
    let name = name.split('"').nth(1).unwrap_or_default().to_string();
    CoreError::invalid(format!("trade frame lacks the key {name:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRADE: &[u8] = br#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}}"#;

    fn grids() -> (Grid, Grid) {
        (
            Grid::parse("0.01").unwrap(),
            Grid::parse("0.00001").unwrap(),
        )
    }

    #[test]
    fn parses_a_recorded_trade_exactly() {
        let (tick, step) = grids();
        let t = parse_trade(TRADE, "BTCUSDT", &tick, &step).unwrap();
        assert_eq!(
            t,
            Trade {
                price: 6_183_763,
                qty: 2_000,
                buyer_is_maker: true
            }
        );
        let plain = br#"{"e":"aggTrade","s":"BTCUSDT","p":"1.00","q":"3","m":false}"#;
        let t = parse_trade(plain, "BTCUSDT", &tick, &step).unwrap();
        assert_eq!((t.price, t.qty, t.buyer_is_maker), (100, 300_000, false));
    }

    #[test]
    fn bad_trades_name_the_problem() {
        let (tick, step) = grids();
        let e = parse_trade(TRADE, "ETHUSDT", &tick, &step).unwrap_err();
        assert!(e.to_string().contains("BTCUSDT"), "{e}");
        let no_q = br#"{"e":"trade","s":"BTCUSDT","p":"1.00","m":true}"#;
        assert!(parse_trade(no_q, "BTCUSDT", &tick, &step)
            .unwrap_err()
            .to_string()
            .contains("\"q\""));
        let off = br#"{"e":"trade","s":"BTCUSDT","p":"1.001","q":"1","m":true}"#;
        assert!(parse_trade(off, "BTCUSDT", &tick, &step).is_err());
        let zero = br#"{"e":"trade","s":"BTCUSDT","p":"1.00","q":"0","m":true}"#;
        assert!(parse_trade(zero, "BTCUSDT", &tick, &step).is_err());
        let bad_m = br#"{"e":"trade","s":"BTCUSDT","p":"1.00","q":"1","m":1}"#;
        assert!(parse_trade(bad_m, "BTCUSDT", &tick, &step).is_err());
        assert!(parse_trade(b"", "BTCUSDT", &tick, &step).is_err());
    }

    proptest::proptest! {
        /// Any bytes, or a real frame with a stray byte, give a value or an error, never a
        /// panic.
        #[test]
        fn garbage_and_truncations_never_panic(
            junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            cut in 0usize..TRADE.len(),
        ) {
            let (tick, step) = grids();
            let _ = parse_trade(&junk, "BTCUSDT", &tick, &step);
            let _ = FrameKind::classify(&junk);
            let mut spliced = TRADE.to_vec();
            spliced.insert(cut, b'x');
            let _ = parse_trade(&spliced, "BTCUSDT", &tick, &step);
        }
    }

    #[test]
    fn every_truncation_of_a_trade_is_refused() {
        let (tick, step) = grids();
        for cut in 0..TRADE.len() {
            assert!(
                parse_trade(&TRADE[..cut], "BTCUSDT", &tick, &step).is_err(),
                "{cut}"
            );
        }
    }

    #[test]
    fn classifies_recorded_frames() {
        assert_eq!(FrameKind::classify(TRADE).unwrap(), FrameKind::TRADE);
        let depth = br#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate"}}"#;
        assert_eq!(FrameKind::classify(depth).unwrap(), FrameKind::DEPTH);
        let bt = br#"{"stream":"btcusdt@bookTicker","data":{"u":1}}"#;
        assert_eq!(FrameKind::classify(bt).unwrap(), FrameKind::BOOK_TICKER);
        let snap = br#"{"lastUpdateId":5,"bids":[],"asks":[]}"#;
        assert_eq!(FrameKind::classify(snap).unwrap(), FrameKind::SNAPSHOT);
        assert!(FrameKind::classify(br#"{"stream":"btcusdt@kline_1m"}"#).is_err());
        assert!(FrameKind::classify(b"{}").is_err());
        assert_eq!(FrameKind::from_u8(2).unwrap(), FrameKind::TRADE);
        assert!(FrameKind::from_u8(9).is_err());
    }
}
