"""pytest-benchmark benches of the order book's Python boundary on the real spot recording.

    PYTHONPATH=python python -m pytest benches/test_orderbook_boundary.py --benchmark-only

Not part of the test suite (``testpaths = tests``); the comparison against other tools is
``benches/compare_orderbook.py``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from gradtrade.core import OrderBook
from gradtrade.data.recordings import read_hftbacktest

DATA = Path(os.environ.get("GRADTRADE_TEST_DATA", Path(__file__).parents[2] / "shared" / "data"))


@pytest.fixture(scope="module")
def recording() -> tuple[bytes, list[bytes]]:
    spot = DATA / "recordings" / "hftbacktest" / "spot"
    if not spot.exists():
        pytest.skip(f"recordings not found under {DATA}")
    frames = list(read_hftbacktest(spot / "btcusdt_20240808.gz", spot / "btcusdt_20240809.gz"))
    snapshot = next(f.raw for f in frames if f.source == "rest")
    last = orjson.loads(snapshot)["lastUpdateId"]
    diffs = [
        f.raw
        for f in frames
        if f.source == "ws" and b"@depth" in f.raw[:40] and orjson.loads(f.raw)["data"]["u"] > last
    ]
    return snapshot, diffs


def fresh_book(snapshot: bytes) -> OrderBook:
    book = OrderBook("BTCUSDT", "0.01", "0.00000001", "spot")
    book.apply_snapshot_json(snapshot)
    return book


def test_replay_apply_depth_json(benchmark: Any, recording: tuple[bytes, list[bytes]]) -> None:
    snapshot, diffs = recording

    def replay(book: OrderBook) -> None:
        apply = book.apply_depth_json
        for raw in diffs:
            apply(raw)

    benchmark.pedantic(replay, setup=lambda: ((fresh_book(snapshot),), {}), rounds=10, iterations=1)


def test_snapshot_json(benchmark: Any, recording: tuple[bytes, list[bytes]]) -> None:
    snapshot, _ = recording
    book = OrderBook("BTCUSDT", "0.01", "0.00000001", "spot")
    benchmark(book.apply_snapshot_json, snapshot)


def test_features(benchmark: Any, recording: tuple[bytes, list[bytes]]) -> None:
    snapshot, _ = recording
    book = fresh_book(snapshot)
    values = benchmark(book.features, 10)
    assert values.shape == (52,)


def test_top_of_book_queries(benchmark: Any, recording: tuple[bytes, list[bytes]]) -> None:
    snapshot, _ = recording
    book = fresh_book(snapshot)

    def queries() -> tuple[object, ...]:
        return book.best_bid(), book.best_ask(), book.mid(), book.microprice()

    benchmark(queries)
