"""Binance data.binance.vision kline ZIP/CSV import, from real rows of the 1m BTC file."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gradtrade.data.importers import import_binance_klines, parse_freqtrade_name
from gradtrade.data.store import CandleStore, SeriesKey
from gradtrade.errors import InvalidInput

MINUTE_MS = 60_000


def binance_csv(frame: pd.DataFrame, *, micros: bool, header: bool) -> str:
    """Rows in Binance's bulk layout; quote volume etc. derived so the columns are plausible."""
    open_ms = pd.DatetimeIndex(frame["date"]).as_unit("ms").asi8
    scale = 1000 if micros else 1
    lines = []
    if header:
        lines.append(
            "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
            "taker_buy_volume,taker_buy_quote_volume,ignore"
        )
    for t, o, h, lo, c, v in zip(
        open_ms,
        frame["open"],
        frame["high"],
        frame["low"],
        frame["close"],
        frame["volume"],
        strict=True,
    ):
        close_time = (t + MINUTE_MS - 1) * scale + (999 if micros else 0)
        lines.append(
            f"{t * scale},{o!r},{h!r},{lo!r},{c!r},{v!r},{close_time},{v * c!r},42,"
            f"{v / 2!r},{v * c / 2!r},0"
        )
    return "\n".join(lines) + "\n"


def write_zip(path: Path, csv_text: str) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(path.with_suffix(".csv").name, csv_text)
    return path


def test_millisecond_and_microsecond_zips_import_to_the_same_candles(
    tmp_path: Path, btc_1m: pd.DataFrame
) -> None:
    may = btc_1m.loc[btc_1m["date"] < "2025-05-22"]
    june = btc_1m.loc[(btc_1m["date"] >= "2025-06-01") & (btc_1m["date"] < "2025-06-03")]
    ms_zip = write_zip(
        tmp_path / "BTCUSDT-1m-2025-05.zip", binance_csv(may, micros=False, header=False)
    )
    us_zip = write_zip(
        tmp_path / "BTCUSDT-1m-2025-06.zip", binance_csv(june, micros=True, header=True)
    )
    store = CandleStore(tmp_path / "store")
    key = SeriesKey("binance", "spot", "BTC/USDT", "1m")
    for path in (ms_zip, us_zip, ms_zip):  # the repeat proves idempotence
        report = import_binance_klines(store, path, market="spot", symbol="BTC/USDT")
        assert report.n_rejected == 0 and not report.repaired
    assert report.rows_new == 0 and report.rows_unchanged == len(may)
    stored = store.read(key)
    source = pd.concat([may, june], ignore_index=True)
    np.testing.assert_array_equal(
        pd.DatetimeIndex(stored["date"]).asi8, pd.DatetimeIndex(source["date"]).as_unit("ns").asi8
    )
    cols = ["open", "high", "low", "close", "volume"]
    np.testing.assert_array_equal(stored[cols].to_numpy(), source[cols].to_numpy())
    np.testing.assert_array_equal(stored["trades"].to_numpy(), 42.0)
    gaps = store.coverage(key).gaps
    assert len(gaps) == 1 and gaps[0].missing == 10 * 1440  # May 22 .. May 31 not imported


def test_wrong_symbol_or_unknown_layout_is_refused(tmp_path: Path, btc_1m: pd.DataFrame) -> None:
    path = write_zip(
        tmp_path / "ETHUSDT-1m-2025-05.zip",
        binance_csv(btc_1m.iloc[:5], micros=False, header=False),
    )
    store = CandleStore(tmp_path / "store")
    with pytest.raises(InvalidInput, match="ETHUSDT"):
        import_binance_klines(store, path, market="spot", symbol="BTC/USDT")
    odd = tmp_path / "klines.csv"
    odd.write_text(binance_csv(btc_1m.iloc[:5], micros=False, header=False))
    with pytest.raises(InvalidInput, match="timeframe"):
        import_binance_klines(store, odd, market="spot", symbol="BTC/USDT")
    report = import_binance_klines(store, odd, market="spot", symbol="BTC/USDT", timeframe="1m")
    assert report.rows_new == 5
    with pytest.raises(InvalidInput, match="freqtrade"):
        parse_freqtrade_name(Path("BTCUSDT.feather"))
