"""``L2BacktestConfig``: one YAML file for a backtest over L2 recordings, validated strictly.

Sections: ``recording`` (hftbacktest ``.gz`` files of one symbol, chained days in order; an
optional UTC window), ``strategy`` (``quote_at_best`` or ``noop`` with its parameters and the
cadence at which Python sees the book: ``interval_ms``), ``market`` (the symbol's filters,
as for candles), ``venue`` (the Rust L2 venue's assumptions: fees, queue model, latencies),
``risk``, ``execution``, ``initial_cash`` and ``output``. A file is an L2 config when it has a
``recording`` section (``gradtrade backtest`` dispatches on it). Unknown keys are errors; every
error names the dotted field.

Queue model (rust/sim/queue.rs): a post-only order joins the back of its level; trades at
our price consume the queue ahead first. ``risk_averse``: cancellations never advance us;
``probabilistic``: of a cancelled size, the share ``f(ahead) / (f(ahead) + f(behind))`` with
``f(x) = x^power`` was ahead of us (hftbacktest's ``PowerProbQueueFunc``; larger power puts
more of the cancellations ahead of us when we are near the back, i.e. advances us faster).
Latency: ``entry_latency_ms`` / ``cancel_latency_ms`` constant, or a
``latency_table`` CSV (``ts_ns,delay_ns``, e.g. recorded acknowledgement delays) interpolated
for entries, cancels then using the same table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from gradtrade.backtest.config import MarketSection, OutputSection
from gradtrade.config import StrictModel, UtcDate, load, validate
from gradtrade.execution.config import ExecutionConfig
from gradtrade.risk.config import RiskConfig


class _Strict(StrictModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class RecordingSection(_Strict):
    paths: list[str] = Field(min_length=1, max_length=366)
    start: UtcDate | None = None  # first tick (UTC); None: the first recorded frame
    end: UtcDate | None = None  # last tick at or before this (UTC); None: the last frame


class L2StrategySection(_Strict):
    kind: Literal["quote_at_best", "noop"] = "quote_at_best"
    params: dict[str, float | int | bool] = Field(default_factory=dict)
    interval_ms: float = Field(default=1000.0, ge=1, le=3_600_000)


class VenueSection(_Strict):
    maker_fee_bps: float = Field(default=2.0, ge=0, le=1000)
    taker_fee_bps: float = Field(default=10.0, ge=0, le=1000)
    queue: Literal["risk_averse", "probabilistic"] = "risk_averse"
    power: float = Field(default=2.0, gt=0, le=100)
    entry_latency_ms: float = Field(default=5.0, ge=0, le=60_000)
    cancel_latency_ms: float = Field(default=3.0, ge=0, le=60_000)
    latency_table: str | None = None

    def doubled(self) -> VenueSection:
        return self.model_copy(
            update={
                "maker_fee_bps": 2 * self.maker_fee_bps,
                "taker_fee_bps": 2 * self.taker_fee_bps,
            }
        )


class L2OutputSection(OutputSection):
    dir: str = "runs/backtest_l2"
    compare_sizing: bool = False  # the L2 strategies decide from the book: nothing to replay
    equity_every_s: float = Field(default=60.0, gt=0, le=86_400)


class L2BacktestConfig(_Strict):
    recording: RecordingSection
    strategy: L2StrategySection = L2StrategySection()
    # the step is the recording's quantity precision: the L2 venue fills resting orders by what
    # passes the displayed queue ahead of them, in displayed units (rust/sim/queue.rs)
    market: MarketSection = MarketSection(step_size="0.00000001")
    venue: VenueSection = VenueSection()
    risk: RiskConfig = RiskConfig()
    execution: ExecutionConfig = ExecutionConfig(style="post_only")
    initial_cash: float = Field(default=10_000.0, gt=0, le=1e15)
    output: L2OutputSection = L2OutputSection()

    @model_validator(mode="after")
    def _sizing(self) -> L2BacktestConfig:
        if self.output.compare_sizing:
            raise ValueError("output.compare_sizing is not available for L2 backtests")
        return self


def is_l2_config(raw: dict[str, Any]) -> bool:
    return "recording" in raw


def parse_l2_config(raw: dict[str, Any], source: str = "<dict>") -> L2BacktestConfig:
    return validate(L2BacktestConfig, raw, source)


def load_l2_config(path: str | Path) -> L2BacktestConfig:
    return load(L2BacktestConfig, path)


__all__ = [
    "L2BacktestConfig",
    "is_l2_config",
    "load_l2_config",
    "parse_l2_config",
]
