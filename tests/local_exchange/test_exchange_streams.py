"""Websocket market data: the SUBSCRIBE protocol, combined streams, depth diffs that chain to the
REST snapshot, recovery after an injected gap, trades, and replays of real recordings."""

from __future__ import annotations

import asyncio
import gzip
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import ccxt
import orjson
import pytest
import websockets

from gradtrade.local_exchange import ExchangeServer, ServerThread


def ws_url(http: str, path: str) -> str:
    return "ws" + http[len("http") :] + path


async def _recv(ws: Any, timeout: float = 5.0) -> Any:
    return orjson.loads(await asyncio.wait_for(ws.recv(), timeout))


async def test_subscribe_ack_list_and_errors(synthetic_server: ServerThread) -> None:
    async with websockets.connect(ws_url(synthetic_server.url, "/ws")) as ws:
        await ws.send(
            orjson.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@trade"], "id": 1}).decode()
        )
        assert await _recv(ws) == {"result": None, "id": 1}
        await ws.send(
            orjson.dumps({"method": "SUBSCRIBE", "params": ["ethusdt@depth@100ms"], "id": 2})
        )
        frames = [await _recv(ws) for _ in range(3)]
        assert {"result": None, "id": 2} in frames
        await ws.send(orjson.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 3}).decode())
        for _ in range(200):
            msg = await _recv(ws)
            if msg.get("id") == 3:
                assert msg["result"] == ["btcusdt@trade", "ethusdt@depth@100ms"]
                break
        await ws.send("{not json")
        for _ in range(200):
            msg = await _recv(ws)
            if "error" in msg:
                assert msg["error"]["code"] == 3
                break
        await ws.send(
            orjson.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@nonsense"], "id": 4})
        )
        for _ in range(200):
            msg = await _recv(ws)
            if msg.get("id") == 4:
                assert msg["error"]["code"] == 2
                break


async def test_combined_stream_depth_chains_to_rest_snapshot(
    synthetic_server: ServerThread,
) -> None:
    url = ws_url(synthetic_server.url, "/stream?streams=btcusdt@depth@100ms/btcusdt@bookTicker")
    async with websockets.connect(url) as ws, aiohttp.ClientSession() as http:
        first = await _recv(ws)
        assert set(first) == {"stream", "data"}
        async with http.get(f"{synthetic_server.url}/api/v3/depth?symbol=BTCUSDT&limit=1000") as r:
            snapshot = await r.json()
        last = snapshot["lastUpdateId"]
        synced = False
        diffs = 0
        while diffs < 15:
            msg = await _recv(ws)
            data = msg["data"]
            if msg["stream"] == "btcusdt@bookTicker":
                assert float(data["b"]) < float(data["a"])
                continue
            assert data["e"] == "depthUpdate" and data["s"] == "BTCUSDT"
            if data["u"] <= last:
                continue  # already in the snapshot
            if not synced:
                assert data["U"] <= last + 1 <= data["u"]
                synced = True
            else:
                assert data["U"] == last + 1
            last = data["u"]
            diffs += 1


async def test_usdm_depth_carries_pu_and_mark_price(synthetic_server: ServerThread) -> None:
    url = ws_url(synthetic_server.url, "/fapi/ws/btcusdt@depth@0ms")
    async with websockets.connect(url) as ws:
        prev = None
        for _ in range(5):
            data = await _recv(ws)
            if prev is not None:
                assert data["pu"] == prev
            prev = data["u"]
        await ws.send(
            orjson.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@markPrice@1s"], "id": 9})
        )
        for _ in range(500):
            data = await _recv(ws)
            if data.get("e") == "markPriceUpdate":
                assert float(data["p"]) > 0 and "r" in data
                break
        else:
            pytest.fail("no markPriceUpdate")


async def test_watch_order_book_recovers_after_injected_gap(
    make_ccxt: Callable[..., Any], synthetic_server: ServerThread
) -> None:
    ex = make_ccxt(synthetic_server.url, "spot")
    try:
        book = await ex.watch_order_book("BTC/USDT")
        assert book["bids"][0][0] < book["asks"][0][0]
        before = book["nonce"]
        synthetic_server.arm("depth_gap", symbol="BTCUSDT", venue="spot", count=1)
        failures = 0
        for _ in range(100):
            try:
                book = await ex.watch_order_book("BTC/USDT")
            except ccxt.ChecksumError:
                failures += 1  # ccxt saw the gap, dropped its book and resubscribes
                continue
            if failures and book["nonce"] > before:
                break
        assert failures == 1
        assert book["nonce"] > before and book["bids"][0][0] < book["asks"][0][0]
        async with aiohttp.ClientSession() as http:
            url = f"{synthetic_server.url}/api/v3/depth?symbol=BTCUSDT&limit=5"
            async with http.get(url) as r:
                assert (await r.json())["lastUpdateId"] >= book["nonce"]
    finally:
        await ex.close()


