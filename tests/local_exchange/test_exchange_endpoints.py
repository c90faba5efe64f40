"""The endpoints and answers common clients rely on: Binance's number text, quoteOrderQty,
the extra public and account endpoints, USD-M refusals, consistent tickers, parameter
validation, oversized bodies and the fault endpoint's switch and bounds."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import aiohttp
import orjson
import pytest

from gradtrade.local_exchange import ExchangeServer, ServerThread

SPOT_NUM = re.compile(r"^-?\d+\.\d{8}$")


async def _get(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as s, s.get(url) as r:
        return r.status, await r.json(content_type=None)


async def _traded(url: str) -> list[Any]:
    """The last trades of BTCUSDT, once the synthetic market has traded (it starts empty)."""
    for _ in range(100):
        _, recent = await _get(f"{url}/api/v3/trades?symbol=BTCUSDT&limit=5")
        if recent:
            return list(recent)
        await asyncio.sleep(0.1)
    raise AssertionError("the market never traded")


async def test_numbers_are_fixed_width_per_symbol(synthetic_server: ServerThread) -> None:
    url = synthetic_server.url
    _, depth = await _get(f"{url}/api/v3/depth?symbol=BTCUSDT&limit=5")
    trades = await _traded(url)
    _, kl = await _get(f"{url}/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=2")
    _, tick = await _get(f"{url}/api/v3/ticker/24hr?symbol=BTCUSDT")
    spot = [x for side in ("bids", "asks") for lvl in depth[side] for x in lvl]
    spot += [t[k] for t in trades for k in ("price", "qty", "quoteQty")]
    spot += [x for row in kl for x in row[1:6]]
    spot += [tick[k] for k in ("lastPrice", "openPrice", "highPrice", "volume", "bidQty")]
    assert spot and all(SPOT_NUM.match(x) for x in spot), spot
    _, fdepth = await _get(f"{url}/fapi/v1/depth?symbol=BTCUSDT&limit=5")
    _, info = await _get(f"{url}/fapi/v1/exchangeInfo?symbol=BTCUSDT")
    px, qty = info["symbols"][0]["pricePrecision"], info["symbols"][0]["quantityPrecision"]
    for p, q in fdepth["bids"] + fdepth["asks"]:
        assert len(p.split(".")[1]) == px and len(q.split(".")[1]) == qty


async def test_market_order_by_quote_amount(
    quiet_server: ServerThread, set_book: Any, signed: Any
) -> None:
    set_book(quiet_server, "spot", "BTCUSDT", [(59_990.0, 1.0)], [(60_000.0, 0.1), (60_010.0, 1.0)])
    client = signed(quiet_server.url)
    params = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quoteOrderQty": "12000"}
    status, body, _ = await client.request("POST", "/api/v3/order", params)
    assert status == 200, body
    # 0.1 at 60000 (6000 USDT), then 5999.99... / 60010 = 0.09998 after rounding down the step
    assert body["status"] == "FILLED" and body["executedQty"] == "0.19998000"
    assert body["origQuoteOrderQty"] == "12000.00000000"
    assert float(body["cummulativeQuoteQty"]) <= 12000
    both = {**params, "quantity": "0.1"}
    status, body, _ = await client.request("POST", "/api/v3/order", both)
    assert (status, body["code"]) == (400, -1106)
    limit = {**params, "type": "LIMIT", "price": "60000", "timeInForce": "GTC"}
    status, body, _ = await client.request("POST", "/api/v3/order", limit)
    assert (status, body["code"]) == (400, -1106)


async def test_extra_public_endpoints(synthetic_server: ServerThread) -> None:
    url = synthetic_server.url
    recent = await _traded(url)
    status, hist = await _get(
        f"{url}/api/v3/historicalTrades?symbol=BTCUSDT&fromId={recent[0]['id']}&limit=3"
    )
    assert status == 200 and [t["id"] for t in hist] == [t["id"] for t in recent[:3]]
    status, rolling = await _get(f"{url}/api/v3/ticker?symbol=BTCUSDT&windowSize=15m")
    assert status == 200 and rolling["closeTime"] - rolling["openTime"] == 15 * 60_000
    status, bad = await _get(f"{url}/api/v3/ticker?symbol=BTCUSDT&windowSize=61m")
    assert status == 400 and bad["code"] == -1100
    status, oi = await _get(f"{url}/fapi/v1/openInterest?symbol=BTCUSDT")
    assert status == 200 and oi["symbol"] == "BTCUSDT" and "." in oi["openInterest"]


async def test_ticker_fields_agree(synthetic_server: ServerThread) -> None:
    await _traded(synthetic_server.url)
    _, t = await _get(f"{synthetic_server.url}/api/v3/ticker/24hr?symbol=BTCUSDT")
    assert t["count"] > 0 and t["count"] == t["lastId"] - t["firstId"] + 1
    assert float(t["lowPrice"]) <= float(t["lastPrice"]) <= float(t["highPrice"])
    assert float(t["lowPrice"]) <= float(t["openPrice"]) <= float(t["highPrice"])
    assert t["closeTime"] - t["openTime"] == 86_400_000


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/api/v3/trades?symbol=BTCUSDT&limit=-1", -1100),
        ("/api/v3/aggTrades?symbol=BTCUSDT&limit=-5", -1100),
        ("/fapi/v1/fundingRate?symbol=BTCUSDT&limit=-1", -1100),
        ("/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=-1", -1100),
        ("/api/v3/depth?symbol=BTCUSDT&limit=-1", -1100),
        ('/api/v3/ticker/24hr?symbols=["BTCUSDT",', -1100),
        ("/api/v3/ticker/price?symbols=BTCUSDT", -1100),
        ('/api/v3/ticker/price?symbols=["BTCUSDT","NOPEUSDT"]', -1121),
        ('/api/v3/ticker/bookTicker?symbol=BTCUSDT&symbols=["BTCUSDT"]', -1128),
        ("/api/v3/aggTrades?symbol=BTCUSDT&startTime=5&endTime=1", -1023),
    ],
)
async def test_parameters_are_validated(
    synthetic_server: ServerThread, path: str, code: int
) -> None:
    status, body = await _get(synthetic_server.url + path)
    assert (status, body["code"]) == (400, code), body


async def test_symbols_list_selects(synthetic_server: ServerThread) -> None:
    status, body = await _get(
        f'{synthetic_server.url}/api/v3/ticker/price?symbols=["ETHUSDT","BTCUSDT"]'
    )
    assert status == 200 and [t["symbol"] for t in body] == ["ETHUSDT", "BTCUSDT"]


async def test_mark_klines_without_mark_data_and_usdm_tick(
    quiet_server: ServerThread, signed: Any
) -> None:
    url = quiet_server.url
    status, body = await _get(f"{url}/fapi/v1/markPriceKlines?symbol=BTCUSDT&interval=1h")
    assert (status, body) == (200, [])
    status, body = await _get(f"{url}/fapi/v1/markPriceKlines?symbol=BTCUSDT&interval=7h")
    assert (status, body["code"], body["msg"]) == (400, -1120, "Invalid interval.")
    mid = quiet_server.run(lambda: quiet_server.server.state.markets["usdm"]["BTCUSDT"].book.mid())
    assert mid is not None
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
    order |= {"quantity": "0.01", "price": f"{round(mid * 0.99, 1) + 0.05:.2f}"}
    status, body, _ = await signed(url).request("POST", "/fapi/v1/order", order)
    assert (status, body["code"], body["msg"]) == (400, -4014, "Price not increased by tick size.")


async def test_account_endpoints(quiet_server: ServerThread, signed: Any) -> None:
    client = signed(quiet_server.url)
    status, body, _ = await client.request(
        "GET", "/api/v3/account/commission", {"symbol": "BTCUSDT"}
    )
    assert status == 200 and body["standardCommission"]["maker"] == "0.00050000"
    status, body, _ = await client.request("GET", "/api/v3/rateLimit/order")
    assert status == 200 and {r["interval"] for r in body} == {"SECOND", "DAY"}
    status, body, _ = await client.request("GET", "/fapi/v1/commissionRate", {"symbol": "BTCUSDT"})
    assert (status, body["takerCommissionRate"]) == (200, "0.0005")
    status, body, _ = await client.request("GET", "/fapi/v1/positionSide/dual")
    assert (status, body) == (200, {"dualSidePosition": False})
    status, body, _ = await client.request(
        "POST", "/fapi/v1/positionSide/dual", {"dualSidePosition": "true"}
    )
    assert (status, body["code"]) == (400, -1020)
    status, body, _ = await client.request(
        "GET", "/fapi/v1/openOrder", {"symbol": "BTCUSDT", "orderId": 999_999}
    )
    assert (status, body["code"]) == (400, -2013)
    mid = quiet_server.run(lambda: quiet_server.server.state.markets["usdm"]["BTCUSDT"].book.mid())
    assert mid is not None
    buy = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"}
    status, placed, _ = await client.request("POST", "/fapi/v1/order", buy)
    assert status == 200, placed
    sell = {**buy, "side": "SELL"}
    status, placed, _ = await client.request("POST", "/fapi/v1/order", sell)
    status, income, _ = await client.request("GET", "/fapi/v1/income", {"symbol": "BTCUSDT"})
    assert status == 200 and {r["incomeType"] for r in income} >= {"COMMISSION"}
    assert all(r["symbol"] == "BTCUSDT" and r["asset"] == "USDT" for r in income)
    rest = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
    rest |= {"quantity": "0.01", "price": f"{round(mid * 0.97, 1):.1f}"}
    status, placed, _ = await client.request("POST", "/fapi/v1/order", rest)
    assert status == 200, placed
    status, found, _ = await client.request(
        "GET", "/fapi/v1/openOrder", {"symbol": "BTCUSDT", "orderId": placed["orderId"]}
    )
    assert status == 200 and found["status"] == "NEW"


async def test_oversized_body_is_413_not_500(quiet_server: ServerThread) -> None:
    async with aiohttp.ClientSession() as s:
        data = b"a=" + b"x" * (2 << 20)
        async with s.post(f"{quiet_server.url}/api/v3/order", data=data) as r:
            assert r.status == 413
            assert (await r.json(content_type=None))["code"] == -1000


async def test_fault_endpoint_is_off_unless_enabled_and_bounded(
    quiet_server: ServerThread,
) -> None:
    with ServerThread(ExchangeServer(synthetic=True, seed=1, speed=1e-4)) as plain:
        async with aiohttp.ClientSession() as s:
            body = orjson.dumps({"kind": "rest", "status": 500})
            async with s.post(f"{plain.url}/_gradtrade/faults", data=body) as r:
                assert r.status == 404
            async with s.get(f"{plain.url}/api/v3/time") as r:
                assert r.status == 200  # nothing was armed
    bad = [
        {"kind": "rest", "status": 500, "count": -1},
        {"kind": "ack_delay", "seconds": 1e308},
        {"kind": "clock_skew", "ms": "soon"},
        {"kind": "rest", "status": 200},
        {"kind": "reject_orders", "count": True},
        {"kind": "stall_ws", "seconds": 1, "colour": "red"},
        {"kind": "depth_gap", "symbol": "BTCUSDT", "venue": "moon"},
    ]
    async with aiohttp.ClientSession() as s:
        for spec in bad:
            async with s.post(
                f"{quiet_server.url}/_gradtrade/faults", data=orjson.dumps(spec)
            ) as r:
                assert r.status == 400, spec
                assert (await r.json())["code"] == -1130
        async with s.get(f"{quiet_server.url}/api/v3/time") as r:
            assert r.status == 200
