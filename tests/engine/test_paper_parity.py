"""Candles through the paper path (producer task, bounded queue, ``drive``) give exactly the
backtest of the same bars: fills, positions, decisions, equity, and every timer."""

from __future__ import annotations

import asyncio

from gradtrade.engine.replay import backtest_replay, paper_replay
from gradtrade.execution import ExecutionConfig
from gradtrade.strategy.reference import MovingAverageCross


def test_candle_paper_replay_gives_the_backtest_exactly(btc_config, load_data,
                                                        build_engine) -> None:  # fmt: skip
    cfg = btc_config("2024-01-01", "2024-03-01")
    data = load_data(cfg)
    # post-only with a timeout: the engine's own timers interleave with the bars
    execution = ExecutionConfig(style="post_only", post_only_timeout_s=7200, on_timeout="cross")
    end = data.bars[-1].ts_ns
    logs = []
    for paper in (False, True):
        engine = build_engine(cfg, data, MovingAverageCross(6, 24), execution)
        events = [*data.funding, *data.bars]
        if paper:
            log = asyncio.run(paper_replay(engine, events, end, maxsize=16))
        else:
            log = backtest_replay(engine, events, end)
        logs.append((log, engine.portfolio))
    (blog, bp), (plog, pp) = logs
    assert len(blog.fills) >= 10
    assert plog.fills == blog.fills and plog.decisions == blog.decisions
    assert plog.equity == blog.equity and plog.skips == blog.skips
    assert pp.quantity(data.symbol) == bp.quantity(data.symbol) and pp.equity() == bp.equity()
