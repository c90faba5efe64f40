"""pytest-benchmark benches of the Kalman/features Python boundary (not in the test suite):

    PYTHONPATH=python python -m pytest benches/test_kalman_boundary.py

The ratios against filterpy and pykalman live in compare_kalman.py (RESULTS.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pyarrow.feather as feather
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from gradtrade.core import KalmanFilter, StreamingFeatures

DATA = Path(
    os.environ.get("GRADTRADE_TEST_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)


@pytest.fixture(scope="module")
def closes() -> np.ndarray:
    path = DATA / "klines" / "spot" / "BTC_USDT-1m.feather"
    if not path.exists():
        pytest.skip(f"recorded data not found at {path}")
    return feather.read_table(path, columns=["close"]).column("close").to_numpy()[:100_000]


def test_kalman_update(benchmark: BenchmarkFixture, closes: np.ndarray) -> None:
    kf = KalmanFilter.local_linear_trend(1e-6, 1e-8, 1e-5, x0=(float(np.log(closes[0])), 0.0))
    z = float(np.log(closes[1]))
    benchmark(kf.update, z)


def test_kalman_filter_100k(benchmark: BenchmarkFixture, closes: np.ndarray) -> None:
    zs = np.log(closes)
    kf = KalmanFilter.local_linear_trend(1e-6, 1e-8, 1e-5, x0=(float(zs[0]), 0.0))
    benchmark(kf.filter, zs)


def test_features_update(benchmark: BenchmarkFixture, closes: np.ndarray) -> None:
    f = StreamingFeatures()
    f.transform(closes[:100], np.ones(100))
    benchmark(f.update, float(closes[100]), 1.5)


def test_features_transform_100k(benchmark: BenchmarkFixture, closes: np.ndarray) -> None:
    volumes = np.ones_like(closes)
    benchmark(lambda: StreamingFeatures().transform(closes, volumes))
