//! One side of an L2 book: price levels in integer ticks with quantities in integer steps.
//!
//! Binance sends changes anywhere in the book, but most land within a few hundred ticks of the
//! top. So a side keeps a dense window of `window` ticks around the top, set at each snapshot
//! (one quantity slot per tick, an occupancy bitmap and a one-word-per-64-words summary to find
//! the next occupied tick), where an update is an array store; levels outside the window live in
//! `Chunked` (sorted chunks). `benches/orderbook.rs` measures the pieces on the real recording.
//!
//! Invariants: a key is in the window iff `base <= key < base + window`, and then it is stored
//! only there (slot != 0 iff its occupancy bit is set, summary bit set iff its word != 0);
//! every other key is stored only in `deep`. The key is the price for bids and the negated price
//! for asks, so "better" is always "larger key". No stored quantity is 0 or negative.

use super::chunked::Chunked;

/// Ticks in the dense window: 32768 slots of 8 bytes (256 KiB per side). For BTCUSDT at a
/// 0.01 tick that is +-163 USD around the top at the last snapshot.
pub const DEFAULT_WINDOW: usize = 1 << 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SideKind {
    Bid,
    Ask,
}

#[derive(Debug, Clone)]
pub struct Side {
    kind: SideKind,
    window: usize,
    base: i64,
    /// Quantity per key offset; empty until the window is placed.
    slots: Vec<i64>,
    words: Vec<u64>,
    summary: Vec<u64>,
    in_window: usize,
    deep: Chunked,
}

impl Side {
    pub fn new(kind: SideKind) -> Side {
        Side::with_window(kind, DEFAULT_WINDOW)
    }

    /// A side with a window of `window` ticks (a multiple of 64; small windows are for tests).
    pub fn with_window(kind: SideKind, window: usize) -> Side {
        assert!(
            window >= 64 && window % 64 == 0,
            "window must be a multiple of 64"
        );
        Side {
            kind,
            window,
            base: 0,
            slots: Vec::new(),
            words: Vec::new(),
            summary: Vec::new(),
            in_window: 0,
            deep: Chunked::new(),
        }
    }

    #[inline]
    fn key(&self, price: i64) -> i64 {
        match self.kind {
            SideKind::Bid => price,
            SideKind::Ask => -price,
        }
    }

    pub fn kind(&self) -> SideKind {
        self.kind
    }

