"""Fixtures of the simulated-venue tests: the real recordings and candles, loaded once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.feather as feather
import pytest

from gradtrade.data.recordings import RecordedFrame, read_hftbacktest


@pytest.fixture(scope="session")
def hft_spot_frames(data_dir: Path) -> list[RecordedFrame]:
    """The hftbacktest spot BTCUSDT recording (two chained days), in receive order."""
    spot = data_dir / "recordings" / "hftbacktest" / "spot"
    return list(read_hftbacktest(spot / "btcusdt_20240808.gz", spot / "btcusdt_20240809.gz"))


@pytest.fixture(scope="session")
def btc_1h(data_dir: Path) -> dict[str, np.ndarray]:
    """Spot BTC/USDT 1h candles as float64 columns (open, high, low, close, volume)."""
    table = feather.read_table(data_dir / "klines" / "spot" / "BTC_USDT-1h.feather")
    return {
        c: table.column(c).to_numpy().astype(np.float64)
        for c in ("open", "high", "low", "close", "volume")
    }


@pytest.fixture(scope="session")
def btc_funding(data_dir: Path) -> dict[str, np.ndarray]:
    """USD-M funding events (ns, rate) and the mark-price open at each event's time."""
    futures = data_dir / "klines" / "futures"
    funding = feather.read_table(futures / "BTC_USDT_USDT-1h-funding_rate.feather").to_pandas()
    mark = feather.read_table(futures / "BTC_USDT_USDT-1h-mark.feather").to_pandas()
    merged = funding[["date", "open"]].merge(
        mark[["date", "open"]], on="date", suffixes=("_rate", "_mark")
    )
    ts = merged["date"].dt.as_unit("ns").astype("int64").to_numpy()
    return {
        "ts": ts,
        "rate": merged["open_rate"].to_numpy(np.float64),
        "mark": merged["open_mark"].to_numpy(np.float64),
    }
