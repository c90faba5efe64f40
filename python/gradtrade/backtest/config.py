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

from pydantic import ConfigDict, Field, model_validator

from gradtrade.config import StrictModel, UtcDate, load, validate
from gradtrade.execution.config import ExecutionConfig
from gradtrade.risk.config import RiskConfig


class _Strict(StrictModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class DataSection(_Strict):
    path: str
    funding_path: str | None = None
    start: UtcDate | None = None  # first bar whose decision may trade (UTC); None: after warm-up
    end: UtcDate | None = None  # bars with open time before this (UTC)
    warmup_bars: int = Field(default=500, ge=0, le=1_000_000)


class StrategySection(_Strict):
    kind: Literal["model", "ma_cross"] = "model"
    checkpoint: str | None = None
    params: dict[str, float | int | bool] = Field(default_factory=dict)

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


class LadderSection(_Strict):
    """The ladder book of each bar (``execution.ladder``): ``levels`` per side, the size unit a
    ``level_share`` of the bar's volume (level k holds k+1 units, at least one lot each)."""

    levels: int = Field(default=10, ge=1, le=1000)
    level_share: float = Field(default=0.0005, ge=0, le=1)


class FillSection(_Strict):
    """The candle fill model (``core.CandleFillConfig``, rust/sim/candle.rs). ``next_open``: a
    market order decided at a bar's close fills at the next bar's open; ``decision_close``:
    at that close (the evaluation's convention: set half_spread_bps and impact_k to 0 and
    taker_fee_bps to evaluate.cost_bps to reproduce ``gradtrade evaluate``). Every fill pays
    the half spread plus the impact ``impact_k * sigma * sqrt(q / V)`` (capped) when it takes
    liquidity; limits fill only when traded through, at most ``max_volume_share`` of a bar.

    ``model: walk_book`` instead walks a market order through the decision bar's ``ladder``
    book, level by level at the taker fee (``execution.fill_model.WalkBookModel``, the book
    ``gradtrade exchange serve --stepped`` shows); fill_at, half_spread_bps, impact_k and
    max_impact_bps do not apply to its market orders (the ladder is the spread and impact)."""

    model: Literal["candle", "walk_book"] = "candle"
    ladder: LadderSection = LadderSection()
    fill_at: Literal["next_open", "decision_close"] = "next_open"
    half_spread_bps: float = Field(default=1.0, ge=0, le=1000)
    impact_k: float = Field(default=1.0, ge=0, le=100)
    taker_fee_bps: float = Field(default=10.0, ge=0, le=1000)
    maker_fee_bps: float = Field(default=10.0, ge=-100, le=1000)
    max_volume_share: float = Field(default=0.1, gt=0, le=1)
    max_impact_bps: float = Field(default=500.0, ge=0, le=10_000)

    @property
    def cost_bps(self) -> float:
        """What a market order pays besides the impact: half spread plus taker fee."""
        return self.half_spread_bps + self.taker_fee_bps

    def doubled(self) -> FillSection:
        """Twice every assumed cost (spread, impact, fees), for the report's stress run."""
        return self.model_copy(
            update={
                "half_spread_bps": 2 * self.half_spread_bps,
                "impact_k": 2 * self.impact_k,
                "taker_fee_bps": 2 * self.taker_fee_bps,
                "maker_fee_bps": 2 * self.maker_fee_bps,
            }
        )


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


__all__ = ["BacktestConfig", "load_backtest_config", "parse_backtest_config"]
