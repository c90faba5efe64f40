"""Third-party Binance clients, each from its own PyPI package, pointed by URL at the server
running in its own process: python-binance (REST, websocket API, depth cache, kline and
USD-M user-data sockets), the official connectors (binance-connector, binance-futures-connector,
whose futures websocket subscribes the listenKey by SUBSCRIBE) and cryptofeed (book, trades
and closed candles, in a process of its own)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from binance import AsyncClient, BinanceSocketManager, DepthCacheManager
from binance.client import Client
from binance.spot import Spot
from binance.um_futures import UMFutures
from binance.websocket.um_futures.websocket_client import UMFuturesWebsocketClient

ROOT = Path(__file__).resolve().parents[2]
MINUTE = 60_000


def _urls(url: str) -> dict[str, str]:
    ws = "ws" + url[len("http") :]
    return {
        "API_URL": f"{url}/api",
        "MARGIN_API_URL": f"{url}/sapi",
        "FUTURES_URL": f"{url}/fapi",
        "WS_API_URL": f"{ws}/ws-api/v3",
        "WS_FUTURES_URL": f"{ws}/ws-fapi/v1",
    }


def _sockets(url: str, client: Any) -> BinanceSocketManager:
    ws = "ws" + url[len("http") :]
    cls = type(
        "LocalSockets",
        (BinanceSocketManager,),
        {"STREAM_URL": f"{ws}/", "FSTREAM_URL": f"{ws}/fapi/"},
    )
    manager: BinanceSocketManager = cls(client)
    return manager


def test_python_binance_rest(process_server: str, api_key: str, api_secret: str) -> None:
    client = type("LocalClient", (Client,), _urls(process_server))(api_key, api_secret)
    assert abs(client.get_server_time()["serverTime"] - time.time() * 1000) < 5_000
    rows = client.get_klines(symbol="BTCUSDT", interval=Client.KLINE_INTERVAL_1MINUTE, limit=5)
    assert [r[0] for r in rows] == list(range(rows[0][0], rows[0][0] + 5 * MINUTE, MINUTE))
    assert rows[-1][0] == int(time.time() * 1000) // MINUTE * MINUTE  # the open candle
    book = client.get_order_book(symbol="BTCUSDT", limit=10)
    assert all(len(p.split(".")[1]) == 8 for p, _ in book["bids"])
    bought = client.create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quoteOrderQty="200")
    assert bought["status"] == "FILLED" and 0 < float(bought["cummulativeQuoteQty"]) <= 200
    got = client.get_order(symbol="BTCUSDT", orderId=bought["orderId"])
    assert got["executedQty"] == bought["executedQty"]
    assert client.get_my_trades(symbol="BTCUSDT")[-1]["orderId"] == bought["orderId"]
    deadline = time.monotonic() + 10
    while not (recent := client.get_recent_trades(symbol="BTCUSDT", limit=3)):
        assert time.monotonic() < deadline, "the market never traded"
        time.sleep(0.2)
    older = client.get_historical_trades(symbol="BTCUSDT", fromId=recent[0]["id"], limit=2)
    assert [t["id"] for t in older] == [t["id"] for t in recent[:2]]
    ticker = client.get_ticker(symbol="BTCUSDT")
    assert ticker["count"] == ticker["lastId"] - ticker["firstId"] + 1
    commission = client.v3_get_account_commission(symbol="BTCUSDT")
    assert commission["standardCommission"]["taker"] == "0.00100000"
    placed = client.futures_create_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity=0.01)
    assert placed["status"] == "FILLED"
    position = client.futures_position_information(symbol="BTCUSDT")
    assert float(position[0]["positionAmt"]) == 0.01
    assert client.futures_get_position_mode() == {"dualSidePosition": False}
    assert client.futures_commission_rate(symbol="BTCUSDT")["makerCommissionRate"] == "0.0002"
    assert float(client.futures_open_interest(symbol="BTCUSDT")["openInterest"]) >= 0.01
    income = client.futures_income_history(symbol="BTCUSDT")
    assert any(r["incomeType"] == "COMMISSION" for r in income)


async def test_python_binance_websockets(
    process_server: str, api_key: str, api_secret: str
) -> None:
    local = type("LocalAsync", (AsyncClient,), _urls(process_server))
    client = await local.create(api_key, api_secret)
    try:
        bm = _sockets(process_server, client)
        # the depth cache keys levels by their text: removals must come as Binance's zeros
        async with DepthCacheManager(client, "BTCUSDT", bm=bm, ws_interval=100) as cache:
            for _ in range(20):
                depth = await asyncio.wait_for(cache.recv(), 10)
                bids, asks = depth.get_bids(), depth.get_asks()
                assert bids[0][0] < asks[0][0]  # never crossed
                assert len(bids) <= 40 and len(asks) <= 40  # removed levels are gone
        async with bm.kline_socket("ETHUSDT", interval="5m") as ks:
            msg = await asyncio.wait_for(ks.recv(), 10)
        assert msg["k"]["i"] == "5m" and msg["k"]["x"] is False
        # websocket API: the same order and signature rules as REST
        order = await client.ws_create_order(
            symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC",
            quantity="0.001", price="30000",
        )  # fmt: skip
        assert order["status"] == "NEW"
        status = await client.ws_get_order(symbol="BTCUSDT", orderId=order["orderId"])
        assert status["status"] == "NEW"
        canceled = await client.ws_cancel_order(symbol="BTCUSDT", orderId=order["orderId"])
        assert canceled["status"] == "CANCELED"
        # USD-M user data on the listenKey stream
        async with bm.futures_user_socket() as us:
            await asyncio.sleep(0.5)
            await client.futures_create_order(
                symbol="BTCUSDT", side="SELL", type="MARKET", quantity=0.01
            )
            events = [await asyncio.wait_for(us.recv(), 10) for _ in range(2)]
        kinds = {e["e"] for e in events}
        assert "ORDER_TRADE_UPDATE" in kinds
    finally:
        await client.close_connection()


def test_official_connectors(process_server: str, api_key: str, api_secret: str) -> None:
    spot = Spot(api_key, api_secret, base_url=process_server)
    rows = spot.klines("BTCUSDT", "15m", limit=3)
    assert len(rows) == 3 and rows[-1][0] % (15 * MINUTE) == 0
    order = spot.new_order(symbol="BTCUSDT", side="SELL", type="MARKET", quantity=0.001)
    assert order["status"] == "FILLED"
    assert spot.get_order_rate_limit()[0]["rateLimitType"] == "ORDERS"
    assert spot.query_commission_rates("BTCUSDT")["symbol"] == "BTCUSDT"
    futures = UMFutures(api_key, api_secret, base_url=process_server)
    listen_key = futures.new_listen_key()["listenKey"]
    received: list[dict[str, Any]] = []
    done = threading.Event()

    def on_message(_: Any, raw: str) -> None:
        msg = json.loads(raw)
        received.append(msg)
        if msg.get("e") == "ORDER_TRADE_UPDATE":
            done.set()

    ws = UMFuturesWebsocketClient(
        stream_url="ws" + process_server[4:] + "/fapi", on_message=on_message
    )
    try:
        ws.user_data(listen_key=listen_key)  # SUBSCRIBE [listenKey] on the market socket
        time.sleep(1.0)
        futures.new_order(symbol="BTCUSDT", side="BUY", type="MARKET", quantity=0.01)
        assert done.wait(10), received
    finally:
        ws.stop()
    assert {"result": None, "id": received[0]["id"]} == received[0]  # the SUBSCRIBE ack
    assert futures.get_position_risk(symbol="BTCUSDT")
    with pytest.raises(Exception) as err:  # off-tick USD-M price: Binance's -4014
        futures.new_order(
            symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC",
            quantity=0.01, price=50_000.001,
        )  # fmt: skip
    assert getattr(err.value, "error_code", None) in (-4014, -1111)


_CRYPTOFEED = r"""
import asyncio, json, sys
import cryptofeed.connection as connection
from cryptofeed import FeedHandler
from cryptofeed.connection import RestEndpoint, Routes, WebsocketEndpoint
from cryptofeed.defines import CANDLES, L2_BOOK, TRADES
from cryptofeed.exchanges import Binance

