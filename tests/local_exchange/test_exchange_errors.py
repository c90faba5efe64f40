"""Bad requests get Binance's error JSON and HTTP status, never a stack trace or a secret."""

from __future__ import annotations

import time
from typing import Any

import aiohttp

from gradtrade.local_exchange import ServerThread


async def test_signature_and_key_errors(signed: Any, synthetic_server: ServerThread) -> None:
    url = synthetic_server.url
    client = signed(url)
    status, body, _ = await client.request("GET", "/api/v3/account", signature="0" * 64)
    assert (status, body) == (
        400,
        {"code": -1022, "msg": "Signature for this request is not valid."},
    )
    status, body, _ = await signed(url, secret="not-the-secret").request("GET", "/api/v3/account")
    assert body["code"] == -1022
    status, body, _ = await signed(url, key="").request("GET", "/api/v3/account")
    assert (status, body) == (401, {"code": -2014, "msg": "API-key format invalid."})
    status, body, _ = await signed(url, key="someone-else").request("GET", "/api/v3/account")
    assert (status, body) == (
        401,
        {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."},
    )
    status, body, _ = await client.request("GET", "/api/v3/account", signed=False)
    assert body["code"] == -1102 and "'signature'" in body["msg"]
    old = int(time.time() * 1000) - 10_000
    status, body, _ = await client.request("GET", "/api/v3/account", timestamp=old)
    assert (status, body["code"]) == (400, -1021)
    status, body, _ = await client.request(
        "GET", "/api/v3/account", {"recvWindow": 20_000}, timestamp=old
    )
    assert status == 200 and "balances" in body  # inside a wider recvWindow
    future = int(time.time() * 1000) + 5_000
    status, body, _ = await client.request("GET", "/api/v3/account", timestamp=future)
    assert body == {
        "code": -1021,
        "msg": "Timestamp for this request was 1000ms ahead of the server's time.",
    }


async def test_malformed_parameters(signed: Any, synthetic_server: ServerThread) -> None:
    url = synthetic_server.url
    async with aiohttp.ClientSession() as s:
        cases = [
            ("/api/v3/depth?symbol=NOPEUSDT", 400, -1121),
            ("/api/v3/depth", 400, -1102),
            ("/api/v3/depth?symbol=BTCUSDT&limit=abc", 400, -1100),
            ("/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1&limit=2", 400, -1101),
            ("/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=5&endTime=1", 400, -1023),
            ("/api/v3/klines?symbol=BTCUSDT", 400, -1102),
            ("/fapi/v1/fundingRate?symbol=NOPE", 400, -1121),
            ("/api/v3/noSuchEndpoint", 404, -1000),
        ]
        for path, status, code in cases:
            async with s.get(url + path) as r:
                body = await r.json()
                assert (r.status, body["code"]) == (status, code), path
                assert "Traceback" not in body["msg"]
        status, body, _ = await signed(url).request(
            "POST",
            "/api/v3/order",
            {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": "1e3",
                "price": "1",
            },
        )
        assert status == 400 and body["code"] == -1100
        async with s.get(url + "/api/v3/ping") as r:
            assert r.status == 200 and await r.json() == {}  # still serving


async def test_secrets_never_in_errors(
    api_key: str, api_secret: str, signed: Any, synthetic_server: ServerThread
) -> None:
    url = synthetic_server.url
    for client in (signed(url, secret="wrong"), signed(url, key=api_key + "x")):
        _, body, headers = await client.request("GET", "/api/v3/account")
        text = str(body) + str(headers)
        assert api_key not in text and api_secret not in text
