"""Kline and funding-rate series as served by the REST API, loaded from freqtrade feather files.

Files follow freqtrade's layout (``date`` + OHLCV; funding rate in ``open``). The file name says
what the file holds: ``BTC_USDT-1h.feather`` (spot klines), ``BTC_USDT_USDT-1h-futures.feather``
(USD-M klines), ``...-mark.feather`` (mark-price klines) and ``...-funding_rate.feather``.
Values are served as Binance does, fixed-width decimal text at the symbol's precision (spot
``"61830.01000000"``; USD-M ``"61830.10"``); Binance's own numbers have at most that many decimals,
so a client parsing the text gets back the file's float64 values bit for bit.
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


def fixed(x: float, decimals: int) -> str:
    """Binance's number text: fixed ``decimals`` places, ``"0.00000000"`` for zero, no "-0"."""
    text = f"{float(x):.{decimals}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


WEEK_OFFSET_MS = 4 * 86_400_000  # Binance's weekly candles open on Mondays; 1970-01-01 was a Thu
WEEK_MS = 7 * 86_400_000


def bucket_start(t_ms: np.ndarray | int, interval_ms: int) -> np.ndarray | int:
    """Open time of the ``interval_ms`` candle holding ``t_ms`` (epoch-aligned; weeks on Monday)."""
    offset = WEEK_OFFSET_MS if interval_ms == WEEK_MS else 0
    return (t_ms - offset) // interval_ms * interval_ms + offset


@dataclass(frozen=True)
class Numbers:
    """Decimal places of one symbol's prices, quantities and quote amounts as Binance prints
    them (spot: the asset precisions, 8 for USDT pairs; USD-M: ``pricePrecision`` /
    ``quantityPrecision``)."""

    price: int = 8
    qty: int = 8
    quote: int = 8

    def px(self, x: float) -> str:
        return fixed(x, self.price)

    def q(self, x: float) -> str:
        return fixed(x, self.qty)

    def quote_amount(self, x: float) -> str:
        return fixed(x, self.quote)


@dataclass
class KlineSeries:
    """Closed candles of one symbol and interval: open times (ms, ascending, unique), OHLCV and
    the other kline columns (quote volume, trade count, taker buy base and quote volume; derived
    from OHLCV for history files, exact for candles the live market closed)."""

    interval_ms: int
    open_ms: np.ndarray
    ohlcv: np.ndarray  # shape (n, 5) float64
    more: np.ndarray | None = None  # shape (n, 4) float64, or None: derived from ohlcv
    numbers: Numbers = field(default_factory=Numbers)
    _rows: list[bytes | None] | None = field(default=None, repr=False)

    def extra(self) -> np.ndarray:
        """The (n, 4) quote volume / trades / taker buy base / taker buy quote columns."""
        if self.more is None:
            o, h, low, c, v = (self.ohlcv[:, i] for i in range(5))
            quote = v * (o + h + low + c) / 4.0
            self.more = np.column_stack([quote, np.zeros(len(v)), v / 2.0, quote / 2.0])
        return self.more

    def rows(self, lo: int, hi: int) -> list[bytes]:
        """Serialized Binance kline rows ``lo:hi``; each row is serialized once, when first
        asked for, so a repeated request only joins bytes."""
        n = len(self.open_ms)
        if self._rows is None:
            self._rows = [None] * n
        cache, extra = self._rows, self.extra()
        lo, hi = max(0, min(lo, n)), max(0, min(hi, n))
        for i in range(lo, hi):
            if cache[i] is None:
                t = int(self.open_ms[i])
                cache[i] = orjson.dumps(kline_row(self, t, self.ohlcv[i], extra[i]))
        return [row for row in cache[lo:hi] if row is not None]

    def append(self, open_ms: int, ohlcv: np.ndarray, more: np.ndarray) -> None:
        """Add one closed candle after the last one (the live market closed it)."""
        if len(self.open_ms) and open_ms <= int(self.open_ms[-1]):
            raise InvalidInput(f"candle {open_ms} does not follow {int(self.open_ms[-1])}")
        extra = self.extra()
        self.open_ms = np.r_[self.open_ms, np.int64(open_ms)]
        self.ohlcv = np.vstack([self.ohlcv, ohlcv[None, :]])
        self.more = np.vstack([extra, more[None, :]])
        if self._rows is not None:
            self._rows.append(None)

    def window(self, start: int | None, end: int | None, limit: int) -> tuple[int, int]:
        """Binance's selection: from ``start`` forward, else the last ``limit`` up to ``end``."""
        n = len(self.open_ms)
        hi = n if end is None else int(np.searchsorted(self.open_ms, end, side="right"))
        if start is not None:
            lo = int(np.searchsorted(self.open_ms, start, side="left"))
            return lo, max(lo, min(hi, lo + limit))
        return max(0, hi - limit), hi

    def resample(self, interval_ms: int) -> KlineSeries:
        """Aggregate to a coarser interval (Binance's buckets; partial buckets kept)."""
        if interval_ms % self.interval_ms:
            raise InvalidInput(f"cannot build {interval_ms} ms candles from {self.interval_ms} ms")
        bucket = np.asarray(bucket_start(self.open_ms, interval_ms))
        if not len(bucket):
            return KlineSeries(interval_ms, bucket, np.empty((0, 5)), numbers=self.numbers)
        starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
        ends = np.r_[starts[1:], len(bucket)]
        x = self.ohlcv
        out = np.empty((len(starts), 5))
        out[:, 0] = x[starts, 0]
        out[:, 1] = np.maximum.reduceat(x[:, 1], starts)
        out[:, 2] = np.minimum.reduceat(x[:, 2], starts)
        out[:, 3] = x[ends - 1, 3]
        out[:, 4] = np.add.reduceat(x[:, 4], starts)
        more = np.add.reduceat(self.extra(), starts, axis=0)
        return KlineSeries(interval_ms, bucket[starts].copy(), out, more, self.numbers)


def kline_row(s: KlineSeries, t: int, ohlcv: np.ndarray, more: np.ndarray) -> list[object]:
    """One REST kline row as Binance sends it."""
    n = s.numbers
    o, h, low, c, v = (float(x) for x in ohlcv)
    quote, trades, taker_base, taker_quote = (float(x) for x in more)
    return [
        t,
        n.px(o),
        n.px(h),
        n.px(low),
        n.px(c),
        n.q(v),
        t + s.interval_ms - 1,
        n.quote_amount(quote),
        int(trades),
        n.q(taker_base),
        n.quote_amount(taker_quote),
        "0",
    ]


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
