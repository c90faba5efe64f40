"""Live market data over raw ``websockets``: reconnecting frame streams and a synced L2 book.

:class:`FrameStream` owns one combined-stream connection (``{ws_url}/stream?streams=a/b``) and
never gives up: a dropped connection, a failed handshake or a stream silent for longer than
``stale_after_s`` (the watchdog) leads to a reconnect after exponential backoff with jitter; each
new connection is announced to the consumer with a :class:`Reconnected` marker, so state built
from the old connection can be rebuilt.

:class:`BookStream` keeps a Rust ``OrderBook`` synced by Binance's procedure: buffer diffs, fetch
the REST snapshot, drop stale diffs, apply the rest; websocket frames go to
``OrderBook.apply_depth_json`` untouched, and so does the body of the REST snapshot. A
``SequenceGap`` (a lost diff) or a reconnect starts a resync by itself; both are logged and
counted in the metrics.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from gradtrade.core import OrderBook, SequenceGap
from gradtrade.errors import ConfigError, InvalidInput, ServerError
from gradtrade.venue.config import ConnectorConfig
from gradtrade.venue.depth_sync import DepthSync
from gradtrade.venue.instruments import book_grids
from gradtrade.venue.rest import Backoff, ConnectorMetrics, RestClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reconnected:
    """Marker yielded first on every (re)connection; ``count`` starts at 1."""

    count: int


class FrameStream:
    """Raw text frames of a combined stream, reconnecting with backoff; iterate to consume."""

    def __init__(
        self,
        config: ConnectorConfig,
        streams: list[str],
        metrics: ConnectorMetrics,
        rng: random.Random | None = None,
    ) -> None:
        if not streams:
            raise ConfigError("streams: at least one stream name is needed")
        self.config, self.metrics = config, metrics
        self.url = f"{config.ws_url}/stream?streams={'/'.join(streams)}"
        self._backoff = Backoff(config.backoff_base_s, config.backoff_max_s, rng)
        self.connections = 0

    async def __aiter__(self) -> AsyncIterator[bytes | Reconnected]:
        while True:
            try:
                async with connect(
                    self.url, open_timeout=self.config.timeout_s, max_size=None, compression=None
                ) as ws:
                    self.connections += 1
                    log.info("stream %s: connected (#%d)", self.url, self.connections)
                    yield Reconnected(self.connections)
                    while True:
                        try:
                            frame = await asyncio.wait_for(
                                ws.recv(decode=False), self.config.stale_after_s
                            )
                        except TimeoutError:
                            self.metrics.stale_streams += 1
                            log.warning(
                                "stream %s: silent for %.1fs, reconnecting",
                                self.url,
                                self.config.stale_after_s,
                            )
                            break
                        self.metrics.frames += 1
                        self._backoff.reset()  # healthy again once data flows
                        yield frame
            except InvalidURI as exc:
                raise ConfigError(f"ws_url: {exc}") from exc
            except InvalidStatus as exc:
                status = exc.response.status_code
                if 400 <= status < 500 and status not in (418, 429):
                    # The URL is wrong, not the network: retrying would loop forever.
                    raise ConfigError(f"ws_url: {self.url} refused with HTTP {status}") from exc
                log.warning("stream %s: handshake refused with HTTP %d", self.url, status)
            except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError) as exc:
                log.warning("stream %s: %s: %s", self.url, type(exc).__name__, exc)
            self.metrics.reconnects += 1
            delay = self._backoff.next_delay()
            log.info("stream %s: reconnect in %.2fs", self.url, delay)
            await asyncio.sleep(delay)


async def json_stream(
    config: ConnectorConfig,
    streams: list[str],
    metrics: ConnectorMetrics,
    rng: random.Random | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """Decoded payloads (``data`` of the combined-stream wrapper) of trades, klines, tickers."""
    async for frame in FrameStream(config, streams, metrics, rng):
        if isinstance(frame, Reconnected):
            continue
        message = orjson.loads(frame)
        if isinstance(message, dict) and "data" in message:
            yield message["data"]


def book_params(market: dict[str, Any]) -> tuple[str, str]:
    """Tick and step of the depth feed (not the order filters: resting levels can be finer),
    exact, from the exchangeInfo entry ccxt keeps in ``info``."""
    try:
        return book_grids({"symbols": [market["info"]]}, str(market["id"]))
    except (KeyError, InvalidInput) as exc:
        raise ConfigError(f"symbol {market.get('symbol')}: exchangeInfo lacks {exc}") from None


# An empty snapshot (an exchange whose own book is not ready) is told from the bytes, without
# parsing them: no update id, or no level on either side.
_NO_UPDATE_ID = re.compile(rb'"lastUpdateId"\s*:\s*0\s*[,}]')
_NO_BIDS = re.compile(rb'"bids"\s*:\s*\[\s*\]')
_NO_ASKS = re.compile(rb'"asks"\s*:\s*\[\s*\]')


def empty_snapshot(raw: bytes) -> bool:
    """True when a depth snapshot body has no update id or no level at all."""
    if b'"lastUpdateId"' not in raw or _NO_UPDATE_ID.search(raw):
        return True
    return bool(_NO_BIDS.search(raw) and _NO_ASKS.search(raw))


async def fetch_snapshot(rest: RestClient, market_id: str, limit: int) -> bytes:
    """The REST depth snapshot as the exact bytes the server sent, for
    ``OrderBook.apply_snapshot_json``. An empty snapshot is retried like a server error."""

    def check(raw: bytes) -> None:
        if empty_snapshot(raw):
            raise ServerError(f"depth {market_id}: empty snapshot")

    return await rest.get_bytes("depth", {"symbol": market_id, "limit": limit}, check)


class BookStream:
    """A synced L2 book of ``symbol``; ``async for book in stream`` yields it after each change.

    The book object is replaced on every (re)connection (``self.book`` is the current one);
    :class:`gradtrade.venue.depth_sync.DepthSync` buffers diffs until the snapshot arrives.
    ``connections`` counts the connections made and ``last_frame_ns`` is the wall time of the
    last depth frame received (applied, buffered or stale), for monitoring.
    """

    def __init__(self, rest: RestClient, symbol: str, *, speed: str = "100ms") -> None:
        self.rest, self.symbol, self.speed = rest, symbol, speed
        self.metrics = rest.metrics
        self.book: OrderBook | None = None
        self.synced = False
        self.connections = 0
        self.last_frame_ns = 0

    async def __aiter__(self) -> AsyncIterator[OrderBook]:
        market = await self.rest.market(self.symbol)
        tick, step = book_params(market)
        market_id = str(market["id"])
        limit = self.rest.config.depth_limit
        frames = FrameStream(
            self.rest.config, [f"{market_id.lower()}@depth@{self.speed}"], self.metrics
        ).__aiter__()
        book = OrderBook(market_id, tick, step, self.rest.config.market)
        sync = DepthSync(book)
        snapshot: asyncio.Task[bytes] | None = None
        next_frame: asyncio.Future[bytes | Reconnected] | None = None

        def resync(reason: str) -> asyncio.Task[bytes]:
            if snapshot is not None:
                snapshot.cancel()
            self.synced = False
            log.warning("book %s: resync (%s)", self.symbol, reason)
            return asyncio.create_task(fetch_snapshot(self.rest, market_id, limit))

        try:
            while True:
                if next_frame is None:
                    next_frame = asyncio.ensure_future(anext(frames))
                # Wait for a frame or, while unsynced, the snapshot: a quiet stream must not
                # hold back a snapshot that has already arrived.
                waiting: set[asyncio.Future[Any]] = {next_frame}
                if snapshot is not None:
                    waiting.add(snapshot)
                done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                if snapshot is not None and snapshot in done:
                    raw_snapshot, snapshot = snapshot.result(), None
                    try:
                        sync.on_snapshot(raw_snapshot)
                    except SequenceGap as gap:  # the snapshot is older than the buffered diffs
                        self.metrics.resyncs += 1
                        snapshot = resync(f"snapshot does not reach the buffered diffs: {gap}")
                    else:
                        self.synced = True
                        log.info("book %s: synced at update %s", self.symbol, book.last_update_id)
                        yield book
                if next_frame not in done:
                    continue
                frame, next_frame = next_frame.result(), None
                if isinstance(frame, Reconnected):
                    self.connections += 1  # over every run of this stream object
                    # Frames may have been missed while disconnected: start from a fresh book.
                    book = OrderBook(market_id, tick, step, self.rest.config.market)
                    sync = DepthSync(book)
                    self.book = book
                    if frame.count > 1:
                        self.metrics.resyncs += 1
                    snapshot = resync(f"connection #{frame.count}")
                    continue
                self.last_frame_ns = time.time_ns()
                try:
                    applied = sync.on_diff(frame)
                except SequenceGap as gap:
                    self.metrics.sequence_gaps += 1
                    self.metrics.resyncs += 1
                    snapshot = resync(f"sequence gap: {gap}")
                    continue
                if applied:
                    yield book
                elif not sync.needs_snapshot:
                    self.metrics.stale_frames += 1
        finally:
            for pending in (snapshot, next_frame):
                if pending is not None:
                    pending.cancel()
            if next_frame is not None:  # the generator must be idle before it can be closed
                await asyncio.wait([next_frame])
            await frames.aclose()  # type: ignore[attr-defined]


__all__ = [
    "BookStream",
    "FrameStream",
    "Reconnected",
    "book_params",
    "empty_snapshot",
    "fetch_snapshot",
    "json_stream",
]
