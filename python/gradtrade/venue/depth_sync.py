"""Binance's documented procedure to keep a local order book in sync with the diff stream.

``OrderBook`` refuses diffs until it has a snapshot (``BookNotSynced``) and after a gap
(``SequenceGap``), because applying them would silently build a wrong book. The procedure that
Binance documents for both spot and USD-M is: open the diff stream and buffer its frames, fetch
a REST snapshot, drop the buffered frames it already contains, apply the rest, then apply frames
as they arrive. :class:`DepthSync` does exactly that around one book; the raw frames stay bytes
and are parsed by the book in Rust.
"""

from __future__ import annotations

from collections import deque

from gradtrade.core import OrderBook
from gradtrade.errors import InvalidInput, SequenceGap


class DepthSync:
    """Buffers depth frames while ``book`` is not synced and replays them on the next snapshot.

    * :meth:`on_diff` applies a frame when the book is synced and buffers it otherwise; a gap
      raises :class:`SequenceGap` (the frame is kept for the resync), after which the caller
      fetches a new snapshot and calls :meth:`on_snapshot`.
    * :meth:`on_snapshot` applies a REST snapshot, then every buffered frame in order, dropping
      the stale ones. Returns how many buffered frames it applied.

    At most ``max_buffer`` frames are kept (the oldest are dropped): a snapshot far behind the
    stream then reports the gap instead of the buffer growing without bound.
    """

    def __init__(self, book: OrderBook, max_buffer: int = 10_000) -> None:
        if max_buffer < 1:
            raise InvalidInput(f"max_buffer must be at least 1, not {max_buffer}")
        self.book = book
        self._buffer: deque[bytes] = deque(maxlen=max_buffer)

    @property
    def needs_snapshot(self) -> bool:
        """True while the book cannot take diffs: no snapshot yet, or a gap since the last one."""
        return not self.book.is_valid

    @property
    def buffered(self) -> int:
        """Number of frames waiting for the next snapshot."""
        return len(self._buffer)

    def on_diff(self, raw: bytes) -> bool:
        """Applies (True), drops as stale (False) or buffers (False) one depth frame."""
        if not self.book.is_valid:
            self._buffer.append(raw)
            return False
        try:
            return self.book.apply_depth_json(raw)
        except SequenceGap:
            self._buffer.append(raw)
            raise

    def on_snapshot(self, raw: bytes | str) -> int:
        """Applies a REST depth snapshot and replays the buffered frames onto it."""
        self.book.apply_snapshot_json(raw)
        applied = 0
        while self._buffer:
            # A SequenceGap here means the snapshot is older than the buffer reaches back (or a
            # frame was lost): the frames from the gap on stay buffered for a newer snapshot.
            applied += self.book.apply_depth_json(self._buffer[0])
            self._buffer.popleft()
        return applied


__all__ = ["DepthSync"]
