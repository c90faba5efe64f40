"""Replay of raw Binance websocket recordings (hftbacktest ``.gz`` files and cryptofeed folders)
through the server, paced by the recorded receive times divided by a speed factor.

Each symbol's book is a :class:`gradtrade.core.OrderBook` kept in sync by
:class:`gradtrade.venue.depth_sync.DepthSync` (Binance's buffering procedure): diffs recorded
before the REST snapshot are buffered and replayed onto it; from then on every recorded diff is
applied to the book and published as recorded, so the REST ``depth`` snapshot's
``lastUpdateId`` always chains to the next published diff. Trades, bookTickers, klines and mark
prices are published as recorded.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import orjson

from gradtrade.core import OrderBook
from gradtrade.data.recordings import RecordedFrame, read_cryptofeed, read_hftbacktest
from gradtrade.errors import InvalidInput, SequenceGap
from gradtrade.local_exchange.hub import canonical
from gradtrade.local_exchange.market import RustBook, SymbolMarket
from gradtrade.local_exchange.state import ExchangeState
from gradtrade.venue.depth_sync import DepthSync
from gradtrade.venue.instruments import book_grids

QUOTES = ("USDT", "BUSD", "USDC", "FDUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY")


def split_symbol(symbol: str) -> tuple[str, str]:
    for quote in QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    raise InvalidInput(f"cannot tell the base and quote assets of {symbol}")


_WRAPPER = b'{"stream":"'


def split_frame(raw: bytes) -> tuple[str, bytes]:
    """(stream name, the exact bytes of ``data``) of a combined-stream frame; ("", raw) else."""
    if not raw.startswith(_WRAPPER):
        return "", raw
    end = raw.index(b'"', len(_WRAPPER))
    start = raw.index(b'"data":', end) + len(b'"data":')
    return raw[len(_WRAPPER) : end].decode(), raw[start : raw.rindex(b"}")].strip()


def open_recording(path: Path) -> tuple[str, list[RecordedFrame]]:
    """(venue, frames) of a recording: a cryptofeed folder or prefix file, or hftbacktest files."""
    if path.is_dir() and (path / "BINANCE.ws.1.0").exists() and "usdm" not in path.name:
        frames = list(read_cryptofeed(path, "BINANCE"))
        return "spot", frames
    if path.name.startswith("BINANCE_FUTURES"):
        return "usdm", list(read_cryptofeed(path.parent, "BINANCE_FUTURES"))
    if path.name.startswith("BINANCE"):
        return "spot", list(read_cryptofeed(path.parent, "BINANCE"))
    files = sorted(path.glob("*.gz")) if path.is_dir() else [path]
    if not files:
        raise InvalidInput(f"{path}: no hftbacktest .gz files or cryptofeed BINANCE* files")
    frames = list(read_hftbacktest(*files))
    venue = "usdm" if any(b'"pu":' in f.raw for f in frames[:200]) else "spot"
    return venue, frames


class RecordingReplay:
    """Publishes one recording's frames on the server's loop at ``speed`` x recorded time."""

    def __init__(self, state: ExchangeState, path: Path, speed: float = 1.0) -> None:
        self.state, self.path, self.speed = state, path, max(speed, 1e-6)
        self.venue, self.frames = open_recording(path)
        self.syncs: dict[str, DepthSync] = {}
        self.done = asyncio.Event()
        self.published = 0

    def prepare(self) -> None:
        """Create the markets (and their Rust books) named by the recording."""
        for frame in self.frames:
            symbol = self._symbol(frame)
            if symbol is None or symbol in self.syncs:
                continue
            base, quote = split_symbol(symbol)
            m = self.state.market(self.venue, symbol, base, quote)
            tick, step = book_grids({"symbols": [m.entry]}, symbol)
            book = OrderBook(symbol, tick, step, self.venue)
            m.book = RustBook(book)
            m.live = True
            self.syncs[symbol] = DepthSync(book)

    def _symbol(self, frame: RecordedFrame) -> str | None:
        if frame.source == "rest":
            if frame.url and "symbol=" in frame.url:
                return frame.url.split("symbol=")[1].split("&")[0].upper()
            return next(iter(self.syncs), None)
        start = frame.raw.find(b'"s":"')
        if start < 0:
            return None
        return frame.raw[start + 5 : frame.raw.index(b'"', start + 5)].decode()

    async def run(self) -> None:
        if not self.frames:
            return
        t0_rec, t0_wall = self.frames[0].ts_ns, time.monotonic()
        for frame in self.frames:
            due = t0_wall + (frame.ts_ns - t0_rec) / 1e9 / self.speed
            delay = due - time.monotonic()
            if delay > 0.002:
                await asyncio.sleep(delay)
            self.apply(frame)
        self.done.set()

    def apply_all(self, limit: int | None = None) -> int:
        """Apply frames at once, without pacing (tests and benchmarks); returns how many."""
        frames = self.frames if limit is None else self.frames[:limit]
        for frame in frames:
            self.apply(frame)
        return len(frames)

    def apply(self, frame: RecordedFrame) -> None:
        symbol = self._symbol(frame)
        if symbol is None or symbol not in self.syncs:
            return
        sync = self.syncs[symbol]
        m = self.state.markets[self.venue][symbol]
        if frame.source == "rest":
            sync.on_snapshot(frame.raw)
            return
        stream, body = split_frame(frame.raw)
        if b'"e":"depthUpdate"' in body:
            try:
                # buffered (False) until the snapshot; stale frames are False too
                applied = sync.on_diff(frame.raw)
            except SequenceGap:
                applied = False  # the book waits for the next recorded snapshot
            if applied:
                self.state.publish_depth(m, body)
        elif b'"e":"trade"' in body or b'"e":"aggTrade"' in body:
            data = orjson.loads(body)
            self._trade(m, data["e"], data, body)
        else:
            if b'"e":"markPriceUpdate"' in body:
                m.mark_price = float(orjson.loads(body)["p"])
                self.state.prices_traded(m, "MARK_PRICE", m.mark_price, m.mark_price)
            key = canonical(stream, self.venue) if stream else None
            if key is not None:
                if "@kline_" in key:  # the recorded candles replace the ones built from trades
                    m.recorded_streams.add(key)
                self.state.hub.publish(m.venue, key, body)
        self.published += 1

    def _trade(self, m: SymbolMarket, event: str, data: dict[str, Any], body: bytes) -> None:
        trade_id = int(data["t"] if event == "trade" else data["a"])
        self.state.trade(
            m,
            float(data["p"]),
            float(data["q"]),
            bool(data["m"]),
            int(data["T"]),
            recorded=(event, body),
            trade_id=trade_id,
        )
