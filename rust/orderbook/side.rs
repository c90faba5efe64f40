//! One side of an L2 book: price levels in integer ticks with quantities in integer steps.
//!
//! Layout: the levels sorted by key in chunks of at most `MAX_CHUNK`, the best level LAST (a
//! two-level B+tree, the layout of Python's sortedcontainers). Binance sends changes anywhere in
//! the book, and a side grows to thousands of levels: one flat sorted Vec spent most of its time
//! moving memory for deep inserts, and a BTreeMap chases pointers; with chunks an insert or a
//! removal moves at most one chunk, the chunk is found by a search over a small array of chunk
//! maxima, and the top levels stay one contiguous slice. `benches/orderbook.rs` measures it
//! against a BTreeMap on the real recording.
//!
//! Invariants: keys strictly increase across the chunks in order; no chunk is empty;
//! `maxima[i]` is the last key of `chunks[i]`; every stored quantity is > 0. The key is the price
//! for bids and the negated price for asks, so "better" is always "larger key".

const MAX_CHUNK: usize = 128;

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
    chunks: Vec<Vec<Level>>,
    maxima: Vec<i64>,
    len: usize,
}

impl Side {
    pub fn new(kind: SideKind) -> Side {
        Side {
            kind,
            chunks: Vec::new(),
            maxima: Vec::new(),
            len: 0,
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
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn clear(&mut self) {
        self.chunks.clear();
        self.maxima.clear();
        self.len = 0;
    }

    /// The chunk that holds `key` or would receive it: the first whose maximum is >= key, or the
    /// last chunk for a key above every level. Most updates land near the top, so the probe
    /// starts there before a binary search.
    #[inline]
    fn chunk_for(&self, key: i64) -> usize {
        let n = self.maxima.len();
        debug_assert!(n > 0);
        if n == 1 || self.maxima[n - 2] < key {
            return n - 1;
        }
        self.maxima[..n - 1].partition_point(|&m| m < key)
    }

    /// Sets the quantity at `price` (0 removes the level) and returns the previous quantity.
    #[inline]
    pub fn set(&mut self, price: i64, qty: i64) -> i64 {
        let key = self.key(price);
        if self.chunks.is_empty() {
            if qty != 0 {
                self.chunks.push(vec![Level { key, qty }]);
                self.maxima.push(key);
                self.len = 1;
            }
            return 0;
        }
        let c = self.chunk_for(key);
        let chunk = &mut self.chunks[c];
        match chunk.binary_search_by(|l| l.key.cmp(&key)) {
            Ok(i) => {
                let old = chunk[i].qty;
                if qty != 0 {
                    chunk[i].qty = qty;
                    return old;
                }
                chunk.remove(i);
                self.len -= 1;
                if chunk.is_empty() {
                    self.chunks.remove(c);
                    self.maxima.remove(c);
                } else if i == chunk.len() {
                    self.maxima[c] = chunk[i - 1].key;
                }
                old
            }
            Err(i) => {
                if qty == 0 {
                    return 0;
                }
                chunk.insert(i, Level { key, qty });
                self.len += 1;
                if key > self.maxima[c] {
                    self.maxima[c] = key;
                }
                if chunk.len() > MAX_CHUNK {
                    let upper = chunk.split_off(MAX_CHUNK / 2);
                    self.maxima[c] = chunk[MAX_CHUNK / 2 - 1].key;
                    self.maxima.insert(c + 1, upper[upper.len() - 1].key);
                    self.chunks.insert(c + 1, upper);
                }
                0
            }
        }
    }

    /// Quantity resting at `price` (0 if none).
    pub fn qty_at(&self, price: i64) -> i64 {
        if self.chunks.is_empty() {
            return 0;
        }
        let key = self.key(price);
        let chunk = &self.chunks[self.chunk_for(key)];
        match chunk.binary_search_by(|l| l.key.cmp(&key)) {
            Ok(i) => chunk[i].qty,
            Err(_) => 0,
        }
    }

    /// Best level as (price, qty).
    #[inline]
    pub fn best(&self) -> Option<(i64, i64)> {
        let l = self.chunks.last()?.last()?;
        Some((self.key(l.key), l.qty))
    }

    /// Levels from the best outwards as (price, qty).
    pub fn iter_best(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.chunks
            .iter()
            .rev()
            .flat_map(|c| c.iter().rev())
            .map(|l| (self.key(l.key), l.qty))
    }

    /// Replaces the whole side. `levels` must be free of duplicate prices and of zero or negative
    /// quantities (the snapshot path validates that); the order does not matter.
    pub fn replace(&mut self, levels: &[(i64, i64)]) {
        let mut all: Vec<Level> = levels
            .iter()
            .map(|&(price, qty)| Level {
                key: self.key(price),
                qty,
            })
            .collect();
        all.sort_unstable_by_key(|l| l.key);
        self.clear();
        self.len = all.len();
        for part in all.chunks(MAX_CHUNK / 2) {
            self.maxima.push(part[part.len() - 1].key);
            self.chunks.push(part.to_vec());
        }
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
    fn chunks_split_and_drain_in_order() {
        let mut asks = Side::new(SideKind::Ask);
        for p in (0..1000).rev() {
            asks.set(10_000 + p * 7 % 1000, p + 1);
        }
        assert_eq!(asks.len(), 1000);
        let prices: Vec<i64> = asks.iter_best().map(|l| l.0).collect();
        assert!(prices.windows(2).all(|w| w[0] < w[1]));
        for p in 0..1000 {
            assert!(asks.set(10_000 + p, 0) > 0);
        }
        assert!(asks.is_empty() && asks.best().is_none());
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

    proptest::proptest! {
        #[test]
        fn matches_a_btreemap(
            ops in proptest::collection::vec((0i64..400, 0i64..3), 1..3000),
            bid in proptest::bool::ANY,
        ) {
            let kind = if bid { SideKind::Bid } else { SideKind::Ask };
            let mut side = Side::new(kind);
            let mut reference = std::collections::BTreeMap::new();
            for (price, qty) in ops {
                let old = if qty == 0 { reference.remove(&price) } else { reference.insert(price, qty) };
                proptest::prop_assert_eq!(side.set(price, qty), old.unwrap_or(0));
            }
            let ours: Vec<(i64, i64)> = side.iter_best().collect();
            let mut expected: Vec<(i64, i64)> = reference.into_iter().collect();
            if bid {
                expected.reverse();
            }
            proptest::prop_assert_eq!(side.len(), expected.len());
            proptest::prop_assert_eq!(ours, expected);
        }
    }
}
