//! JSON persistence of a whole book, so that a restarted process resumes without a new snapshot
//! when the stream is still continuous. Levels are stored as exact decimal text (the Binance form),
//! never floats, and restoring validates everything the snapshot path validates.

use serde::{Deserialize, Serialize};

use crate::errors::{CoreError, CoreResult};
use crate::fixed::Grid;

use super::book::{Market, OrderBook, SyncState};

const FORMAT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BookState {
    format: u32,
    symbol: String,
    market: Market,
    tick_size: String,
    step_size: String,
    last_update_id: Option<u64>,
    sync: SyncState,
    last_event_time_ms: Option<u64>,
    bids: Vec<(String, String)>,
    asks: Vec<(String, String)>,
}

impl OrderBook {
    pub fn to_json(&self) -> String {
        let text = |side: &super::side::Side| {
            side.iter_best()
                .map(|(p, q)| (self.tick.format(p), self.step.format(q)))
                .collect()
        };
        let state = BookState {
            format: FORMAT_VERSION,
            symbol: self.symbol.clone(),
            market: self.market,
            tick_size: self.tick.format(1),
            step_size: self.step.format(1),
            last_update_id: self.last_update_id,
            sync: self.state,
            last_event_time_ms: self.last_event_time_ms,
            bids: text(&self.bids),
            asks: text(&self.asks),
        };
        serde_json::to_string(&state).expect("book state serializes")
    }

    pub fn from_json(raw: &str) -> CoreResult<OrderBook> {
        let state: BookState = serde_json::from_str(raw)
            .map_err(|e| CoreError::invalid(format!("order book state JSON: {e}")))?;
        if state.format != FORMAT_VERSION {
            return Err(CoreError::invalid(format!(
                "order book state has format {}, this version reads {FORMAT_VERSION}",
                state.format
            )));
        }
        let tick = Grid::parse(&state.tick_size)?;
        let step = Grid::parse(&state.step_size)?;
        let mut book = OrderBook::new(&state.symbol, tick, step, state.market)?;
        let units = |levels: &[(String, String)]| -> CoreResult<Vec<(i64, i64)>> {
            levels
                .iter()
                .map(|(p, q)| {
                    Ok((
                        tick.units_from_text(p.as_bytes())?,
                        step.units_from_text(q.as_bytes())?,
                    ))
                })
                .collect()
        };
        let (bids, asks) = (units(&state.bids)?, units(&state.asks)?);
        book.apply_snapshot(state.last_update_id.unwrap_or(0), &bids, &asks)
            .map_err(|e| CoreError::invalid(format!("order book state: {e}")))?;
        book.last_update_id = state.last_update_id;
        book.state = if state.last_update_id.is_none() {
            SyncState::NotSynced
        } else {
            state.sync
        };
        book.last_event_time_ms = state.last_event_time_ms;
        Ok(book)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::orderbook::book::DiffIds;

    #[test]
    fn round_trip_keeps_levels_and_sequence() {
        let tick = Grid::parse("0.1").unwrap();
        let step = Grid::parse("0.001").unwrap();
        let mut book = OrderBook::new("BTCUSDT", tick, step, Market::UsdM).unwrap();
        book.apply_snapshot(100, &[(616_597, 1_500), (616_590, 2)], &[(616_598, 7)])
            .unwrap();
        let ids = DiffIds {
            first_update_id: 90,
            final_update_id: 105,
            prev_final_update_id: Some(80),
        };
        assert!(book.apply_diff(ids, &[(616_596, 3)], &[]).unwrap());
        let restored = OrderBook::from_json(&book.to_json()).unwrap();
        assert_eq!(restored.to_json(), book.to_json());
        assert_eq!(restored.last_update_id(), Some(105));
        assert_eq!(restored.state(), SyncState::Live);
        assert_eq!(restored.best_bid(), Some((616_597, 1_500)));
        assert!(OrderBook::from_json("{}").is_err());
        let broken = book.to_json().replace("61659.8", "61659.85");
        assert!(OrderBook::from_json(&broken).is_err());
    }
}
