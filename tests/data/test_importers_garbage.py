"""Importers and ``read_series_file`` (training's ``data.path``) on damaged and garbage files.

Whatever the bytes, the outcome is the store's columns or one typed error naming the file:
``InvalidInput`` for a user's file, ``CorruptData``/``UnverifiedData`` for a store file. No
parser exception (``ArrowInvalid``, ``BadZipFile``, ``UnicodeDecodeError``...) escapes raw.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradtrade.data.importers import (
    read_binance_kline_csv,
    read_binance_kline_file,
    read_freqtrade_feather,
    read_series_file,
)
from gradtrade.data.store import CandleStore, SeriesKey
from gradtrade.errors import CorruptData, InvalidInput, UnverifiedData

KEY = SeriesKey("binance", "spot", "BTC/USDT", "1h")


@pytest.fixture(scope="module")
def feather_bytes(btc_1h: pd.DataFrame) -> bytes:
    sink = io.BytesIO()
    feather.write_feather(pa.Table.from_pandas(btc_1h.iloc[:300], preserve_index=False), sink)
    return sink.getvalue()


@pytest.fixture(scope="module")
def zip_bytes(btc_1h: pd.DataFrame) -> bytes:
    part = btc_1h.iloc[:300]
    ms = pd.DatetimeIndex(part["date"]).as_unit("ms").asi8
    rows = [
        f"{t},{o},{h},{lo},{c},{v},{t + 3_599_999},{v * c},10,{v / 2},{v * c / 2},0"
        for t, o, h, lo, c, v in zip(
            ms, part["open"], part["high"], part["low"], part["close"], part["volume"], strict=True
        )
    ]
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("BTCUSDT-1h-2018-01.csv", "\n".join(rows) + "\n")
    return sink.getvalue()


def test_store_parquet_paths_are_verified_like_store_reads(
    tmp_path: Path, btc_1h: pd.DataFrame
) -> None:
    store = CandleStore(tmp_path / "store")
    store.write(KEY, btc_1h.iloc[:400])
    path = store.path(KEY)
    pd.testing.assert_frame_equal(read_series_file(path, "ohlcv"), store.read(KEY))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptData, match=f"{path}: checksum mismatch"):
        read_series_file(path, "ohlcv")
    legacy = tmp_path / "mine.parquet"  # a Parquet file the store did not write
    pq.write_table(pa.Table.from_pandas(btc_1h.iloc[:400], preserve_index=False), legacy)
    with pytest.raises(UnverifiedData, match=f"{legacy}: no checksum manifest"):
        read_series_file(legacy, "ohlcv")


def test_paths_that_are_not_files_are_named(tmp_path: Path) -> None:
    folder = tmp_path / "BTC_USDT-1h.feather"
    folder.mkdir()
    with pytest.raises(InvalidInput, match=f"{folder}: not a file"):
        read_series_file(folder, "ohlcv")
    with pytest.raises(InvalidInput, match="not a file"):
        read_series_file(tmp_path / "missing.parquet", "ohlcv")
    with pytest.raises(InvalidInput, match=r"expected a freqtrade \.feather"):
        read_series_file(tmp_path / "candles.csv", "ohlcv")


def test_a_feather_without_the_funding_column_names_it(tmp_path: Path) -> None:
    path = tmp_path / "BTC_USDT_USDT-8h-funding_rate.feather"
    feather.write_feather(pa.table({"date": pa.array([0], pa.timestamp("ns", "UTC"))}), path)
    with pytest.raises(InvalidInput, match=rf"{path}: missing columns \['open'\]"):
        read_freqtrade_feather(path, "funding")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cut=st.floats(0, 1, exclude_max=True),
    flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 7)), max_size=4),
)
def test_damaged_feather_files_give_candles_or_one_invalid_input(
    tmp_path: Path, feather_bytes: bytes, cut: float, flips: list[tuple[float, int]]
) -> None:
    data = bytearray(feather_bytes[: max(1, int(cut * len(feather_bytes) * 2))])
    for where, bit in flips:
        data[int(where * len(data))] ^= 1 << bit
    path = tmp_path / "BTC_USDT-1h.feather"
    path.write_bytes(bytes(data))
    try:
        frame = read_series_file(path, "ohlcv")
    except InvalidInput as err:
        assert str(path) in str(err) and "\n" not in str(err)
    else:
        assert "date" in frame.columns  # decoded; the store's validation judges the rows


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cut=st.floats(0, 1, exclude_max=True),
    flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 7)), max_size=4),
)
def test_damaged_zips_give_candles_or_one_invalid_input(
    tmp_path: Path, zip_bytes: bytes, cut: float, flips: list[tuple[float, int]]
) -> None:
    data = bytearray(zip_bytes[: max(1, int(cut * len(zip_bytes) * 2))])
    for where, bit in flips:
        data[int(where * len(data))] ^= 1 << bit
    path = tmp_path / "BTCUSDT-1h-2018-01.zip"
    path.write_bytes(bytes(data))
    try:
        frame = read_binance_kline_file(path)
    except InvalidInput as err:
        assert str(path) in str(err) and "\n" not in str(err)
    else:
        # ZIP members carry a CRC-32: what decodes is the CSV as written.
        assert len(frame) == 300


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=400) | st.text("0123456789,.-e\nabc;", max_size=400).map(str.encode))
def test_any_bytes_as_a_kline_csv_give_candles_or_one_invalid_input(data: bytes) -> None:
    try:
        frame = read_binance_kline_csv(data, "some.csv")
    except InvalidInput as err:
        assert str(err).startswith("some.csv: ") and "\n" not in str(err)
    else:
        assert list(frame.columns)[:6] == ["date", "open", "high", "low", "close", "volume"]
