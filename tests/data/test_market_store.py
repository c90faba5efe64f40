"""Training reads what the store holds: a stored series gives the same states as its source file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pytest

from gradtrade.data.importers import import_freqtrade, read_freqtrade_feather
from gradtrade.data.market import load_market
from gradtrade.data.store import CandleStore
from gradtrade.errors import InvalidInput


def test_store_parquet_and_feather_give_identical_states(data_dir: Path, tmp_path: Path) -> None:
    source = data_dir / "klines" / "spot" / "BTC_USDT-1h.feather"
    # A slice with a real outage in it (2019-05-15) keeps the gap policy in play.
    frame = read_freqtrade_feather(source, "ohlcv")
    dates = frame["date"]
    part = frame[(dates >= "2019-04-01") & (dates < "2019-07-01")].reset_index(drop=True)
    sliced = tmp_path / "BTC_USDT-1h.feather"
    feather.write_feather(pa.Table.from_pandas(part, preserve_index=False), sliced)

    store = CandleStore(tmp_path / "store")
    report = import_freqtrade(store, sliced)
    assert report.rows_new == len(part) and report.clean
    (key,) = store.series()
    stored = load_market(store.path(key))
    direct = load_market(sliced)
    assert stored.frame.names == direct.frame.names
    np.testing.assert_array_equal(stored.frame.times_ns, direct.frame.times_ns)
    np.testing.assert_array_equal(stored.frame.raw, direct.frame.raw)
    np.testing.assert_array_equal(stored.frame.returns, direct.frame.returns)


def test_other_file_kinds_are_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "candles.csv"
    path.write_text("date,open\n")
    with pytest.raises(InvalidInput, match=r"\.feather or a store \.parquet"):
        load_market(path)
