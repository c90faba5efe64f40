"""Fixtures of the risk tests: BTCUSDT's real spot filters and a manager factory."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gradtrade.core import SymbolFilters
from gradtrade.risk import RiskManager, parse_risk_config


@pytest.fixture
def btc_filters() -> SymbolFilters:
    return SymbolFilters(
        "BTCUSDT", "0.01", "0.00001", "0.00001", "5", base_asset="BTC", quote_asset="USDT"
    )


@pytest.fixture
def make_manager(btc_filters: SymbolFilters) -> Callable[..., RiskManager]:
    def make(**raw: Any) -> RiskManager:
        return RiskManager(parse_risk_config(raw), btc_filters, periods_per_year=8760.0)

    return make
