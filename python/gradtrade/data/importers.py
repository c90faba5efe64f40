"""Importers of files users already have: freqtrade feather and Binance public bulk-data CSV/ZIP.

* freqtrade (``user_data/data/binance``): ``BTC_USDT-1h.feather`` (spot),
  ``futures/BTC_USDT_USDT-1h-futures.feather`` (USD-M), ``...-mark.feather`` (mark-price
  candles), ``...-funding_rate.feather`` (funding: the rate is stored in ``open``; events are
  every 8 h whatever the name says, so funding is stored under timeframe ``8h``).
* data.binance.vision klines: ``BTCUSDT-1h-2024-01.zip`` holding one CSV with the columns
  ``open_time, open, high, low, close, volume, close_time, quote_volume, trades,
  taker_buy_base, taker_buy_quote, ignore``; header-less in most files, with a header row in
  some newer futures files; times in milliseconds, or in microseconds in spot files from 2025.
  Both are detected per row (a 16-digit epoch is microseconds).
"""

from __future__ import annotations

import importlib
import io
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gradtrade.data.store import CandleStore, SeriesKey
from gradtrade.data.validate import ValidationReport
from gradtrade.errors import InvalidInput

pa: Any = importlib.import_module("pyarrow")  # no type stubs
feather: Any = importlib.import_module("pyarrow.feather")
pq: Any = importlib.import_module("pyarrow.parquet")

BINANCE_KLINE_COLUMNS = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "trades",
    "taker_buy_base",
    "taker_buy_quote",
    "ignore",
)
_FREQTRADE_NAME = re.compile(
    r"^(?P<pair>[A-Z0-9]+_[A-Z0-9]+(?:_[A-Z0-9]+)?)-(?P<tf>\d+[smhdw])"
    r"(?:-(?P<kind>futures|mark|funding_rate|spot))?\.feather$"
)
_BINANCE_NAME = re.compile(
    r"^(?P<sym>[A-Z0-9]+)-(?P<tf>\d+[mhdw])-\d{4}-\d{2}(?:-\d{2})?\.(zip|csv)$"
)
# An epoch in microseconds has 16 digits until 2286; in milliseconds, 13 digits.
_MICROSECOND_THRESHOLD = 10**14


def parse_freqtrade_name(path: Path, exchange: str = "binance") -> SeriesKey:
    """The series a freqtrade feather file holds, from its name."""
    match = _FREQTRADE_NAME.match(path.name)
    if not match:
        raise InvalidInput(
            f"{path.name!r} is not a freqtrade file name like BTC_USDT-1h.feather or "
            "BTC_USDT_USDT-1h-futures.feather"
        )
    parts = match["pair"].split("_")
    kind_name = match["kind"] or "spot"
    futures = len(parts) == 3 or kind_name in ("futures", "mark", "funding_rate")
    if futures and len(parts) != 3:
        raise InvalidInput(f"{path.name!r}: a futures file needs a BASE_QUOTE_SETTLE pair")
    symbol = f"{parts[0]}/{parts[1]}" + (f":{parts[2]}" if futures else "")
    kind = {"futures": "ohlcv", "spot": "ohlcv", "mark": "mark", "funding_rate": "funding"}[
        kind_name
    ]
    timeframe = "8h" if kind == "funding" else match["tf"]
    return SeriesKey(exchange, "usdm" if futures else "spot", symbol, timeframe, kind)


FEATHER_COLUMNS = ("date", "open", "high", "low", "close", "volume")


def read_freqtrade_table(path: Path) -> Any:
    """A freqtrade feather file as an Arrow table with ``date`` in UTC nanoseconds, checked:
    an unreadable file, a missing column or a non-timestamp ``date`` raises naming the file."""
    try:
        table = feather.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise InvalidInput(f"{path}: not a readable feather file ({exc})") from exc
    missing = set(FEATHER_COLUMNS) - set(table.column_names)
    if missing:
        raise InvalidInput(f"{path}: missing columns {sorted(missing)}")
    try:
        dates = table.column("date").cast(pa.timestamp("ns", tz="UTC"))
    except pa.ArrowException as exc:
        raise InvalidInput(f"{path}: column 'date' is not a timestamp ({exc})") from exc
    return table.set_column(table.column_names.index("date"), "date", dates)


