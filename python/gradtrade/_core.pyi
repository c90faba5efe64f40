# Type stubs of the Rust extension `gradtrade._core`, checked against it by mypy.stubtest
# (tests/test_typing.py). Users import these names from `gradtrade.core`.

__version__: str

# --- orderbook ---
from typing import final as _final

import numpy as _np
import numpy.typing as _npt

_Levels = _npt.ArrayLike

@_final
class Market:
    """Which Binance market a book follows; it decides the depth sequence rule."""

    SPOT: Market
    USDM: Market
    def __int__(self) -> int: ...

@_final
class OrderBook:
    """L2 order book of one Binance symbol with fixed-point levels.

    Prices are integer ticks and quantities integer steps inside; floats appear only in the
    query results. Binance's sequence rule is checked on every diff: a stale frame returns
    ``False`` and changes nothing, a gap raises ``SequenceGap`` and leaves the book invalid
    until the next snapshot, bad input raises ``InvalidInput`` and leaves the book as it was.
    Diffs before the first snapshot raise ``BookNotSynced``; ``gradtrade.data.depth_sync.
    DepthSync`` buffers them the way Binance documents.

    ``tick_size`` / ``step_size`` (exact text preferred) must be the resolution of the feed, not
    today's order filters: resting levels can be off PRICE_FILTER / LOT_SIZE (orders placed
    before a filter change); ``gradtrade.data.recordings.book_grids`` derives them from
    ``exchangeInfo``. Each side keeps a dense window of 32768 ticks around the top of the last
    snapshot (about 0.5 MiB per book) over a sorted store for the rest.
    """

    def __new__(
        cls,
        symbol: str,
        tick_size: str | float,
        step_size: str | float,
        market: Market | str | None = None,
    ) -> OrderBook: ...
    @property
    def symbol(self) -> str: ...
    @property
    def market(self) -> Market: ...
    @property
    def tick_size(self) -> float: ...
    @property
    def step_size(self) -> float: ...
    @property
    def last_update_id(self) -> int | None: ...
    @property
    def last_event_time_ms(self) -> int | None: ...
    @property
    def is_valid(self) -> bool: ...
    @property
    def depth(self) -> tuple[int, int]: ...
    def __len__(self) -> int: ...
    def apply_snapshot(self, last_update_id: int, bids: _Levels, asks: _Levels) -> None: ...
    def apply_snapshot_json(self, raw: bytes | bytearray | str) -> None: ...
    def apply_depth_json(self, raw: bytes | bytearray | str) -> bool: ...
    def apply_diff(
        self,
        first_update_id: int,
        last_update_id: int,
        bids: _Levels,
        asks: _Levels,
        prev_last_update_id: int | None = None,
    ) -> bool: ...
    def best_bid(self) -> tuple[float, float] | None: ...
    def best_ask(self) -> tuple[float, float] | None: ...
    def mid(self) -> float | None: ...
    def spread(self) -> float | None: ...
    def microprice(self) -> float | None: ...
    def is_crossed(self) -> bool: ...
    def bids(self, n: int | None = None) -> _npt.NDArray[_np.float64]: ...
    def asks(self, n: int | None = None) -> _npt.NDArray[_np.float64]: ...
    def features(self, levels: int = 5) -> _npt.NDArray[_np.float64]: ...
    @staticmethod
    def feature_names(levels: int = 5) -> list[str]: ...
    def take_ofi(self) -> float: ...
    def to_json(self) -> str: ...
    @staticmethod
    def from_json(raw: str) -> OrderBook: ...

# --- kalman ---

# --- features ---

# --- risk ---

# --- orders ---
