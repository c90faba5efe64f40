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

Whatever a file holds, reading it either returns the store's columns or raises ``InvalidInput``
naming the file and the problem in one line (a truncated or garbage feather, ZIP or CSV included):
no parser exception escapes raw. Store ``.parquet`` files are read through the store, so they are
verified against their checksum (``CorruptData``, ``UnverifiedData``).
"""

from __future__ import annotations

import importlib
import io
import re
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gradtrade.data.store import CandleStore, SeriesKey, error_text, read_store_file
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
_HEADER_FIELD = re.compile(r"^[A-Za-z_][A-Za-z_ ]*$")
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


def _parsed(path: Path | str, what: str, parse: Callable[[], Any]) -> Any:
    """``parse()``, with any failure of the parsers turned into one ``InvalidInput`` line."""
    try:
        return parse()
    except InvalidInput:
        raise
    except (
        pa.ArrowException,
        OSError,
        EOFError,
        zipfile.BadZipFile,
        zlib.error,
        pd.errors.ParserError,
        pd.errors.EmptyDataError,
        UnicodeDecodeError,
        ValueError,
        TypeError,
        KeyError,
        OverflowError,
    ) as exc:
        raise InvalidInput(f"{path}: not a readable {what} ({error_text(exc)})") from None


def read_freqtrade_table(path: Path, columns: tuple[str, ...] = FEATHER_COLUMNS) -> Any:
    """A freqtrade feather file as an Arrow table with ``date`` in UTC nanoseconds, checked:
    an unreadable file, a missing column or a non-timestamp ``date`` raises naming the file."""
    table = _parsed(path, "feather (Arrow IPC) file", lambda: feather.read_table(path))
    missing = set(columns) - set(table.column_names)
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
    needed = ("date", "open") if kind == "funding" else FEATHER_COLUMNS
    frame = _parsed(
        path, "feather (Arrow IPC) file", lambda: read_freqtrade_table(path, needed).to_pandas()
    )
    if kind == "funding":
        return pd.DataFrame({"date": frame["date"], "rate": frame["open"]})
    return frame


def read_series_file(path: Path, kind: str) -> pd.DataFrame:
    """Candles (or funding) from a freqtrade ``.feather`` file or a store ``.parquet`` file.

    Both give the store's columns (``date`` + OHLCV, or ``date`` + ``rate``), so training can read
    what ``gradtrade download`` stored as well as files users already have. A ``.parquet`` file
    must be a store file with its checksum manifest (see :mod:`gradtrade.data.store`).
    """
    if path.suffix not in (".parquet", ".feather"):
        raise InvalidInput(f"{path}: expected a freqtrade .feather or a store .parquet file")
    if not path.is_file():
        raise InvalidInput(f"{path}: not a file")
    if path.suffix == ".parquet":
        return read_store_file(path, kind)
    return read_freqtrade_feather(path, kind)


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
    return _parsed(name, "Binance kline CSV", lambda: _parse_kline_csv(data, name))


def _parse_kline_csv(data: bytes, name: str) -> pd.DataFrame:
    text = data.decode("ascii", errors="strict")
    if not text.strip():
        raise InvalidInput(f"{name}: no klines (the file is empty)")
    first = text.lstrip("\n").split("\n", 1)[0]
    first_field = first.split(",")[0].strip()
    if not first_field.isdigit() and not _HEADER_FIELD.match(first_field):
        raise InvalidInput(f"{name}: line 1 is neither a kline row nor a header: {first[:60]!r}")
    # Without names, pandas takes the column count from the first row and refuses a row with
    # more fields; with 12 names it would silently shift such a row into an index.
    raw = pd.read_csv(
        io.StringIO(text),
        header=None,
        skiprows=0 if first_field.isdigit() else 1,
        dtype={0: np.int64, 6: np.int64},
    )
    if raw.empty:
        raise InvalidInput(f"{name}: no klines")
    if raw.shape[1] != len(BINANCE_KLINE_COLUMNS):
        raise InvalidInput(
            f"{name}: {raw.shape[1]} columns; a Binance kline CSV has "
            f"{len(BINANCE_KLINE_COLUMNS)} ({', '.join(BINANCE_KLINE_COLUMNS)})"
        )
    raw.columns = list(BINANCE_KLINE_COLUMNS)
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
        return _parsed(path, "ZIP archive", lambda: _read_kline_zip(path))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot be read ({error_text(exc)})") from None
    return read_binance_kline_csv(data, str(path))


def _read_kline_zip(path: Path) -> pd.DataFrame:
    with zipfile.ZipFile(path) as archive:
        members = [m for m in archive.namelist() if m.endswith(".csv")]
        if not members:
            raise InvalidInput(f"{path}: the archive holds no .csv file")
        frames = [read_binance_kline_csv(archive.read(m), f"{path}:{m}") for m in members]
    return pd.concat(frames, ignore_index=True)


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
