"""``ExchangeConnector``: one object for everything the data layer gets from an exchange.

REST (history, snapshots, server time) goes through ccxt's async Binance classes pointed at the
configured URLs (:mod:`gradtrade.venue.rest`); live market data through raw websockets whose depth
frames go straight into the Rust order book (:mod:`gradtrade.venue.streams`). Binance, its
testnet and the local exchange differ only in :class:`ConnectorConfig`.

    async with ExchangeConnector(ConnectorConfig.preset("binance")) as conn:
        await conn.download(store, "BTC/USDT", "1h", since=pd.Timestamp("2024-01-01", tz="UTC"))
        async for book in conn.book_stream("BTC/USDT"):
            print(book.best_bid(), book.best_ask())
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

import pandas as pd

from gradtrade.core import OrderBook
from gradtrade.data.download import DownloadResult, download_agg_trades, download_series
from gradtrade.data.store import CandleStore, SeriesKey
from gradtrade.venue.config import ConnectorConfig
from gradtrade.venue.rest import ConnectorMetrics, RestClient
from gradtrade.venue.streams import BookStream, book_params, fetch_snapshot, json_stream


class ExchangeConnector:
    """Historical downloads and live streams of one market (spot or USD-M) of one exchange."""

    def __init__(self, config: ConnectorConfig, *, rng: random.Random | None = None) -> None:
        self.config = config
        self.metrics = ConnectorMetrics()
        self._rng = rng
        self.rest = RestClient(config, self.metrics, rng)

    async def __aenter__(self) -> ExchangeConnector:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        """Measure the clock offset and load the markets (symbols, filters)."""
        await self.rest.sync_time()
        await self.rest.load_markets()

    async def close(self) -> None:
        await self.rest.close()

    def key(self, symbol: str, timeframe: str, kind: str = "ohlcv") -> SeriesKey:
        """The store key of a series downloaded through this connector."""
        return SeriesKey(self.config.exchange_id, self.config.market, symbol, timeframe, kind)

    async def server_time_offset_ms(self) -> float:
        """Re-measure and return the exchange clock minus the local clock, in ms."""
        return await self.rest.sync_time()

    async def download(
        self,
        store: CandleStore,
        symbol: str,
        timeframe: str,
        *,
        since: pd.Timestamp,
        until: pd.Timestamp | None = None,
        kind: str = "ohlcv",
        progress: bool = True,
    ) -> DownloadResult:
        """Fill ``store`` with ``kind`` ("ohlcv", "mark", "funding") over ``[since, until)``,
        fetching only what it lacks (resume and gap filling)."""
        key = self.key(symbol, "8h" if kind == "funding" else timeframe, kind)
        return await download_series(self.rest, store, key, since, until, progress=progress)

    async def agg_trades(
        self, symbol: str, since: pd.Timestamp, until: pd.Timestamp, *, progress: bool = True
    ) -> pd.DataFrame:
        """Aggregated trades in ``[since, until)`` as a frame (agg_id, date, price, amount...)."""
        return await download_agg_trades(self.rest, symbol, since, until, progress=progress)

    async def order_book_snapshot(self, symbol: str, limit: int | None = None) -> OrderBook:
        """A Rust book loaded from one REST depth snapshot (no stream)."""
        market = await self.rest.market(symbol)
        tick, step = book_params(market)
        book = OrderBook(str(market["id"]), tick, step, self.config.market)
        raw = await fetch_snapshot(self.rest, str(market["id"]), limit or self.config.depth_limit)
        book.apply_snapshot_json(raw)
        return book

    def book_stream(self, symbol: str, *, speed: str = "100ms") -> BookStream:
        """A self-resyncing L2 book; iterate it to get the book after each change."""
        return BookStream(self.rest, symbol, speed=speed)

    async def _market_id(self, symbol: str) -> str:
        return str((await self.rest.market(symbol))["id"]).lower()

    async def trades(self, symbol: str) -> AsyncIterator[dict[str, Any]]:
        """Raw trade events (``e == "trade"``) as Binance sends them."""
        stream = f"{await self._market_id(symbol)}@trade"
        async for event in json_stream(self.config, [stream], self.metrics, self._rng):
            yield event

    async def klines(self, symbol: str, interval: str) -> AsyncIterator[dict[str, Any]]:
        """Kline events; ``event["k"]["x"]`` tells whether the bar has closed."""
        stream = f"{await self._market_id(symbol)}@kline_{interval}"
        async for event in json_stream(self.config, [stream], self.metrics, self._rng):
            yield event

    async def book_ticker(self, symbol: str) -> AsyncIterator[dict[str, Any]]:
        """Best bid/ask updates."""
        stream = f"{await self._market_id(symbol)}@bookTicker"
        async for event in json_stream(self.config, [stream], self.metrics, self._rng):
            yield event


__all__ = ["ConnectorConfig", "ConnectorMetrics", "ExchangeConnector"]
