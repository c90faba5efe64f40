//! Replay driver: a whole recording as arrays, advanced into a venue in one call per step.
//!
//! The recording is `ts_ns` (int64, non-decreasing), `kinds` (`FrameKind` as u8), the frames'
//! raw bytes concatenated in `data`, and `offsets` (n + 1 int64, frame i is
//! `data[offsets[i]..offsets[i + 1]]`). All are checked once at construction, so stepping does
//! no validation and no allocation: Python is only involved at the strategy's cadence
//! (hftbacktest's `elapse`).

use super::frames::FrameKind;
use super::l2::L2Venue;
use crate::errors::{CoreError, CoreResult};

#[derive(Debug, Clone)]
pub struct Recording {
    ts_ns: Vec<i64>,
    kinds: Vec<FrameKind>,
    data: Vec<u8>,
    offsets: Vec<usize>,
    cursor: usize,
}

impl Recording {
    pub fn new(ts_ns: Vec<i64>, kinds: &[u8], data: Vec<u8>, offsets: &[i64]) -> CoreResult<Self> {
        let n = ts_ns.len();
        if kinds.len() != n || offsets.len() != n + 1 {
            return Err(CoreError::invalid(format!(
                "recording needs n kinds and n + 1 offsets for n time stamps: got {n} time stamps, {} kinds, {} offsets",
                kinds.len(),
                offsets.len()
            )));
        }
        if let Some(i) = ts_ns.windows(2).position(|w| w[1] < w[0]) {
            return Err(CoreError::invalid(format!(
                "recording time stamps must be non-decreasing: event {} is before event {i}",
                i + 1
            )));
        }
        let kinds = kinds
            .iter()
            .enumerate()
            .map(|(i, &k)| {
                FrameKind::from_u8(k).map_err(|e| CoreError::invalid(format!("event {i}: {e}")))
            })
            .collect::<CoreResult<Vec<_>>>()?;
        if offsets[0] != 0 || offsets[n] != data.len() as i64 {
            return Err(CoreError::invalid(format!(
                "offsets must start at 0 and end at the data length {}, got {} and {}",
                data.len(),
                offsets[0],
                offsets[n]
            )));
        }
        if let Some(i) = offsets.windows(2).position(|w| w[1] < w[0]) {
            return Err(CoreError::invalid(format!(
                "offsets must be non-decreasing (index {})",
                i + 1
            )));
        }
        Ok(Recording {
            ts_ns,
            kinds,
            data,
            offsets: offsets.iter().map(|&o| o as usize).collect(),
            cursor: 0,
        })
    }

    pub fn len(&self) -> usize {
        self.ts_ns.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ts_ns.is_empty()
    }
    /// Index of the next event to replay.
    pub fn cursor(&self) -> usize {
        self.cursor
    }
    /// Time of the next event, None at the end.
    pub fn next_ts(&self) -> Option<i64> {
        self.ts_ns.get(self.cursor).copied()
    }
    pub fn rewind(&mut self) {
        self.cursor = 0;
    }

    /// Replays every event stamped at or before `ts_ns` into `venue`, then applies the actions
    /// due up to `ts_ns`. Returns the number of events replayed. A frame the venue refuses is
    /// reported with its index and skipped (the cursor moves past it; the venue is unchanged by
    /// it), so the caller can log it and go on.
    pub fn run_until(&mut self, venue: &mut L2Venue, ts_ns: i64) -> CoreResult<usize> {
        let start = self.cursor;
        while self.cursor < self.ts_ns.len() && self.ts_ns[self.cursor] <= ts_ns {
            let i = self.cursor;
            self.cursor += 1;
            let raw = &self.data[self.offsets[i]..self.offsets[i + 1]];
            venue
                .process(self.ts_ns[i], self.kinds[i], raw)
                .map_err(|e| match e {
                    CoreError::InvalidInput(m) => {
                        CoreError::InvalidInput(format!("recording event {i}: {m}"))
                    }
                    other => other,
                })?;
        }
        if ts_ns >= venue.now() {
            venue.advance_to(ts_ns)?;
        }
        Ok(self.cursor - start)
    }
}