async def test_watch_trades_ohlcv_ticker(spot: Any) -> None:
    trades = await spot.watch_trades("BTC/USDT")
    assert trades and all(t["symbol"] == "BTC/USDT" and t["amount"] > 0 for t in trades)
    candles = await spot.watch_ohlcv("ETH/USDT", "1m")
    assert candles and candles[-1][4] > 0
    ticker = await asyncio.wait_for(spot.watch_ticker("BTC/USDT"), 5)
    assert ticker["symbol"] == "BTC/USDT" and ticker["last"] > 0
    hourly = await asyncio.wait_for(spot.watch_ohlcv("ETH/USDT", "1h"), 5)
    assert hourly and hourly[-1][0] % 3_600_000 == 0  # every kline interval is live


# --- replays of the real websocket recordings ---


@pytest.fixture(scope="module")
def recording_server(templates_dir: Path | None, data_dir: Path) -> Iterator[ServerThread]:
    rec = data_dir / "recordings"
    server = ExchangeServer(
        recordings=[rec / "hftbacktest" / "spot", rec / "hftbacktest" / "usdm"],
        templates_dir=templates_dir,
        speed=20.0,
    )
    with ServerThread(server) as st:
        yield st


def _recorded_depth_payloads(path: Path) -> set[bytes]:
    out = set()
    with gzip.open(path, "rb") as fh:
        for line in fh:
            raw = line.split(b" ", 1)[1]
            if b"depthUpdate" in raw:  # the exact bytes of "data" in the recorded frame
                out.add(raw[raw.index(b'"data":') + 7 : raw.rindex(b"}")])
    return out


async def test_replayed_diffs_are_the_recorded_ones(
    recording_server: ServerThread, data_dir: Path
) -> None:
    recorded = _recorded_depth_payloads(
        data_dir / "recordings" / "hftbacktest" / "spot" / "btcusdt_20240808.gz"
    )
    async with websockets.connect(ws_url(recording_server.url, "/ws/btcusdt@depth@100ms")) as ws:
        frames = [await ws.recv() for _ in range(20)]
    assert all((f.encode() if isinstance(f, str) else f) in recorded for f in frames)


@pytest.mark.parametrize(("market", "symbol"), [("spot", "BTC/USDT"), ("usdm", "BTC/USDT:USDT")])
async def test_watch_order_book_on_replay(
    make_ccxt: Callable[..., Any], recording_server: ServerThread, market: str, symbol: str
) -> None:
    ex = make_ccxt(recording_server.url, market)
    try:
        for _ in range(10):
            book = await ex.watch_order_book(symbol)
            assert book["bids"][0][0] < book["asks"][0][0]
        venue = "spot" if market == "spot" else "usdm"
        server_book = recording_server.server.state.markets[venue]["BTCUSDT"].book
        nonce, top = book["nonce"], book["bids"][0][0]
        assert nonce <= server_book.last_update_id
        assert top > 50_000
    finally:
        await ex.close()


async def test_replayed_trades_make_the_rest_candles(recording_server: ServerThread) -> None:
    """A recording's candles are built from its trades at their recorded times (REST only:
    the paced replay may have ended by now; the candles it closed stay)."""
    async with aiohttp.ClientSession() as s:
        for _ in range(100):  # at least one recorded minute has passed (20x: 3 s)
            url = f"{recording_server.url}/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=0"
            async with s.get(url) as r:
                rows = await r.json()
            if len(rows) >= 2:
                break
            await asyncio.sleep(0.1)
    assert len(rows) >= 2, rows
    assert all(r[0] // 86_400_000 in (19943, 19944) for r in rows)  # 2024-08-08/09, recorded
    assert [r[0] for r in rows] == list(range(rows[0][0], rows[-1][0] + 1, 60_000))
    assert all(r[8] > 0 for r in rows[:-1])  # every closed minute of the recording traded
    for prev, row in itertools.pairwise(rows):
        assert float(prev[3]) <= float(prev[4]) <= float(prev[2])  # low <= close <= high
        assert row[6] == row[0] + 59_999
