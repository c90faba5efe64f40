"""Live L2 book through websockets from the local exchange replaying real recordings.

The reference is the book rebuilt offline from the same recording (snapshot + every diff). The
streamed book must equal it at every update id it passes through, and at the end, including
after injected sequence gaps, dropped connections and a stalled stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from gradtrade.core import OrderBook
from gradtrade.data.connector import ExchangeConnector
from gradtrade.data.recordings import read_hftbacktest
from gradtrade.errors import SequenceGap
from gradtrade.local_exchange import ExchangeServer
from gradtrade.venue.config import ConnectorConfig
from gradtrade.venue.depth_sync import DepthSync
from gradtrade.venue.instruments import book_grids

Top = tuple[tuple[float, float] | None, tuple[float, float] | None]


def offline_book(
    files: list[Path], tick: str, step: str, market: str
) -> tuple[OrderBook, dict[int, Top]]:
    """The final book and the best bid/ask after every diff, rebuilt from the recording."""
    book = OrderBook("BTCUSDT", tick, step, market)
    sync = DepthSync(book)
    tops: dict[int, Top] = {}
    for frame in read_hftbacktest(*files):
        if frame.source == "rest":
            sync.on_snapshot(frame.raw)
        elif b"depthUpdate" in frame.raw:
            try:
                sync.on_diff(frame.raw)
            except SequenceGap:  # not in these recordings; kept symmetrical with the server
                continue
        if book.is_valid and book.last_update_id is not None:
            tops[book.last_update_id] = (book.best_bid(), book.best_ask())
    return book, tops


async def stream_until_end(
    conn: ExchangeConnector,
    final_id: int,
    tops: dict[int, Top],
    progress: Callable[[], float],
    faults: list[tuple[float, Callable[[], object]]],
) -> tuple[OrderBook, int]:
    """Consume the book stream until ``final_id``, arming each fault once the replay has
    published that fraction of the recording."""
    stream = conn.book_stream("BTC/USDT" if conn.config.market == "spot" else "BTC/USDT:USDT")
    updates, checked = 0, 0
    pending = sorted(faults, key=lambda f: f[0])
    async for book in stream:
        updates += 1
        assert not book.is_crossed()
        uid = book.last_update_id
        assert uid is not None
        if uid in tops:  # equal to the offline book wherever both have this update id
            assert (book.best_bid(), book.best_ask()) == tops[uid]
            checked += 1
        while pending and progress() >= pending[0][0]:
            pending.pop(0)[1]()
        if uid >= final_id:
            assert not pending, "the replay ended before every fault was armed"
            assert checked > 1000
            return book, updates
    raise AssertionError("stream ended")


def assert_same_levels(streamed: OrderBook, offline: OrderBook, depth: int | None) -> None:
    np.testing.assert_array_equal(streamed.bids(depth), offline.bids(depth))
    np.testing.assert_array_equal(streamed.asks(depth), offline.asks(depth))


@pytest.mark.parametrize("market", ["spot", "usdm"])
async def test_streamed_book_equals_offline_book_through_gaps_drops_and_stalls(
    data_dir: Path, market: str
) -> None:
    folder = data_dir / "recordings" / "hftbacktest" / market
    files = sorted(folder.glob("*.gz"))
    server = ExchangeServer(recordings=[folder], speed=150.0 if market == "spot" else 80.0)
    url = await server.start(0)
    entry = server.state.markets[market]["BTCUSDT"].entry  # what exchangeInfo serves
    tick, step = book_grids({"symbols": [entry]}, "BTCUSDT")
    offline, tops = offline_book(files, tick, step, market)
    final_id = offline.last_update_id
    assert final_id is not None
    config = ConnectorConfig.for_url(
        url, market, depth_limit=5000 if market == "spot" else 1000, stale_after_s=0.6,
        backoff_base_s=0.01, backoff_max_s=0.05,
    )  # fmt: skip
    faults = server.faults
    replay = server.sources[0]
    plan: list[tuple[float, Callable[[], object]]] = [
        (0.15, lambda: faults.skip_depth_diff("BTCUSDT", market, 1)),
        (0.35, lambda: faults.drop_websockets()),
        (0.55, lambda: faults.skip_depth_diff("BTCUSDT", market, 3)),
        (0.75, lambda: faults.stall_websockets(1.0)),
    ]
    try:
        async with ExchangeConnector(config) as conn:
            streamed, updates = await asyncio.wait_for(
                stream_until_end(
                    conn, final_id, tops, lambda: replay.published / len(replay.frames), plan
                ),
                timeout=60,
            )
    finally:
        await server.stop()
    metrics = conn.metrics
    assert updates > 1000
    assert metrics.sequence_gaps >= 2, metrics  # both injected gaps were seen...
    assert metrics.reconnects >= 2 and metrics.stale_streams >= 1, metrics  # drop + stall
    assert metrics.resyncs >= 4, metrics  # ...and every incident ended in a resync
    assert streamed.best_bid() == offline.best_bid() and streamed.best_ask() == offline.best_ask()
    # Spot: the whole book (snapshots up to 5000 levels); USD-M: the 1000 levels Binance serves.
    assert_same_levels(streamed, offline, None if market == "spot" else 500)