    pub fn len(&self) -> usize {
        self.in_window + self.deep.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn clear(&mut self) {
        self.slots.clear();
        self.words.clear();
        self.summary.clear();
        self.in_window = 0;
        self.deep.clear();
    }

    /// Places an empty window centred on `key` (the top of the book).
    fn place_window(&mut self, key: i64) {
        self.base = key.saturating_sub((self.window / 2) as i64);
        self.slots.clear();
        self.slots.resize(self.window, 0);
        self.words.clear();
        self.words.resize(self.window / 64, 0);
        self.summary.clear();
        self.summary.resize(self.window.div_ceil(64 * 64), 0);
        self.in_window = 0;
    }

    /// Slot of `key` if it is inside the window.
    #[inline]
    fn slot(&self, key: i64) -> Option<usize> {
        let offset = key.checked_sub(self.base)?;
        (offset >= 0 && (offset as usize) < self.slots.len()).then_some(offset as usize)
    }

    #[inline]
    fn mark(&mut self, slot: usize) {
        let w = slot / 64;
        self.words[w] |= 1 << (slot % 64);
        self.summary[w / 64] |= 1 << (w % 64);
    }

    #[inline]
    fn unmark(&mut self, slot: usize) {
        let w = slot / 64;
        self.words[w] &= !(1 << (slot % 64));
        if self.words[w] == 0 {
            self.summary[w / 64] &= !(1 << (w % 64));
        }
    }

    /// The highest occupied slot at or below `slot`.
    fn occupied_at_or_below(&self, slot: usize) -> Option<usize> {
        let w = slot / 64;
        let in_word = self.words[w] & (u64::MAX >> (63 - slot % 64));
        if in_word != 0 {
            return Some(w * 64 + 63 - in_word.leading_zeros() as usize);
        }
        if w == 0 {
            return None;
        }
        let below = w - 1;
        let mut s = below / 64;
        let mut bits = self.summary[s] & (u64::MAX >> (63 - below % 64));
        loop {
            if bits != 0 {
                let word = s * 64 + 63 - bits.leading_zeros() as usize;
                return Some(word * 64 + 63 - self.words[word].leading_zeros() as usize);
            }
            if s == 0 {
                return None;
            }
            s -= 1;
            bits = self.summary[s];
        }
    }

    fn window_best(&self) -> Option<(i64, i64)> {
        if self.in_window == 0 {
            return None;
        }
        let slot = self.occupied_at_or_below(self.slots.len() - 1)?;
        Some((self.base + slot as i64, self.slots[slot]))
    }

    /// Sets the quantity at `price` (0 removes the level) and returns the previous quantity.
    #[inline]
    pub fn set(&mut self, price: i64, qty: i64) -> i64 {
        let key = self.key(price);
        if self.slots.is_empty() && qty != 0 && self.deep.is_empty() {
            self.place_window(key);
        }
        let Some(slot) = self.slot(key) else {
            return self.deep.set(key, qty);
        };
        let old = self.slots[slot];
        self.slots[slot] = qty;
        match (old == 0, qty == 0) {
            (true, false) => {
                self.mark(slot);
                self.in_window += 1;
            }
            (false, true) => {
                self.unmark(slot);
                self.in_window -= 1;
            }
            _ => {}
        }
        old
    }

    /// Quantity resting at `price` (0 if none).
    pub fn qty_at(&self, price: i64) -> i64 {
        let key = self.key(price);
        match self.slot(key) {
            Some(slot) => self.slots[slot],
            None => self.deep.qty_at(key),
        }
    }

    /// Best level as (price, qty).
    #[inline]
    pub fn best(&self) -> Option<(i64, i64)> {
        let best = match (self.window_best(), self.deep.best()) {
            (Some(w), Some(d)) => Some(if w.0 > d.0 { w } else { d }),
            (w, d) => w.or(d),
        };
        best.map(|(k, q)| (self.key(k), q))
    }

    /// Levels from the best outwards as (price, qty): the window and the deep levels merged.
    pub fn iter_best(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        let mut window = WindowIter {
            side: self,
            next: self.window_best().map(|(k, _)| (k - self.base) as usize),
        }
        .peekable();
        let mut deep = self.deep.iter_best().peekable();
        std::iter::from_fn(move || {
            let take_window = match (window.peek(), deep.peek()) {
                (Some(w), Some(d)) => w.0 > d.0,
                (Some(_), None) => true,
                (None, _) => false,
            };
            let (k, q) = if take_window {
                window.next()?
            } else {
                deep.next()?
            };
            Some((self.key(k), q))
        })
    }

    /// Replaces the whole side and centres the window on its best level. `levels` must be free
    /// of duplicate prices and of zero or negative quantities (the snapshot path validates that).
    pub fn replace(&mut self, levels: &[(i64, i64)]) {
        self.clear();
        let Some(top) = levels.iter().map(|&(p, _)| self.key(p)).max() else {
            return;
        };
        self.place_window(top);
        let mut deep = Vec::new();
        for &(price, qty) in levels {
            let key = self.key(price);
            match self.slot(key) {
                Some(slot) => {
                    self.slots[slot] = qty;
                    self.mark(slot);
                    self.in_window += 1;
                }
                None => deep.push((key, qty)),
            }
        }
        self.deep.replace(&deep);
    }
}

/// Occupied window slots from the top down, as (key, qty).
struct WindowIter<'a> {
    side: &'a Side,
    next: Option<usize>,
}

impl Iterator for WindowIter<'_> {
    type Item = (i64, i64);

    fn next(&mut self) -> Option<(i64, i64)> {
        let slot = self.next?;
        self.next = match slot {
            0 => None,
            _ => self.side.occupied_at_or_below(slot - 1),
        };
        Some((self.side.base + slot as i64, self.side.slots[slot]))
    }
}

#[cfg(test)]
#[path = "side_tests.rs"]
mod tests;
