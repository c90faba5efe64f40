"""Kline and funding-rate series as served by the REST API, loaded from freqtrade feather files.

Files follow freqtrade's layout (``date`` + OHLCV; funding rate in ``open``). The file name says
what the file holds: ``BTC_USDT-1h.feather`` (spot klines), ``BTC_USDT_USDT-1h-futures.feather``
(USD-M klines), ``...-mark.feather`` (mark-price klines) and ``...-funding_rate.feather``.
Values are served as the shortest decimal text that round-trips to the stored float64, so a
client parsing them gets back the file's numbers bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson

from gradtrade.data.importers import FEATHER_COLUMNS, parse_freqtrade_name, read_freqtrade_table
from gradtrade.errors import InvalidInput
from gradtrade.timeframes import INTERVAL_MS


def fmt(x: float) -> str:
    """Shortest decimal text that parses back to exactly ``x`` (never scientific notation)."""
    text = repr(float(x))
    if "e" in text or "E" in text:
        return np.format_float_positional(x, unique=True, trim="-")
    return text


@dataclass
class KlineSeries:
    """Candles of one symbol and interval: open times (ms, ascending, unique) and OHLCV."""

    interval_ms: int
    open_ms: np.ndarray
    ohlcv: np.ndarray  # shape (n, 5) float64
    _rows: list[bytes] | None = field(default=None, repr=False)

    def rows_json(self, lo: int, hi: int) -> bytes:
        """The JSON array of Binance kline rows ``lo:hi``; each row is serialized once, on first
        use of the series, so a request only joins bytes."""
        if self._rows is None:
            self._rows = [orjson.dumps(self._row(i)) for i in range(len(self.open_ms))]
        return b"[" + b",".join(self._rows[lo:hi]) + b"]"

    def _row(self, i: int) -> list[object]:
        t = int(self.open_ms[i])
        o, h, low, c, v = (float(x) for x in self.ohlcv[i])
        quote = v * (o + h + low + c) / 4.0
        return [
            t,
            fmt(o),
            fmt(h),
            fmt(low),
            fmt(c),
            fmt(v),
            t + self.interval_ms - 1,
            fmt(quote),
            0,
            fmt(v / 2.0),
            fmt(quote / 2.0),
            "0",
        ]

    def window(self, start: int | None, end: int | None, limit: int) -> tuple[int, int]:
        """Binance's selection: from ``start`` forward, else the last ``limit`` up to ``end``."""
        n = len(self.open_ms)
        hi = n if end is None else int(np.searchsorted(self.open_ms, end, side="right"))
        if start is not None:
            lo = int(np.searchsorted(self.open_ms, start, side="left"))
            return lo, max(lo, min(hi, lo + limit))
        return max(0, hi - limit), hi

    def resample(self, interval_ms: int) -> KlineSeries:
        """Aggregate to a coarser interval (epoch-aligned buckets; partial buckets kept)."""
        if interval_ms % self.interval_ms:
            raise InvalidInput(f"cannot build {interval_ms} ms candles from {self.interval_ms} ms")
        bucket = self.open_ms // interval_ms * interval_ms
        starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
        ends = np.r_[starts[1:], len(bucket)]
        x = self.ohlcv
        out = np.empty((len(starts), 5))
        out[:, 0] = x[starts, 0]
        out[:, 1] = np.maximum.reduceat(x[:, 1], starts)
        out[:, 2] = np.minimum.reduceat(x[:, 2], starts)
        out[:, 3] = x[ends - 1, 3]
        out[:, 4] = np.add.reduceat(x[:, 4], starts)
        return KlineSeries(interval_ms, bucket[starts].copy(), out)


@dataclass
class FundingSeries:
    """Funding events of one perpetual: event times (ms) and rates."""

    time_ms: np.ndarray
    rate: np.ndarray


@dataclass
class SeriesFile:
    """What one feather file holds, parsed from its name."""

    symbol: str
    base: str
    quote: str
    venue: str  # "spot" or "usdm"
    kind: str  # "klines", "mark" or "funding"
    interval: str
    path: Path


def describe_file(path: Path) -> SeriesFile:
    """What a freqtrade feather file holds, from its name (the data layer's one parser)."""
    key = parse_freqtrade_name(path)
    base, quote = key.symbol.split(":")[0].split("/")
    kind = {"ohlcv": "klines", "mark": "mark", "funding": "funding"}[key.kind]
    if key.timeframe not in INTERVAL_MS:
        raise InvalidInput(f"{path}: unsupported interval {key.timeframe}")
    return SeriesFile(base + quote, base, quote, key.market, kind, key.timeframe, path)


def read_feather(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """(times in ms, (n, 5) OHLCV) from a freqtrade feather file, sorted by time."""
    table = read_freqtrade_table(path)
    dates = table.column("date").to_numpy()
    ms = dates.astype("datetime64[ns]").astype(np.int64) // 1_000_000
    cols = [table.column(c).to_numpy().astype(np.float64) for c in FEATHER_COLUMNS[1:]]
    values = np.column_stack(cols) if len(ms) else np.empty((0, 5))
    order = np.argsort(ms, kind="stable")
    return ms[order], values[order]


def merge(
    old: tuple[np.ndarray, np.ndarray] | None, new: tuple[np.ndarray, np.ndarray], tol_ms: int
) -> tuple[np.ndarray, np.ndarray]:
    """Union of two series; where both have an event within ``tol_ms``, the first one wins."""
    t_new, v_new = new
    keep = np.r_[True, np.diff(t_new) > 0]
    t_new, v_new = t_new[keep], v_new[keep]
    if old is None:
        return t_new, v_new
    t_old, v_old = old
    pos = np.searchsorted(t_old, t_new)
    near = np.zeros(len(t_new), dtype=bool)
    for shift in (0, 1):
        idx = np.clip(pos - shift, 0, max(len(t_old) - 1, 0))
        if len(t_old):
            near |= np.abs(t_old[idx] - t_new) < max(tol_ms, 1)
    t = np.r_[t_old, t_new[~near]]
    v = np.r_[v_old, v_new[~near]]
    order = np.argsort(t, kind="stable")
    return t[order], v[order]
