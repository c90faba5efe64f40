"""Data-layer benchmark: windows over the 1m BTC file (130k rows) and one training epoch.

Anchor: the per-sample ``Dataset`` most PyTorch tutorials write (``__getitem__`` slices one window,
``default_collate`` stacks a batch), measured in the same run on the same states. Target: build
plus one epoch at batch 256 under 10 s on the 2-core CI machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.feather as feather
import torch
from torch.utils.data import DataLoader, Dataset

from gradtrade.data.dataset import WindowDataset, make_loader, time_splits
from gradtrade.data.state import StateConfig, StateTransformer

CONTEXT, HORIZON, BATCH = 64, 16, 256


class NaiveWindows(Dataset[dict[str, torch.Tensor]]):
    """The usual hand-written windowed dataset: one Python slice per sample."""

    def __init__(self, states: np.ndarray, times: np.ndarray, returns: np.ndarray) -> None:
        self.states = torch.from_numpy(states)
        self.times = times
        self.returns = torch.from_numpy(returns.astype(np.float32))
        self.anchors = list(range(CONTEXT - 1, len(states) - HORIZON))

    def __len__(self) -> int:
        return len(self.anchors)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        t = self.anchors[i]
        t0 = self.times[t]
        return {
            "x": self.states[t - CONTEXT + 1 : t + 1],
            "t_x": torch.from_numpy((self.times[t - CONTEXT + 1 : t + 1] - t0) / 3.6e12).float(),
            "y": self.states[t + 1 : t + HORIZON + 1],
            "t_y": torch.from_numpy((self.times[t + 1 : t + HORIZON + 1] - t0) / 3.6e12).float(),
            "ret": self.returns[t + 1 : t + HORIZON + 1],
        }


def load_states(data_dir: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """X_t of the 1m file as the model gets it: StateTransformer, fitted on the first 70%."""
    frame = feather.read_table(data_dir / "klines" / "spot" / "BTC_USDT-1m.feather").to_pandas()
    transformer = StateTransformer(StateConfig(timeframe="1m"))
    raw = transformer.transform(frame)
    states = transformer.fit(raw, train_end=len(raw) * 7 // 10).normalize(raw)
    return states, raw.times_ns, raw.returns


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _epoch(loader: Any) -> int:
    n = 0
    for batch in loader:
        n += int(batch["x"].shape[0])
    return n


def state_timings(data_dir: Path) -> tuple[int, float, float, float]:
    """StateTransformer on the 1m file: whole history at once, then the live path per bar."""
    frame = feather.read_table(data_dir / "klines" / "spot" / "BTC_USDT-1m.feather").to_pandas()
    transformer = StateTransformer(StateConfig(timeframe="1m"))
    batch_s, states = _timed(lambda: transformer.transform(frame))
    fit_s, _ = _timed(
        lambda: transformer.fit(states, train_end=len(states) * 7 // 10).normalize(states)
    )
    live = StateTransformer(StateConfig(timeframe="1m"))
    live.transform(frame.iloc[:-2000])
    tail = frame.iloc[-2000:].to_dict("records")
    start = time.perf_counter()
    for bar in tail:
        live.update(bar)
    per_bar_us = (time.perf_counter() - start) / len(tail) * 1e6
    return len(states), batch_s, fit_s, per_bar_us


def run(data_dir: Path, quick: bool) -> str:
    torch.set_num_threads(2)
    load_s, (states, times, returns) = _timed(lambda: load_states(data_dir))
    warm = np.isfinite(states).all(axis=1) & np.isfinite(returns)
    states, times, returns = states[warm], times[warm], returns[warm]  # same rows for both
    reps = 1 if quick else 3
    ours_build, ours_epoch, naive_build, naive_epoch = [], [], [], []
    for _ in range(reps):
        b, ds = _timed(
            lambda: WindowDataset(states, times, returns, context=CONTEXT, horizon=HORIZON)
        )
        e, n_ours = _timed(lambda ds=ds: _epoch(make_loader(ds, shuffle=True, seed=0)))
        ours_build.append(b)
        ours_epoch.append(e)
        b, naive = _timed(lambda: NaiveWindows(states, times, returns))
        e, n_naive = _timed(
            lambda naive=naive: _epoch(DataLoader(naive, batch_size=BATCH, shuffle=True))
        )
        naive_build.append(b)
        naive_epoch.append(e)
    assert n_ours == n_naive, (n_ours, n_naive)
    splits_s, _ = _timed(lambda: time_splits(len(states), context=CONTEXT, horizon=HORIZON))
    ours = min(ours_build) + min(ours_epoch)
    naive_total = min(naive_build) + min(naive_epoch)
    verdict = "meets" if ours < 10.0 else "MISSES"
    rows, batch_s, fit_s, per_bar_us = state_timings(data_dir)
    return "\n".join(
        [
            f"1m BTC spot, {len(states):,} rows x {states.shape[1]} features, context {CONTEXT}, "
            f"horizon {HORIZON}, batch {BATCH}, {n_ours:,} samples per epoch, shuffled; "
            f"best of {reps}; load + StateTransformer {load_s:.2f} s (not counted).",
            "",
            "| | build windows (s) | one epoch (s) | total (s) | ratio |",
            "|---|---:|---:|---:|---:|",
            f"| gradtrade `WindowDataset` + `make_loader` | {min(ours_build):.3f} | "
            f"{min(ours_epoch):.2f} | {ours:.2f} | 1.0 |",
            f"| per-sample `Dataset` + `default_collate` (anchor) | {min(naive_build):.3f} | "
            f"{min(naive_epoch):.2f} | {naive_total:.2f} | {naive_total / ours:.1f}x slower |",
            "",
            f"Target build + epoch < 10 s: {verdict} ({ours:.2f} s). "
            f"`time_splits` over all rows: {splits_s * 1e3:.2f} ms.",
            "",
            f"`StateTransformer` (Rust `StreamingFeatures` + calendar/funding/gap columns, "
            f"{len(StateTransformer(StateConfig(timeframe='1m')).names)} features) on the same "
            f"file: {rows:,} bars in {batch_s:.3f} s ({rows / batch_s / 1e6:.2f} M bars/s); "
            f"fit + normalize {fit_s:.3f} s; live `update` of one bar (the same code path, "
            f"a dict in) {per_bar_us:.0f} us.",
        ]
    )


if __name__ == "__main__":
    import os

    print(run(Path(os.environ.get("GRADTRADE_TEST_DATA", "../shared/data")), quick=True))