url, seconds = sys.argv[1], float(sys.argv[2])
# cryptofeed accepts only wss:// addresses; the local server speaks plain ws:// on 127.0.0.1,
# so the one change to the client is the scheme its websocket library dials
_dial = connection.connect
connection.connect = lambda address, **kw: _dial(address.replace("wss://", "ws://", 1), **kw)

class Local(Binance):
    websocket_endpoints = [WebsocketEndpoint("wss" + url[4:])]
    rest_endpoints = [RestEndpoint(url, routes=Routes("/api/v3/exchangeInfo",
        l2book="/api/v3/depth?symbol={}&limit={}", authentication="/api/v3/userDataStream"))]

out = {"candles": [], "books": 0, "crossed": 0, "trades": 0}

async def candle(c, ts):
    out["candles"].append([c.start, c.stop, c.interval, str(c.open), str(c.close), c.closed])

async def book(b, ts):
    out["books"] += 1
    bids, asks = b.book.bids, b.book.asks
    if len(bids) and len(asks) and bids.index(0)[0] >= asks.index(0)[0]:
        out["crossed"] += 1

async def trade(t, ts):
    out["trades"] += 1

fh = FeedHandler(config={"log": {"disabled": True}})
fh.add_feed(Local(symbols=["BTC-USDT"], channels=[CANDLES, L2_BOOK, TRADES],
                  callbacks={CANDLES: candle, L2_BOOK: book, TRADES: trade}))
loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)
loop.call_later(seconds, loop.stop)
fh.run(start_loop=True, install_signal_handlers=False)
print("RESULT " + json.dumps(out), flush=True)
"""


def test_cryptofeed_book_trades_and_closed_candles(exchange_process: Callable[..., str]) -> None:
    url = exchange_process("--seed", "8")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    proc = subprocess.Popen(
        [sys.executable, "-c", _CRYPTOFEED, url, "14"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True,
    )  # fmt: skip
    time.sleep(6.0)  # connected and synced; now move the server clock past a minute boundary
    now = int(time.time() * 1000)
    skew = (now // MINUTE + 1) * MINUTE + 2_000 - now
    req = urllib.request.Request(
        f"{url}/_gradtrade/faults", data=orjson.dumps({"kind": "clock_skew", "ms": skew})
    )
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200
    out, err = proc.communicate(timeout=60)
    line = next((x for x in out.splitlines() if x.startswith("RESULT ")), None)
    assert line is not None, err[-3000:]
    result = json.loads(line[len("RESULT ") :])
    assert result["books"] > 10 and result["crossed"] == 0 and result["trades"] > 0
    closed = [c for c in result["candles"] if c[5]]
    assert closed, result["candles"][-3:]  # cryptofeed's default: closed candles only
    start, stop = closed[0][0], closed[0][1]
    assert closed[0][2] == "1m" and round(stop - start) == 60
