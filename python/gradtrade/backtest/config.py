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
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from gradtrade.errors import InvalidInput
from gradtrade.execution.config import ExecutionConfig
from gradtrade.optim.config import _format_errors
from gradtrade.risk.config import RiskConfig


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class DataSection(_Strict):
    path: str
    funding_path: str | None = None
    start: str | None = None  # first bar whose decision may trade (UTC); None: after warm-up
    end: str | None = None  # bars with open time before this (UTC)
    warmup_bars: int = Field(default=500, ge=0, le=1_000_000)


class StrategySection(_Strict):
    kind: Literal["model", "ma_cross"] = "model"
    checkpoint: str | None = None
    params: dict[str, float | int | bool] = {}

    @model_validator(mode="after")
    def _checkpoint(self) -> StrategySection:
        if self.kind == "model" and not self.checkpoint:
            raise ValueError("strategy.kind 'model' needs strategy.checkpoint")
        return self


class MarketSection(_Strict):
    symbol: str = Field(default="BTCUSDT", pattern=r"^[A-Z0-9]{2,20}$")
    base_asset: str = "BTC"
    quote_asset: str = "USDT"
    tick_size: str = "0.01"
    step_size: str = "0.00001"
    min_qty: str = "0"
    min_notional: str = "0"


class FillSection(_Strict):
    """``close``: fill at the decision bar's close, paying ``cost_bps`` of the notional (the
    evaluation's convention, see ``execution.fill_model.CloseFill``)."""

    model: Literal["close"] = "close"
    cost_bps: float = Field(default=11.0, ge=0, lt=10_000)


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
    periods_per_year: float | None = Field(default=None, gt=0)  # None: from the timeframe
    flatten_at_end: bool = False
    output: OutputSection = OutputSection()


def parse_backtest_config(raw: dict[str, Any], source: str = "<dict>") -> BacktestConfig:
    try:
        return BacktestConfig.model_validate(raw)
    except ValidationError as err:
        raise InvalidInput(_format_errors(err, source)) from None


def load_backtest_config(path: str | Path) -> BacktestConfig:
    path = Path(path)
    if not path.exists():
        raise InvalidInput(f"backtest config not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise InvalidInput(f"backtest config {path} is not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise InvalidInput(f"backtest config {path} must be a mapping at the top level")
    return parse_backtest_config(raw, str(path))


__all__ = ["BacktestConfig", "load_backtest_config", "parse_backtest_config"]
