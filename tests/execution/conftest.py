"""Fixtures of the execution tests: BTCUSDT filters, an order manager, a venue, a portfolio."""

from __future__ import annotations

import pytest

from gradtrade.core import CandleFillConfig, FillAt, SymbolFilters
from gradtrade.execution import (
    CandleModel,
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
    # decision-close fills, a flat 10 bps: prices in the tests are exact by hand
    model = CandleModel(
        CandleFillConfig(half_spread_bps=0.0, impact_k=0.0, taker_fee_rate=1e-3,
                         maker_fee_rate=2e-4, fill_at=FillAt.DECISION_CLOSE)
    )  # fmt: skip
    return SimulatedVenue(model, filters)


@pytest.fixture
def portfolio(filters: dict[str, SymbolFilters]) -> PortfolioTracker:
    return PortfolioTracker(10_000.0, filters)
