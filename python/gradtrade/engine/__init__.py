"""The event-driven engine: one handler chain, a clock, and the backtest's event heap."""

from __future__ import annotations

from gradtrade.engine.clock import Clock, SimulatedClock, WallClock
from gradtrade.engine.feed import drive
from gradtrade.engine.loop import (
    BookDrivenVenue,
    DecisionRecord,
    Engine,
    EngineLog,
    EquityPoint,
    MarketDrivenVenue,
)
from gradtrade.engine.replay import backtest_replay, book_ticks, paper_replay

__all__ = [
    "BookDrivenVenue",
    "Clock",
    "DecisionRecord",
    "Engine",
    "EngineLog",
    "EquityPoint",
    "MarketDrivenVenue",
    "SimulatedClock",
    "WallClock",
    "backtest_replay",
    "book_ticks",
    "drive",
    "paper_replay",
]
