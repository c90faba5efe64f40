"""The asyncio driver feeds the same engine: bars streamed through a queue by concurrent
producers give exactly the backtest's fills, equity and decisions."""

from __future__ import annotations

import asyncio

from gradtrade.engine.feed import FeedItem, drive


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
