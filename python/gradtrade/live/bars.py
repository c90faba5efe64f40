"""Closed bars of one symbol and interval from the kline websocket, backfilled over REST.

Invariants (what the strategy relies on): every closed candle is yielded exactly once, in
open-time order, with no hole:

* a websocket frame counts only once its candle closed (``k.x`` true); a bar whose open time is
  not after the last one yielded is a duplicate and dropped (counted);
* on every (re)connection, the candles that closed since the last one yielded are fetched over
  REST first (``klines`` from the next open time), so a dropped stream loses nothing; a REST
  answer's last row is the candle still open on the venue and is never taken;
* a closed frame that skips candles (a stream gap across a bar close) is preceded by the REST
  candles of the hole, fetched before it is yielded.

``event_ms`` is the venue's event time (``E``) of the frame that closed the bar just yielded,
None for a bar from REST: ``clock_agrees`` tells the trader whether its followed venue clock
can be trusted for that bar without asking the venue again (``live.trader``).

``newest_close_ns`` is the close time of the newest closed candle the feed knows, set before
any bar of a backfill is yielded: while a backfill is being yielded, every bar but its last is
already superseded by a newer close (the trader does not trade on those, ``live.trader``).

The stream's watchdog is ``FrameStream``'s (``stale_after_s``: reconnect when silent).
``stats`` counts connections, reconnects, stale periods, duplicates and backfilled bars and the
time of the last message, for monitoring.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from gradtrade.errors import InvalidInput
from gradtrade.events import Bar
from gradtrade.timeframes import interval_ms
from gradtrade.venue.rest import RestClient
from gradtrade.venue.streams import FrameStream, Reconnected

log = logging.getLogger("gradtrade.live.bars")
NS_PER_MS = 1_000_000


@dataclass
class StreamStats:
    """What a monitor scrapes about one market-data stream."""

    name: str
    connections: int = 0
    reconnects: int = 0
    stale: int = 0
    messages: int = 0
    last_message_ns: int = 0
    bars: int = 0
    backfilled: int = 0
    duplicates: int = 0
    gaps: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _bar(symbol: str, step_ms: int, open_ms: int, o: Any, h: Any, lo: Any, c: Any, v: Any) -> Bar:
    return Bar(
        symbol, open_ms * NS_PER_MS, (open_ms + step_ms) * NS_PER_MS,
        float(o), float(h), float(lo), float(c), float(v),
    )  # fmt: skip


class KlineFeed:
    """``history()`` once for the warm-up, then ``async for bar in feed`` for the live bars."""

    def __init__(
        self, rest: RestClient, symbol: str, interval: str, rng: random.Random | None = None
    ) -> None:
        self.rest, self.symbol, self.interval = rest, symbol, interval
        self.rng = rng  # the reconnect backoff's jitter (tests pin it)
        self.step_ms = interval_ms(interval)
        self.last_open_ms: int | None = None
        self.newest_close_ns = 0  # the newest closed candle known (module docstring)
        self.event_ms: int | None = None  # E of the frame that closed the last bar yielded
        self.stats = StreamStats(f"{symbol.lower()}@kline_{interval}")

    async def _rest_rows(self, start_ms: int | None, limit: int) -> list[list[Any]]:
        params: dict[str, str | int] = {
            "symbol": self.symbol,
            "interval": self.interval,
            "limit": limit,
        }
        if start_ms is not None:
            params["startTime"] = start_ms
        rows = orjson.loads(await self.rest.get_bytes("klines", params))
        if not isinstance(rows, list):
            raise InvalidInput(f"klines {self.symbol}: expected a list, got {type(rows).__name__}")
        return rows

    async def history(self, bars: int) -> list[Bar]:
        """The last ``bars`` closed candles (the warm-up); the live stream continues after."""
        rows = await self._rest_rows(None, min(bars + 1, 1000))
        out = [self._row_bar(r) for r in rows[:-1]]  # the last row is the open candle
        if out:
            self.last_open_ms = out[-1].open_time_ns // NS_PER_MS
            self.newest_close_ns = max(self.newest_close_ns, out[-1].close_time_ns)
        return out

    def clock_agrees(self, venue_now_ms: float, tolerance_ms: float) -> bool:
        """True when the last bar came from a frame whose event time is within
        ``tolerance_ms`` of ``venue_now_ms`` (the venue's clock as the caller follows it): the
        frame is not late and the clock has not moved. False for a bar from REST, a late
        (stalled) frame, or a venue clock that moved since the caller last measured it."""
        return self.event_ms is not None and abs(venue_now_ms - self.event_ms) <= tolerance_ms

    def _row_bar(self, row: list[Any]) -> Bar:
        return _bar(self.symbol, self.step_ms, int(row[0]), *row[1:6])

    async def _backfill(self, until_open_ms: int | None) -> list[Bar]:
        """Closed candles after the last yielded one: up to (not including) ``until_open_ms``,
        or (None) every one the venue has closed, the open candle excluded."""
        out: list[Bar] = []
        while self.last_open_ms is not None:
            start = self.last_open_ms + self.step_ms
            if until_open_ms is not None and start >= until_open_ms:
                break
            rows = await self._rest_rows(start, 1000)
            page = [r for r in rows if int(r[0]) >= start]
            if until_open_ms is None:
                page = page[:-1]  # the last row may still be open
            else:
                page = [r for r in page if int(r[0]) < until_open_ms]
            if not page:
                break
            for row in page:
                bar = self._row_bar(row)
                out.append(bar)
                self.last_open_ms = int(row[0])
            if len(rows) < 1000:
                break
        self.stats.backfilled += len(out)
        if out:
            self.newest_close_ns = max(self.newest_close_ns, out[-1].close_time_ns)
        return out

    async def __aiter__(self) -> AsyncIterator[Bar]:
        name = f"{self.symbol.lower()}@kline_{self.interval}"
        stream = FrameStream(self.rest.config, [name], self.rest.metrics, self.rng)
        async for frame in stream:
            m = self.rest.metrics
            self.stats.reconnects, self.stats.stale = m.reconnects, m.stale_streams
            if isinstance(frame, Reconnected):
                self.stats.connections = frame.count
                self.event_ms = None
                for bar in await self._backfill(None):
                    yield bar
                continue
            self.stats.messages += 1
            self.stats.last_message_ns = time.time_ns()
            closed = self._closed_kline(frame)
            if closed is None:
                continue
            k, event_ms = closed
            open_ms = int(k["t"])
            if self.last_open_ms is not None and open_ms <= self.last_open_ms:
                self.stats.duplicates += 1
                continue
            close_ns = (open_ms + self.step_ms) * NS_PER_MS
            self.newest_close_ns = max(self.newest_close_ns, close_ns)
            if self.last_open_ms is not None and open_ms > self.last_open_ms + self.step_ms:
                self.stats.gaps += 1
                log.warning("%s: kline gap before %d; filling it over REST", name, open_ms)
                self.event_ms = None
                for bar in await self._backfill(open_ms):
                    yield bar
            self.last_open_ms = open_ms
            self.event_ms = event_ms
            self.stats.bars += 1
            yield _bar(self.symbol, self.step_ms, open_ms, k["o"], k["h"], k["l"], k["c"], k["v"])

    @staticmethod
    def _closed_kline(frame: bytes) -> tuple[dict[str, Any], int | None] | None:
        """A closing kline frame's ``k`` and its event time ``E`` (None if absent or not an
        integer: the trader then asks the venue for its clock)."""
        if b'"x":true' not in frame:
            return None
        message = orjson.loads(frame)
        data = message.get("data", message) if isinstance(message, dict) else None
        k = data.get("k") if isinstance(data, dict) else None
        if not isinstance(k, dict) or k.get("x") is not True:
            return None
        event = data.get("E") if isinstance(data, dict) else None
        return k, event if type(event) is int else None


__all__ = ["KlineFeed", "StreamStats"]
