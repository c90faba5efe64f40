"""Fixtures of the engine tests: real BTC candles as bars and an engine builder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gradtrade.backtest.config import BacktestConfig, parse_backtest_config
from gradtrade.backtest.l2_config import L2BacktestConfig, parse_l2_config
from gradtrade.backtest.runner import MarketData, fill_model, load_market_data, symbol_filters
from gradtrade.core import OrderBook
from gradtrade.engine import Engine, SimulatedClock
from gradtrade.events import Bar, Decision, FillEvent, Timer
from gradtrade.execution import (
    ExecutionConfig,
    OrderManager,
    PortfolioTracker,
    SimulatedVenue,
)
from gradtrade.risk import RiskManager, parse_risk_config
from gradtrade.strategy import Strategy, StrategyContext


class ConstantTarget:
    """A user strategy written against the protocol: always the same target fraction."""

    name = "const"

    def __init__(self, u: float) -> None:
        self.u = u
        self.fills: list[FillEvent] = []

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> Decision | None:
        return Decision(bar.symbol, bar.ts_ns, self.u, mean=0.0, var=1e-4)

    def on_book(self, book: OrderBook, ctx: StrategyContext) -> Decision | None:
        return None

    def on_fill(self, fill: FillEvent, ctx: StrategyContext) -> Decision | None:
        self.fills.append(fill)
        return None

    def on_timer(self, timer: Timer, ctx: StrategyContext) -> Decision | None:
        return None


@pytest.fixture
def constant() -> Callable[[float], ConstantTarget]:
    return ConstantTarget


@pytest.fixture
def btc_config(data_dir: Path) -> Callable[..., BacktestConfig]:
    def make(start: str, end: str, **over: Any) -> BacktestConfig:
        raw = {
            "data": {"path": str(data_dir / "klines/spot/BTC_USDT-1h.feather"), "start": start,
                     "end": end, "warmup_bars": 0},
            "strategy": {"kind": "ma_cross"},
            "output": {"compare_sizing": False, "double_costs": False},
            **over,
        }  # fmt: skip
        return parse_backtest_config(raw)

    return make


@pytest.fixture
def build_engine() -> Callable[..., Engine]:
    def make(
        cfg: BacktestConfig,
        data: MarketData,
        strategy: Strategy,
        execution: ExecutionConfig | None = None,
        **risk: Any,
    ) -> Engine:
        from_cfg = cfg.risk.model_dump()
        rcfg = parse_risk_config({**from_cfg, **risk})
        f = {data.symbol: symbol_filters(cfg)}
        return Engine(
            strategy,
            {data.symbol: RiskManager(rcfg, f[data.symbol], periods_per_year=8760)},
            OrderManager(strategy.name, f, execution or ExecutionConfig()),
            SimulatedVenue(fill_model(cfg.fill), f),
            PortfolioTracker(cfg.initial_cash, f),
            SimulatedClock(),
            trade_from_ns=data.trade_from_ns,
        )

    return make


@pytest.fixture
def load_data() -> Callable[[BacktestConfig], MarketData]:
    return load_market_data


@pytest.fixture
def l2_config(data_dir: Path) -> Callable[..., L2BacktestConfig]:
    """An L2 backtest config over the hftbacktest spot BTCUSDT recording (both days)."""
    spot = data_dir / "recordings" / "hftbacktest" / "spot"

    def make(**over: Any) -> L2BacktestConfig:
        raw: dict[str, Any] = {
            "recording": {"paths": [str(spot / "btcusdt_20240808.gz"),
                                    str(spot / "btcusdt_20240809.gz")]},
            "execution": {"style": "post_only", "post_only_timeout_s": 20,
                          "on_timeout": "reprice"},
            "output": {"double_costs": False, "html": False},
        }  # fmt: skip
        for key, value in over.items():
            raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
        return parse_l2_config(raw)

    return make
