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
from typing import Any

from gradtrade.exchange.exchange_info import Rules
from gradtrade.exchange.series import FundingSeries, KlineSeries


@dataclass(frozen=True)
class Trade:
    """One public trade (served as both a trade and an aggTrade)."""

    id: int
    price: float
    qty: float
    time_ms: int
    buyer_maker: bool


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


@dataclass
class SymbolMarket:
    """Everything the exchange knows about one symbol on one venue ("spot" or "usdm")."""

    venue: str
    symbol: str
    base: str
    quote: str
    entry: dict[str, Any]
    rules: Rules
    book: L2Book = field(default_factory=L2Book)
    trades: deque[Trade] = field(default_factory=lambda: deque(maxlen=1000))
    klines: dict[str, KlineSeries] = field(default_factory=dict)
    mark_klines: dict[str, KlineSeries] = field(default_factory=dict)
    funding: FundingSeries | None = None
    last_price: float = 0.0
    mark_price: float = 0.0
    funding_rate: float = 0.0001
    next_trade_id: int = 1
    live: bool = False  # a source (synthetic or replay) drives the book and trades

    @property
    def lower(self) -> str:
        return self.symbol.lower()

    def record_trade(self, price: float, qty: float, time_ms: int, buyer_maker: bool) -> Trade:
        trade = Trade(self.next_trade_id, price, qty, time_ms, buyer_maker)
        self.next_trade_id += 1
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
