"""Strategies: the protocol a user implements, the model strategy and two reference ones."""

from __future__ import annotations

from gradtrade.strategy.model import ModelStrategy
from gradtrade.strategy.protocol import BarStrategy, Strategy, StrategyContext
from gradtrade.strategy.reference import DecisionReplay, MovingAverageCross, QuoteAtBest

__all__ = [
    "BarStrategy",
    "DecisionReplay",
    "ModelStrategy",
    "MovingAverageCross",
    "QuoteAtBest",
    "Strategy",
    "StrategyContext",
]
