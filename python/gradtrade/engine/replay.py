"""Replaying a recorded session: the strategy's cadence as events, backtest or paper-style.

Invariants: ``book_ticks`` is the only place the L2 cadence is decided (one ``BookTick`` every
``interval_ns`` on the grid ``start + k * interval``, and one at ``end`` if the grid misses it,
so the whole recording up to ``end`` is replayed), so a
backtest and a paper replay of the same recording see the same ticks. ``paper_replay`` streams
events through the very path a paper or live session uses: a producer task puts them on a
bounded ``asyncio.Queue`` and ``drive`` hands them to ``Engine.handle``; the clock is the
engine's (a ``SimulatedClock`` replaying the recorded times instead of the wall clock). After
the last event both paths fire the timers still due at or before ``until_ns`` and none after,
so a session that ends at ``until_ns`` is compared with a backtest that ends there too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator

from gradtrade.engine.feed import FeedItem, drive
from gradtrade.engine.loop import Engine, EngineLog
from gradtrade.errors import InvalidInput
from gradtrade.events import MarketEvent
from gradtrade.strategy.book import BookTick


def book_ticks(symbol: str, start_ns: int, end_ns: int, interval_ns: int) -> Iterator[BookTick]:
    if interval_ns <= 0:
        raise InvalidInput(f"book tick interval must be positive, got {interval_ns} ns")
    if end_ns < start_ns:
        raise InvalidInput(f"replay end {end_ns} is before its start {start_ns}")
    ts = start_ns
    for ts in range(start_ns, end_ns + 1, interval_ns):
        yield BookTick(symbol, ts)
    if ts != end_ns:
        yield BookTick(symbol, end_ns)


def backtest_replay(
    engine: Engine, events: Iterable[MarketEvent | BookTick], until_ns: int
) -> EngineLog:
    """The backtest path: every event on the engine's heap, then the timers due by ``until_ns``."""
    queued = list(events)
    if queued and max(e.ts_ns for e in queued) > until_ns:
        raise InvalidInput(f"an event lies after the replay's end {until_ns}")
    engine.run(queued, until_ns=until_ns)
    return engine.log


async def paper_replay(
    engine: Engine,
    events: Iterable[MarketEvent | BookTick],
    until_ns: int,
    *,
    maxsize: int = 1024,
) -> EngineLog:
    """The paper path: a producer task and ``drive``'s consumer over one bounded queue."""
    queue: asyncio.Queue[FeedItem | None] = asyncio.Queue(maxsize=maxsize)

    async def produce() -> None:
        try:
            for ev in events:
                if ev.ts_ns > until_ns:
                    raise InvalidInput(f"an event lies after the replay's end {until_ns}")
                await queue.put(ev)
        finally:  # the consumer always ends; a producer error is raised once it has
            await queue.put(None)

    producer = asyncio.create_task(produce())
    log = await drive(engine, queue)
    await producer
    engine.fire_timers(until_ns)
    return log


__all__ = ["backtest_replay", "book_ticks", "paper_replay"]
