"""Risk: sizing modes, the drawdown breaker and the pre-trade check around the Rust core."""

from __future__ import annotations

from gradtrade.risk.config import LimitsConfig, RiskConfig, StopsConfig, parse_risk_config
from gradtrade.risk.manager import (
    OrderCheck,
    RiskManager,
    SizingSkip,
    SkipReason,
    Target,
    floor_to_step,
)

__all__ = [
    "LimitsConfig",
    "OrderCheck",
    "RiskConfig",
    "RiskManager",
    "SizingSkip",
    "SkipReason",
    "StopsConfig",
    "Target",
    "floor_to_step",
    "parse_risk_config",
]
