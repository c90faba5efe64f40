"""WindowDataset, splits and folds: windows are right, nothing looks ahead, blocks never touch."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gradtrade.data.dataset import (
    NS_PER_HOUR,
    WindowDataset,
    make_loader,
    time_splits,
    walk_forward_folds,
)
from gradtrade.errors import InvalidInput

MINUTE_NS = 60_000_000_000


def row_indexed(n: int, n_features: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """States whose column 0 is the row number, so every window says which rows it used."""
    states = np.tile(np.arange(n, dtype=np.float32)[:, None], (1, n_features))
    states[:, 1:] *= -1.0
    times = np.arange(n, dtype=np.int64) * MINUTE_NS + 1_700_000_000 * 10**9
    returns = np.arange(n, dtype=np.float64) / 1000.0
    return states, times, returns


def rows_used(anchors: np.ndarray, context: int, horizon: int) -> tuple[int, int]:
    return int(anchors.min()) - context + 1, int(anchors.max()) + horizon


def test_sample_contents_match_the_series() -> None:
    states, times, returns = row_indexed(50)
    funding = np.where(np.arange(50) % 8 == 0, 1e-4, 0.0)
    ds = WindowDataset(states, times, returns, context=5, horizon=3, funding=funding)
    assert len(ds) == 50 - 5 - 3 + 1
    assert ds.anchors[0] == 4 and ds.anchors[-1] == 46
    s = ds[0]
    assert s["x"].shape == (5, 3) and s["y"].shape == (3, 3)
    np.testing.assert_array_equal(s["x"][:, 0].numpy(), [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(s["y"][:, 0].numpy(), [5, 6, 7])
    np.testing.assert_allclose(s["t_x"].numpy(), np.array([-4, -3, -2, -1, 0]) / 60, rtol=1e-6)
    np.testing.assert_allclose(s["t_y"].numpy(), np.array([1, 2, 3]) / 60, rtol=1e-6)
    np.testing.assert_allclose(s["ret"].numpy(), returns[5:8].astype(np.float32))
    np.testing.assert_allclose(s["funding"].numpy(), funding[5:8].astype(np.float32))
    assert s["ret"].dtype == torch.float32 and s["x"].dtype == torch.float32
    batch = ds[np.array([0, 10, 20])]
    assert batch["x"].shape == (3, 5, 3) and batch["t_y"].shape == (3, 3)
    np.testing.assert_array_equal(batch["x"][1].numpy(), ds[10]["x"].numpy())


def test_non_finite_windows_are_never_sampled_and_explicit_anchors_are_counted() -> None:
    states, times, returns = row_indexed(40)
    states[20, 1] = np.nan
    ds = WindowDataset(states, times, returns, context=4, horizon=2)
    for t in ds.anchors:
        assert not (t - 3 <= 20 <= t + 2)
    explicit = WindowDataset(
        states, times, returns, context=4, horizon=2, anchors=np.array([1, 10, 19, 39, 30])
    )
    np.testing.assert_array_equal(explicit.anchors, [10, 30])
    assert explicit.n_dropped_anchors == 3


def test_bad_inputs_raise_with_the_problem_named() -> None:
    states, times, returns = row_indexed(10)
    with pytest.raises(InvalidInput, match="strictly increasing"):
        WindowDataset(states, times[::-1].copy(), returns, context=2, horizon=1)
    with pytest.raises(InvalidInput, match="returns"):
        WindowDataset(states, times, returns[:5], context=2, horizon=1)
    with pytest.raises(InvalidInput, match="times_ns"):
        WindowDataset(states, times.astype(float), returns, context=2, horizon=1)


def test_real_gaps_show_as_larger_time_steps(btc_1h: pd.DataFrame) -> None:
    times = pd.DatetimeIndex(btc_1h["date"]).asi8
    close = btc_1h["close"].to_numpy()
    returns = np.concatenate(([np.nan], np.diff(np.log(close))))
    states = returns[:, None].astype(np.float32)
    ds = WindowDataset(states, times, returns, context=24, horizon=6)
    steps = np.diff(times) // NS_PER_HOUR
    gap_row = int(np.flatnonzero(steps > 1)[0]) + 1  # first bar after a real outage
    sample = ds[int(np.searchsorted(ds.anchors, gap_row))]  # anchored on that bar
    dt = np.diff(sample["t_x"].numpy())
    assert dt.max() == pytest.approx(float(steps[gap_row - 1]))
    assert (sample["t_x"].numpy() <= 0).all() and (sample["t_y"].numpy() > 0).all()


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(200, 2000),
    context=st.integers(1, 20),
    horizon=st.integers(1, 10),
    train=st.floats(0.3, 0.7),
    val=st.floats(0.05, 0.2),
)
def test_splits_are_time_ordered_and_embargoed(
    n: int, context: int, horizon: int, train: float, val: float
) -> None:
    s = time_splits(n, train=train, val=val, context=context, horizon=horizon)
    b1, b2 = s.boundaries
    blocks = [(s.train, 0, b1), (s.val, b1, b2), (s.test, b2, n)]
    for anchors, start, stop in blocks:
        assert (np.diff(anchors) == 1).all()
        if len(anchors):
            lo, hi = rows_used(anchors, context, horizon)
            assert start <= lo and hi < stop
    assert s.train.max() + horizon < b1
    if len(s.val):
        assert s.val.min() - context + 1 >= b1 and s.val.max() + horizon < b2
    assert s.test.min() - context + 1 >= b2


def test_epoch_targets_never_overlap_inputs_and_cover_every_anchor_once() -> None:
    states, times, returns = row_indexed(3000)
    splits = time_splits(3000, context=32, horizon=8)
    ds = WindowDataset(states, times, returns, context=32, horizon=8, anchors=splits.train)
    seen: list[np.ndarray] = []
    for batch in make_loader(ds, batch_size=256, shuffle=True, seed=7):
        x_rows, y_rows = batch["x"][..., 0].numpy(), batch["y"][..., 0].numpy()
        assert (x_rows.max(axis=1) < y_rows.min(axis=1)).all()
        assert (batch["t_x"] <= 0).all() and (batch["t_y"] > 0).all()
        assert y_rows.max() < splits.boundaries[0]  # training targets stay before val rows
        seen.append(x_rows[:, -1])
    np.testing.assert_array_equal(np.sort(np.concatenate(seen)), splits.train)


def test_loader_order_depends_only_on_seed() -> None:
    states, times, returns = row_indexed(500)
    ds = WindowDataset(states, times, returns, context=8, horizon=4)

    def order(seed: int) -> np.ndarray:
        loader = make_loader(ds, batch_size=64, shuffle=True, seed=seed)
        return np.concatenate([b["x"][:, -1, 0].numpy() for b in loader])

    np.testing.assert_array_equal(order(1), order(1))
    assert not np.array_equal(order(1), order(2))
    ordered = make_loader(ds, batch_size=64, shuffle=False, seed=0)
    first = np.concatenate([b["x"][:, -1, 0].numpy() for b in ordered])
    np.testing.assert_array_equal(first, ds.anchors)


@pytest.mark.parametrize("expanding", [False, True])
def test_walk_forward_folds_move_forward_without_touching(expanding: bool) -> None:
    context, horizon = 10, 5
    folds = walk_forward_folds(
        1000,
        train_size=400,
        test_size=100,
        step=None,
        val_fraction=0.2,
        context=context,
        horizon=horizon,
        expanding=expanding,
    )
    assert len(folds) == 6
    for k, f in enumerate(folds):
        assert f.train_rows[1] == f.val_rows[0] and f.val_rows[1] == f.test_rows[0]
        assert f.test_rows == (400 + 100 * k, 500 + 100 * k)
        assert f.train_rows[0] == (0 if expanding else 100 * k)
        for anchors, (start, stop) in (
            (f.train, f.train_rows),
            (f.val, f.val_rows),
            (f.test, f.test_rows),
        ):
            lo, hi = rows_used(anchors, context, horizon)
            assert start <= lo and hi < stop
    with pytest.raises(InvalidInput):
        walk_forward_folds(
            100, train_size=90, test_size=20, step=None, val_fraction=0.1, context=2, horizon=1
        )


def test_worker_processes_yield_the_same_batches() -> None:
    states, times, returns = row_indexed(2000)
    ds = WindowDataset(states, times, returns, context=16, horizon=4)
    single = [b["x"] for b in make_loader(ds, batch_size=128, shuffle=True, seed=5)]
    multi = [b["x"] for b in make_loader(ds, batch_size=128, shuffle=True, seed=5, num_workers=2)]
    assert len(single) == len(multi)
    for a, b in zip(single, multi, strict=True):
        assert torch.equal(a, b)
