//! Deterministic, restart-safe client order ids.
//!
//! `client_order_id(strategy, session, seq)` is `"{strategy}.{session}.{seq}"` with session and
//! seq in lowercase base 36. It is a pure function, so after a restart the same (strategy,
//! session, seq) gives the same id and a resent order is recognised by Binance as a duplicate
//! instead of being placed twice. The mapping is injective (the strategy has no '.', base-36
//! digits have none either), so ids of different sessions never collide as long as each session
//! number is used once: take it from a persisted counter or the session's start time in ms, and
//! persist `seq` with the orders (`parse_client_order_id` recovers it from any stored id).
//! Binance accepts `^[.A-Z:/a-z0-9_-]{1,36}$`; the limits below keep every id inside that.

use crate::errors::{CoreError, CoreResult};

pub const MAX_STRATEGY_LEN: usize = 10;
/// 36^12: session and seq each take at most 12 base-36 digits (10 + 1 + 12 + 1 + 12 = 36).
pub const MAX_COUNTER: u64 = 4_738_381_338_321_616_896;

const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

fn base36(mut n: u64) -> String {
    let mut out = Vec::with_capacity(12);
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).expect("ascii digits")
}

fn parse_base36(text: &str) -> Option<u64> {
    if text.is_empty() || text.len() > 12 || (text.len() > 1 && text.starts_with('0')) {
        return None;
    }
    text.bytes().try_fold(0u64, |acc, b| {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'z' => b - b'a' + 10,
            _ => return None,
        };
        Some(acc * 36 + u64::from(d))
    })
}

fn valid_strategy(strategy: &str) -> bool {
    !strategy.is_empty()
        && strategy.len() <= MAX_STRATEGY_LEN
        && strategy
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

pub fn client_order_id(strategy: &str, session: u64, seq: u64) -> CoreResult<String> {
    if !valid_strategy(strategy) {
        return Err(CoreError::invalid(format!(
            "strategy must be 1-{MAX_STRATEGY_LEN} characters of [A-Za-z0-9_-], got {strategy:?}"
        )));
    }
    if session >= MAX_COUNTER || seq >= MAX_COUNTER {
        return Err(CoreError::invalid(format!(
            "session and seq must be below 36^12, got {session} and {seq}"
        )));
    }
    Ok(format!("{strategy}.{}.{}", base36(session), base36(seq)))
}

/// (strategy, session, seq) of an id made by `client_order_id`.
pub fn parse_client_order_id(id: &str) -> CoreResult<(String, u64, u64)> {
    let bad = || CoreError::invalid(format!("{id:?} is not a gradtrade client order id"));
    let mut parts = id.split('.');
    let (Some(strategy), Some(session), Some(seq), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    if !valid_strategy(strategy) {
        return Err(bad());
    }
    let session = parse_base36(session).ok_or_else(bad)?;
    let seq = parse_base36(seq).ok_or_else(bad)?;
    Ok((strategy.to_string(), session, seq))
}

/// Binance's rule for any client order id (ours or one typed by a user).
pub fn validate_client_order_id(id: &str) -> CoreResult<()> {
    let ok = !id.is_empty()
        && id.len() <= 36
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b':' | b'/' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(CoreError::invalid(format!(
            "client order id must match ^[.A-Z:/a-z0-9_-]{{1,36}}$, got {id:?}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_ids() {
        assert_eq!(client_order_id("kelly", 0, 0).unwrap(), "kelly.0.0");
        assert_eq!(client_order_id("kelly", 35, 36).unwrap(), "kelly.z.10");
        let longest = client_order_id("abcdefghij", MAX_COUNTER - 1, MAX_COUNTER - 1).unwrap();
        assert_eq!(longest.len(), 36);
        assert!(client_order_id("a.b", 1, 1).is_err());
        assert!(client_order_id("", 1, 1).is_err());
        assert!(client_order_id("abcdefghijk", 1, 1).is_err());
        assert!(client_order_id("a", MAX_COUNTER, 1).is_err());
        assert!(parse_client_order_id("a.01.1").is_err());
        assert!(validate_client_order_id("web_123:x/y-z.Q").is_ok());
        assert!(validate_client_order_id("has space").is_err());
    }

    proptest! {
        #[test]
        fn ids_are_valid_and_injective(
            strategy in "[A-Za-z0-9_-]{1,10}",
            session in 0u64..MAX_COUNTER,
            seq in 0u64..MAX_COUNTER,
            other in 0u64..MAX_COUNTER,
        ) {
            let id = client_order_id(&strategy, session, seq).unwrap();
            prop_assert!(validate_client_order_id(&id).is_ok());
            prop_assert_eq!(parse_client_order_id(&id).unwrap(), (strategy.clone(), session, seq));
            if other != session {
                prop_assert_ne!(id, client_order_id(&strategy, other, seq).unwrap());
            }
        }
    }
}
