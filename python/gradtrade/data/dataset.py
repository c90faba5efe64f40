"""Training windows over the state series X_t, time-ordered splits and walk-forward folds.

A sample is anchored at a bar index ``t``: the model sees the states ``t-context+1 .. t`` and is
asked for ``t+1 .. t+horizon``. Invariants every split here keeps:

* a sample's inputs end at its anchor and its targets start after it (no lookahead);
* splits and folds are contiguous row blocks in time order, and a sample only uses rows of its
  own block, so no sample's inputs or targets touch another block's rows (the embargo: the last
  ``horizon`` anchors before a boundary and the first ``context-1`` after it are not sampled);
* windows containing a non-finite state or return are never sampled.

Windows are gathered with index arrays (``anchor[:, None] + offsets``), one fancy-index per batch:
``dataset[np.array([...])]`` returns a whole batch, which is what :func:`make_loader` uses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

from gradtrade.errors import InvalidInput

log = logging.getLogger(__name__)

NS_PER_HOUR = 3_600_000_000_000


def _window_ok(bad_rows: np.ndarray, context: int, horizon: int) -> np.ndarray:
    """Boolean per anchor t: rows t-context+1 .. t+horizon exist and none is bad."""
    n = len(bad_rows)
    ok = np.zeros(n, dtype=bool)
    first, last = context - 1, n - horizon - 1
    if last < first:
        return ok
    bad_before = np.concatenate(([0], np.cumsum(bad_rows, dtype=np.int64)))
    anchors = np.arange(first, last + 1)
    bad_in_window = bad_before[anchors + horizon + 1] - bad_before[anchors - context + 1]
    ok[first : last + 1] = bad_in_window == 0
    return ok


class WindowDataset(Dataset[dict[str, torch.Tensor]]):
    """(context window, horizon targets) samples over a state series.

    ``states`` (T, N) float32 is X_t; ``times_ns`` (T,) int64 the bar close times; ``returns``
    (T,) float64 the raw log return of bar t (from t-1 to t); ``funding`` (T,) the rate paid at
    bar t (zeros for spot). ``anchors`` are the bar indices that may be sampled (default: every
    valid one); anchors whose window does not fit or holds a non-finite value are dropped with
    a warning and counted in ``n_dropped_anchors``.
    """

    def __init__(
        self,
        states: np.ndarray,
        times_ns: np.ndarray,
        returns: np.ndarray,
        *,
        context: int,
        horizon: int,
        anchors: np.ndarray | None = None,
        funding: np.ndarray | None = None,
    ) -> None:
        states = np.asarray(states)
        if states.ndim != 2:
            raise InvalidInput(f"states must be (T, N), got shape {states.shape}")
        n = states.shape[0]
        times_ns = np.asarray(times_ns)
        returns = np.asarray(returns, dtype=np.float64)
        funding_arr = np.zeros(n) if funding is None else np.asarray(funding, dtype=np.float64)
        for name, arr in (("times_ns", times_ns), ("returns", returns), ("funding", funding_arr)):
            if arr.shape != (n,):
                raise InvalidInput(f"{name} must have shape ({n},), got {arr.shape}")
        if not np.issubdtype(times_ns.dtype, np.integer):
            raise InvalidInput(f"times_ns must be int64 nanoseconds, got dtype {times_ns.dtype}")
        if n > 1 and not bool(np.all(np.diff(times_ns) > 0)):
            raise InvalidInput("times_ns must be strictly increasing")
        if context < 1 or horizon < 1:
            raise InvalidInput(f"context and horizon must be >= 1, got {context}, {horizon}")
        self.context, self.horizon = int(context), int(horizon)

        bad = ~np.isfinite(states).all(axis=1) | ~np.isfinite(returns) | ~np.isfinite(funding_arr)
        ok = _window_ok(bad, self.context, self.horizon)
        if anchors is None:
            chosen = np.flatnonzero(ok)
            self.n_dropped_anchors = 0
        else:
            requested = np.asarray(anchors, dtype=np.int64)
            inside = (requested >= 0) & (requested < n)
            keep = inside.copy()
            keep[inside] = ok[requested[inside]]
            chosen = requested[keep]
            self.n_dropped_anchors = int((~keep).sum())
            if self.n_dropped_anchors:
                log.warning(
                    "WindowDataset: dropped %d of %d requested anchors (window out of range "
                    "or holding a non-finite state/return)",
                    self.n_dropped_anchors,
                    len(requested),
                )
        self.anchors = chosen
        # Gathers run in NumPy (single-threaded, no thread-pool spin on a busy machine); the
        # batch arrays are handed to torch without a copy.
        self._states = np.ascontiguousarray(states, dtype=np.float32)
        self._times = np.ascontiguousarray(times_ns, dtype=np.int64)
        self._returns = returns.astype(np.float32)
        self._funding = funding_arr.astype(np.float32)
        self._x_offsets = np.arange(-self.context + 1, 1, dtype=np.int64)
        self._y_offsets = np.arange(1, self.horizon + 1, dtype=np.int64)

    @property
    def n_features(self) -> int:
        return int(self._states.shape[1])

    def __len__(self) -> int:
        return len(self.anchors)

    def __getitem__(self, i: Any) -> dict[str, torch.Tensor]:
        """One sample for an integer ``i``; a batch (leading axis) for an array of indices."""
        batched = not np.isscalar(i) and not (isinstance(i, torch.Tensor) and i.ndim == 0)
        idx = np.asarray(i, dtype=np.int64)
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise IndexError(f"sample index out of range for {len(self)} samples")
        t = self.anchors[np.atleast_1d(idx)]
        x_rows = t[:, None] + self._x_offsets
        y_rows = t[:, None] + self._y_offsets
        t0 = self._times[t][:, None]
        # Subtract in int64 first: float64 ns epoch times would lose sub-microsecond precision.
        arrays = {
            "x": self._states[x_rows],
            "t_x": ((self._times[x_rows] - t0) / NS_PER_HOUR).astype(np.float32),
            "y": self._states[y_rows],
            "t_y": ((self._times[y_rows] - t0) / NS_PER_HOUR).astype(np.float32),
            "ret": self._returns[y_rows],
            "funding": self._funding[y_rows],
        }
        if not batched:
            arrays = {k: v[0] for k, v in arrays.items()}
        return {k: torch.from_numpy(v) for k, v in arrays.items()}


@dataclass(frozen=True)
class Splits:
    """Anchor indices of each split (time ordered) and the row blocks they live in."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    boundaries: tuple[int, int]  # first row of val, first row of test


