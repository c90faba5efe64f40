"""Market data for training and evaluation: candles (and funding) -> states, returns, times.

The one place the model layers touch the data layer: ``StateTransformer`` (gradtrade.data.state)
turns candles and funding into X_t on the bar grid (real outages become flagged rows), and
``WindowDataset`` (gradtrade.data.dataset) serves the windows. Normalization statistics are fitted
on the training rows only and travel in the checkpoint as the transformer's JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gradtrade.data.dataset import Fold, Splits, WindowDataset, time_splits, walk_forward_folds
from gradtrade.data.importers import read_series_file
from gradtrade.data.state import StateConfig, StateFrame, StateTransformer
from gradtrade.errors import InvalidInput
from gradtrade.timeframes import INTERVALS, timeframe_ns

__all__ = [
    "Fold",
    "Market",
    "Splits",
    "WindowDataset",
    "load_market",
    "time_splits",
    "walk_forward_folds",
]


def _rows(frame: StateFrame, start: int, stop: int) -> StateFrame:
    return StateFrame(
        frame.times_ns[start:stop],
        frame.raw[start:stop],
        frame.names,
        frame.returns[start:stop],
        frame.funding[start:stop],
        frame.missing[start:stop],
        frame.warm[start:stop],
    )


@dataclass
class Market:
    """Raw features on the bar grid; ``states`` once normalized on a training window."""

    frame: StateFrame
    transformer: StateTransformer
    source: str
    states: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def times_ns(self) -> np.ndarray:
        return self.frame.times_ns

    @property
    def returns(self) -> np.ndarray:
        """Log return of each bar (0 for a missing bar, NaN for the very first)."""
        return self.frame.returns

    @property
    def funding(self) -> np.ndarray:
        return self.frame.funding

    @property
    def names(self) -> list[str]:
        return list(self.frame.names)

    @property
    def n_features(self) -> int:
        return len(self.frame.names)

    @property
    def stats(self) -> dict[str, Any]:
        return {"state_transformer": self.transformer.to_json(), "names": self.names}

    def normalize(self, stop: int, start: int = 0) -> np.ndarray:
        """Fit the statistics on rows [start, stop) (the training window); apply to all rows."""
        self.transformer.fit(_rows(self.frame, start, stop), stop - start)
        self.states = self.transformer.normalize(self.frame)
        return self.states

    def apply_stats(self, stats: dict[str, Any]) -> np.ndarray:
        """Normalize with statistics from a checkpoint (never refit them)."""
        saved = StateTransformer.from_json(stats["state_transformer"])
        if saved.names != self.names:
            raise InvalidInput(
                f"checkpoint features {saved.names} differ from this data's {self.names}"
            )
        self.transformer.center, self.transformer.scale = saved.center, saved.scale
        self.states = self.transformer.normalize(self.frame)
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

    def date_range(self, start: int = 0, stop: int | None = None) -> tuple[str, str]:
        """Close times of the first and last bar of rows [start, stop) (default: all rows)."""
        stop = len(self) if stop is None else stop
        as_dt = self.times_ns[[start, stop - 1]].astype("datetime64[ns]")
        return str(as_dt[0]), str(as_dt[1])


def infer_timeframe(dates: pd.DatetimeIndex, source: str | Path) -> str:
    """The bar timeframe of candles: their most common spacing (outages make some gaps longer)."""
    steps = np.diff(dates.as_unit("ns").asi8)
    if len(steps) == 0:
        raise InvalidInput(f"{source}: too few candles to tell their timeframe")
    values, counts = np.unique(steps, return_counts=True)
    step = int(values[np.argmax(counts)])
    for name in INTERVALS:
        if timeframe_ns(name) == step:
            return name
    minutes = step / 60e9
    raise InvalidInput(f"{source}: candles are {minutes:g} minutes apart, not a Binance timeframe")


def load_market(
    path: str | Path,
    *,
    funding_path: str | Path | None = None,
    start: str | None = None,
    end: str | None = None,
) -> Market:
    """Candles with open times in ``[start, end)`` (UTC) -> features.

    ``path`` is a freqtrade ``.feather`` file or a ``.parquet`` file of the store that
    ``gradtrade download`` fills (``gradtrade data`` lists them); ``funding_path`` likewise.
    """
    path = Path(path)
    if not path.exists():
        raise InvalidInput(f"candle file not found: {path}")
    candles = read_series_file(path, "ohlcv")
    missing = {"date", "open", "high", "low", "close", "volume"} - set(candles.columns)
    if missing:
        raise InvalidInput(f"{path}: missing columns {sorted(missing)}")
    dates = pd.DatetimeIndex(candles["date"])
    keep = np.ones(len(candles), dtype=bool)
    if start:
        keep &= dates >= pd.Timestamp(start, tz="UTC")
    if end:
        keep &= dates < pd.Timestamp(end, tz="UTC")
    candles = candles[keep].reset_index(drop=True)
    if len(candles) < 300:
        raise InvalidInput(f"{path}: only {len(candles)} bars in [{start}, {end}); need 300+")
    funding = None
    if funding_path:
        if not Path(funding_path).exists():
            raise InvalidInput(f"funding file not found: {funding_path}")
        funding = read_series_file(Path(funding_path), "funding")
    transformer = StateTransformer(StateConfig(timeframe=infer_timeframe(dates[keep], path)))
    frame = transformer.transform(candles, funding)
    return Market(frame=frame, transformer=transformer, source=str(path))
