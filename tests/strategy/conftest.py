"""Fixtures of the strategy tests: real BTC 1h bars and a small order book."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradtrade.backtest.config import parse_backtest_config
from gradtrade.backtest.runner import load_market_data
from gradtrade.core import OrderBook
from gradtrade.events import Bar


@pytest.fixture(scope="module")
def btc_bars(data_dir: Path) -> list[Bar]:
    cfg = parse_backtest_config({
        "data": {"path": str(data_dir / "klines/spot/BTC_USDT-1h.feather"),
                 "start": "2024-01-01", "end": "2024-03-01", "warmup_bars": 0},
    })  # fmt: skip
    return load_market_data(cfg).bars


@pytest.fixture
def book() -> OrderBook:
    b = OrderBook("BTCUSDT", "0.01", "0.00001", "spot")
    b.apply_snapshot(1, [("61602.01", "0.5")], [("61602.02", "1.25")])
    return b
