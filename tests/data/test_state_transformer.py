"""StateTransformer: batch == bar by bar, the gap policy on real outages, no lookahead."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gradtrade.data.dataset import WindowDataset, time_splits
from gradtrade.data.state import StateConfig, StateFrame, StateTransformer
from gradtrade.errors import InvalidInput

HOUR = pd.Timedelta(hours=1)


@pytest.fixture(scope="module")
def spot_gappy(btc_1h: pd.DataFrame) -> pd.DataFrame:
    """2019-05 .. 2019-06 of the spot 1h file: holds the real 2019-05-15 outage."""
    window = (btc_1h["date"] >= "2019-05-01") & (btc_1h["date"] < "2019-06-15")
    return btc_1h.loc[window].reset_index(drop=True)


@pytest.fixture(scope="module")
def futures(
    futures_1h: pd.DataFrame, funding_events: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    window = (futures_1h["date"] >= "2024-01-01") & (futures_1h["date"] < "2024-02-15")
    return futures_1h.loc[window].reset_index(drop=True), funding_events


def assert_frames_equal(a: StateFrame, b: StateFrame) -> None:
    np.testing.assert_array_equal(a.times_ns, b.times_ns)
    np.testing.assert_array_equal(a.raw, b.raw)
    np.testing.assert_array_equal(a.returns, b.returns)
    np.testing.assert_array_equal(a.funding, b.funding)
    np.testing.assert_array_equal(a.missing, b.missing)
    np.testing.assert_array_equal(a.warm, b.warm)


def test_batch_and_bar_by_bar_give_identical_states(spot_gappy: pd.DataFrame) -> None:
    batch = StateTransformer()
    history = batch.transform(spot_gappy)
    batch.fit(history, train_end=len(history) // 2)

    live = StateTransformer()
    bars = spot_gappy.to_dict("records")  # the live path: one mapping per closed bar
    rows = [live.update(bar) for bar in bars]
    streamed = StateFrame.concat(rows)
    assert_frames_equal(history, streamed)
    live.center, live.scale = batch.center, batch.scale
    np.testing.assert_array_equal(batch.normalize(history), live.normalize(streamed))

    chunked = StateTransformer()
    cuts = np.r_[
        0,
        np.sort(np.random.default_rng(3).choice(len(spot_gappy), 20, replace=False)),
        len(spot_gappy),
    ]
    parts = [chunked.update(spot_gappy.iloc[a:b]) for a, b in itertools.pairwise(cuts) if b > a]
    assert_frames_equal(history, StateFrame.concat(parts))


def test_real_outages_follow_the_gap_policy(btc_1h: pd.DataFrame) -> None:
    frame = StateTransformer().transform(btc_1h)
    step = 3_600_000_000_000
    assert (np.diff(frame.times_ns) == step).all()  # a regular grid
    assert frame.missing.sum() == 122 and frame.raw[:, frame.names.index("after_gap")].sum() == 27
    assert len(frame) == len(btc_1h) + 122
    assert (frame.returns[frame.missing] == 0).all()
    close = btc_1h.set_index("date")["close"]
    after = np.flatnonzero(frame.raw[:, frame.names.index("after_gap")] == 1)
    for row in after[:5]:
        bar_open = pd.Timestamp(frame.times_ns[row] - step, tz="UTC")
        before = close.loc[: bar_open - HOUR].iloc[-1]
        assert frame.returns[row] == pytest.approx(np.log(close.loc[bar_open] / before), rel=1e-12)
    # The return series adds up to the whole move: nothing is lost across gaps.
    total = np.nansum(frame.returns)
    assert total == pytest.approx(np.log(close.iloc[-1] / close.iloc[0]), rel=1e-9)

    transformer = StateTransformer().fit(frame, train_end=len(frame) // 2)
    states = transformer.normalize(frame)
    ds = WindowDataset(states, frame.times_ns, frame.returns, context=48, horizon=8)
    warm_rows = np.flatnonzero(frame.warm)[0]
    assert len(ds) == len(frame) - warm_rows - 48 - 8 + 1  # windows across gaps are usable
    assert np.isfinite(states[frame.warm]).all()
    assert (np.abs(states[frame.warm]) <= transformer.config.clip + 1e-6).all()


def test_log_return_column_comes_from_the_rust_features(btc_1m: pd.DataFrame) -> None:
    part = btc_1m.iloc[:5000]
    frame = StateTransformer(StateConfig(timeframe="1m")).transform(part)
    expected = np.diff(np.log(part["close"].to_numpy()))
    np.testing.assert_allclose(frame.returns[1:], expected, rtol=0, atol=1e-14)
    assert frame.names[:2] == ["log_return", "ret_ewma_mean_hl12"]
    assert np.isnan(frame.returns[0])


def test_normalization_uses_the_training_split_only(spot_gappy: pd.DataFrame) -> None:
    transformer = StateTransformer()
    frame = transformer.transform(spot_gappy)
    splits = time_splits(len(frame), context=24, horizon=4)
    transformer.fit(frame, train_end=splits.boundaries[0])
    center, scale = transformer.center.copy(), transformer.scale.copy()  # type: ignore[union-attr]

    shocked = spot_gappy.copy()
    tail = shocked.index >= int(len(shocked) * 0.8)
    shocked.loc[tail, ["open", "high", "low", "close"]] *= 3.0  # a regime only the test sees
    shocked.loc[tail, "volume"] *= 100.0
    other = StateTransformer()
    other.fit(other.transform(shocked), train_end=splits.boundaries[0])
    np.testing.assert_array_equal(other.center, center)
    np.testing.assert_array_equal(other.scale, scale)


def test_funding_is_paid_at_the_bar_that_holds_the_event(
    futures: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    candles, funding = futures
    frame = StateTransformer().transform(candles, funding)
    start = candles["date"].iloc[0]
    end = candles["date"].iloc[-1] + HOUR
    events = funding.loc[(funding["date"] > start) & (funding["date"] <= end)]
    assert np.count_nonzero(frame.funding) == len(events)
    assert frame.funding.sum() == pytest.approx(events["rate"].sum(), rel=1e-12)
    paid_at = pd.to_datetime(frame.times_ns[frame.funding != 0], utc=True)
    assert set(paid_at.hour) <= {0, 8, 16}
    rate = frame.raw[:, frame.names.index("funding_rate")]
    assert rate[-1] == events["rate"].iloc[-1]


def test_save_load_round_trip_and_live_restart(
    tmp_path: Path, futures: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    candles, funding = futures
    first, second = candles.iloc[:600], candles.iloc[600:]
    full = StateTransformer()
    whole = full.transform(candles, funding)
    full.fit(whole, train_end=500)

    live = StateTransformer()
    head = live.transform(first, funding)
    live.fit(whole, train_end=500)
    live.save(tmp_path / "state.json", include_live_state=True)
    restored = StateTransformer.load(tmp_path / "state.json")
    tail = restored.update(second)
    assert_frames_equal(whole, StateFrame.concat([head, tail]))
    np.testing.assert_array_equal(restored.normalize(whole), full.normalize(whole))

    with pytest.raises(InvalidInput, match="not after"):
        restored.update(second.iloc[[0]])
    with pytest.raises(InvalidInput, match="fit"):
        StateTransformer().normalize(whole)


def test_extra_columns_such_as_book_features_join_on_the_bar(spot_gappy: pd.DataFrame) -> None:
    candles = spot_gappy.assign(ofi=np.sin(np.arange(len(spot_gappy))))  # any per-bar column
    transformer = StateTransformer(StateConfig(extra_columns=("ofi",)))
    frame = transformer.transform(candles)
    column = frame.raw[:, frame.names.index("ofi")]
    present = ~frame.missing
    np.testing.assert_array_equal(column[present], candles["ofi"].to_numpy())
    assert np.isnan(column[frame.missing]).all()
    with pytest.raises(InvalidInput, match="ofi"):
        StateTransformer(StateConfig(extra_columns=("ofi",))).transform(spot_gappy)
    with pytest.raises(InvalidInput, match="1h grid"):
        StateTransformer().transform(spot_gappy.assign(date=spot_gappy["date"] + HOUR / 2))
