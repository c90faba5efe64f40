"""Fixtures of the execution tests: BTCUSDT filters, an order manager, a venue, a portfolio."""

from __future__ import annotations

import pytest

from gradtrade.core import SymbolFilters
from gradtrade.execution import (
    CloseFill,
    ExecutionConfig,
    OrderManager,
    PortfolioTracker,
    SimulatedVenue,
)


@pytest.fixture
def filters() -> dict[str, SymbolFilters]:
    f = SymbolFilters("BTCUSDT", "0.01", "0.00001", base_asset="BTC", quote_asset="USDT")
    return {"BTCUSDT": f}


@pytest.fixture
def manager(filters: dict[str, SymbolFilters]) -> OrderManager:
    return OrderManager("test", filters, ExecutionConfig(session=7))


@pytest.fixture
def venue(filters: dict[str, SymbolFilters]) -> SimulatedVenue:
    return SimulatedVenue(CloseFill(10.0), filters)


@pytest.fixture
def portfolio(filters: dict[str, SymbolFilters]) -> PortfolioTracker:
    return PortfolioTracker(10_000.0, filters)
