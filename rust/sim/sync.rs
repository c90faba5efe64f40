//! Diffs held while the venue's book is not synced, replayed onto the next snapshot.
//!
//! Binance's procedure (the same as `gradtrade.data.depth_sync.DepthSync`): buffer the diff
//! stream, fetch a snapshot, drop the buffered diffs it already contains, apply the rest. In a
//! recording the snapshot arrives about a second after the first diffs, so without this the first
//! diff after it would be a gap. At most `capacity` frames are kept (the oldest are dropped, and
//! the resync then reports the gap instead of the buffer growing); the byte buffers of dropped
//! and replayed frames are reused, so a long replay keeps no allocation per frame.

use std::collections::VecDeque;

#[derive(Debug, Clone)]
pub struct DiffBuffer {
    frames: VecDeque<Vec<u8>>,
    spare: Vec<Vec<u8>>,
    capacity: usize,
}

impl DiffBuffer {
    pub const DEFAULT_CAPACITY: usize = 10_000;

    pub fn new(capacity: usize) -> DiffBuffer {
        DiffBuffer {
            frames: VecDeque::new(),
            spare: Vec::new(),
            capacity: capacity.max(1),
        }
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Keeps a copy of `raw`, dropping the oldest frame when full.
    pub fn push(&mut self, raw: &[u8]) {
        let mut slot = if self.frames.len() >= self.capacity {
            self.frames.pop_front().unwrap_or_default()
        } else {
            self.spare.pop().unwrap_or_default()
        };
        slot.clear();
        slot.extend_from_slice(raw);
        self.frames.push_back(slot);
    }

    /// The oldest frame, removed; give its buffer back with `recycle` once used.
    pub fn pop(&mut self) -> Option<Vec<u8>> {
        self.frames.pop_front()
    }

    /// Puts a popped frame back at the front (it is still needed for the next resync).
    pub fn unpop(&mut self, frame: Vec<u8>) {
        self.frames.push_front(frame);
    }

    pub fn recycle(&mut self, buffer: Vec<u8>) {
        self.spare.push(buffer);
    }

    pub fn clear(&mut self) {
        while let Some(b) = self.frames.pop_front() {
            self.spare.push(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_frames_in_order() {
        let mut b = DiffBuffer::new(2);
        b.push(b"a");
        b.push(b"b");
        b.push(b"c");
        assert_eq!(b.len(), 2);
        let first = b.pop().unwrap();
        assert_eq!(first, b"b");
        b.recycle(first);
        assert_eq!(b.pop().unwrap(), b"c");
        assert!(b.pop().is_none());
        b.push(b"d");
        b.clear();
        assert!(b.is_empty());
    }
}
