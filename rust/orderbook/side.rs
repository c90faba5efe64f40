//! One side of an L2 book: price levels in integer ticks with quantities in integer steps.
//!
//! Layout: a Vec sorted so that the best level is LAST. Binance diffs touch the top of the book
//! far more often than the deep levels, and a Vec insert or remove only moves the elements after
//! the index, i.e. the levels better than the one touched: near the top that is a handful of
//! 16-byte moves, and reads of the top k levels are one contiguous slice. The Criterion bench
//! `benches/orderbook.rs` measures this against a BTreeMap book on the real recording.
//!
//! Invariant: keys are strictly increasing and every stored quantity is > 0. The key is the price
//! for bids and the negated price for asks, so "better" is always "larger key".

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SideKind {
    Bid,
    Ask,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Level {
    key: i64,
    qty: i64,
}

#[derive(Debug, Clone)]
pub struct Side {
    kind: SideKind,
    levels: Vec<Level>,
}

impl Side {
    pub fn new(kind: SideKind) -> Side {
        Side {
            kind,
            levels: Vec::new(),
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
        self.levels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    pub fn clear(&mut self) {
        self.levels.clear();
    }

    /// Index of `key`, searching from the top: most updates land within a few levels of it,
    /// so a short linear probe beats a full binary search there.
    #[inline]
    fn find(&self, key: i64) -> Result<usize, usize> {
        let n = self.levels.len();
        let probe = n.min(8);
        for i in (n - probe..n).rev() {
            let k = self.levels[i].key;
            if k == key {
                return Ok(i);
            }
            if k < key {
                return Err(i + 1);
            }
        }
        self.levels[..n - probe].binary_search_by(|l| l.key.cmp(&key))
    }

    /// Sets the quantity at `price` (0 removes the level) and returns the previous quantity.
    #[inline]
    pub fn set(&mut self, price: i64, qty: i64) -> i64 {
        let key = self.key(price);
        match self.find(key) {
            Ok(i) => {
                let old = self.levels[i].qty;
                if qty == 0 {
                    self.levels.remove(i);
                } else {
                    self.levels[i].qty = qty;
                }
                old
            }
            Err(i) => {
                if qty != 0 {
                    self.levels.insert(i, Level { key, qty });
                }
                0
            }
        }
    }

    /// Quantity resting at `price` (0 if none).
    pub fn qty_at(&self, price: i64) -> i64 {
        match self.find(self.key(price)) {
            Ok(i) => self.levels[i].qty,
            Err(_) => 0,
        }
    }

    /// Best level as (price, qty).
    #[inline]
    pub fn best(&self) -> Option<(i64, i64)> {
        self.levels.last().map(|l| (self.key(l.key), l.qty))
    }

    /// Levels from the best outwards as (price, qty).
    pub fn iter_best(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.levels.iter().rev().map(|l| (self.key(l.key), l.qty))
    }

    /// Replaces the whole side. `levels` must be free of duplicate prices and of zero or negative
    /// quantities (the snapshot path validates that); the order does not matter.
    pub fn replace(&mut self, levels: &[(i64, i64)]) {
        self.levels.clear();
        self.levels.reserve(levels.len());
        for &(price, qty) in levels {
            let key = self.key(price);
            self.levels.push(Level { key, qty });
        }
        self.levels.sort_unstable_by_key(|l| l.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bids_best_is_highest_asks_best_is_lowest() {
        let mut bids = Side::new(SideKind::Bid);
        let mut asks = Side::new(SideKind::Ask);
        for p in [100, 105, 95, 103] {
            bids.set(p, 1);
            asks.set(p + 10, 2);
        }
        assert_eq!(bids.best(), Some((105, 1)));
        assert_eq!(asks.best(), Some((105, 2)));
        assert_eq!(
            bids.iter_best().map(|l| l.0).collect::<Vec<_>>(),
            vec![105, 103, 100, 95]
        );
        assert_eq!(
            asks.iter_best().map(|l| l.0).collect::<Vec<_>>(),
            vec![105, 110, 113, 115]
        );
        assert_eq!(bids.set(105, 0), 1);
        assert_eq!(bids.best(), Some((103, 1)));
        assert_eq!(bids.set(104, 0), 0);
        assert_eq!(bids.len(), 3);
        assert_eq!(asks.qty_at(113), 2);
        assert_eq!(asks.qty_at(114), 0);
    }

    #[test]
    fn deep_levels_use_binary_search() {
        let mut bids = Side::new(SideKind::Bid);
        let levels: Vec<(i64, i64)> = (0..100).map(|i| (1000 - i * 3, i + 1)).collect();
        bids.replace(&levels);
        for &(p, q) in &levels {
            assert_eq!(bids.qty_at(p), q);
            assert_eq!(bids.qty_at(p + 1), 0);
        }
        bids.set(500, 7);
        assert_eq!(bids.qty_at(500), 7);
        let prices: Vec<i64> = bids.iter_best().map(|l| l.0).collect();
        assert!(prices.windows(2).all(|w| w[0] > w[1]));
    }
}
