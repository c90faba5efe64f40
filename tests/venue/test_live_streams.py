"""Trades, klines, bookTicker streams, aggregated trades, snapshots and clock sync against the
local exchange replaying the real spot recording."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pandas as pd
import pytest

from gradtrade.data.connector import ExchangeConnector
from gradtrade.data.recordings import read_hftbacktest
from gradtrade.errors import ConfigError
from gradtrade.local_exchange import ExchangeServer
from gradtrade.venue.config import ConnectorConfig


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