def read_freqtrade_feather(path: Path, kind: str) -> pd.DataFrame:
    """Candles (``date`` + OHLCV) or, for ``kind == "funding"``, ``date`` + ``rate`` (freqtrade
    keeps the funding rate in ``open``)."""
    frame = read_freqtrade_table(path).to_pandas()
    if kind == "funding":
        return pd.DataFrame({"date": frame["date"], "rate": frame["open"]})
    return frame


def read_series_file(path: Path, kind: str) -> pd.DataFrame:
    """Candles (or funding) from a freqtrade ``.feather`` file or a store ``.parquet`` file.

    Both give the store's columns (``date`` + OHLCV, or ``date`` + ``rate``), so training can read
    what ``gradtrade download`` stored as well as files users already have.
    """
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pandas()
    if path.suffix == ".feather":
        return read_freqtrade_feather(path, kind)
    raise InvalidInput(f"{path}: expected a freqtrade .feather or a store .parquet file")


def import_freqtrade(
    store: CandleStore, path: Path, *, key: SeriesKey | None = None, exchange: str = "binance"
) -> ValidationReport:
    """Import one freqtrade feather file (series taken from the name unless ``key`` is given)."""
    key = key or parse_freqtrade_name(path, exchange)
    return store.write(key, read_freqtrade_feather(path, key.kind))


def _epoch_to_utc(values: np.ndarray) -> pd.DatetimeIndex:
    ints = values.astype(np.int64)
    ns = np.where(ints >= _MICROSECOND_THRESHOLD, ints * 1_000, ints * 1_000_000)
    return pd.DatetimeIndex(pd.to_datetime(ns, utc=True))


def read_binance_kline_csv(data: bytes, name: str = "<csv>") -> pd.DataFrame:
    """Parse one data.binance.vision kline CSV (bytes) into the store's candle columns."""
    text = data.decode("ascii", errors="strict")
    first = text.split("\n", 1)[0]
    has_header = bool(first) and not first.split(",")[0].strip().isdigit()
    raw = pd.read_csv(
        io.StringIO(text),
        header=None,
        skiprows=1 if has_header else 0,
        names=list(BINANCE_KLINE_COLUMNS),
        dtype={"open_time": np.int64, "close_time": np.int64},
    )
    if raw.empty:
        raise InvalidInput(f"{name}: no klines")
    return pd.DataFrame(
        {
            "date": _epoch_to_utc(raw["open_time"].to_numpy()),
            "open": raw["open"],
            "high": raw["high"],
            "low": raw["low"],
            "close": raw["close"],
            "volume": raw["volume"],
            "quote_volume": raw["quote_volume"],
            "trades": raw["trades"].astype(np.float64),
            "taker_buy_base": raw["taker_buy_base"],
            "taker_buy_quote": raw["taker_buy_quote"],
        }
    )


def read_binance_kline_file(path: Path) -> pd.DataFrame:
    """A ``.zip`` (every CSV inside, concatenated) or a bare ``.csv`` from data.binance.vision."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.namelist() if m.endswith(".csv")]
            if not members:
                raise InvalidInput(f"{path.name}: the archive holds no .csv file")
            frames = [read_binance_kline_csv(archive.read(m), m) for m in members]
        return pd.concat(frames, ignore_index=True)
    return read_binance_kline_csv(path.read_bytes(), path.name)


def import_binance_klines(
    store: CandleStore,
    path: Path,
    *,
    market: str,
    symbol: str,
    timeframe: str | None = None,
    exchange: str = "binance",
    kind: str = "ohlcv",
) -> ValidationReport:
    """Import a data.binance.vision kline ZIP/CSV. The file name gives the timeframe when it
    follows Binance's ``BTCUSDT-1h-2024-01.zip``; the ccxt ``symbol`` must be given because
    'BTCUSDT' does not say where the base ends."""
    match = _BINANCE_NAME.match(path.name)
    timeframe = timeframe or (match["tf"] if match else None)
    if timeframe is None:
        raise InvalidInput(f"{path.name}: give the timeframe (the name is not SYMBOL-TF-YYYY-MM)")
    if match and match["sym"] != symbol.split(":")[0].replace("/", ""):
        raise InvalidInput(f"{path.name} holds {match['sym']}, not {symbol}")
    key = SeriesKey(exchange, market, symbol, timeframe, kind)
    return store.write(key, read_binance_kline_file(path))


__all__ = [
    "BINANCE_KLINE_COLUMNS",
    "import_binance_klines",
    "import_freqtrade",
    "parse_freqtrade_name",
    "read_binance_kline_csv",
    "read_binance_kline_file",
    "read_freqtrade_feather",
    "read_freqtrade_table",
]
