"""Websocket fan-out: stream subscriptions and per-connection send queues.

A source publishes each event once as JSON bytes under its canonical stream key
(``venue``, ``btcusdt@depth``); the hub queues it on every subscribed connection, wrapped as
``{"stream": name, "data": ...}`` on combined-stream connections. Each connection has its own
sender task, so one slow or stalled client never delays the others, and a client that falls
more than ``MAX_QUEUE`` frames behind is disconnected, as Binance does.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import time
from collections import deque
from collections.abc import Callable

from aiohttp import web

MAX_QUEUE = 50_000
BATCH = 256
HIGH_WATER = 4 << 20
MAX_STREAMS = 1024  # Binance: streams one connection may listen to (spot and USD-M)

_DEPTH_RATES = {"spot": ("100ms", "1000ms"), "usdm": ("0ms", "100ms", "250ms", "500ms")}
# partial book depth: the default update speed per venue, then the ones a client may ask for
PARTIAL_RATES = {"spot": ("1000ms", "100ms"), "usdm": ("250ms", "100ms", "500ms")}
PARTIAL_LEVELS = (5, 10, 20)
KLINE_INTERVALS = (
    *("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h"),
    *("1d", "3d", "1w"),
)
_PLAIN = ("trade", "aggTrade", "bookTicker", "ticker", "miniTicker")


class Subscribe(enum.Enum):
    """The outcome of one SUBSCRIBE name."""

    OK = enum.auto()
    UNKNOWN = enum.auto()  # not a stream name this venue serves
    TOO_MANY = enum.auto()  # the connection already listens to MAX_STREAMS streams


def canonical(name: str, venue: str = "spot") -> str | None:
    """The hub key of a Binance stream name, or None when the name is not a stream we serve
    (the symbol is not checked here; see ``Hub.subscribe``)."""
    parts = name.split("@")
    if len(parts) < 2 or not parts[0] or len(parts) > 3:
        return None
    sym, kind, rest = parts[0].lower(), parts[1], parts[2:]
    rates = _DEPTH_RATES.get(venue, _DEPTH_RATES["spot"])
    if kind == "depth" and (not rest or rest[0] in rates):
        return f"{sym}@depth"
    if kind.startswith("depth") and kind[5:].isdigit() and int(kind[5:]) in PARTIAL_LEVELS:
        allowed = PARTIAL_RATES.get(venue, PARTIAL_RATES["spot"])
        rate = rest[0] if rest else allowed[0]
        return f"{sym}@{kind}@{rate}" if rate in allowed else None
    if kind in _PLAIN and not rest:
        return f"{sym}@{kind}"
    if kind.startswith("kline_") and kind[6:] in KLINE_INTERVALS and not rest:
        return f"{sym}@{kind}"
    if venue == "usdm" and kind == "markPrice" and (not rest or rest[0] in ("1s", "3s")):
        return f"{sym}@markPrice"
    return None


class Conn:
    """One websocket client: its subscriptions and its outgoing queue."""

    def __init__(self, ws: web.WebSocketResponse, venue: str, path: str, combined: bool) -> None:
        self.ws = ws
        self.venue = venue
        self.path = path
        self.combined = combined
        self.streams: dict[str, str] = {}  # canonical key -> name the client subscribed with
        self.queue: deque[bytes] = deque()
        self.ready = asyncio.Event()
        self.stalled_until = 0.0
        self.sender: asyncio.Task[None] | None = None

    def push(self, frame: bytes) -> None:
        if len(self.queue) >= MAX_QUEUE:
            self.abort()
            return
        self.queue.append(frame)
        self.ready.set()

    def abort(self) -> None:
        """Drop the TCP connection without a close handshake (what a network failure looks like)."""
        transport = self.ws._req.transport if self.ws._req is not None else None
        if transport is not None:
            transport.abort()
        if self.sender is not None:
            self.sender.cancel()

    async def run_sender(self) -> None:
        """Send queued frames in batches: one transport write carries up to ``BATCH`` text
        frames (RFC 6455 framing, server frames are unmasked), so a burst costs one syscall.
        Uncompressed frames are valid even when permessage-deflate was negotiated."""
        with contextlib.suppress(ConnectionError, asyncio.CancelledError, RuntimeError):
            while True:
                await self.ready.wait()
                self.ready.clear()
                while self.queue:
                    pause = self.stalled_until - time.monotonic()
                    if pause > 0:
                        await asyncio.sleep(pause)
                        continue
                    transport = self.ws._req.transport if self.ws._req is not None else None
                    if transport is None or transport.is_closing():
                        return
                    parts: list[bytes] = []
                    for _ in range(min(BATCH, len(self.queue))):
                        frame = self.queue.popleft()
                        parts.append(_text_header(len(frame)))
                        parts.append(frame)
                    transport.write(b"".join(parts))
                    while transport.get_write_buffer_size() > HIGH_WATER:
                        await asyncio.sleep(0.002)  # the client reads slower than we publish
                    await asyncio.sleep(0)


def _text_header(n: int) -> bytes:
    if n < 126:
        return bytes((0x81, n))
    if n < 65_536:
        return bytes((0x81, 126)) + n.to_bytes(2, "big")
    return bytes((0x81, 127)) + n.to_bytes(8, "big")


class Hub:
    """Stream key -> subscribed connections, for every venue."""

    def __init__(self, known: Callable[[str, str], bool] | None = None) -> None:
        """``known(venue, symbol)``: whether a stream's (lowercase) symbol is a market."""
        self.subs: dict[tuple[str, str], dict[Conn, str]] = {}
        self.conns: set[Conn] = set()
        self.published = 0
        self.known = known or (lambda venue, symbol: True)

    def key(self, venue: str, name: str) -> str | None:
        """The hub key of ``name`` on ``venue`` when it names a served stream of a market."""
        key = canonical(name, venue)
        if key is None or not self.known(venue, key.split("@", 1)[0]):
            return None
        return key

    def attach(self, conn: Conn) -> None:
        self.conns.add(conn)
        conn.sender = asyncio.get_running_loop().create_task(conn.run_sender())

    def detach(self, conn: Conn) -> None:
        self.conns.discard(conn)
        for key in list(conn.streams):
            self.unsubscribe(conn, conn.streams[key])
        if conn.sender is not None:
            conn.sender.cancel()

    def subscribe(self, conn: Conn, name: str) -> Subscribe:
        key = self.key(conn.venue, name)
        if key is None:
            return Subscribe.UNKNOWN
        if key not in conn.streams and len(conn.streams) >= MAX_STREAMS:
            return Subscribe.TOO_MANY
        conn.streams[key] = name
        self.subs.setdefault((conn.venue, key), {})[conn] = name
        return Subscribe.OK

    def unsubscribe(self, conn: Conn, name: str) -> None:
        key = canonical(name, conn.venue)
        if key is None or key not in conn.streams:
            return
        del conn.streams[key]
        subscribers = self.subs.get((conn.venue, key))
        if subscribers is not None:
            subscribers.pop(conn, None)
            if not subscribers:
                del self.subs[(conn.venue, key)]

    def wants(self, venue: str, key: str) -> bool:
        return (venue, key) in self.subs

    def publish(self, venue: str, key: str, data: bytes) -> None:
        subscribers = self.subs.get((venue, key))
        if not subscribers:
            return
        wrapped: dict[str, bytes] = {}
        for conn, name in list(subscribers.items()):
            if conn.combined:
                frame = wrapped.get(name)
                if frame is None:
                    frame = b'{"stream":"' + name.encode() + b'","data":' + data + b"}"
                    wrapped[name] = frame
                conn.push(frame)
            else:
                conn.push(data)
        self.published += len(subscribers)

    def drop(self, path_prefix: str = "") -> int:
        victims = [c for c in self.conns if c.path.startswith(path_prefix)]
        for conn in victims:
            conn.abort()
        return len(victims)

    def stall(self, seconds: float, path_prefix: str = "") -> int:
        until = time.monotonic() + seconds
        victims = [c for c in self.conns if c.path.startswith(path_prefix)]
        for conn in victims:
            conn.stalled_until = until
        return len(victims)
