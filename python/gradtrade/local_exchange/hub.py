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
import time
from collections import deque

from aiohttp import web

MAX_QUEUE = 50_000
BATCH = 256
HIGH_WATER = 4 << 20

_DEPTH_RATES = {"", "100ms", "0ms", "250ms", "500ms", "1000ms"}


def canonical(name: str) -> str | None:
    """The hub key of a Binance stream name, or None when the name is not a stream we serve."""
    parts = name.split("@")
    if len(parts) < 2 or not parts[0]:
        return None
    sym, kind, rest = parts[0].lower(), parts[1], parts[2:]
    if kind == "depth" and (not rest or rest[0] in _DEPTH_RATES):
        return f"{sym}@depth"
    if kind in ("trade", "aggTrade", "bookTicker", "ticker", "miniTicker") and not rest:
        return f"{sym}@{kind}"
    if kind == "kline_1m" and not rest:  # live candles are 1m; history is REST klines
        return f"{sym}@{kind}"
    if kind == "markPrice" and (not rest or rest[0] in ("1s", "3s")):
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

    def __init__(self) -> None:
        self.subs: dict[tuple[str, str], dict[Conn, str]] = {}
        self.conns: set[Conn] = set()
        self.published = 0

    def attach(self, conn: Conn) -> None:
        self.conns.add(conn)
        conn.sender = asyncio.get_running_loop().create_task(conn.run_sender())

    def detach(self, conn: Conn) -> None:
        self.conns.discard(conn)
        for key in list(conn.streams):
            self.unsubscribe(conn, conn.streams[key])
        if conn.sender is not None:
            conn.sender.cancel()

    def subscribe(self, conn: Conn, name: str) -> bool:
        key = canonical(name)
        if key is None:
            return False
        conn.streams[key] = name
        self.subs.setdefault((conn.venue, key), {})[conn] = name
        return True

    def unsubscribe(self, conn: Conn, name: str) -> None:
        key = canonical(name)
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
