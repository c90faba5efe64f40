"""Faults on demand: every kind, armed from the test (Python API) or the control endpoint."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import ccxt
import orjson
import pytest
import websockets

from gradtrade.local_exchange import ServerThread


async def test_rate_limits_and_server_errors(
    make_ccxt: Callable[..., Any], quiet_server: ServerThread
) -> None:
    url = quiet_server.url
    quiet_server.arm("rest", status=429, retry_after=3, count=2, path_prefix="/api/v3/depth")
    async with aiohttp.ClientSession() as s:
        for _ in range(2):
            async with s.get(f"{url}/api/v3/depth?symbol=BTCUSDT") as r:
                assert r.status == 429 and r.headers["Retry-After"] == "3"
                assert (await r.json())["code"] == -1003
        async with s.get(f"{url}/api/v3/depth?symbol=BTCUSDT") as r:
            assert r.status == 200  # the fault fired its two times and disarmed
        async with s.post(
            f"{url}/_gradtrade/faults",
            data=orjson.dumps({"kind": "rest", "status": 418, "retry_after": 60}),
        ) as r:
            assert r.status == 200
        async with s.get(f"{url}/api/v3/time") as r:
            assert r.status == 418 and r.headers["Retry-After"] == "60"
        quiet_server.arm("rest", status=503)
        async with s.get(f"{url}/api/v3/time") as r:
            assert r.status == 503 and (await r.json())["code"] == -1008
        async with s.post(f"{url}/_gradtrade/faults", data=b'{"kind": "meteor"}') as r:
            assert r.status == 400 and "unknown fault kind" in (await r.json())["msg"]
    ex = make_ccxt(url, "spot")
    try:
        quiet_server.arm("rest", status=429, retry_after=1)
        with pytest.raises(ccxt.DDoSProtection):
            await ex.fetch_time()
        quiet_server.arm("rest", status=500)
        with pytest.raises(ccxt.OperationFailed):
            await ex.fetch_time()
    finally:
        await ex.close()


async def test_clock_skew_gives_timestamp_errors(
    make_ccxt: Callable[..., Any], signed: Any, quiet_server: ServerThread
) -> None:
    quiet_server.arm("clock_skew", ms=-30_000)
    status, body, _ = await signed(quiet_server.url).request("GET", "/api/v3/account")
    assert (status, body["code"]) == (400, -1021)
    ex = make_ccxt(quiet_server.url, "spot")
    try:
        with pytest.raises(ccxt.InvalidNonce):
            await ex.fetch_balance()
        quiet_server.arm("clock_skew", ms=0)
        assert "USDT" in await ex.fetch_balance()
    finally:
        await ex.close()


async def test_rejected_orders_and_delayed_acks(
    make_ccxt: Callable[..., Any], set_book: Callable[..., None], quiet_server: ServerThread
) -> None:
    set_book(quiet_server, "spot", "BTCUSDT", [(59_990.0, 1.0)], [(60_010.0, 1.0)])
    ex = make_ccxt(quiet_server.url, "spot")
    try:
        await ex.load_markets()
        quiet_server.arm("reject_orders", count=1)
        with pytest.raises(ccxt.InsufficientFunds):
            await ex.create_order("BTC/USDT", "market", "buy", 0.001)
        quiet_server.arm("ack_delay", seconds=0.5)
        started = time.monotonic()
        order = await ex.create_order("BTC/USDT", "market", "buy", 0.001)
        assert time.monotonic() - started >= 0.5 and order["status"] == "closed"
        quiet_server.arm("ack_delay", seconds=0)
    finally:
        await ex.close()


async def _frames(ws: Any, seconds: float) -> int:
    count = 0
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            await asyncio.wait_for(ws.recv(), left)
            count += 1
        except TimeoutError:
            break
    return count


async def test_stall_and_drop_websockets(synthetic_server: ServerThread) -> None:
    url = synthetic_server.url.replace("http", "ws") + "/ws/btcusdt@depth@100ms"
    async with websockets.connect(url) as ws:
        assert await _frames(ws, 0.5) > 0
        synthetic_server.arm("stall_ws", seconds=1.0, path_prefix="/ws")
        await _frames(ws, 0.1)  # frames already in flight
        assert await _frames(ws, 0.6) == 0  # stalled
        assert await _frames(ws, 1.0) > 0  # the backlog arrives after the stall
        synthetic_server.arm("drop_ws", path_prefix="/ws")
        with pytest.raises(websockets.ConnectionClosed):
            for _ in range(10_000):
                await asyncio.wait_for(ws.recv(), 2)
    async with websockets.connect(url) as ws:  # the server still accepts connections
        assert await _frames(ws, 0.5) > 0


async def test_ack_delay_places_the_order_at_once_and_only_delays_the_answer(
    quiet_server: ServerThread, signed: Callable[..., Any]
) -> None:
    """A client that times out waiting for the answer finds its order by origClientOrderId
    while the answer is still held: the order was placed when it arrived."""
    client = signed(quiet_server.url)
    quiet_server.arm("ack_delay", seconds=2.0)
    params = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001",
              "newClientOrderId": "late-answer-1"}  # fmt: skip
    started = time.monotonic()
    placing = asyncio.ensure_future(client.request("POST", "/api/v3/order", params))
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(placing), 0.5)  # the client gives up waiting
    status, body, _ = await client.request(
        "GET", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "late-answer-1"}
    )
    assert time.monotonic() - started < 2.0  # found before the answer was sent
    assert status == 200 and body["status"] == "FILLED", body
    status, answer, _ = await placing  # the held answer still arrives, for the same order
    assert time.monotonic() - started >= 2.0
    assert status == 200 and answer["orderId"] == body["orderId"]
    quiet_server.arm("reject_orders", count=1)  # a refusal is decided at once, answered late
    started = time.monotonic()
    status, refused, _ = await client.request("POST", "/api/v3/order", {**params,
                                              "newClientOrderId": "late-answer-2"})  # fmt: skip
    assert status == 400 and refused["code"] == -2010 and time.monotonic() - started >= 2.0
    quiet_server.arm("clear")
