"""StreamingFeatures on the real BTC 1h closes: batch and streaming paths are bit-identical
(whole, split anywhere, across a JSON restart), and every column equals an independent
reference (pandas EWM/rolling, filterpy Kalman) including the real missing hours."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.feather as feather
import pytest
from filterpy.kalman import KalmanFilter as FilterpyKF
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from gradtrade.core import Ewma, InvalidInput, RollingVolatility, StreamingFeatures

CONFIG = {
    "ewma_halflives": (12.0, 48.0),
    "vol_windows": (24, 168),
    "kalman_q_level": 1e-6,
    "kalman_q_trend": 1e-8,
    "kalman_r": 1e-5,
}


@pytest.fixture(scope="module")
def hourly(data_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """BTC 1h closes and volumes on the full hourly grid: the 27 hours Binance never produced
    become NaN rows (missing bars)."""
    table = feather.read_table(data_dir / "klines" / "spot" / "BTC_USDT-1h.feather")
    frame = table.select(["date", "close", "volume"]).to_pandas().set_index("date")
    grid = pd.date_range(frame.index[0], frame.index[-1], freq="1h")
    frame = frame.reindex(grid)
    assert frame["close"].isna().sum() >= 27
    return frame["close"].to_numpy(), frame["volume"].to_numpy()


def test_contract_names_and_shapes() -> None:
    f = StreamingFeatures()
    assert f.names == [
        "log_return",
        "ret_ewma_mean_hl12",
        "ret_ewma_var_hl12",
        "ret_zscore_hl12",
        "ret_ewma_mean_hl48",
        "ret_ewma_var_hl48",
        "ret_zscore_hl48",
        "realized_vol_w24",
        "volume_zscore",
        "kalman_level_minus_log_price",
        "kalman_trend",
        "kalman_innovation",
        "kalman_innovation_std",
    ]
    assert f.n_features == len(f.names) == 13
    row = f.update(100.0, 1.0)
    assert row.dtype == np.float64 and row.shape == (13,)
    out = f.transform(np.array([101.0, 102.0]), np.array([1.0, 2.0]))
    assert out.dtype == np.float64 and out.shape == (2, 13)
    assert f.transform(np.array([]), np.array([])).shape == (0, 13)
    g = StreamingFeatures(ewma_halflives=[2.5], vol_windows=[3, 10])
    assert g.names[1] == "ret_ewma_mean_hl2.5" and g.n_features == 1 + 3 + 2 + 5


def test_batch_equals_streaming_bitwise(hourly: tuple[np.ndarray, np.ndarray]) -> None:
    prices, volumes = hourly
    batch = StreamingFeatures(**CONFIG).transform(prices, volumes)
    live = StreamingFeatures(**CONFIG)
    streamed = np.array([live.update(p, v) for p, v in zip(prices, volumes, strict=True)])
    assert_array_equal(batch, streamed)
    assert np.isfinite(batch[200:][~np.isnan(prices[200:])]).all()


def test_split_and_restart_anywhere_bitwise(hourly: tuple[np.ndarray, np.ndarray]) -> None:
    prices, volumes = hourly
    whole = StreamingFeatures(**CONFIG).transform(prices, volumes)
    rng = np.random.default_rng(11)
    gaps = np.flatnonzero(np.isnan(prices))
    cuts = sorted({1, 2, 23, 24, 25, *gaps[:3], *(gaps[:3] + 1), *rng.integers(3, len(prices), 8)})
    bounds = [0, *cuts, len(prices)]
    f = StreamingFeatures(**CONFIG)
    parts = []
    for i, (a, b) in enumerate(itertools.pairwise(bounds)):
        if i % 2:  # every other boundary is a process restart from saved state
            f = StreamingFeatures.from_json(f.to_json())
        if i % 3 == 2:  # and some pieces arrive tick by tick
            ticks = zip(prices[a:b], volumes[a:b], strict=True)
            parts.append(np.array([f.update(p, v) for p, v in ticks]))
        else:
            parts.append(f.transform(prices[a:b], volumes[a:b]))
    assert_array_equal(np.vstack([p.reshape(-1, f.n_features) for p in parts]), whole)


def _held(values: np.ndarray, at: np.ndarray, n: int) -> np.ndarray:
    """Place `values` at indices `at` of a length-n series and carry them over the gaps."""
    out = pd.Series(np.nan, index=range(n))
    out.iloc[at] = values
    return out.ffill().to_numpy()


def reference(prices: np.ndarray, volumes: np.ndarray, config: dict) -> dict[str, np.ndarray]:
    """The documented semantics, built independently from pandas and filterpy."""
    n = len(prices)
    valid = np.flatnonzero(~np.isnan(prices))
    cols: dict[str, np.ndarray] = {}
    rets = np.diff(np.log(prices[valid]))
    at = valid[1:]
    log_return = np.full(n, np.nan)
    log_return[at] = rets
    cols["log_return"] = log_return
    r = pd.Series(rets)
    for h in config["ewma_halflives"]:
        ewm = r.ewm(halflife=h, adjust=False)
        mean, var = ewm.mean().to_numpy(copy=True), ewm.var(bias=True).to_numpy(copy=True)
        var[0] = np.nan  # one value says nothing about spread
        z = np.full(len(rets), np.nan)
        z[1:] = (rets[1:] - mean[:-1]) / np.sqrt(var[:-1])
        cols[f"ret_ewma_mean_hl{h:g}"] = _held(mean, at, n)
        cols[f"ret_ewma_var_hl{h:g}"] = _held(var, at, n)
        zs = np.full(n, np.nan)
        zs[at] = z
        cols[f"ret_zscore_hl{h:g}"] = zs
    for w in config["vol_windows"]:
        vol = np.sqrt((r**2).rolling(w).mean().to_numpy())
        cols[f"realized_vol_w{w}"] = _held(vol, at, n)
    has_volume = np.flatnonzero(~np.isnan(prices) & ~np.isnan(volumes))
    x = np.log1p(volumes[has_volume])
    ewm = pd.Series(x).ewm(halflife=config["ewma_halflives"][0], adjust=False)
    mean, var = ewm.mean().to_numpy(copy=True), ewm.var(bias=True).to_numpy(copy=True)
    vz = np.full(len(x), np.nan)
    vz[2:] = (x[2:] - mean[1:-1]) / np.sqrt(var[1:-1])
    cols["volume_zscore"] = np.full(n, np.nan)
    cols["volume_zscore"][has_volume] = vz

    q_level, q_trend, rr = config["kalman_q_level"], config["kalman_q_trend"], config["kalman_r"]
    kf = FilterpyKF(dim_x=2, dim_z=1)
    kf.F = np.array([[1.0, 1.0], [0.0, 1.0]])
    kf.H = np.array([[1.0, 0.0]])
    kf.Q, kf.R = np.diag([q_level, q_trend]), np.array([[rr]])
    kf.x = np.array([[np.log(prices[valid[0]])], [0.0]])
    kf.P = np.diag([rr, q_level])
    kal = np.full((n, 4), np.nan)
    kal[valid[0], :2] = 0.0
    for t in range(valid[0] + 1, n):
        kf.predict()
        if np.isnan(prices[t]):
            kf.update(None)
            kal[t, 1] = kf.x[1, 0]
        else:
            lp = np.log(prices[t])
            kf.update(lp)
            kal[t] = [kf.x[0, 0] - lp, kf.x[1, 0], kf.y[0, 0], np.sqrt(kf.S[0, 0])]
    for j, name in enumerate(
        [
            "kalman_level_minus_log_price",
            "kalman_trend",
            "kalman_innovation",
            "kalman_innovation_std",
        ]
    ):
        cols[name] = kal[:, j]
    return cols


def test_columns_match_independent_reference(hourly: tuple[np.ndarray, np.ndarray]) -> None:
    prices, volumes = hourly
    prices, volumes = prices[:20000].copy(), volumes[:20000].copy()
    volumes[[100, 5000]] = np.nan  # unknown volume on a valid bar
    f = StreamingFeatures(**CONFIG)
    got = f.transform(prices, volumes)
    want = reference(prices, volumes, CONFIG)
    assert list(want) == f.names
    tolerances = {"kalman_level_minus_log_price": 1e-6, "kalman_innovation": 1e-6}
    for j, name in enumerate(f.names):
        # The level gap and innovation are differences of two ~10.0 log prices: absolute
        # agreement to ~1e-15, i.e. a looser relative tolerance.
        rtol = tolerances.get(name, 1e-8)
        assert_array_equal(np.isnan(got[:, j]), np.isnan(want[name]), err_msg=name)
        assert_allclose(got[:, j], want[name], rtol=rtol, atol=1e-14, err_msg=name)


def test_missing_bar_semantics_on_real_gap(hourly: tuple[np.ndarray, np.ndarray]) -> None:
    prices, volumes = hourly
    gap = int(np.flatnonzero(np.isnan(prices))[0])
    before = gap - 1
    after = gap + int(np.argmax(~np.isnan(prices[gap:])))
    f = StreamingFeatures(**CONFIG)
    out = f.transform(prices[: after + 1], volumes[: after + 1])
    names = f.names
    col = {name: out[:, i] for i, name in enumerate(names)}
    assert np.isnan(col["log_return"][gap])
    assert col["log_return"][after] == np.log(prices[after] / prices[before])
    for name in ("ret_ewma_mean_hl12", "ret_ewma_var_hl48", "realized_vol_w24"):
        assert col[name][gap] == col[name][before]
    for name in ("ret_zscore_hl12", "volume_zscore", "kalman_innovation"):
        assert np.isnan(col[name][gap])
    assert np.isfinite(col["kalman_trend"][gap])


def test_warm_up_behaviour() -> None:
    f = StreamingFeatures(ewma_halflives=[3.0], vol_windows=[3])
    rows = f.transform(np.array([100.0, 101.0, 103.0, 102.0, 104.0]), np.full(5, 7.0))
    nan = np.isnan(rows)
    # columns: ret, mean, var, z, vol, volume z, level gap, trend, innovation, innovation std
    assert nan[0].tolist() == [1, 1, 1, 1, 1, 1, 0, 0, 1, 1]
    assert nan[1].tolist() == [0, 0, 1, 1, 1, 1, 0, 0, 0, 0]
    assert nan[2].tolist() == [0, 0, 0, 1, 1, 1, 0, 0, 0, 0]  # constant volume: var 0 -> NaN
    assert nan[3].tolist() == [0, 0, 0, 0, 0, 1, 0, 0, 0, 0]
    assert rows[0, 6] == 0.0 and rows[0, 7] == 0.0
    assert np.isnan(StreamingFeatures().update(float("nan"), 1.0)).all()


def test_bad_input_raises_and_keeps_state() -> None:
    f = StreamingFeatures()
    f.transform(np.array([100.0, 101.0, 102.0]), np.array([1.0, 2.0, 3.0]))
    saved = f.to_json()
    cases = [
        (-1.0, 1.0, "price"),
        (0.0, 1.0, "price"),
        (np.inf, 1.0, "price"),
        (1.0, -1.0, "volume"),
    ]
    for price, volume, what in cases:
        with pytest.raises(InvalidInput, match=what):
            f.update(price, volume)
    with pytest.raises(InvalidInput, match="index 2"):
        f.transform(np.array([100.0, 101.0, -5.0]), np.ones(3))
    with pytest.raises(InvalidInput, match="same length"):
        f.transform(np.ones(3), np.ones(2))
    with pytest.raises(InvalidInput, match="1-D"):
        f.transform(np.ones((2, 2)), np.ones((2, 2)))
    assert f.to_json() == saved
    for kwargs in (
        {"ewma_halflives": []},
        {"ewma_halflives": [0.0]},
        {"ewma_halflives": [float("nan")]},
        {"vol_windows": [0]},
        {"vol_windows": [-3]},
        {"vol_windows": [10**9]},
    ):
        with pytest.raises(InvalidInput):
            StreamingFeatures(**kwargs)
    with pytest.raises(InvalidInput, match="kalman"):
        StreamingFeatures(kalman_r=-1.0)
    with pytest.raises(InvalidInput, match="JSON"):
        StreamingFeatures.from_json('{"version": 1}')


def test_reset_equals_fresh(hourly: tuple[np.ndarray, np.ndarray]) -> None:
    prices, volumes = hourly[0][:500], hourly[1][:500]
    f = StreamingFeatures(**CONFIG)
    first = f.transform(prices, volumes)
    f.reset()
    assert_array_equal(f.transform(prices, volumes), first)
    assert StreamingFeatures.from_json(f.to_json()).names == f.names


def test_primitives_match_pandas(hourly: tuple[np.ndarray, np.ndarray]) -> None:
    rets = np.diff(np.log(hourly[0][:5000]))
    valid = rets[~np.isnan(rets)]
    ewma = Ewma(12.0)
    means = ewma.transform(valid)
    assert_allclose(means, pd.Series(valid).ewm(halflife=12.0, adjust=False).mean(), rtol=1e-9)
    assert ewma.variance == pytest.approx(
        pd.Series(valid).ewm(halflife=12.0, adjust=False).var(bias=True).iloc[-1], rel=1e-9
    )
    assert ewma.count == len(valid)
    assert ewma.update(float("nan")) == means[-1]  # NaN skipped
    vol = RollingVolatility(24)
    got = vol.transform(valid)
    want = np.sqrt((pd.Series(valid) ** 2).rolling(24).mean())
    assert_allclose(got, want, rtol=1e-9)
    assert vol.window == 24 and np.isnan(RollingVolatility(3).update(0.1))
    with pytest.raises(InvalidInput, match="window"):
        RollingVolatility(-1)
    with pytest.raises(InvalidInput, match="halflife"):
        Ewma(-2.0)


def test_transform_releases_the_gil() -> None:
    from .test_kalman import runs_without_gil

    prices = 100.0 * np.exp(np.cumsum(np.random.default_rng(1).normal(0, 1e-3, 300_000)))
    volumes = np.ones_like(prices)
    f = StreamingFeatures()
    assert runs_without_gil(lambda: f.transform(prices, volumes))


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 400),
    missing=st.floats(0.0, 0.5),
    cuts=st.lists(st.integers(0, 400), max_size=6),
)
def test_any_split_and_gap_pattern_is_bitwise_identical(
    seed: int, n: int, missing: float, cuts: list[int]
) -> None:
    rng = np.random.default_rng(seed)
    prices = 50.0 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    volumes = rng.exponential(10.0, n)
    prices[rng.random(n) < missing] = np.nan
    volumes[rng.random(n) < missing / 2] = np.nan
    config = {"ewma_halflives": (2.0, 7.5), "vol_windows": (1, 5)}
    whole = StreamingFeatures(**config).transform(prices, volumes)
    f = StreamingFeatures(**config)
    pieces = []
    for a, b in itertools.pairwise([0, *sorted(c for c in cuts if c < n), n]):
        f = StreamingFeatures.from_json(f.to_json())
        pieces.append(f.transform(prices[a:b], volumes[a:b]))
    assert_array_equal(np.vstack(pieces), whole)
