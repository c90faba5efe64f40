//! Sorted levels in chunks: the store for the levels of a side outside its dense window.
//!
//! Layout: the levels sorted by key in chunks of at most `MAX_CHUNK`, the best level LAST (a
//! two-level B+tree, the layout of Python's sortedcontainers). An insert or a removal moves at
//! most one chunk; the chunk is found by probing the top chunks and then a binary search over
//! the small array of chunk maxima. `benches/orderbook.rs` measures it against a BTreeMap.
//!
//! Invariants: keys strictly increase across the chunks in order; no chunk is empty;
//! `maxima[i]` is the last key of `chunks[i]`; every stored quantity is > 0. Keys are what
//! `Side` gives (the price for bids, the negated price for asks): larger is better.

const MAX_CHUNK: usize = 64;
/// Chunks checked one by one from the top before a binary search over the rest.
const TOP_PROBE: usize = 8;

/// One chunk, keys and quantities in separate arrays so that a search reads keys only.
#[derive(Debug, Clone, Default)]
struct Chunk {
    keys: Vec<i64>,
    qtys: Vec<i64>,
}

#[derive(Debug, Clone)]
pub struct Chunked {
    chunks: Vec<Chunk>,
    maxima: Vec<i64>,
    len: usize,
}

impl Chunked {
    pub fn new() -> Chunked {
        Chunked {
            chunks: Vec::new(),
            maxima: Vec::new(),
            len: 0,
        }
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
        let probed = n.saturating_sub(TOP_PROBE);
        for c in (probed..n - 1).rev() {
            if self.maxima[c] < key {
                return c + 1;
            }
        }
        self.maxima[..probed].partition_point(|&m| m < key)
    }

    /// Sets the quantity at `key` (0 removes the level) and returns the previous quantity.
    #[inline]
    pub fn set(&mut self, key: i64, qty: i64) -> i64 {
        if self.chunks.is_empty() {
            if qty != 0 {
                self.chunks.push(Chunk {
                    keys: vec![key],
                    qtys: vec![qty],
                });
                self.maxima.push(key);
                self.len = 1;
            }
            return 0;
        }
        let c = self.chunk_for(key);
        let chunk = &mut self.chunks[c];
        let i = chunk.keys.partition_point(|&k| k < key);
        if chunk.keys.get(i) == Some(&key) {
            let old = chunk.qtys[i];
            if qty != 0 {
                chunk.qtys[i] = qty;
                return old;
            }
            chunk.keys.remove(i);
            chunk.qtys.remove(i);
            self.len -= 1;
            if chunk.keys.is_empty() {
                self.chunks.remove(c);
                self.maxima.remove(c);
            } else if i == chunk.keys.len() {
                self.maxima[c] = chunk.keys[i - 1];
            }
            return old;
        }
        if qty == 0 {
            return 0;
        }
        chunk.keys.insert(i, key);
        chunk.qtys.insert(i, qty);
        self.len += 1;
        if key > self.maxima[c] {
            self.maxima[c] = key;
        }
        if chunk.keys.len() > MAX_CHUNK {
            let upper = Chunk {
                keys: chunk.keys.split_off(MAX_CHUNK / 2),
                qtys: chunk.qtys.split_off(MAX_CHUNK / 2),
            };
            self.maxima[c] = chunk.keys[MAX_CHUNK / 2 - 1];
            self.maxima.insert(c + 1, upper.keys[upper.keys.len() - 1]);
            self.chunks.insert(c + 1, upper);
        }
        0
    }

    /// Quantity resting at `key` (0 if none).
    pub fn qty_at(&self, key: i64) -> i64 {
        if self.chunks.is_empty() {
            return 0;
        }
        let chunk = &self.chunks[self.chunk_for(key)];
        match chunk.keys.binary_search(&key) {
            Ok(i) => chunk.qtys[i],
            Err(_) => 0,
        }
    }

    /// Best level as (key, qty).
    #[inline]
    pub fn best(&self) -> Option<(i64, i64)> {
        let c = self.chunks.last()?;
        Some((*c.keys.last()?, *c.qtys.last()?))
    }

    /// Levels from the best outwards as (key, qty).
    pub fn iter_best(&self) -> impl Iterator<Item = (i64, i64)> + '_ {
        self.chunks.iter().rev().flat_map(|c| {
            c.keys
                .iter()
                .rev()
                .zip(c.qtys.iter().rev())
                .map(|(&k, &q)| (k, q))
        })
    }

    /// Replaces everything. `levels` (key, qty) must be free of duplicate keys and of zero or
    /// negative quantities; the order does not matter.
    pub fn replace(&mut self, levels: &[(i64, i64)]) {
        let mut all = levels.to_vec();
        all.sort_unstable_by_key(|l| l.0);
        self.clear();
        self.len = all.len();
        for part in all.chunks(MAX_CHUNK / 2) {
            self.maxima.push(part[part.len() - 1].0);
            self.chunks.push(Chunk {
                keys: part.iter().map(|l| l.0).collect(),
                qtys: part.iter().map(|l| l.1).collect(),
            });
        }
    }
}

impl Default for Chunked {
    fn default() -> Self {
        Chunked::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_split_and_drain_in_order() {
        let mut c = Chunked::new();
        for p in (0..1000).rev() {
            c.set(10_000 + p * 7 % 1000, p + 1);
        }
        assert_eq!(c.len(), 1000);
        let keys: Vec<i64> = c.iter_best().map(|l| l.0).collect();
        assert!(keys.windows(2).all(|w| w[0] > w[1]));
        for p in 0..1000 {
            assert!(c.set(10_000 + p, 0) > 0);
        }
        assert!(c.is_empty() && c.best().is_none());
    }

    proptest::proptest! {
        #[test]
        fn matches_a_btreemap(ops in proptest::collection::vec((0i64..400, 0i64..3), 1..3000)) {
            let mut c = Chunked::new();
            let mut reference = std::collections::BTreeMap::new();
            for (key, qty) in ops {
                let old = if qty == 0 { reference.remove(&key) } else { reference.insert(key, qty) };
                proptest::prop_assert_eq!(c.set(key, qty), old.unwrap_or(0));
            }
            let ours: Vec<(i64, i64)> = c.iter_best().collect();
            let expected: Vec<(i64, i64)> = reference.into_iter().rev().collect();
            proptest::prop_assert_eq!(c.len(), expected.len());
            proptest::prop_assert_eq!(ours, expected);
        }
    }
}
