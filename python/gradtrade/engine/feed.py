"""The paper/live driver: asyncio tasks put events on one queue, one consumer hands them to
``Engine.handle``, the same entry point the backtest's heap uses.

Invariants: the consumer is the only caller of the engine, so the handler chain stays
synchronous and single-threaded whatever the producers do; events are handled in the order they
were queued (each producer already yields its stream in time order; the engine's clock refuses
an earlier event, so a producer bug surfaces instead of silently reordering); due engine timers
fire before the next event and, when the queue is idle, at their time; ``None`` on the queue ends
the session after everything before it was handled.
"""

from __future__ import annotations

import asyncio

from gradtrade.engine.loop import Engine, EngineLog
from gradtrade.events import MarketEvent

NS_PER_S = 1_000_000_000


async def drive(engine: Engine, queue: asyncio.Queue[MarketEvent | None]) -> EngineLog:
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
        engine.fire_timers(event.ts_ns)
        engine.handle(event)


__all__ = ["drive"]
