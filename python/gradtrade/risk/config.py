"""``RiskConfig``: how a decision becomes a position, and the limits around it (strict YAML).

Sizing modes compose with the strategy explicitly, never by silent double scaling:

* ``policy``: u_raw *is* the target fraction of equity (the model's policy already targets
  volatility); risk only caps it at ``max_leverage``, rounds the quantity down to the step and
  applies the breaker.
* ``kelly``: fractional Kelly from the forecast, ``kelly_fraction * mu / sigma^2`` (mu the simple
  next-bar return implied by the log-return mean and variance), capped by the volatility target
  and the leverage cap: ``core.PositionSizer``'s rule. u_raw is ignored.
* ``vol_target``: ``vol_target / predicted sigma`` in the direction of u_raw (its size ignored),
  capped at ``max_leverage``.

Unknown keys are errors and every error names the dotted field (``risk.max_leverage: ...``).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from gradtrade.config import StrictModel, validate
from gradtrade.errors import InvalidInput


class _Strict(StrictModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class StopsConfig(_Strict):
    """Protective levels at entry: ``sigma`` multiples of the predicted sigma, or ``percent``."""

    mode: Literal["none", "sigma", "percent"] = "none"
    stop_loss: float = Field(default=2.0, gt=0, le=100)
    take_profit: float = Field(default=3.0, gt=0, le=100)

    @model_validator(mode="after")
    def _percent_range(self) -> StopsConfig:
        if self.mode == "percent" and self.stop_loss >= 100:
            raise ValueError("a percent stop_loss must be below 100")
        return self


class LimitsConfig(_Strict):
    """Pre-trade limits of ``core.RiskEngine`` (checked on every order)."""

    max_order_notional: float = Field(default=1e12, gt=0, le=1e15)
    max_position: float = Field(default=1e9, gt=0, le=1e15)  # base units
    max_open_orders: int = Field(default=10, ge=1, le=1000)
    max_orders_per_second: int = Field(default=10, ge=1, le=10_000)
    price_band_bps: float = Field(default=500.0, gt=0, le=10_000)


class RiskConfig(_Strict):
    sizing: Literal["policy", "kelly", "vol_target"] = "policy"
    kelly_fraction: float = Field(default=0.5, gt=0, le=1)
    vol_target_annual: float = Field(default=0.4, gt=0, le=10)
    max_leverage: float = Field(default=1.0, gt=0, le=20)
    allow_short: bool = True
    # rebalances smaller than this fraction of equity are skipped (0: always trade to target)
    min_rebalance: float = Field(default=0.0, ge=0, lt=1)
    reduce_drawdown: float = Field(default=0.2, gt=0, lt=1)
    halt_drawdown: float = Field(default=0.35, gt=0, lt=1)
    stops: StopsConfig = StopsConfig()
    limits: LimitsConfig = LimitsConfig()

    @model_validator(mode="after")
    def _drawdowns(self) -> RiskConfig:
        if self.reduce_drawdown >= self.halt_drawdown:
            raise ValueError(
                f"reduce_drawdown ({self.reduce_drawdown}) must be below halt_drawdown "
                f"({self.halt_drawdown})"
            )
        return self

    def vol_target_per_bar(self, periods_per_year: float) -> float:
        if not (math.isfinite(periods_per_year) and periods_per_year > 0):
            raise InvalidInput(f"periods_per_year must be positive, got {periods_per_year}")
        return self.vol_target_annual / math.sqrt(periods_per_year)


def parse_risk_config(raw: dict[str, Any], source: str = "<dict>") -> RiskConfig:
    return validate(RiskConfig, raw, source)


__all__ = ["LimitsConfig", "RiskConfig", "StopsConfig", "parse_risk_config"]
