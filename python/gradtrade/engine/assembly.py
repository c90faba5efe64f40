"""How an ``Engine`` is assembled from configuration: the one assembly of the backtest, paper
and live trading.

Invariant: every run that trades a strategy (a candle backtest, the paper trader, the live
trader) builds its strategy, risk manager, order manager and portfolio here, from the same
config sections (``StrategySection``, ``RiskConfig``, ``ExecutionConfig``, ``FillSection``), so
a difference between a backtest and a live session can only come from the venue and the data,
never from a second copy of the wiring. The caller brings the venue (simulated or live) and
the clock.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from gradtrade.core import CandleFillConfig, FillAt, SymbolFilters
from gradtrade.engine.clock import Clock
from gradtrade.engine.loop import FAR_FUTURE, Engine
from gradtrade.errors import InvalidInput
from gradtrade.execution.client import ExecutionClient
from gradtrade.execution.config import ExecutionConfig, FillSection
from gradtrade.execution.fill_model import CandleModel, WalkBookModel
from gradtrade.execution.ladder import LadderConfig
from gradtrade.execution.orders import OrderManager
from gradtrade.execution.portfolio import PortfolioTracker
from gradtrade.risk.config import RiskConfig
from gradtrade.risk.manager import RiskManager
from gradtrade.strategy.config import StrategySection
from gradtrade.strategy.model import ModelStrategy
from gradtrade.strategy.protocol import Strategy
from gradtrade.strategy.reference import MovingAverageCross, QuoteAtBest


@dataclass(frozen=True, slots=True)
class EngineSpec:
    """What an engine trades and with which limits (one symbol)."""

    symbol: str
    filters: SymbolFilters
    risk: RiskConfig
    execution: ExecutionConfig
    initial_cash: float
    quote_asset: str
    periods_per_year: float
    trade_from_ns: int = 0
    trade_until_ns: int = FAR_FUTURE


def build_strategy(section: StrategySection, funding: pd.DataFrame | None = None) -> Strategy:
    """The strategy a config section names (a checkpoint, or a reference strategy)."""
    if section.kind == "model":
        assert section.checkpoint is not None  # the config validator requires it
        strategy = ModelStrategy.from_checkpoint(section.checkpoint)
        if funding is not None:
            strategy.add_funding(funding)
        return strategy
    try:
        if section.kind == "quote_at_best":
            return QuoteAtBest(**section.params)
        return MovingAverageCross(**section.params)  # type: ignore[arg-type]
    except TypeError as err:
        raise InvalidInput(f"strategy.params: {err}") from None


def fill_model(
    fill: FillSection, filters: dict[str, SymbolFilters] | None = None
) -> CandleModel | WalkBookModel:
    """The simulated venue's fill model of a ``FillSection``; ``walk_book`` needs the symbols'
    ``filters`` (its grids)."""
    if fill.model == "walk_book":
        if filters is None:
            raise InvalidInput("fill.model walk_book needs the symbol filters (tick, step)")
        ladder = LadderConfig(levels=fill.ladder.levels, level_share=fill.ladder.level_share)
        return WalkBookModel(ladder, filters, fill.taker_fee_bps * 1e-4, fill.maker_fee_bps * 1e-4)
    at = FillAt.NEXT_OPEN if fill.fill_at == "next_open" else FillAt.DECISION_CLOSE
    return CandleModel(
        CandleFillConfig(
            half_spread_bps=fill.half_spread_bps, impact_k=fill.impact_k,
            taker_fee_rate=fill.taker_fee_bps * 1e-4, maker_fee_rate=fill.maker_fee_bps * 1e-4,
            max_volume_share=fill.max_volume_share, fill_at=at,
            max_impact_bps=fill.max_impact_bps,
        )
    )  # fmt: skip


def assemble_engine(
    spec: EngineSpec, strategy: Strategy, venue: ExecutionClient, clock: Clock
) -> Engine:
    """The engine over ``venue``: risk, orders and portfolio built from ``spec``."""
    filters = {spec.symbol: spec.filters}
    manager = RiskManager(spec.risk, spec.filters, periods_per_year=spec.periods_per_year)
    orders = OrderManager(strategy.name[:10], filters, spec.execution)
    portfolio = PortfolioTracker(spec.initial_cash, filters, spec.quote_asset)
    return Engine(
        strategy,
        {spec.symbol: manager},
        orders,
        venue,
        portfolio,
        clock,
        trade_from_ns=spec.trade_from_ns,
        trade_until_ns=spec.trade_until_ns,
    )


__all__ = ["EngineSpec", "assemble_engine", "build_strategy", "fill_model"]
