"""Market data for training and evaluation: candles (and funding) -> states, returns, times.

The one place the model layers touch the data layer; everything downstream sees ``Market``
and ``WindowDataset``. Normalization statistics are fitted on the training rows only and travel
in the checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.feather as feather  # type: ignore[import-untyped]

from gradtrade.errors import InvalidInput
from gradtrade.model.interim_data import (
    Fold,
    Splits,
    WindowDataset,
    interim_states,
    make_loader,
    time_splits,
    walk_forward_folds,
)

NS_PER_HOUR = 3_600_000_000_000
_TS = pa.timestamp("ns", tz="UTC")

__all__ = [
    "Fold",
    "Market",
    "Splits",
    "WindowDataset",
    "load_market",
    "make_loader",
    "time_splits",
    "walk_forward_folds",
]


@dataclass
class Market:
    """Unnormalized features aligned with bar times; ``states`` after ``normalize``."""

    times_ns: np.ndarray
    raw: np.ndarray
    returns: np.ndarray
    funding: np.ndarray
    names: tuple[str, ...]
    source: str
    stats: dict[str, list[float]] = field(default_factory=dict)
    states: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.times_ns)

    def normalize(self, train_rows: int, start: int = 0) -> np.ndarray:
        """Fit mean/std on rows [start, train_rows) (the training window) and apply to all rows."""
        if train_rows - start < 2:
            raise InvalidInput("need at least two training rows to normalize")
        mean = self.raw[start:train_rows].mean(axis=0)
        std = self.raw[start:train_rows].std(axis=0) + 1e-12
        self.stats = {"mean": mean.tolist(), "std": std.tolist()}
        self.states = ((self.raw - mean) / std).astype(np.float32)
        return self.states

    def apply_stats(self, stats: dict[str, list[float]]) -> np.ndarray:
        """Normalize with statistics from a checkpoint (never refit them)."""
        mean, std = np.asarray(stats["mean"]), np.asarray(stats["std"])
        if mean.shape != (self.raw.shape[1],):
            raise InvalidInput(
                f"checkpoint normalizes {mean.shape[0]} features, data has {self.raw.shape[1]}"
            )
        self.stats = {"mean": mean.tolist(), "std": std.tolist()}
        self.states = ((self.raw - mean) / std).astype(np.float32)
        return self.states

    def dataset(self, anchors: np.ndarray, *, context: int, horizon: int) -> WindowDataset:
        if self.states is None:
            raise InvalidInput("normalize the market (train rows only) before building datasets")
        return WindowDataset(
            self.states,
            self.times_ns,
            self.returns,
            context=context,
            horizon=horizon,
            anchors=anchors,
            funding=self.funding,
        )

    def date_range(self) -> tuple[str, str]:
        as_dt = self.times_ns[[0, -1]].astype("datetime64[ns]")
        return str(as_dt[0]), str(as_dt[1])


def _read_candles(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        raise InvalidInput(f"candle file not found: {path}")
    table = feather.read_table(path)
    missing = {"date", "close", "volume"} - set(table.column_names)
    if missing:
        raise InvalidInput(f"{path}: missing columns {sorted(missing)}")
    times = table.column("date").cast(_TS).to_numpy().astype(np.int64)
    return {
        "times": times,
        "close": table.column("close").to_numpy().astype(np.float64),
        "volume": table.column("volume").to_numpy().astype(np.float64),
    }


def _funding_per_bar(path: Path, times_ns: np.ndarray, bar_ns: int) -> np.ndarray:
    """Funding paid at the event time T is charged to the bar whose close is T."""
    table = feather.read_table(path)
    events = table.column("date").cast(_TS).to_numpy().astype(np.int64)
    rates = table.column("open").to_numpy().astype(np.float64)
    out = np.zeros(len(times_ns))
    idx = np.searchsorted(times_ns, events - bar_ns)
    ok = (idx < len(times_ns)) & (times_ns[np.minimum(idx, len(times_ns) - 1)] == events - bar_ns)
    out[idx[ok]] = rates[ok]
    return out


def load_market(
    path: str | Path,
    *,
    funding_path: str | Path | None = None,
    start: str | None = None,
    end: str | None = None,
) -> Market:
    """Candles in ``[start, end)`` (ISO dates, UTC) -> unnormalized features."""
    candles = _read_candles(Path(path))
    times = candles["times"]
    if len(times) > 1 and (np.diff(times) <= 0).any():
        raise InvalidInput(f"{path}: bar times are not strictly increasing")
    keep = np.ones(len(times), dtype=bool)
    if start:
        keep &= times >= np.datetime64(start, "ns").astype(np.int64)
    if end:
        keep &= times < np.datetime64(end, "ns").astype(np.int64)
    if keep.sum() < 300:
        raise InvalidInput(f"{path}: only {int(keep.sum())} bars in [{start}, {end}); need 300+")
    feats = interim_states(times[keep], candles["close"][keep], candles["volume"][keep])
    bar_ns = int(np.median(np.diff(feats.times_ns)))
    funding = (
        _funding_per_bar(Path(funding_path), feats.times_ns, bar_ns)
        if funding_path
        else np.zeros(len(feats.times_ns))
    )
    return Market(
        times_ns=feats.times_ns,
        raw=feats.raw,
        returns=feats.returns,
        funding=funding,
        names=feats.names,
        source=str(path),
    )
