"""The paper/live driver: asyncio tasks put events on one queue, one consumer hands them to
``Engine.handle``, the same entry point the backtest's heap uses.

Invariants: the consumer is the only caller of the engine, so the handler chain stays
synchronous and single-threaded whatever the producers do; events are handled in the order they
were queued (each producer already yields its stream in time order; the engine's clock refuses
an earlier event, so a producer bug surfaces instead of silently reordering); due engine timers
fire before the next event (those due by the engine's clock, ``Clock.timers_due_by``: live, the
wall clock, never the venue's stamp on the event) and, when the queue is idle, at their time; a
``VenuePoll`` marker (queued by whoever watches a live client's ``ready`` event) drains the
venue's reports at once, so live fills never wait for the next bar; ``on_event`` is called
after each handled event (the live trader journals and notifies its observers there), once the
event loop has run one turn: the requests the event made (a live order, journaled write-ahead
by then) start on the wire before that bookkeeping (a snapshot, observers); ``None`` on the
queue ends the session after everything before it was handled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from gradtrade.engine.loop import Engine, EngineLog
from gradtrade.events import MarketEvent
from gradtrade.strategy.book import BookTick

NS_PER_S = 1_000_000_000


@dataclass(frozen=True, slots=True)
class VenuePoll:
    """The venue has reports waiting: account them now (``Engine.drain_venue``)."""

    ts_ns: int


FeedItem = MarketEvent | BookTick | VenuePoll  # BookTick: the live L2 book's cadence


async def drive(
    engine: Engine,
    queue: asyncio.Queue[FeedItem | None],
    on_event: Callable[[FeedItem], None] | None = None,
) -> EngineLog:
    """Consume ``queue`` until ``None``; returns the engine's log."""
    while True:
        wake = engine.next_timer_ns
        if wake is None:
            event = await queue.get()
        else:
            timeout = max(0.0, (wake - engine.clock.now_ns()) / NS_PER_S)
            try:
                event = await asyncio.wait_for(queue.get(), timeout)
            except TimeoutError:
                engine.fire_timers(wake)
                continue
        if event is None:
            return engine.log
        if isinstance(event, VenuePoll):
            engine.drain_venue()
        else:
            engine.fire_timers(engine.clock.timers_due_by(event.ts_ns))
            engine.handle(event)
        if on_event is not None:
            await asyncio.sleep(0)
            on_event(event)


__all__ = ["FeedItem", "VenuePoll", "drive"]
