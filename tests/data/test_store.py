"""Parquet store: round trips of the real files, idempotent atomic merges, reported validation."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from gradtrade.cli import main
from gradtrade.data.importers import import_freqtrade, parse_freqtrade_name
from gradtrade.data.store import CandleStore, SeriesKey
from gradtrade.errors import InvalidInput

OHLCV = ["open", "high", "low", "close", "volume"]
BTC_1M = SeriesKey("binance", "spot", "BTC/USDT", "1m")


def ns_dates(frame: pd.DataFrame) -> np.ndarray:
    return pd.DatetimeIndex(frame["date"]).as_unit("ns").asi8


def assert_same_candles(stored: pd.DataFrame, source: pd.DataFrame) -> None:
    assert len(stored) == len(source)
    np.testing.assert_array_equal(ns_dates(stored), ns_dates(source))
    np.testing.assert_array_equal(stored[OHLCV].to_numpy(), source[OHLCV].to_numpy())


@pytest.mark.parametrize(
    "relative",
    [
        "spot/BTC_USDT-1h.feather",
        "futures/BTC_USDT_USDT-1h-futures.feather",
        "futures/BTC_USDT_USDT-1h-mark.feather",
    ],
)
def test_real_files_round_trip_exactly(tmp_path: Path, data_dir: Path, relative: str) -> None:
    store = CandleStore(tmp_path)
    path = data_dir / "klines" / relative
    report = import_freqtrade(store, path)
    assert report.clean and report.n_rejected == 0
    key = parse_freqtrade_name(path)
    source = pd.read_feather(path)
    assert report.rows_new == len(source)
    assert_same_candles(store.read(key), source)
    assert key in store.series()


def test_spot_1h_coverage_lists_the_27_real_outages(tmp_path: Path, data_dir: Path) -> None:
    # The README says "27 missing hours"; the file has 27 gaps holding 122 missing hours.
    store = CandleStore(tmp_path)
    import_freqtrade(store, data_dir / "klines" / "spot" / "BTC_USDT-1h.feather")
    cov = store.coverage(SeriesKey("binance", "spot", "BTC/USDT", "1h"))
    assert len(cov.gaps) == 27 and cov.missing == 122
    assert cov.rows + cov.missing == (cov.last - cov.first) / pd.Timedelta(hours=1) + 1
    assert any(g.after.strftime("%Y-%m-%d") == "2019-05-15" for g in cov.gaps)


def test_funding_is_stored_as_8h_rates_and_millisecond_jitter_is_no_gap(
    tmp_path: Path, data_dir: Path
) -> None:
    store = CandleStore(tmp_path)
    path = data_dir / "klines" / "futures" / "BTC_USDT_USDT-8h-funding_rate.feather"
    report = import_freqtrade(store, path)
    key = parse_freqtrade_name(path)
    assert key == SeriesKey("binance", "usdm", "BTC/USDT:USDT", "8h", "funding")
    stored = store.read(key)
    source = pd.read_feather(path)
    assert report.rows_new == len(source) == len(stored)
    np.testing.assert_array_equal(stored["rate"].to_numpy(), source["open"].to_numpy())
    assert store.coverage(key).missing == 0


def test_writes_are_idempotent_and_overlapping_appends_merge(
    tmp_path: Path, btc_1m: pd.DataFrame
) -> None:
    store = CandleStore(tmp_path)
    part = btc_1m.iloc[:5000]
    first = store.write(BTC_1M, part.iloc[:3000])
    second = store.write(BTC_1M, part.iloc[2000:])  # 1000 rows overlap
    assert (first.rows_new, second.rows_new, second.rows_unchanged) == (3000, 2000, 1000)
    mtime = store.path(BTC_1M).stat().st_mtime_ns
    again = store.write(BTC_1M, part)
    assert again.rows_new == 0 and again.rows_unchanged == 5000 and again.rows_updated == 0
    assert store.path(BTC_1M).stat().st_mtime_ns == mtime  # nothing new: file untouched
    assert_same_candles(store.read(BTC_1M), part)

    revised = part.iloc[[-1]].copy()
    revised["close"] += 1.0
    revised["high"] = np.maximum(revised["high"], revised["close"])
    assert store.write(BTC_1M, revised).rows_updated == 1
    assert store.read(BTC_1M)["close"].iloc[-1] == revised["close"].iloc[0]
    assert len(store.read(BTC_1M)) == 5000
    assert store.last_date(BTC_1M) == part["date"].iloc[-1]


def test_bad_rows_are_rejected_or_repaired_and_every_row_is_accounted_for(
    tmp_path: Path, btc_1m: pd.DataFrame
) -> None:
    good = btc_1m.iloc[:100].reset_index(drop=True)
    bad = good.copy()
    bad.loc[3, "close"] = np.nan
    bad.loc[5, "volume"] = -1.0
    bad.loc[7, ["high", "low"]] = [bad.loc[7, "low"] - 1, bad.loc[7, "high"] + 1]  # high < low
    bad.loc[9, "high"] = bad.loc[9, ["open", "close"]].max() - 0.5  # high under the body
    bad.loc[11, "date"] += pd.Timedelta(seconds=30)  # off the 1m grid
    bad.loc[13, "open"] = 0.0
    conflicting = bad.iloc[[20]].assign(volume=bad.loc[20, "volume"] + 1)
    bad = pd.concat([bad, bad.iloc[[15]], conflicting], ignore_index=True)  # two duplicates
    bad = bad.iloc[np.r_[50:102, 0:50]]  # out of order

    store = CandleStore(tmp_path)
    report = store.write(BTC_1M, bad)
    stored = store.read(BTC_1M)
    assert report.rows_in == 102
    assert set(report.rejected) == {
        "NaN or infinite value",
        "negative volume",
        "high < low",
        "timestamp off the timeframe grid",
        "non-positive price",
    }
    assert report.n_rejected == 5
    assert report.repaired == {
        "high widened to max(open, close)": 1,
        "out-of-order timestamps sorted": 2,  # two descents: after row 99, after the dups
        "identical duplicate rows collapsed": 1,
        "conflicting duplicates: last received kept": 1,
    }
    # Nothing vanished without a line in the report.
    assert report.rows_in == len(stored) + report.n_rejected + 2
    assert report.rows_new == len(stored) == 95
    assert pd.DatetimeIndex(stored["date"]).is_monotonic_increasing
    assert stored["date"].is_unique
    assert (stored["high"] >= stored[["open", "close"]].max(axis=1)).all()
    # The conflicting copy of row 20 was moved before the original by the reordering above, so
    # the original is the last received and wins.
    assert stored.set_index("date").loc[good.loc[20, "date"], "volume"] == good.loc[20, "volume"]
    assert "rejected 1 (negative volume" in report.summary()


def test_unusable_input_raises_and_writes_nothing(tmp_path: Path, btc_1m: pd.DataFrame) -> None:
    store = CandleStore(tmp_path)
    with pytest.raises(InvalidInput, match="missing columns"):
        store.write(BTC_1M, btc_1m.drop(columns=["volume"]))
    with pytest.raises(InvalidInput, match="non-numeric"):
        store.write(BTC_1M, btc_1m.iloc[:3].assign(open=["a", "b", "c"]))
    with pytest.raises(InvalidInput, match="market"):
        SeriesKey("binance", "margin", "BTC/USDT", "1m")
    with pytest.raises(InvalidInput, match="timeframe"):
        SeriesKey("binance", "spot", "BTC/USDT", "1M")
    assert not store.path(BTC_1M).exists()


def test_a_failed_write_leaves_the_old_file_whole(
    tmp_path: Path, btc_1m: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = CandleStore(tmp_path)
    store.write(BTC_1M, btc_1m.iloc[:1000])
    real_write = pq.write_table

    def write_half_then_fail(table: object, where: object, **kw: object) -> None:
        real_write(table.slice(0, 10), where)  # type: ignore[attr-defined]
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", write_half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        store.write(BTC_1M, btc_1m.iloc[1000:2000])
    monkeypatch.undo()
    assert_same_candles(store.read(BTC_1M), btc_1m.iloc[:1000])
    leftovers = [p.name for p in store.path(BTC_1M).parent.iterdir() if p.suffix == ".tmp"]
    assert leftovers == []


def test_data_command_lists_coverage_and_gaps(tmp_path: Path, data_dir: Path) -> None:
    runner = CliRunner()
    spot = data_dir / "klines" / "spot" / "BTC_USDT-1h.feather"
    funding = data_dir / "klines" / "futures" / "BTC_USDT_USDT-1h-funding_rate.feather"
    result = runner.invoke(
        main, ["data", "--data-dir", str(tmp_path), "import", str(spot), str(funding)]
    )
    assert result.exit_code == 0, result.output
    assert "67078 rows in, 67078 new" in result.output
    listing = runner.invoke(main, ["data", "--data-dir", str(tmp_path)])
    assert listing.exit_code == 0, listing.output
    assert "binance/spot/BTC/USDT/1h/ohlcv" in listing.output
    assert "binance/usdm/BTC/USDT:USDT/8h/funding" in listing.output
    spot_line = next(line for line in listing.output.splitlines() if "spot/BTC/USDT/1h" in line)
    assert spot_line.split()[1:2] == ["67,078"] and spot_line.split()[-3:] == ["27", "122", "OK"]
    assert (
        "gap: 1 bar(s) missing after 2019-05-15" in listing.output or "2019-05-15" in listing.output
    )


def test_bad_funding_rows_are_reported(tmp_path: Path, data_dir: Path) -> None:
    raw = pd.read_feather(data_dir / "klines" / "futures" / "BTC_USDT_USDT-8h-funding_rate.feather")
    funding = pd.DataFrame({"date": raw["date"], "rate": raw["open"]}).iloc[:50].copy()
    funding.loc[4, "rate"] = np.inf
    funding = pd.concat([funding, funding.iloc[[10]]], ignore_index=True)
    key = SeriesKey("binance", "usdm", "BTC/USDT:USDT", "8h", "funding")
    report = CandleStore(tmp_path).write(key, funding)
    assert report.rejected.keys() == {"NaN or infinite value"}
    assert report.repaired == {
        "identical duplicate rows collapsed": 1,
        "out-of-order timestamps sorted": 1,
    }
    assert report.rows_in == 51 and report.rows_new == 49 == len(CandleStore(tmp_path).read(key))


@settings(max_examples=25, deadline=None)
@given(
    cuts=st.lists(st.tuples(st.integers(0, 600), st.integers(1, 300)), min_size=1, max_size=8),
)
def test_any_order_of_overlapping_writes_stores_each_candle_once(
    btc_1m: pd.DataFrame, cuts: list[tuple[int, int]]
) -> None:
    source = btc_1m.iloc[:900].reset_index(drop=True)
    with tempfile.TemporaryDirectory() as root:
        store = CandleStore(root)
        written: set[int] = set()
        for start, length in [*cuts, (0, 900)]:
            part = source.iloc[start : start + length]
            report = store.write(BTC_1M, part)
            fresh = set(range(start, min(start + length, 900))) - written
            assert report.rows_new == len(fresh)
            assert report.rows_unchanged == len(part) - len(fresh)
            written |= fresh
        assert_same_candles(store.read(BTC_1M), source)
