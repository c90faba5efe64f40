"""Per-symbol market state: the L2 book the REST snapshot and the matching engine read, recent
trades, kline/funding history and the live mark price.

Sources (the synthetic generator, a recording replay) mutate this state and publish the matching
websocket frames; readers never see a half-applied update because everything runs on the server's
one event loop.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from gradtrade.core import OrderBook
from gradtrade.errors import InvalidInput
from gradtrade.local_exchange.exchange_info import Rules
from gradtrade.local_exchange.series import FundingSeries, KlineSeries, Numbers


@dataclass(frozen=True)
class Trade:
    """One public trade (served as both a trade and an aggTrade)."""

    id: int
    price: float
    qty: float
    time_ms: int
    buyer_maker: bool


class BookView(Protocol):
    """What the REST snapshot, the tickers and the matching engine read from a book."""

    @property
    def last_update_id(self) -> int: ...
    def top_bids(self, n: int) -> list[tuple[float, float]]: ...
    def top_asks(self, n: int) -> list[tuple[float, float]]: ...
    def best_bid(self) -> tuple[float, float] | None: ...
    def best_ask(self) -> tuple[float, float] | None: ...
    def mid(self) -> float | None: ...


class RustBook:
    """A replayed market's book: :class:`gradtrade.core.OrderBook`, the one implementation of
    Binance diff application, seen through :class:`BookView`."""

    def __init__(self, book: OrderBook) -> None:
        self.book = book

    @property
    def last_update_id(self) -> int:
        return self.book.last_update_id or 0

    @staticmethod
    def _levels(arr: np.ndarray) -> list[tuple[float, float]]:
        return [(float(p), float(q)) for p, q in arr]

    def top_bids(self, n: int) -> list[tuple[float, float]]:
        return self._levels(self.book.bids(n)) if self.book.is_valid else []

    def top_asks(self, n: int) -> list[tuple[float, float]]:
        return self._levels(self.book.asks(n)) if self.book.is_valid else []

    def best_bid(self) -> tuple[float, float] | None:
        return self.book.best_bid() if self.book.is_valid else None

    def best_ask(self) -> tuple[float, float] | None:
        return self.book.best_ask() if self.book.is_valid else None

    def mid(self) -> float | None:
        return self.book.mid() if self.book.is_valid else None


class L2Book:
    """Price level -> quantity per side, plus the Binance update id of the last applied change.

    Quantities are absolute (Binance diff semantics): a zero quantity removes the level.
    """

    def __init__(self) -> None:
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}
        self.last_update_id = 0

    def replace(
        self, bids: Iterable[tuple[float, float]], asks: Iterable[tuple[float, float]], uid: int
    ) -> None:
        self.bids = {p: q for p, q in bids if q > 0}
        self.asks = {p: q for p, q in asks if q > 0}
        self.last_update_id = uid

    def apply(
        self, bids: Iterable[tuple[float, float]], asks: Iterable[tuple[float, float]], uid: int
    ) -> None:
        for side, levels in ((self.bids, bids), (self.asks, asks)):
            for price, qty in levels:
                if qty > 0:
                    side[price] = qty
                else:
                    side.pop(price, None)
        self.last_update_id = uid

    def top_bids(self, n: int) -> list[tuple[float, float]]:
        return [(p, self.bids[p]) for p in heapq.nlargest(n, self.bids)]

    def top_asks(self, n: int) -> list[tuple[float, float]]:
        return [(p, self.asks[p]) for p in heapq.nsmallest(n, self.asks)]

    def best_bid(self) -> tuple[float, float] | None:
        if not self.bids:
            return None
        p = max(self.bids)
        return p, self.bids[p]

    def best_ask(self) -> tuple[float, float] | None:
        if not self.asks:
            return None
        p = min(self.asks)
        return p, self.asks[p]

    def mid(self) -> float | None:
        bid, ask = self.best_bid(), self.best_ask()
        if bid is None or ask is None:
            return None
        return (bid[0] + ask[0]) / 2.0


def numbers_of(venue: str, entry: dict[str, Any]) -> Numbers:
    """How Binance prints this symbol's numbers: spot at the asset precisions, USD-M at
    ``pricePrecision`` / ``quantityPrecision`` (quote amounts at the quote precision)."""
    quote = int(entry.get("quoteAssetPrecision", entry.get("quotePrecision", 8)))
    if venue == "usdm":
        return Numbers(
            int(entry.get("pricePrecision", 2)), int(entry.get("quantityPrecision", 3)), quote
        )
    return Numbers(quote, int(entry.get("baseAssetPrecision", 8)), quote)


@dataclass
class SymbolMarket:
    """Everything the exchange knows about one symbol on one venue ("spot" or "usdm")."""

    venue: str
    symbol: str
    base: str
    quote: str
    entry: dict[str, Any]
    rules: Rules
    book: BookView = field(default_factory=L2Book)
    trades: deque[Trade] = field(default_factory=lambda: deque(maxlen=1000))
    klines: dict[str, KlineSeries] = field(default_factory=dict)
    mark_klines: dict[str, KlineSeries] = field(default_factory=dict)
    funding: FundingSeries | None = None
    last_price: float = 0.0
    mark_price: float = 0.0
    funding_rate: float = 0.0001
    next_trade_id: int = 1
    live: bool = False  # a source (synthetic or replay) drives the book and trades
    depth_cache: dict[int, tuple[int, bytes]] = field(default_factory=dict)  # limit -> (uid, body)
    # interval -> (rows of the native series it was built from, the resampled series)
    derived: dict[str, tuple[int, KlineSeries]] = field(default_factory=dict)
    recorded_streams: set[str] = field(default_factory=set)  # hub keys a replay publishes as is
    partial_sent: dict[str, tuple[int, int]] = field(default_factory=dict)  # key -> (ms, uid)
    numbers: Numbers = field(init=False)

    def __post_init__(self) -> None:
        self.numbers = numbers_of(self.venue, self.entry)

    @property
    def lower(self) -> str:
        return self.symbol.lower()

    @property
    def l2(self) -> L2Book:
        """The book as a mutable :class:`L2Book` (synthetic markets only)."""
        if not isinstance(self.book, L2Book):
            raise InvalidInput(f"{self.symbol} is driven by a replay; its book is not mutable here")
        return self.book

    def record_trade(
        self, price: float, qty: float, time_ms: int, buyer_maker: bool, trade_id: int = 0
    ) -> Trade:
        trade = Trade(trade_id or self.next_trade_id, price, qty, time_ms, buyer_maker)
        self.next_trade_id = trade.id + 1
        self.trades.append(trade)
        self.last_price = price
        return trade

    def reference_price(self) -> float:
        """Mid of the book, else the last trade, else the last kline close."""
        mid = self.book.mid()
        if mid is not None:
            return mid
        if self.last_price:
            return self.last_price
        for series in self.klines.values():
            if len(series.open_ms):
                return float(series.ohlcv[-1, 3])
        return 0.0
