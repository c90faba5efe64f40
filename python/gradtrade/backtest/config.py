"""``BacktestConfig``: one YAML file for a candle backtest, validated strictly.

Sections: ``data`` (candles: a store ``.parquet`` or a freqtrade ``.feather``; funding for
perpetuals; the trading period and the warm-up bars before it), ``strategy`` (a checkpoint of
``gradtrade train`` or a reference strategy with its parameters), ``market`` (the symbol's
exchange filters), ``risk`` (``risk.config.RiskConfig``), ``execution``
(``execution.config.ExecutionConfig``), ``fill`` (the fill model and its costs),
``initial_cash`` and ``output``. Unknown keys are errors; every error names the dotted field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ConfigDict, Field

from gradtrade.config import StrictModel, UtcDate, load, validate
from gradtrade.execution.config import ExecutionConfig, FillSection
from gradtrade.risk.config import RiskConfig
from gradtrade.strategy.config import StrategySection


class _Strict(StrictModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class DataSection(_Strict):
    path: str
    funding_path: str | None = None
    start: UtcDate | None = None  # first bar whose decision may trade (UTC); None: after warm-up
    end: UtcDate | None = None  # bars with open time before this (UTC)
    warmup_bars: int = Field(default=500, ge=0, le=1_000_000)


class MarketSection(_Strict):
    symbol: str = Field(default="BTCUSDT", pattern=r"^[A-Z0-9]{2,20}$")
    base_asset: str = "BTC"
    quote_asset: str = "USDT"
    tick_size: str = "0.01"
    step_size: str = "0.00001"
    min_qty: str = "0"
    min_notional: str = "0"


class OutputSection(_Strict):
    dir: str = "runs/backtest"
    html: bool = True
    compare_sizing: bool = True  # rerun risk + execution on the same decisions per sizing mode
    double_costs: bool = True  # and at twice the assumed costs


class BacktestConfig(_Strict):
    data: DataSection
    strategy: StrategySection = StrategySection(kind="ma_cross")
    market: MarketSection = MarketSection()
    risk: RiskConfig = RiskConfig()
    execution: ExecutionConfig = ExecutionConfig()
    fill: FillSection = FillSection()
    initial_cash: float = Field(default=10_000.0, gt=0, le=1e15)
    periods_per_year: float | None = Field(default=None, gt=0, le=1e8)  # None: from the timeframe
    flatten_at_end: bool = False
    output: OutputSection = OutputSection()


def parse_backtest_config(raw: dict[str, Any], source: str = "<dict>") -> BacktestConfig:
    return validate(BacktestConfig, raw, source)


def load_backtest_config(path: str | Path) -> BacktestConfig:
    return load(BacktestConfig, path)


__all__ = [
    "BacktestConfig",
    "FillSection",
    "StrategySection",
    "load_backtest_config",
    "parse_backtest_config",
]
