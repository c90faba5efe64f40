"""Fixtures of the data-layer tests: real klines from the shared recordings."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow.feather as feather
import pytest


def read_klines(data_dir: Path, relative: str) -> pd.DataFrame:
    return feather.read_table(data_dir / "klines" / relative).to_pandas()


@pytest.fixture(scope="session")
def btc_1m(data_dir: Path) -> pd.DataFrame:
    return read_klines(data_dir, "spot/BTC_USDT-1m.feather")


@pytest.fixture(scope="session")
def btc_1h(data_dir: Path) -> pd.DataFrame:
    return read_klines(data_dir, "spot/BTC_USDT-1h.feather")


@pytest.fixture(scope="session")
def futures_1h(data_dir: Path) -> pd.DataFrame:
    return read_klines(data_dir, "futures/BTC_USDT_USDT-1h-futures.feather")


@pytest.fixture(scope="session")
def funding_events(data_dir: Path) -> pd.DataFrame:
    """USD-M funding events as (date, rate): freqtrade keeps the rate in ``open``."""
    raw = read_klines(data_dir, "futures/BTC_USDT_USDT-1h-funding_rate.feather")
    return pd.DataFrame({"date": raw["date"], "rate": raw["open"]})
