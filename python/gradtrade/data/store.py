"""The historical store: one Parquet file per series, partitioned exchange/market/symbol/timeframe.

Series are candles (``kind="ohlcv"``), mark-price candles (``"mark"``) or funding rates
(``"funding"``); a file is ``<root>/<exchange>/<market>/<SYMBOL>/<timeframe>/<kind>.parquet``
with ``date`` the UTC open time (ns). Invariants:

* a write is atomic: the merged series goes to a temporary file in the same directory, is
  fsynced, then ``os.replace``-d over the old one, so readers see the old or the new file, never
  half of one; a lock file serializes writers of one series;
* a write is idempotent: incoming rows are merged on ``date`` (a stored row with the same date is
  replaced by the incoming one), so writing the same candles twice stores them once;
* every write validates its rows (:mod:`gradtrade.data.validate`) and returns the report, which
  it also logs.
"""

from __future__ import annotations

import fcntl
import importlib
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gradtrade.data.validate import ValidationReport, validate_frame
from gradtrade.errors import InvalidInput
from gradtrade.timeframes import timeframe_ns

# pyarrow ships no type stubs; the project's mypy config does not list it as untyped.
pa: Any = importlib.import_module("pyarrow")
pq: Any = importlib.import_module("pyarrow.parquet")

KINDS = ("ohlcv", "mark", "funding")
MARKETS = ("spot", "usdm")


def symbol_dir(symbol: str) -> str:
    """ccxt's 'BTC/USDT' or 'BTC/USDT:USDT' as a directory name: 'BTC_USDT', 'BTC_USDT_USDT'."""
    if not re.fullmatch(r"[A-Za-z0-9]+(/[A-Za-z0-9]+(:[A-Za-z0-9]+)?)?", symbol):
        raise InvalidInput(f"symbol {symbol!r} is not like BTC/USDT or BTC/USDT:USDT")
    return symbol.upper().replace("/", "_").replace(":", "_")


@dataclass(frozen=True, order=True)
class SeriesKey:
    """Which series: exchange id, market ("spot" or "usdm"), ccxt symbol, timeframe, kind."""

    exchange: str
    market: str
    symbol: str
    timeframe: str
    kind: str = "ohlcv"

    def __post_init__(self) -> None:
        if self.market not in MARKETS:
            raise InvalidInput(f"market {self.market!r} is not one of {MARKETS}")
        if self.kind not in KINDS:
            raise InvalidInput(f"kind {self.kind!r} is not one of {KINDS}")
        if not re.fullmatch(r"[a-z0-9_.-]+", self.exchange):
            raise InvalidInput(f"exchange {self.exchange!r} must be a lower-case identifier")
        symbol_dir(self.symbol)
        timeframe_ns(self.timeframe)

    @property
    def step_ns(self) -> int:
        return timeframe_ns(self.timeframe)

    def relative_path(self) -> Path:
        parts = (self.exchange, self.market, symbol_dir(self.symbol), self.timeframe)
        return Path(*parts) / f"{self.kind}.parquet"

    def __str__(self) -> str:
        return f"{self.exchange}/{self.market}/{self.symbol}/{self.timeframe}/{self.kind}"


@dataclass(frozen=True)
class Gap:
    """Missing bars between two stored ones: ``after`` and ``before`` are the stored neighbours."""

    after: pd.Timestamp
    before: pd.Timestamp
    missing: int


@dataclass(frozen=True)
class Coverage:
    key: SeriesKey
    rows: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    gaps: list[Gap]

    @property
    def missing(self) -> int:
        return sum(g.missing for g in self.gaps)


