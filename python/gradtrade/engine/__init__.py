"""The event-driven engine: one handler chain, a clock, and the backtest's event heap."""

from __future__ import annotations

from gradtrade.engine.clock import Clock, SimulatedClock, WallClock
from gradtrade.engine.feed import drive
from gradtrade.engine.loop import DecisionRecord, Engine, EngineLog, EquityPoint, MarketDrivenVenue

__all__ = [
    "Clock",
    "DecisionRecord",
    "Engine",
    "EngineLog",
    "EquityPoint",
    "MarketDrivenVenue",
    "SimulatedClock",
    "WallClock",
    "drive",
]
