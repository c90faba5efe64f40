"""``StateTransformer``: candles (+ funding, + optional book/OFI columns) -> the state X_t.

One code path for history and live. ``transform(candles)`` and ``update(bar)`` both reindex a
chunk of bars onto the grid and hand it to the Rust ``core.StateRows``, which computes every
column one bar at a time with carried state: the streaming features (log return, EWMA
mean/variance/z-score, realized volatility, volume z-score, Kalman level/trend/innovation), the
high-low range, funding, calendar and gap flags. So a history transformed at once and the same
history fed bar by bar give identical rows (tested with ``assert_array_equal``), and a live bar
costs one call into Rust, not a chain of NumPy calls on one-row arrays.

Gap policy (real outages: the spot 1h file has 27 of them, 122 missing hours): the series is
reindexed onto the timeframe grid. A missing bar becomes a row with a NaN price, which the Rust
features treat as "predict only" (Kalman predicts, EWMAs and windows keep their state); its
``missing_bar`` flag is 1 and its return is 0 (nothing traded). The first real bar after a gap
carries the whole log return across the gap and ``after_gap = 1``. In X_t the NaN features of
missing bars become 0 (the training centre); the flags tell the model what happened.

Normalization without lookahead: ``fit(frame, train_end)`` takes per-column median and MAD scale
from rows before ``train_end`` only; ``normalize`` z-scores with them and winsorizes at
``+-clip`` (``core.StateNormalization``). Flags and calendar columns pass through. Rows before
the features have warmed up (every Rust column finite once) stay NaN, so ``WindowDataset``
never samples them. ``save`` / ``load`` keep config and statistics (and, optionally, the live
state, validated like new state when loaded) as JSON with the model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gradtrade.core import StateNormalization, StateRows, StreamingFeatures
from gradtrade.errors import InvalidInput
from gradtrade.timeframes import timeframe_ns

CALENDAR = ["hour_sin", "hour_cos", "dow_sin", "dow_cos"]
FLAGS = ["missing_bar", "after_gap"]
_PRESENT = np.ones(1, dtype=bool)  # read only: a one-bar chunk that is present
_PRESENT.flags.writeable = False


@dataclass(frozen=True)
class StateConfig:
    """Feature settings; halflives and windows count bars of ``timeframe``."""

    timeframe: str = "1h"
    ewma_halflives: tuple[float, ...] = (12.0, 48.0)
    vol_windows: tuple[int, ...] = (24,)
    kalman_q_level: float = 1e-6
    kalman_q_trend: float = 1e-8
    kalman_r: float = 1e-5
    clip: float = 5.0
    extra_columns: tuple[str, ...] = ()  # e.g. book features or OFI, joined on the bar's date

    def features(self) -> StreamingFeatures:
        return StreamingFeatures(
            ewma_halflives=list(self.ewma_halflives),
            vol_windows=list(self.vol_windows),
            kalman_q_level=self.kalman_q_level,
            kalman_q_trend=self.kalman_q_trend,
            kalman_r=self.kalman_r,
        )


@dataclass
class StateFrame:
    """Rows of raw features on the bar grid, with what the dataset needs beside X_t."""

    times_ns: np.ndarray  # (T,) int64, bar close times
    raw: np.ndarray  # (T, K) float64, before normalization
    names: list[str]
    returns: np.ndarray  # (T,) log return of bar t (0 for missing bars, NaN for the first)
    funding: np.ndarray  # (T,) funding rate paid during bar t
    missing: np.ndarray  # (T,) bool, bar absent from the source
    warm: np.ndarray  # (T,) bool, the features had warmed up at this bar

    def __len__(self) -> int:
        return len(self.times_ns)

    @staticmethod
    def concat(frames: list[StateFrame]) -> StateFrame:
        first = frames[0]
        return StateFrame(
            np.concatenate([f.times_ns for f in frames]),
            np.concatenate([f.raw for f in frames]),
            first.names,
            np.concatenate([f.returns for f in frames]),
            np.concatenate([f.funding for f in frames]),
            np.concatenate([f.missing for f in frames]),
            np.concatenate([f.warm for f in frames]),
        )


class StateTransformer:
    """Candles -> X_t, batch or bar by bar, normalized with training-split statistics."""

    def __init__(self, config: StateConfig | None = None) -> None:
        self.config = config or StateConfig()
        self.step_ns = timeframe_ns(self.config.timeframe)
        features = self.config.features()
        self.names: list[str] = [
            *features.names,
            "hl_range",
            "funding_rate",
            *CALENDAR,
            *FLAGS,
            *self.config.extra_columns,
        ]
        self._rows = StateRows(features, len(self.config.extra_columns))
        self._value_columns = ["open", "high", "low", "close", "volume", *self.config.extra_columns]
        scaled = np.ones(len(self.names), dtype=bool)
        scaled[[self.names.index(c) for c in CALENDAR + FLAGS]] = False
        self._scaled = scaled
        self._center: np.ndarray | None = None
        self._scale: np.ndarray | None = None
        self._normalization: StateNormalization | None = None  # built at the first normalize
        self._last_open_ns: int | None = None

    @property
    def n_features(self) -> int:
        return len(self.names)

    @property
    def center(self) -> np.ndarray | None:
        return self._center

    @center.setter
    def center(self, value: np.ndarray | None) -> None:
        self._center, self._normalization = value, None

    @property
    def scale(self) -> np.ndarray | None:
        return self._scale

    @scale.setter
    def scale(self, value: np.ndarray | None) -> None:
        self._scale, self._normalization = value, None

    def reset(self) -> None:
        """Forget the streaming state (not the normalization statistics)."""
        self._rows.reset()
        self._last_open_ns = None

    def add_funding(self, funding: pd.DataFrame) -> None:
        """Register funding events (``date``, ``rate``) for bars still to come."""
        times = pd.DatetimeIndex(funding["date"]).as_unit("ns").round("s").asi8
        self._rows.add_funding(times, funding["rate"].to_numpy(dtype=np.float64))

    def transform(self, candles: pd.DataFrame, funding: pd.DataFrame | None = None) -> StateFrame:
        """Raw features of a whole history, from a fresh state (the live state ends after it)."""
        self.reset()
        if funding is not None:
            self.add_funding(funding)
        return self._process(candles)

    def update(self, bar: pd.DataFrame | Mapping[str, Any]) -> StateFrame:
        """Continue with one new closed bar (a mapping: date, open, high, low, close, volume
        and any extra columns; ``date`` a timestamp or int nanoseconds) or a few (a frame);
        rows for skipped bars come first."""
        return self._process(bar)

    def _columns(self, candles: pd.DataFrame | Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        """(open times in ns, values in ``columns`` order) of a frame or of one bar."""
        columns = self._value_columns
        if isinstance(candles, pd.DataFrame):
            self._require(candles)
            opens = pd.DatetimeIndex(candles["date"]).as_unit("ns").asi8
            return opens, candles[columns].to_numpy(dtype=np.float64)
        try:
            date, row = candles["date"], [float(candles[c]) for c in columns]
        except KeyError:
            self._require(candles)
            raise
        open_ns = date if type(date) is int else pd.Timestamp(date).as_unit("ns").value
        return np.array([open_ns], dtype=np.int64), np.array(row).reshape(1, -1)

    def _require(self, candles: pd.DataFrame | Mapping[str, Any]) -> None:
        missing = [c for c in ["date", *self._value_columns] if c not in candles]
        if missing:
            raise InvalidInput(f"candles lack the columns {missing} this transformer needs")

    def _grid(
        self, candles: pd.DataFrame | Mapping[str, Any]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Reindex onto the bar grid after the last bar already seen (missing bars: NaN)."""
        opens, matrix = self._columns(candles)
        last = self._last_open_ns
        if len(opens) == 1 and last is not None and opens[0] == last + self.step_ns:
            return opens, matrix, _PRESENT  # the next bar: on the grid, nothing to reindex
        if len(opens) == 0:
            raise InvalidInput("no candles to transform")
        if (opens % self.step_ns != 0).any() or (np.diff(opens) <= 0).any():
            raise InvalidInput(
                f"candles must have increasing open times on the {self.config.timeframe} grid "
                "(set StateConfig.timeframe to the candles' timeframe)"
            )
        if last is not None and opens[0] <= last:
            raise InvalidInput(
                f"bar at {pd.Timestamp(opens[0], tz='UTC')} is not after the last one"
            )
        start = opens[0] if last is None else last + self.step_ns
        grid = np.arange(start, opens[-1] + self.step_ns, self.step_ns, dtype=np.int64)
        positions = np.searchsorted(grid, opens)
        values = np.full((len(grid), matrix.shape[1]), np.nan)
        values[positions] = matrix
        present = np.zeros(len(grid), dtype=bool)
        present[positions] = True
        return grid, values, present

    def _process(self, candles: pd.DataFrame | Mapping[str, Any]) -> StateFrame:
        grid, values, present = self._grid(candles)
        raw, returns, paid, warm = self._rows.process(grid, self.step_ns, values, present)
        self._last_open_ns = int(grid[-1])
        return StateFrame(grid + self.step_ns, raw, self.names, returns, paid, ~present, warm)

    def fit(self, frame: StateFrame, train_end: int) -> StateTransformer:
        """Normalization statistics from rows ``[0, train_end)`` of ``frame`` only."""
        rows = frame.raw[:train_end][frame.warm[:train_end] & ~frame.missing[:train_end]]
        if len(rows) < 10:
            raise InvalidInput(f"only {len(rows)} warmed-up training rows; need at least 10")
        center = np.nanmedian(rows, axis=0)
        scale = 1.4826 * np.nanmedian(np.abs(rows - center), axis=0)
        fallback = np.nanstd(rows, axis=0)
        scale = np.where(np.isfinite(scale) & (scale > 0), scale, fallback)
        scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
        center = np.where(np.isfinite(center), center, 0.0)
        self.center = np.where(self._scaled, center, 0.0)
        self.scale = np.where(self._scaled, scale, 1.0)
        return self

    def normalize(self, frame: StateFrame) -> np.ndarray:
        """X_t as float32: z-scored, winsorized at +-clip, NaN -> 0; NaN rows before warm-up."""
        norm = self._normalization
        if norm is None:
            if self.center is None or self.scale is None:
                raise InvalidInput("fit the transformer on the training split before normalize")
            norm = StateNormalization(self.center, self.scale, self._scaled, self.config.clip)
            self._normalization = norm
        return norm.apply(frame.raw, frame.warm)

    def to_json(self, *, include_live_state: bool = False) -> str:
        doc: dict[str, Any] = {
            "version": 1,
            "config": {
                k: list(v) if isinstance(v, tuple) else v for k, v in vars(self.config).items()
            },
            "names": self.names,
            "center": None if self.center is None else self.center.tolist(),
            "scale": None if self.scale is None else self.scale.tolist(),
        }
        if include_live_state:
            rows = self._rows
            doc["live"] = {
                "features": rows.features_json(),
                "last_open_ns": self._last_open_ns,
                "last_rate": rows.last_rate,
                "warm": rows.warm,
                "funding_ns": rows.funding_times_ns.tolist(),
                "funding_rate": rows.funding_rates.tolist(),
            }
        return json.dumps(doc)

    @classmethod
    def from_json(cls, text: str) -> StateTransformer:
        doc = json.loads(text)
        if doc.get("version") != 1:
            raise InvalidInput(f"unknown StateTransformer version {doc.get('version')!r}")
        config: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in doc["config"].items()
        }
        transformer = cls(StateConfig(**config))
        if doc["names"] != transformer.names:
            raise InvalidInput("saved feature names differ from what this config produces")
        if doc["center"] is not None:
            transformer.center = np.array(doc["center"], dtype=np.float64)
            transformer.scale = np.array(doc["scale"], dtype=np.float64)
        if "live" in doc:
            live = doc["live"]
            last_open = live["last_open_ns"]
            step = transformer.step_ns
            if last_open is not None and (type(last_open) is not int or last_open % step):
                raise InvalidInput(f"saved last_open_ns {last_open!r} is not on the bar grid")
            transformer._rows.restore(
                live["features"],
                np.array(live["funding_ns"], dtype=np.int64),
                np.array(live["funding_rate"], dtype=np.float64),
                live["last_rate"],
                bool(live["warm"]),
            )
            transformer._last_open_ns = last_open
        return transformer

    def save(self, path: Path, *, include_live_state: bool = False) -> None:
        path.write_text(self.to_json(include_live_state=include_live_state))

    @classmethod
    def load(cls, path: Path) -> StateTransformer:
        return cls.from_json(path.read_text())


__all__ = ["StateConfig", "StateFrame", "StateTransformer"]
