"""The websocket API's trading methods (``/ws-api/v3`` spot, ``/ws-fapi/v1`` USD-M): signed as
Binance signs them, answered like the REST endpoints they mirror, with ``rateLimits``."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import orjson
import websockets

from gradtrade.local_exchange import ExchangeServer, ServerThread
from gradtrade.local_exchange.auth import sign, ws_text

_ids = itertools.count(1)


def _signed(params: dict[str, Any], key: str, secret: str) -> dict[str, Any]:
    p = {**params, "apiKey": key, "timestamp": int(time.time() * 1000)}
    payload = "&".join(f"{k}={ws_text(v)}" for k, v in sorted(p.items()))
    return {**p, "signature": sign(secret, payload)}


async def _call(ws: Any, method: str, params: dict[str, Any] | None = None) -> Any:
    req_id = next(_ids)
    await ws.send(orjson.dumps({"id": req_id, "method": method, "params": params or {}}).decode())
    while True:
        msg = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
        if msg.get("id") == req_id:
            return msg


async def test_spot_order_lifecycle_over_the_websocket_api(
    quiet_server: ServerThread, set_book: Any, api_key: str, api_secret: str
) -> None:
    set_book(quiet_server, "spot", "BTCUSDT", [(59_990.0, 1.0)], [(60_010.0, 1.0)])
    url = "ws" + quiet_server.url[4:] + "/ws-api/v3"
    async with websockets.connect(url) as ws:
        order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
        order |= {"quantity": "0.01", "price": "59000"}
        placed = await _call(ws, "order.place", _signed(order, api_key, api_secret))
        assert placed["status"] == 200, placed
        assert placed["result"]["status"] == "NEW" and placed["result"]["price"] == "59000.00000000"
        kinds = {(r["rateLimitType"], r["interval"]) for r in placed["rateLimits"]}
        assert {("REQUEST_WEIGHT", "MINUTE"), ("ORDERS", "SECOND")} <= kinds
        oid = placed["result"]["orderId"]
        query = {"symbol": "BTCUSDT", "orderId": oid}
        status = await _call(ws, "order.status", _signed(query, api_key, api_secret))
        assert status["result"]["orderId"] == oid and status["result"]["status"] == "NEW"
        opened = await _call(
            ws, "openOrders.status", _signed({"symbol": "BTCUSDT"}, api_key, api_secret)
        )
        assert [o["orderId"] for o in opened["result"]] == [oid]
        account = await _call(ws, "account.status", _signed({}, api_key, api_secret))
        usdt = next(b for b in account["result"]["balances"] if b["asset"] == "USDT")
        assert float(usdt["locked"]) == 590.0
        canceled = await _call(ws, "order.cancel", _signed(query, api_key, api_secret))
        assert canceled["result"]["status"] == "CANCELED"
        again = await _call(ws, "order.cancel", _signed(query, api_key, api_secret))
        assert again["status"] == 400 and again["error"]["code"] == -2011
        bad = _signed(order, api_key, api_secret) | {"signature": "0" * 64}
        refused = await _call(ws, "order.place", bad)
        assert refused["status"] == 400 and refused["error"]["code"] == -1022
        tick = await _call(
            ws, "order.place", _signed(order | {"price": "59000.001"}, api_key, api_secret)
        )
        assert tick["error"]["code"] in (-1013, -1111)


async def test_usdm_websocket_api_places_and_reports(
    quiet_server: ServerThread, api_key: str, api_secret: str
) -> None:
    url = "ws" + quiet_server.url[4:] + "/ws-fapi/v1"
    async with websockets.connect(url) as ws:
        order = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"}
        placed = await _call(ws, "order.place", _signed(order, api_key, api_secret))
        assert placed["status"] == 200, placed
        assert placed["result"]["status"] == "FILLED"
        account = await _call(ws, "account.status", _signed({}, api_key, api_secret))
        pos = [p for p in account["result"]["positions"] if p["symbol"] == "BTCUSDT"]
        assert pos and pos[0]["positionAmt"] == "0.01"


async def test_websocket_api_weight_shares_the_rest_budget(api_key: str, api_secret: str) -> None:
    with ServerThread(ExchangeServer(synthetic=True, speed=1e-4, weight_limits={"spot": 45})) as st:
        url = "ws" + st.url[4:] + "/ws-api/v3"
        async with websockets.connect(url) as ws:
            first = await _call(ws, "account.status", _signed({}, api_key, api_secret))
            assert first["status"] == 200 and first["rateLimits"][0]["count"] == 20
            second = await _call(ws, "account.status", _signed({}, api_key, api_secret))
            assert second["rateLimits"][0]["count"] == 40
            third = await _call(ws, "account.status", _signed({}, api_key, api_secret))
            assert third["status"] == 429 and third["error"]["code"] == -1003
