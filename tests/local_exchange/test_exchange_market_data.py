"""Public market data through unmodified ccxt: markets, history bit-identical to the files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pyarrow.feather as feather

from gradtrade.local_exchange import ServerThread


def _file(path: Path) -> tuple[np.ndarray, np.ndarray]:
    table = feather.read_table(path).to_pandas()
    ms = table["date"].astype("int64").to_numpy() // 1_000_000
    return ms, table[["open", "high", "low", "close", "volume"]].to_numpy()


async def test_load_markets_spot_and_usdm(
    make_ccxt: Callable[..., Any], synthetic_server: ServerThread
) -> None:
    spot = make_ccxt(synthetic_server.url, "spot")
    usdm = make_ccxt(synthetic_server.url, "usdm")
    try:
        markets = await spot.load_markets()
        assert {"BTC/USDT", "ETH/USDT", "BTC/USDT:USDT"} <= set(markets)
        btc = markets["BTC/USDT"]
        assert btc["spot"] and btc["precision"]["price"] == 0.01
        assert btc["limits"]["cost"]["min"] == 10
        perp = (await usdm.load_markets())["BTC/USDT:USDT"]
        assert perp["swap"] and perp["linear"] and perp["settle"] == "USDT"
    finally:
        await spot.close()
        await usdm.close()


async def test_fetch_ohlcv_paginated_is_bit_identical(
    make_ccxt: Callable[..., Any], spot_1m_file: Path, replay_server: ServerThread, data_dir: Path
) -> None:
    times, values = _file(spot_1m_file)
    start, stop = 1000, 1000 + 7_777  # eight pages of at most 1000 candles
    ex = make_ccxt(replay_server.url, "spot")
    try:
        candles: list[list[float]] = []
        since = int(times[start])
        until = int(times[stop - 1])
        while since <= until:
            page = await ex.fetch_ohlcv("BTC/USDT", "1m", since=since, limit=1000)
            page = [c for c in page if c[0] <= until]
            if not page:
                break
            candles += page
            since = int(page[-1][0]) + 1
    finally:
        await ex.close()
    got = np.array(candles, dtype=np.float64)
    assert len(got) == stop - start
    assert np.array_equal(got[:, 0].astype(np.int64), times[start:stop])
    assert np.array_equal(got[:, 1:], values[start:stop])  # exact float equality, every column


async def test_klines_limits_and_end_time(
    spot_1m_file: Path, replay_server: ServerThread, data_dir: Path
) -> None:
    times, _ = _file(spot_1m_file)
    async with aiohttp.ClientSession() as s:
        url = f"{replay_server.url}/api/v3/klines?symbol=BTCUSDT&interval=1m"
        async with s.get(f"{url}&limit=5000&startTime={times[0]}") as r:
            rows = await r.json()
            assert len(rows) == 1000 and rows[0][0] == times[0]  # spot caps at 1000
        async with s.get(f"{url}&limit=3&endTime={times[500]}") as r:
            rows = await r.json()  # no startTime: the last `limit` up to endTime
            assert [row[0] for row in rows] == list(times[498:501])
        async with s.get(f"{url}&limit=3&startTime={times[-2]}") as r:
            rows = await r.json()  # the file's last candles, then the live market's first one
            assert [row[0] for row in rows[:2]] == list(times[-2:])
            assert rows[0][6] == times[-2] + 59_999
            assert rows[2][0] > times[-1] and rows[2][1] == rows[1][4]  # it opens at that close
        async with s.get(f"{url}&limit=1") as r:
            (last,) = await r.json()  # no startTime/endTime: the open candle of now
            now = replay_server.run(replay_server.server.state.now_ms)
            assert last[0] == now // 60_000 * 60_000
        async with s.get(f"{url.replace('1m', '1h')}&limit=2&startTime={times[0]}") as r:
            rows = await r.json()  # 1h built from the 1m file
            assert rows[0][0] % 3_600_000 == 0 and len(rows) == 2
        async with s.get(
            f"{replay_server.url}/fapi/v1/klines?symbol=BTCUSDT&interval=1h&limit=4000&startTime=0"
        ) as r:
            assert len(await r.json()) == 1500  # USD-M caps at 1500
        async with s.get(f"{url.replace('1m', '7m')}") as r:
            assert r.status == 400 and (await r.json())["code"] == -1120


async def test_funding_rate_history_is_bit_identical(
    funding_8h_file: Path,
    make_ccxt: Callable[..., Any],
    replay_server: ServerThread,
    data_dir: Path,
) -> None:
    times, values = _file(funding_8h_file)
    ex = make_ccxt(replay_server.url, "usdm")
    try:
        got: list[dict[str, object]] = []
        since = int(times[0])
        while True:
            page = await ex.fetch_funding_rate_history("BTC/USDT:USDT", since=since, limit=500)
            if not page:
                break
            got += page
            since = int(page[-1]["timestamp"]) + 1  # type: ignore[call-overload]
    finally:
        await ex.close()
    assert [g["timestamp"] for g in got] == list(times)
    assert np.array_equal(np.array([g["fundingRate"] for g in got]), values[:, 0])


async def test_order_book_ticker_and_premium(
    make_ccxt: Callable[..., Any], synthetic_server: ServerThread
) -> None:
    spot = make_ccxt(synthetic_server.url, "spot")
    usdm = make_ccxt(synthetic_server.url, "usdm")
    try:
        book = await spot.fetch_order_book("BTC/USDT", 20)
        assert len(book["bids"]) == 20 and book["bids"][0][0] < book["asks"][0][0]
        assert book["nonce"] > 0
        ticker = await spot.fetch_ticker("ETH/USDT")
        assert ticker["bid"] < ticker["ask"] and ticker["last"] > 0
        premium = await usdm.fetch_funding_rate("BTC/USDT:USDT")
        assert premium["markPrice"] > 0 and premium["fundingTimestamp"] % 28_800_000 == 0
        assert (await spot.fetch_time()) > 1_600_000_000_000
        trades = await spot.fetch_trades("BTC/USDT", limit=5)
        assert all(t["price"] > 0 for t in trades)
    finally:
        await spot.close()
        await usdm.close()
