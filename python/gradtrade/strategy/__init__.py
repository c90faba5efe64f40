"""Strategies: the protocol a user implements, the model strategy, the reference ones, and
what an L2 strategy sees (``BookTick``, ``BookTop``)."""

from __future__ import annotations

from gradtrade.strategy.book import BookTick, BookTop
from gradtrade.strategy.model import DecisionPath, ModelStrategy
from gradtrade.strategy.protocol import BarStrategy, Strategy, StrategyContext
from gradtrade.strategy.reference import DecisionReplay, MovingAverageCross, NoOp, QuoteAtBest

__all__ = [
    "BarStrategy",
    "BookTick",
    "BookTop",
    "DecisionPath",
    "DecisionReplay",
    "ModelStrategy",
    "MovingAverageCross",
    "NoOp",
    "QuoteAtBest",
    "Strategy",
    "StrategyContext",
]
