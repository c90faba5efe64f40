"""Request weight as Binance accounts it: per IP, per minute of the server clock, Binance's weights
per endpoint on every REST answer, 429 with Retry-After over the limit, 418 bans for hammering,
and per-account order counts. Counters are checked on a real server over HTTP; the minute
arithmetic also directly on :class:`RateLimits` with explicit times."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest

from gradtrade.local_exchange import ExchangeServer, ServerThread
from gradtrade.local_exchange.errors import ApiError
from gradtrade.local_exchange.limits import RateLimits, request_weight

MINUTE = 60_000
T0 = 1_700_000_040_000  # a minute boundary


def place_clock(st: ServerThread, second: float, minutes_ahead: int = 2) -> int:
    """Move the server clock forward to ``second`` into the minute ``minutes_ahead`` after the
    server's current one, so a test knows exactly when its window ends; returns the total skew
    (ms) for signed timestamps."""
    state = st.server.state

    def move() -> int:
        now = state.now_ms()
        target = (now // MINUTE + minutes_ahead) * MINUTE + int(second * 1000)
        state.faults.skew_clock(state.faults.clock_skew_ms + target - now)
        return state.faults.clock_skew_ms

    return st.run(move)


@pytest.fixture
def limited() -> Iterator[ServerThread]:
    """A frozen synthetic market with a tiny spot budget (30) and bans after two ignored 429s."""
    server = ExchangeServer(
        synthetic=True, seed=2, speed=1e-4, weight_limits={"spot": 30}, ban_after=2
    )
    with ServerThread(server) as st:
        yield st


async def get(
    session: aiohttp.ClientSession, url: str, method: str = "GET"
) -> tuple[int, Any, dict[str, str]]:
    async with session.request(method, url) as r:
        return r.status, await r.json(content_type=None), dict(r.headers)


def used(headers: dict[str, str]) -> int:
    return int(headers["X-MBX-USED-WEIGHT-1M"])


SPOT_PUBLIC = [
    ("/api/v3/ping", 1),
    ("/api/v3/time", 1),
    ("/api/v3/exchangeInfo", 20),
    ("/api/v3/depth?symbol=BTCUSDT", 5),
    ("/api/v3/depth?symbol=BTCUSDT&limit=100", 5),
    ("/api/v3/depth?symbol=BTCUSDT&limit=101", 25),
    ("/api/v3/depth?symbol=BTCUSDT&limit=1000", 50),
    ("/api/v3/depth?symbol=BTCUSDT&limit=5000", 250),
    ("/api/v3/klines?symbol=BTCUSDT&interval=1m&limit=1000", 2),
    ("/api/v3/uiKlines?symbol=BTCUSDT&interval=1m", 2),
    ("/api/v3/aggTrades?symbol=BTCUSDT", 4),
    ("/api/v3/trades?symbol=BTCUSDT", 25),
    ("/api/v3/avgPrice?symbol=BTCUSDT", 2),
    ("/api/v3/ticker/24hr?symbol=BTCUSDT", 2),
    ("/api/v3/ticker/24hr", 80),
    ("/api/v3/ticker/price?symbol=BTCUSDT", 2),
    ("/api/v3/ticker/price", 4),
    ("/api/v3/ticker/bookTicker?symbol=BTCUSDT", 2),
    ("/api/v3/ticker/bookTicker", 4),
    ("/api/v3/depth?symbol=NOPEUSDT", 5),  # refusals are charged too
    ("/api/v3/nothingHere", 1),
]
USDM_PUBLIC = [
    ("/fapi/v1/exchangeInfo", 1),
    ("/fapi/v1/depth?symbol=BTCUSDT", 10),
    ("/fapi/v1/depth?symbol=BTCUSDT&limit=5", 2),
    ("/fapi/v1/depth?symbol=BTCUSDT&limit=100", 5),
    ("/fapi/v1/depth?symbol=BTCUSDT&limit=1000", 20),
    ("/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=99", 1),
    ("/fapi/v1/klines?symbol=BTCUSDT&interval=1m", 5),
    ("/fapi/v1/klines?symbol=BTCUSDT&interval=1m&limit=1500", 10),
    ("/fapi/v1/premiumIndex?symbol=BTCUSDT", 1),
    ("/fapi/v1/premiumIndex", 10),
    ("/fapi/v1/aggTrades?symbol=BTCUSDT", 20),
    ("/fapi/v1/ticker/24hr", 40),
    ("/fapi/v1/fundingRate?symbol=BTCUSDT", 1),
]


async def test_every_answer_carries_binances_weight_per_endpoint(
    quiet_server: ServerThread,
) -> None:
    place_clock(quiet_server, 5.0)  # 55 s of one window ahead: no roll-over mid-test
    url = quiet_server.url
    async with aiohttp.ClientSession() as s:
        for venue_rows in (SPOT_PUBLIC, USDM_PUBLIC):
            _, _, first = await get(s, url + venue_rows[0][0])
            before = used(first)
            for path, weight in venue_rows[1:]:
                status, body, headers = await get(s, url + path)
                assert used(headers) - before == weight, (path, status, body)
                before = used(headers)
                if path.startswith("/api/"):  # spot also sends the legacy header, USD-M does not
                    assert headers["X-MBX-USED-WEIGHT"] == headers["X-MBX-USED-WEIGHT-1M"]
                else:
                    assert "X-MBX-USED-WEIGHT" not in headers
        status, body, headers = await get(s, f"{url}/_gradtrade/status")
        assert status == 200 and "X-MBX-USED-WEIGHT-1M" not in headers  # not Binance's API
        _, info, _ = await get(s, f"{url}/api/v3/exchangeInfo")
        assert info["rateLimits"][0] == {
            "rateLimitType": "REQUEST_WEIGHT",
            "interval": "MINUTE",
            "intervalNum": 1,
            "limit": 6000,
        }


async def test_signed_endpoints_weights_and_order_counts(
    set_book: Callable[..., None], signed: Any, quiet_server: ServerThread
) -> None:
    skew = place_clock(quiet_server, 1.0)  # windows of 10 s and 1 min both start here
    set_book(quiet_server, "spot", "BTCUSDT", [(59_990.0, 1.0)], [(60_010.0, 1.0)])
    set_book(quiet_server, "usdm", "BTCUSDT", [(59_990.0, 5.0)], [(60_010.0, 5.0)])
    client = signed(quiet_server.url)

    async def call(method: str, path: str, params: dict[str, Any]) -> tuple[Any, dict[str, str]]:
        status, body, headers = await client.request(
            method, path, params, timestamp=int(time.time() * 1000) + skew
        )
        assert status == 200, body
        return body, headers

    _, h = await call("GET", "/api/v3/account", {})
    base = used(h) - 20
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
    placed, h = await call("POST", "/api/v3/order", {**order, "quantity": "0.01", "price": "59000"})
    assert used(h) - base == 21
    assert h["X-MBX-ORDER-COUNT-10S"] == "1" and h["X-MBX-ORDER-COUNT-1D"] == "1"
    _, h = await call("POST", "/api/v3/order/test", {**order, "quantity": "0.01", "price": "59000"})
    assert used(h) - base == 22 and "X-MBX-ORDER-COUNT-10S" not in h  # test orders are not counted
    oid = {"symbol": "BTCUSDT", "orderId": placed["orderId"]}
    expected = [
        ("GET", "/api/v3/order", oid, 4),
        ("GET", "/api/v3/openOrders", {"symbol": "BTCUSDT"}, 6),
        ("GET", "/api/v3/openOrders", {}, 80),
        ("GET", "/api/v3/allOrders", {"symbol": "BTCUSDT"}, 20),
        ("GET", "/api/v3/myTrades", {"symbol": "BTCUSDT"}, 20),
        ("DELETE", "/api/v3/order", oid, 1),
    ]
    total = 22
    for method, path, params, weight in expected:
        _, h = await call(method, path, params)
        total += weight
        assert used(h) - base == total, path
    placed, h = await call("POST", "/api/v3/order", {**order, "quantity": "0.01", "price": "59000"})
    assert h["X-MBX-ORDER-COUNT-10S"] == "2"
    # USD-M: a new order weighs 0 on the IP budget and counts per 10 s and per minute
    _, h = await call("GET", "/fapi/v2/account", {})
    fapi = used(h) - 5
    usdm = {**order, "quantity": "0.01", "price": "59000"}
    _, h = await call("POST", "/fapi/v1/order", usdm)
    assert used(h) == fapi + 5
    assert h["X-MBX-ORDER-COUNT-10S"] == "1" and h["X-MBX-ORDER-COUNT-1M"] == "1"
    _, h = await call("GET", "/sapi/v1/capital/config/getall", {})
    assert h["X-SAPI-USED-IP-WEIGHT-1M"] == "10" and "X-MBX-USED-WEIGHT-1M" not in h


async def test_weight_is_per_client_ip() -> None:
    server = ExchangeServer(synthetic=True, seed=2, speed=1e-4)
    url = await server.start(0)
    try:
        server.faults.skew_clock(
            (int(time.time() * 1000) // MINUTE + 2) * MINUTE + 5000 - int(time.time() * 1000)
        )
        async with aiohttp.ClientSession() as local:
            _, _, h = await get(local, f"{url}/api/v3/exchangeInfo")
            assert used(h) == 20
        # Linux routes all of 127/8 to loopback: 127.0.0.2 is a second client address
        connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
        async with aiohttp.ClientSession(connector=connector) as other:
            _, _, h = await get(other, f"{url}/api/v3/ping")
            assert used(h) == 1
        async with aiohttp.ClientSession() as local:
            _, _, h = await get(local, f"{url}/api/v3/ping")
            assert used(h) == 21
    finally:
        await server.stop()


async def test_the_window_is_the_minute_of_the_server_clock(limited: ServerThread) -> None:
    place_clock(limited, 58.8)  # 1.2 s before this window ends
    async with aiohttp.ClientSession() as s:
        url = limited.url
        _, _, h = await get(s, f"{url}/api/v3/exchangeInfo")
        assert used(h) == 20
        _, _, h = await get(s, f"{url}/api/v3/depth?symbol=BTCUSDT")
        assert used(h) == 25
        await asyncio.sleep(1.5)  # the server's minute turns over
        _, _, h = await get(s, f"{url}/api/v3/depth?symbol=BTCUSDT")
        assert used(h) == 5


async def test_429_with_retry_after_then_418_ban_for_hammering(limited: ServerThread) -> None:
    place_clock(limited, 10.0)
    url = limited.url
    async with aiohttp.ClientSession() as s:
        for expected in (20, 25, 30):  # exactly at the limit is still allowed
            path = "/api/v3/exchangeInfo" if expected == 20 else "/api/v3/depth?symbol=BTCUSDT"
            status, _, h = await get(s, url + path)
            assert status == 200 and used(h) == expected
        for _ in range(2):  # ban_after=2: two 429s may be ignored
            status, body, h = await get(s, f"{url}/api/v3/ping")
            assert status == 429 and body["code"] == -1003
            assert "current limit is 30 request weight per 1 MINUTE" in body["msg"]
            assert 49 <= int(h["Retry-After"]) <= 50  # seconds to the end of the minute
            assert used(h) > 30
        status, body, h = await get(s, f"{url}/api/v3/ping")
        assert status == 418 and body["code"] == -1003 and "IP banned until" in body["msg"]
        assert int(h["Retry-After"]) == 120  # first ban: 2 minutes
        # banned: every spot request is refused, even in a fresh minute, until the ban ends
        place_clock(limited, 10.0, minutes_ahead=1)
        status, _, h = await get(s, f"{url}/api/v3/time")
        assert status == 418 and 55 <= int(h["Retry-After"]) <= 61
        status, _, _ = await get(s, f"{url}/fapi/v1/time")
        assert status == 200  # USD-M is another API with its own counters
        place_clock(limited, 20.0, minutes_ahead=1)
        status, _, h = await get(s, f"{url}/api/v3/time")
        assert status == 200 and used(h) == 1
        for _ in range(5):  # a repeat offender's ban doubles
            status, _, h = await get(s, f"{url}/api/v3/exchangeInfo")
        assert status == 418 and int(h["Retry-After"]) == 240


def test_rate_limits_in_isolation() -> None:
    limits = RateLimits({"usdm": 10}, ban_after=1)
    assert limits.charge("usdm", "a", 10, T0 + 59_999) == {"X-MBX-USED-WEIGHT-1M": "10"}
    with pytest.raises(ApiError) as refused:
        limits.charge("usdm", "a", 1, T0 + 59_999)
    assert refused.value.status == 429 and refused.value.headers["Retry-After"] == "1"
    assert limits.used("usdm", "a", T0 + 59_999) == 11
    assert limits.used("usdm", "a", T0 + MINUTE) == 0  # the calendar minute, not 60 s since
    assert limits.charge("usdm", "a", 3, T0 + MINUTE)["X-MBX-USED-WEIGHT-1M"] == "3"
    assert limits.charge("usdm", "b", 10, T0 + MINUTE)["X-MBX-USED-WEIGHT-1M"] == "10"
    for expected_status in (429, 418):
        with pytest.raises(ApiError) as refused:
            limits.charge("usdm", "b", 1, T0 + MINUTE + 500)
        assert refused.value.status == expected_status
    ban_end = T0 + MINUTE + 500 + 120_000
    with pytest.raises(ApiError):
        limits.charge("usdm", "b", 1, ban_end - 1)
    assert limits.charge("usdm", "b", 1, ban_end)["X-MBX-USED-WEIGHT-1M"] == "1"
    with pytest.raises(ValueError, match="unknown APIs"):
        RateLimits({"options": 5})
    with pytest.raises(ValueError, match="positive"):
        RateLimits({"spot": 0})


def test_order_counts_per_account_and_window() -> None:
    limits = RateLimits()
    for n in range(1, 101):
        headers = limits.count_order("spot", "k", T0 + n)
    assert headers == {"X-MBX-ORDER-COUNT-10S": "100", "X-MBX-ORDER-COUNT-1D": "100"}
    with pytest.raises(ApiError) as refused:
        limits.count_order("spot", "k", T0 + 9_999)
    assert refused.value.status == 429 and refused.value.code == -1015
    assert refused.value.msg == "Too many new orders; current limit is 100 orders per 10 SECOND."
    assert "Retry-After" not in refused.value.headers  # as Binance: no Retry-After on -1015
    assert limits.count_order("spot", "other", T0 + 9_999)["X-MBX-ORDER-COUNT-10S"] == "1"
    after = limits.count_order("spot", "k", T0 + 10_000)
    assert after == {"X-MBX-ORDER-COUNT-10S": "1", "X-MBX-ORDER-COUNT-1D": "101"}
    futures = RateLimits()
    for second in range(4):  # 300 per 10 s, then 1200 per minute binds
        for n in range(300):
            futures.count_order("usdm", "k", T0 + second * 10_000 + n)
    with pytest.raises(ApiError, match="1200 orders per 1 MINUTE"):
        futures.count_order("usdm", "k", T0 + 40_000)


def test_weights_follow_the_parameters() -> None:
    assert request_weight("spot", "GET", "depth", {}) == 5  # default limit 100
    assert request_weight("spot", "GET", "depth", {"limit": "junk"}) == 5
    assert request_weight("usdm", "GET", "depth", {}) == 10  # default limit 500
    assert request_weight("usdm", "GET", "klines", {"limit": "100"}) == 2
    assert request_weight("usdm", "POST", "order", {}) == 0
    assert request_weight("spot", "GET", "somethingNew", {}) == 1


async def test_cli_sets_the_limits_of_a_server_in_another_process() -> None:
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "gradtrade", "exchange", "serve", "--synthetic"),
            *("--port", "0", "--weight-limit-spot", "25", "--weight-limit-usdm", "3"),
            *("--ban-after", "1", "--faults"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(root / "python")},
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        now = int(time.time() * 1000)
        skew = (now // MINUTE + 2) * MINUTE + 10_000 - now  # 50 s of one window ahead
        async with aiohttp.ClientSession() as s:
            body = orjson.dumps({"kind": "clock_skew", "ms": skew})
            async with s.post(f"{url}/_gradtrade/faults", data=body) as r:
                assert r.status == 200
            status, info, h = await get(s, f"{url}/api/v3/exchangeInfo")
            assert status == 200 and used(h) == 20 and info["rateLimits"][0]["limit"] == 25
            status, _, h = await get(s, f"{url}/api/v3/depth?symbol=BTCUSDT")
            assert status == 200 and used(h) == 25
            status, _, _ = await get(s, f"{url}/api/v3/ping")
            assert status == 429
            status, _, h = await get(s, f"{url}/api/v3/ping")
            assert status == 418 and h["Retry-After"] == "120"
            for expected in (1, 2, 3):
                status, _, h = await get(s, f"{url}/fapi/v1/time")
                assert status == 200 and used(h) == expected
            status, body_json, _ = await get(s, f"{url}/fapi/v1/time")
            assert status == 429 and "limit is 3 request weight" in body_json["msg"]
    finally:
        proc.terminate()
        proc.communicate(timeout=20)
    assert proc.returncode == 0
