"""The asyncio driver feeds the same engine: bars streamed through a queue by concurrent
producers give exactly the backtest's fills, equity and decisions."""

from __future__ import annotations

import asyncio
import dataclasses
import time

from gradtrade.engine import SimulatedClock, WallClock
from gradtrade.engine.feed import FeedItem, drive
from gradtrade.events import Timer
from gradtrade.execution.client import OrderRequest


async def test_queue_driven_engine_equals_the_backtest(
    btc_config, load_data, build_engine, constant
) -> None:
    cfg = btc_config("2024-01-01", "2024-01-15")
    data = load_data(cfg)
    backtest = build_engine(cfg, data, constant(0.5)).run(data.bars)

    engine = build_engine(cfg, data, constant(0.5))
    queue: asyncio.Queue[FeedItem | None] = asyncio.Queue(maxsize=16)

    async def produce() -> None:
        for bar in data.bars:
            await queue.put(bar)
            await asyncio.sleep(0)  # yield, like a websocket task between frames
        await queue.put(None)

    live, _ = await asyncio.gather(drive(engine, queue), produce())
    assert live.fills == backtest.fills and len(live.fills) > 100
    assert live.equity == backtest.equity
    assert [r.decision for r in live.decisions] == [r.decision for r in backtest.decisions]


async def test_timers_fire_by_the_engine_clock_not_by_the_venue_stamp(
    btc_config, load_data, build_engine, constant
) -> None:
    """Live, a bar's stamp is the venue's time and may run ahead of the wall clock: a backoff
    timer due by the wall clock later must not fire when that bar is handled (it did, and the
    re-plan inside the backoff re-armed it for the same instant: a spin until the wall clock
    caught up)."""
    cfg = btc_config("2024-01-01", "2024-01-02")
    data = load_data(cfg)
    engine = build_engine(cfg, data, constant(0.0))
    engine.clock = WallClock()
    now = time.time_ns()
    due = now + 300_000_000
    engine._schedule(Timer(due, "retry", data.symbol))
    ahead = now + 600 * 10**9  # the venue's clock ten minutes ahead
    first = data.bars[0]
    bar = dataclasses.replace(first, open_time_ns=ahead - 3600 * 10**9, close_time_ns=ahead)
    queue: asyncio.Queue[FeedItem | None] = asyncio.Queue()
    await queue.put(bar)
    await queue.put(None)
    await drive(engine, queue)
    assert engine.next_timer_ns == due, "the timer fired by the bar's venue stamp"
    assert SimulatedClock().timers_due_by(ahead) == ahead  # a replay: the event's own time
    assert WallClock().timers_due_by(ahead) < ahead


class _WireVenue:
    """The engine's venue, plus what a live client does on ``submit``: the request goes out in
    a task of its own (``LiveExecutionClient._spawn``)."""

    def __init__(self, inner: object, log: list[tuple[str, int]]) -> None:
        self.inner, self.log = inner, log

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def submit(self, request: OrderRequest) -> None:
        self.inner.submit(request)  # type: ignore[attr-defined]

        async def send() -> None:
            self.log.append(("sent", request.ts_ns))

        asyncio.get_running_loop().create_task(send())


async def test_an_events_requests_leave_before_its_bookkeeping(
    btc_config, load_data, build_engine, constant
) -> None:
    """``on_event`` (the live trader's journal snapshot and observers) runs once the requests
    the event made have started: they are not held behind it."""
    cfg = btc_config("2024-01-01", "2024-01-03")
    data = load_data(cfg)
    engine = build_engine(cfg, data, constant(0.5))
    log: list[tuple[str, int]] = []
    engine.venue = _WireVenue(engine.venue, log)
    queue: asyncio.Queue[FeedItem | None] = asyncio.Queue()
    for bar in data.bars:
        await queue.put(bar)
    await queue.put(None)
    await drive(engine, queue, lambda event: log.append(("after", event.ts_ns)))
    sent = [ts for what, ts in log if what == "sent"]
    assert sent, "the strategy traded"
    for ts in sent:
        assert log.index(("sent", ts)) < log.index(("after", ts)), log
