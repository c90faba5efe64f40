"""TEMPORARY stand-in for ``gradtrade.data.dataset`` / ``gradtrade.data.state`` (data branch).

Delete this module once the data branch lands: it implements the agreed interface
(``WindowDataset``, ``time_splits``, ``walk_forward_folds``, ``make_loader``) over the recorded
klines with a minimal state (bar log return, 24-bar realized volatility, volume z-score), normalized
with statistics of the training rows only. Only ``gradtrade.model.data_source`` imports it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from gradtrade.errors import InvalidInput

NS_PER_HOUR = 3_600_000_000_000
VOL_WINDOW = 24
VOLUME_WINDOW = 168


class WindowDataset(Dataset[dict[str, torch.Tensor]]):
    """Context windows of the state ending at an anchor bar, with the future that follows it."""

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
        n = len(states)
        if not (len(times_ns) == len(returns) == n):
            raise InvalidInput("states, times_ns and returns must have the same length")
        if not np.isfinite(states).all():
            raise InvalidInput("states contain NaN or infinite values")
        self.states = torch.as_tensor(np.ascontiguousarray(states, dtype=np.float32))
        self.times_ns = np.asarray(times_ns, dtype=np.int64)
        self.returns = torch.as_tensor(np.asarray(returns, dtype=np.float64))
        fund = np.zeros(n) if funding is None else np.asarray(funding, dtype=np.float64)
        self.funding = torch.as_tensor(fund)
        self.context, self.horizon = context, horizon
        valid = np.arange(context - 1, n - horizon)
        self.anchors = valid if anchors is None else np.asarray(anchors, dtype=np.int64)
        if len(self.anchors) and (
            self.anchors.min() < context - 1 or self.anchors.max() >= n - horizon
        ):
            raise InvalidInput("anchor outside [context - 1, n - horizon)")

    def __len__(self) -> int:
        return len(self.anchors)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        a = int(self.anchors[i])
        lo, hi = a - self.context + 1, a + 1 + self.horizon
        hours = torch.as_tensor((self.times_ns[lo:hi] - self.times_ns[a]) / NS_PER_HOUR)
        return {
            "x": self.states[lo : a + 1],
            "t_x": hours[: self.context].float(),
            "y": self.states[a + 1 : hi],
            "t_y": hours[self.context :].float(),
            "ret": self.returns[a + 1 : hi],
            "funding": self.funding[a + 1 : hi],
        }


@dataclass(frozen=True)
class Splits:
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


@dataclass(frozen=True)
class Fold:
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def _anchors(lo: int, hi: int, context: int, horizon: int) -> np.ndarray:
    """Anchors whose context starts at or after ``lo`` and whose targets end before ``hi``."""
    return np.arange(max(lo + context - 1, context - 1), hi - horizon, dtype=np.int64)


def time_splits(
    n: int, *, train: float = 0.7, val: float = 0.15, context: int, horizon: int
) -> Splits:
    a, b = int(n * train), int(n * (train + val))
    return Splits(
        _anchors(0, a, context, horizon),
        _anchors(a, b, context, horizon),
        _anchors(b, n, context, horizon),
    )


def walk_forward_folds(
    n: int,
    *,
    train_size: int,
    test_size: int,
    step: int,
    val_fraction: float,
    context: int,
    horizon: int,
    expanding: bool = False,
) -> list[Fold]:
    folds: list[Fold] = []
    start = 0
    while start + train_size + test_size <= n:
        lo = 0 if expanding else start
        fit_end = start + train_size
        val_start = fit_end - int((fit_end - lo) * val_fraction)
        folds.append(
            Fold(
                _anchors(lo, val_start, context, horizon),
                _anchors(val_start, fit_end, context, horizon),
                _anchors(fit_end, fit_end + test_size, context, horizon),
            )
        )
        start += step
    return folds


def make_loader(
    dataset: Dataset[dict[str, torch.Tensor]],
    *,
    batch_size: int = 256,
    shuffle: bool,
    num_workers: int = 0,
    seed: int,
) -> DataLoader[dict[str, torch.Tensor]]:
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=num_workers,
        generator=generator,
    )


@dataclass
class InterimStates:
    """Raw (unnormalized) features aligned with bar times."""

    raw: np.ndarray
    times_ns: np.ndarray
    returns: np.ndarray
    names: tuple[str, ...] = ("log_return", "realized_vol_24", "volume_z_168")


def interim_states(times_ns: np.ndarray, close: np.ndarray, volume: np.ndarray) -> InterimStates:
    """Features from candles; rows before the rolling windows fill are dropped."""
    if not (np.isfinite(close).all() and np.isfinite(volume).all()):
        raise InvalidInput("candles contain NaN or infinite close/volume")
    if (close <= 0).any():
        raise InvalidInput("candles contain a non-positive close")
    ret = np.diff(np.log(close), prepend=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(ret[1:], VOL_WINDOW)
    vol = np.full(len(ret), np.nan)
    vol[VOL_WINDOW:] = windows.std(axis=1)
    logv = np.log1p(volume)
    vwin = np.lib.stride_tricks.sliding_window_view(logv, VOLUME_WINDOW)
    vz = np.full(len(ret), np.nan)
    vz[VOLUME_WINDOW - 1 :] = (logv[VOLUME_WINDOW - 1 :] - vwin.mean(axis=1)) / (
        vwin.std(axis=1) + 1e-9
    )
    raw = np.stack([ret, np.log(vol + 1e-6), vz], axis=1)
    keep = np.isfinite(raw).all(axis=1)
    first = int(np.argmax(keep))
    return InterimStates(raw[first:], times_ns[first:], ret[first:])