def find_gaps(
    dates: pd.Series | pd.DatetimeIndex, step_ns: int, *, funding: bool = False
) -> list[Gap]:
    """Gaps in sorted dates. Funding events jitter by milliseconds, so a funding gap is a step
    of more than 1.5 intervals; candles sit exactly on the grid."""
    ns = pd.DatetimeIndex(dates).as_unit("ns").asi8
    if len(ns) < 2:
        return []
    diffs = np.diff(ns)
    limit = step_ns * 3 // 2 if funding else step_ns
    where = np.flatnonzero(diffs > limit)
    index = pd.DatetimeIndex(dates)
    gaps = []
    for i in where.tolist():
        missing = round(diffs[i] / step_ns) - 1 if funding else int(diffs[i] // step_ns) - 1
        gaps.append(Gap(index[i], index[i + 1], missing))
    return gaps


class CandleStore:
    """Parquet store rooted at ``root`` (created on first write)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def path(self, key: SeriesKey) -> Path:
        return self.root / key.relative_path()

    def read(
        self, key: SeriesKey, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None
    ) -> pd.DataFrame:
        """Stored rows of ``key`` with ``start <= date < end`` (an empty frame if none)."""
        path = self.path(key)
        if not path.exists():
            columns = (
                ["date", "rate"]
                if key.kind == "funding"
                else ["date", "open", "high", "low", "close", "volume"]
            )
            return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns}).assign(
                date=pd.Series(dtype="datetime64[ns, UTC]")
            )
        frame = pq.read_table(path).to_pandas()
        if start is not None:
            frame = frame.loc[frame["date"] >= pd.Timestamp(start)]
        if end is not None:
            frame = frame.loc[frame["date"] < pd.Timestamp(end)]
        return frame.reset_index(drop=True)

    def last_date(self, key: SeriesKey) -> pd.Timestamp | None:
        path = self.path(key)
        if not path.exists():
            return None
        dates = pq.read_table(path, columns=["date"]).column("date")
        return None if len(dates) == 0 else pd.Timestamp(dates[-1].as_py())

    def write(self, key: SeriesKey, frame: pd.DataFrame) -> ValidationReport:
        """Validate ``frame``, merge it into the stored series on ``date`` and replace the file
        atomically. Returns (and logs) the report of what was new, updated, repaired, rejected."""
        report = ValidationReport(series=str(key))
        clean = validate_frame(frame, kind=key.kind, step_ns=key.step_ns, report=report)
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._locked(path):
            old = self.read(key)
            merged = self._merge(old, clean, report)
            if report.rows_new or report.rows_updated:
                self._replace(path, merged)
        report.log()
        return report

    @staticmethod
    def _merge(old: pd.DataFrame, new: pd.DataFrame, report: ValidationReport) -> pd.DataFrame:
        if old.empty:
            report.rows_new = len(new)
            return new
        old_ns = pd.DatetimeIndex(old["date"]).as_unit("ns").asi8
        new_ns = pd.DatetimeIndex(new["date"]).as_unit("ns").asi8
        if len(new_ns) == 0 or new_ns[0] > old_ns[-1]:  # a pure append: the common case
            report.rows_new = len(new)
            return pd.concat([old, new], ignore_index=True)
        # Both sides are sorted and unique: locate matches with searchsorted, not hashing.
        pos = np.minimum(np.searchsorted(old_ns, new_ns), len(old_ns) - 1)
        overlap = old_ns[pos] == new_ns
        report.rows_new = int((~overlap).sum())
        if overlap.any():
            columns = [c for c in new.columns if c in old.columns and c != "date"]
            before = old.iloc[pos[overlap]][columns].to_numpy()
            after = new.loc[overlap, columns].to_numpy()
            same = (before == after) | (np.isnan(before) & np.isnan(after))
            report.rows_unchanged = int(same.all(axis=1).sum())
            report.rows_updated = int(overlap.sum()) - report.rows_unchanged
        replaced = np.zeros(len(old_ns), dtype=bool)
        replaced[pos[overlap]] = True
        kept = old.loc[~replaced]
        merged = pd.concat([kept, new], ignore_index=True) if len(kept) else new
        return merged.sort_values("date", kind="stable").reset_index(drop=True)

    @staticmethod
    def _replace(path: Path, frame: pd.DataFrame) -> None:
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
        try:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            pq.write_table(table, tmp)
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    @contextmanager
    def _locked(self, path: Path) -> Iterator[None]:
        with open(path.with_name(f".{path.name}.lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def series(self) -> list[SeriesKey]:
        """Every stored series, sorted."""
        keys = []
        for path in self.root.glob("*/*/*/*/*.parquet"):
            exchange, market, sym, timeframe = path.relative_to(self.root).parts[:4]
            symbol = sym.replace("_", "/", 1)
            if market == "usdm" and symbol.count("_") == 1:
                symbol = symbol.replace("_", ":", 1)
            try:
                keys.append(SeriesKey(exchange, market, symbol, timeframe, path.stem))
            except InvalidInput:
                continue  # not a file of ours
        return sorted(keys)

    def coverage(self, key: SeriesKey) -> Coverage:
        dates = pd.DatetimeIndex(self.read(key)["date"])
        if len(dates) == 0:
            return Coverage(key, 0, None, None, [])
        gaps = find_gaps(dates, key.step_ns, funding=key.kind == "funding")
        return Coverage(key, len(dates), dates[0], dates[-1], gaps)


__all__ = [
    "KINDS",
    "MARKETS",
    "CandleStore",
    "Coverage",
    "Gap",
    "SeriesKey",
    "find_gaps",
    "symbol_dir",
]
