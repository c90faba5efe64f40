"""Trades, klines, bookTicker streams, aggregated trades, snapshots and clock sync against the
local exchange replaying the real spot recording."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pandas as pd
import pytest

from gradtrade.core import OrderBook
from gradtrade.data.connector import ExchangeConnector
from gradtrade.data.recordings import read_hftbacktest
from gradtrade.errors import ConfigError, RetriesExhausted
from gradtrade.local_exchange import ExchangeServer
from gradtrade.venue.config import ConnectorConfig
from gradtrade.venue.streams import empty_snapshot, fetch_snapshot


@pytest.fixture(scope="module")
def recorded_trades(data_dir: Path) -> dict[int, dict[str, Any]]:
    """Every trade of the spot recording by trade id, as Binance sent it."""
    files = sorted((data_dir / "recordings" / "hftbacktest" / "spot").glob("*.gz"))
    trades = {}
    for frame in read_hftbacktest(*files):
        if b'"e":"trade"' in frame.raw:
            data = orjson.loads(frame.raw)["data"]
            trades[int(data["t"])] = data
    return trades


async def take(events: AsyncIterator[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    out = []
    async for event in events:
        out.append(event)
        if len(out) == n:
            break
    return out


async def test_trades_tickers_and_klines_stream_as_recorded(
    data_dir: Path, recorded_trades: dict[int, dict[str, Any]]
) -> None:
    server = ExchangeServer(
        recordings=[data_dir / "recordings" / "hftbacktest" / "spot"], speed=100
    )
    await server.start(0)
    try:
        async with ExchangeConnector(ConnectorConfig.for_url(server.url, "spot")) as conn:
            trades, tickers, klines = await asyncio.wait_for(
                asyncio.gather(
                    take(conn.trades("BTC/USDT"), 300),
                    take(conn.book_ticker("BTC/USDT"), 300),
                    take(conn.klines("BTC/USDT", "1m"), 30),
                ),
                timeout=30,
            )
    finally:
        await server.stop()
    ids = [int(t["t"]) for t in trades]
    assert ids == list(range(ids[0], ids[0] + len(ids)))  # no trade lost or repeated
    for trade in trades:
        recorded = recorded_trades[int(trade["t"])]
        assert (trade["p"], trade["q"], trade["T"], trade["m"]) == (
            recorded["p"], recorded["q"], recorded["T"], recorded["m"],
        )  # fmt: skip
    assert all(float(t["b"]) < float(t["a"]) for t in tickers)
    assert all(k["k"]["i"] == "1m" and k["s"] == "BTCUSDT" for k in klines)


async def test_agg_trades_snapshot_and_clock_sync(data_dir: Path) -> None:
    server = ExchangeServer(
        recordings=[data_dir / "recordings" / "hftbacktest" / "spot"], speed=400
    )
    await server.start(0)
    try:
        config = ConnectorConfig.for_url(server.url, "spot", page_limit=100)
        async with ExchangeConnector(config) as conn:
            await asyncio.wait_for(server.sources[0].done.wait(), timeout=30)
            frame = await conn.agg_trades(
                "BTC/USDT",
                pd.Timestamp("2024-08-08 23:50", tz="UTC"),
                pd.Timestamp("2024-08-09 00:10", tz="UTC"),
                progress=False,
            )
            book = await conn.order_book_snapshot("BTC/USDT", 100)
            server.faults.skew_clock(5_000)
            offset = await conn.server_time_offset_ms()
        kept = list(server.state.markets["spot"]["BTCUSDT"].trades)
    finally:
        await server.stop()
    # Pages of 100 chained by trade id: every trade the server keeps, once, in order.
    assert len(frame) == len(kept) and len(frame) > 500
    assert frame["agg_id"].diff().dropna().eq(1).all()
    assert frame["date"].is_monotonic_increasing
    # The book at the end of the recording: the README's final best bid/ask.
    assert book.best_bid() is not None and book.best_bid()[0] == 61602.01  # type: ignore[index]
    assert book.best_ask() is not None and book.best_ask()[0] == 61602.02  # type: ignore[index]
    assert len(book) == 200
    assert 4_500 < offset < 5_500  # the injected 5 s skew, measured
    assert config.exchange_id == "local"


async def test_a_wrong_stream_url_is_a_config_error_not_an_endless_retry(data_dir: Path) -> None:
    server = ExchangeServer(recordings=[data_dir / "recordings" / "hftbacktest" / "spot"], speed=1)
    await server.start(0)
    try:
        config = ConnectorConfig.for_url(server.url, "spot").model_copy(
            update={"ws_url": server.url.replace("http", "ws") + "/nowhere"}
        )
        async with ExchangeConnector(config) as conn:
            with pytest.raises(ConfigError, match=r"ws_url: .* refused with HTTP 404"):
                await asyncio.wait_for(take(conn.trades("BTC/USDT"), 1), timeout=10)
    finally:
        await server.stop()


async def test_depth_snapshot_reaches_the_book_as_the_bytes_the_server_sent(
    data_dir: Path,
) -> None:
    server = ExchangeServer(
        recordings=[data_dir / "recordings" / "hftbacktest" / "spot"], speed=400
    )
    await server.start(0)
    try:
        config = ConnectorConfig.for_url(
            server.url, "spot", backoff_base_s=0.01, backoff_max_s=0.02, max_retries=3
        )
        async with ExchangeConnector(config) as conn:
            await asyncio.wait_for(server.sources[0].done.wait(), timeout=30)  # book now still
            # 429 (Retry-After 0) then 503: the raw fetch is paced, retried and mapped like any
            server.faults.fail_rest(429, count=1, retry_after=0, path_prefix="/api/v3/depth")
            server.faults.fail_rest(503, count=1, retry_after=0, path_prefix="/api/v3/depth")
            raw = await fetch_snapshot(conn.rest, "BTCUSDT", 100)
            metrics = conn.metrics.as_dict()
            async with aiohttp.ClientSession() as session:
                url = f"{server.url}/api/v3/depth?symbol=BTCUSDT&limit=100"
                async with session.get(url) as response:
                    body = await response.read()
                    weight = response.headers["X-MBX-USED-WEIGHT-1M"]
            server.faults.fail_rest(500, count=10, retry_after=0, path_prefix="/api/v3/depth")
            with pytest.raises(RetriesExhausted, match="depth"):
                await fetch_snapshot(conn.rest, "BTCUSDT", 100)
    finally:
        await server.stop()
    assert isinstance(raw, bytes) and raw == body  # untouched: no parse, no re-serialization
    assert metrics["rate_limited"] == 1 and metrics["server_errors"] == 1, metrics
    assert 0 < metrics["used_weight"] < int(weight)  # the snapshot's weight, read from its headers
    book = OrderBook("BTCUSDT", "0.01", "0.00001", "spot")
    book.apply_snapshot_json(raw)
    assert book.best_bid() is not None and book.best_bid()[0] == 61602.01  # type: ignore[index]
    assert len(book) == 200


def test_empty_snapshot_is_told_from_the_bytes() -> None:
    assert empty_snapshot(b'{"lastUpdateId":0,"bids":[["1","1"]],"asks":[]}')
    assert empty_snapshot(b'{"lastUpdateId": 7, "bids": [], "asks": [ ]}')
    assert empty_snapshot(b'{"bids":[["1","1"]],"asks":[]}')
    assert not empty_snapshot(b'{"lastUpdateId":70,"bids":[],"asks":[["2","1"]]}')
    assert not empty_snapshot(b'{"lastUpdateId":0123,"bids":[["1","1"]],"asks":[]}')
