"""Closed bars from the kline stream of the local exchange (its own process): every bar once, in
order, with no hole, even when the stream is killed across a bar close (the fault endpoint's
``drop_ws``); the bars equal the exchange's REST history."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from typing import Any

import orjson

from gradtrade.events import Bar
from gradtrade.live.bars import KlineFeed
from gradtrade.venue.config import ConnectorConfig
from gradtrade.venue.rest import ConnectorMetrics, RestClient

from .harness import SYMBOL, Exchange

STEP_NS = 60_000_000_000


class SlowReconnect(random.Random):
    """The backoff's jitter pinned to its ceiling: a reconnect waits the whole backoff."""

    def uniform(self, a: float, b: float) -> float:
        return b


async def _until(pred: object, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


Run = tuple[list[Bar], list[Bar], KlineFeed, list[list[Any]], list[int | None]]


async def _run(exchange: Exchange) -> Run:
    connector = ConnectorConfig.for_url(
        exchange.url, stale_after_s=20, backoff_base_s=2.5, backoff_max_s=2.5
    )
    rest = RestClient(connector, ConnectorMetrics())
    feed = KlineFeed(rest, SYMBOL, "1m", rng=SlowReconnect())
    history = await feed.history(5)
    bars: list[Bar] = []
    events: list[int | None] = []

    async def consume() -> None:
        async for bar in feed:
            bars.append(bar)
            events.append(feed.event_ms)

    task = asyncio.create_task(consume())
    try:
        await _until(lambda: feed.stats.connections == 1)
        for n in (1, 2):  # two bars over a healthy stream
            await asyncio.to_thread(exchange.next_minute)
            await _until(lambda n=n: len(bars) == n)
        # kill the stream, then close two bars while it is down (the reconnect waits 2.5 s)
        await asyncio.to_thread(exchange.arm, kind="drop_ws", path_prefix="/stream")
        await asyncio.to_thread(exchange.next_minute)
        await asyncio.sleep(0.8)
        await asyncio.to_thread(exchange.next_minute)
        await _until(lambda: len(bars) == 4)
        assert feed.stats.connections == 2
        await asyncio.to_thread(exchange.next_minute)  # and the stream goes on after it
        await _until(lambda: len(bars) == 5)
        first = history[0].open_time_ns // 1_000_000
        rows = orjson.loads(
            await rest.get_bytes(
                "klines", {"symbol": SYMBOL, "interval": "1m", "startTime": first, "limit": 50}
            )
        )
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await rest.close()
    return history, bars, feed, rows, events


def test_kline_stream_killed_across_bar_closes_yields_every_bar_once_in_order(
    exchange: Exchange,
) -> None:
    history, bars, feed, rows, events = asyncio.run(_run(exchange))
    seen = [*history, *bars]
    opens = [b.open_time_ns for b in seen]
    assert all(b - a == STEP_NS for a, b in itertools.pairwise(opens)), opens
    assert feed.stats.backfilled >= 2  # the bars that closed while the stream was down
    # each bar is the exchange's closed candle, number for number
    rest = {int(r[0]) * 1_000_000: r for r in rows}
    for bar in seen:
        r = rest[bar.open_time_ns]
        got = (bar.open, bar.high, bar.low, bar.close, bar.volume)
        assert got == tuple(float(x) for x in r[1:6])
    # the venue's event time of each closing frame (sent once the candle closed, by the
    # exchange's clock), none for the bars the reconnect brought from REST: the trader asks
    # the venue for its clock before those
    from_frames = [(b, e) for b, e in zip(bars, events, strict=True) if e is not None]
    assert len(from_frames) >= 3 and events.count(None) >= 1, events
    for bar, event_ms in from_frames:
        close_ms = bar.close_time_ns // 1_000_000
        assert close_ms <= event_ms < close_ms + 60_000, (bar, event_ms)
    last = events[-1]  # the last bar came from a frame: the clock agrees within the tolerance
    assert last is not None and feed.event_ms == last
    assert feed.clock_agrees(last + 1000, 1000) and feed.clock_agrees(last - 1000, 1000)
    assert not feed.clock_agrees(last + 1001, 1000) and not feed.clock_agrees(last - 1001, 1000)


async def _stalled(exchange: Exchange) -> tuple[list[Bar], KlineFeed]:
    connector = ConnectorConfig.for_url(
        exchange.url, stale_after_s=1.5, backoff_base_s=0.1, backoff_max_s=0.2
    )
    rest = RestClient(connector, ConnectorMetrics())
    feed = KlineFeed(rest, SYMBOL, "1m")
    history = await feed.history(3)
    bars: list[Bar] = []

    async def consume() -> None:
        async for bar in feed:
            bars.append(bar)

    task = asyncio.create_task(consume())
    try:
        await _until(lambda: feed.stats.connections == 1)
        # the stream goes silent (frames held 5 s) while a bar closes: the watchdog reconnects
        await asyncio.to_thread(exchange.arm, kind="stall_ws", seconds=5, path_prefix="/stream")
        await asyncio.to_thread(exchange.next_minute)
        await _until(lambda: len(bars) == 1)
        await asyncio.to_thread(exchange.next_minute)
        await _until(lambda: len(bars) == 2)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await rest.close()
    return [*history, *bars], feed


def test_a_stalled_kline_stream_is_reconnected_by_the_watchdog(exchange: Exchange) -> None:
    seen, feed = asyncio.run(_stalled(exchange))
    assert feed.stats.stale >= 1 and feed.stats.connections >= 2
    opens = [b.open_time_ns for b in seen]
    assert all(b - a == STEP_NS for a, b in itertools.pairwise(opens)), opens
