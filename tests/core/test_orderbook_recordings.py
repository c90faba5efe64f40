"""The recording readers of ``gradtrade.data.recordings`` on the real files."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from gradtrade.data.recordings import (
    RecordedFrame,
    _seconds_text_to_ns,
    read_exchange_info,
    rest_depth_symbol,
)
from gradtrade.errors import InvalidInput
from gradtrade.venue.instruments import book_grids, symbol_filters


def test_timestamps_convert_exactly() -> None:
    assert _seconds_text_to_ns("1633998512.0633569") == 1_633_998_512_063_356_900
    assert _seconds_text_to_ns("1626992741") == 1_626_992_741_000_000_000
    with pytest.raises(ValueError):
        _seconds_text_to_ns("12a.5")


def test_hftbacktest_frames(hft_spot_frames: list[RecordedFrame]) -> None:
    rest = [f for f in hft_spot_frames if f.source == "rest"]
    assert len(rest) == 1 and orjson.loads(rest[0].raw)["lastUpdateId"] == 50093239218
    depth = [f for f in hft_spot_frames if b"@depth" in f.raw[:40]]
    assert len(depth) == 6495
    stamps = [f.ts_ns for f in hft_spot_frames]
    assert stamps[0] == 1723161253937085768
    assert all(isinstance(f.raw, bytes) and f.url is None for f in hft_spot_frames[:100])


def test_cryptofeed_merges_rest_and_ws_by_time(
    cryptofeed_dir: Path, cryptofeed_frames: dict[str, list[RecordedFrame]]
) -> None:
    for exchange, frames in cryptofeed_frames.items():
        stamps = [f.ts_ns for f in frames]
        assert stamps == sorted(stamps), exchange
        rest = [f for f in frames if f.source == "rest"]
        assert len(rest) == 4, exchange
        assert all(f.url and "depth?symbol=" in f.url for f in rest)
        assert all(orjson.loads(f.raw)["lastUpdateId"] > 0 for f in rest)
    spot_rest = [f for f in cryptofeed_frames["BINANCE"] if f.source == "rest"]
    assert spot_rest[0].url is not None
    assert rest_depth_symbol(spot_rest[0].url) == "NKNUSDT"


def test_exchange_info_grids(cryptofeed_dir: Path) -> None:
    spot = read_exchange_info(cryptofeed_dir, "BINANCE")
    assert symbol_filters(spot, "NKNUSDT") == ("0.00010000", "1.00000000")
    assert book_grids(spot, "NKNUSDT") == ("0.00000001", "0.00000001")
    futures = read_exchange_info(cryptofeed_dir, "BINANCE_FUTURES")
    assert book_grids(futures, "CTKUSDT") == ("0.00001", "1")
    with pytest.raises(InvalidInput, match="NOPE is not in exchangeInfo"):
        symbol_filters(spot, "NOPE")