@dataclass(frozen=True)
class Fold:
    """One walk-forward fold: anchors of train, val and test, and the row range of each block."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    train_rows: tuple[int, int]  # [start, stop)
    val_rows: tuple[int, int]
    test_rows: tuple[int, int]


def block_anchors(start: int, stop: int, *, context: int, horizon: int) -> np.ndarray:
    """Anchors whose whole window (inputs and targets) lies in rows [start, stop)."""
    first, last = start + context - 1, stop - horizon - 1
    return np.arange(first, last + 1, dtype=np.int64) if last >= first else np.empty(0, np.int64)


def time_splits(
    n: int, *, train: float = 0.7, val: float = 0.15, context: int, horizon: int
) -> Splits:
    """Train / val / test anchors over ``n`` rows, in time order, embargoed at each boundary."""
    if not (0 < train < 1 and 0 <= val < 1 and train + val < 1):
        raise InvalidInput(f"need 0 < train, 0 <= val, train + val < 1; got {train}, {val}")
    if context < 1 or horizon < 1:
        raise InvalidInput(f"context and horizon must be >= 1, got {context}, {horizon}")
    b1, b2 = int(n * train), int(n * (train + val))
    kw = {"context": context, "horizon": horizon}
    splits = Splits(
        train=block_anchors(0, b1, **kw),
        val=block_anchors(b1, b2, **kw),
        test=block_anchors(b2, n, **kw),
        boundaries=(b1, b2),
    )
    if len(splits.train) == 0 or len(splits.test) == 0:
        raise InvalidInput(
            f"{n} rows are too few for context={context}, horizon={horizon} with these fractions"
        )
    return splits


def walk_forward_folds(
    n: int,
    *,
    train_size: int,
    test_size: int,
    step: int | None,
    val_fraction: float,
    context: int,
    horizon: int,
    expanding: bool = False,
) -> list[Fold]:
    """Rolling (or expanding) folds: fit on a block, validate on its tail, test on what follows.

    Fold k's training block ends where its test block starts; the validation block is the last
    ``val_fraction`` of the training block. ``step`` (default ``test_size``) moves each fold
    forward; with ``expanding`` the training block always starts at row 0.
    """
    if train_size < 1 or test_size < 1 or not 0 <= val_fraction < 1:
        raise InvalidInput("need train_size >= 1, test_size >= 1 and 0 <= val_fraction < 1")
    step = test_size if step is None else step
    if step < 1:
        raise InvalidInput(f"step must be >= 1, got {step}")
    kw = {"context": context, "horizon": horizon}
    folds: list[Fold] = []
    fit_start = 0
    while True:
        fit_stop = (train_size + len(folds) * step) if expanding else fit_start + train_size
        test_stop = fit_stop + test_size
        if test_stop > n:
            break
        start = 0 if expanding else fit_start
        val_start = fit_stop - round((fit_stop - start) * val_fraction)
        folds.append(
            Fold(
                train=block_anchors(start, val_start, **kw),
                val=block_anchors(val_start, fit_stop, **kw),
                test=block_anchors(fit_stop, test_stop, **kw),
                train_rows=(start, val_start),
                val_rows=(val_start, fit_stop),
                test_rows=(fit_stop, test_stop),
            )
        )
        fit_start += step
    if not folds:
        raise InvalidInput(f"{n} rows cannot hold one fold of {train_size} + {test_size} rows")
    return folds


def passthrough(batch: Any) -> Any:
    """``collate_fn`` of every loader: the dataset already returns a batched dict (one fancy
    index per batch), so there is nothing to stack."""
    return batch


def make_loader(
    dataset: WindowDataset,
    *,
    batch_size: int = 256,
    shuffle: bool,
    num_workers: int = 0,
    seed: int,
    drop_last: bool = False,
) -> DataLoader[Any]:
    """A DataLoader yielding dicts of batched tensors; the shuffle order depends only on ``seed``.

    Batches are gathered in one indexing call each (the sampler yields index arrays), not
    stacked sample by sample.
    """
    generator = torch.Generator().manual_seed(seed)
    base = (
        RandomSampler(range(len(dataset)), generator=generator)
        if shuffle
        else SequentialSampler(range(len(dataset)))
    )
    sampler = BatchSampler(base, batch_size=batch_size, drop_last=drop_last)
    return DataLoader(
        dataset,
        batch_size=None,
        sampler=sampler,
        num_workers=num_workers,
        collate_fn=passthrough,
        generator=generator,
        persistent_workers=num_workers > 0,
    )


__all__ = [
    "Fold",
    "Splits",
    "WindowDataset",
    "block_anchors",
    "make_loader",
    "passthrough",
    "time_splits",
    "walk_forward_folds",
]
