"""``OrderWire`` against ccxt: the same signed request, and the same outcome for every answer
of the local exchange (running in its own process), fault by fault."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest

from gradtrade.venue.config import ConnectorConfig
from gradtrade.venue.orders import Answered, OrderGateway, Outcome, Refused, StatusUnknown
from gradtrade.venue.rest import make_exchange
from gradtrade.venue.wire import OrderWire
from trader_process import exchange_process

KEY, SECRET = "wire-test-key", "wire-test-secret-0123456789"


@pytest.fixture(scope="module")
def exchange_url() -> Iterator[str]:
    yield from exchange_process(seed=5, key=KEY, secret=SECRET)


async def arm(url: str, **fault: Any) -> None:
    async with aiohttp.ClientSession() as s, s.post(f"{url}/_gradtrade/faults", json=fault) as r:
        assert r.status == 200, await r.text()


@pytest.fixture
async def gateway(exchange_url: str) -> AsyncIterator[OrderGateway]:
    await arm(exchange_url, kind="clear")
    config = ConnectorConfig.for_url(exchange_url, api_key=KEY, api_secret=SECRET, timeout_s=0.6)
    gw = OrderGateway(config, recv_window_ms=5000)
    await gw.rest.sync_time()
    await gw.start()
    yield gw
    await gw.close()


@pytest.mark.parametrize("market", ["spot", "usdm"])
@pytest.mark.parametrize(
    "params",
    [
        {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.00100",
         "newClientOrderId": "x-gt1-7-12"},
        # characters that urlencode escapes (':' '/' '@'), a float, a bool, a str window
        {"symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT", "price": 101.5,
         "quantity": "0.5", "timeInForce": "GTC", "newClientOrderId": "a:b/c@d",
         "reduceOnly": True, "recvWindow": "7000"},
    ],
)  # fmt: skip
def test_the_signed_request_is_the_one_ccxt_would_send(market: str, params: dict[str, Any]) -> None:
    config = ConnectorConfig.for_url(
        "https://example.invalid", api_key=KEY, api_secret=SECRET, market=market
    )
    ex = make_exchange(config)
    ex.options["timeDifference"] = -1234
    ex.milliseconds = lambda: 1_700_000_000_000  # one timestamp for both signatures
    api = "fapiPrivate" if market == "usdm" else "private"
    assert OrderWire.supports(ex, api)
    wire = OrderWire(ex, api)
    want = ex.sign("order", [api], "POST", dict(params))
    assert want["url"] == wire.url
    assert wire.signed_body(dict(params)) == want["body"]
    request = wire._request_bytes(want["body"]).decode()
    for name, value in want["headers"].items():
        assert f"\r\n{name}: {value}\r\n" in request
    assert request.startswith(f"POST /{'fapi/v1' if market == 'usdm' else 'api/v3'}/order ")


def test_what_it_cannot_reproduce_goes_through_ccxt() -> None:
    config = ConnectorConfig.for_url("http://127.0.0.1:9", api_key=KEY, api_secret=SECRET)
    ex = make_exchange(config)
    assert OrderWire.supports(ex, "private")
    ex.httpsProxy = "http://proxy.invalid:3128"
    assert not OrderWire.supports(ex, "private")
    ex.httpsProxy = None
    ex.secret = "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----"
    assert not OrderWire.supports(ex, "private")


async def both_paths(gw: OrderGateway, params: dict[str, Any], n: int) -> tuple[Outcome, Outcome]:
    """The same request through the wire, then through ccxt's path."""
    assert gw.wire is not None and gw.wire.ready()
    sent = gw.wire.sent
    by_wire = await gw.new_order({**params, "newClientOrderId": f"w-{n}"})
    assert gw.wire.sent == sent + 1
    wire, gw.wire = gw.wire, None  # ccxt's path
    try:
        by_ccxt = await gw.new_order({**params, "newClientOrderId": f"c-{n}"})
    finally:
        gw.wire = wire
    return by_wire, by_ccxt


def same(a: Outcome, b: Outcome) -> None:
    assert type(a) is type(b), (a, b)
    if isinstance(a, Refused) and isinstance(b, Refused):
        assert (a.code, a.http_status, a.retry_after) == (b.code, b.http_status, b.retry_after)
    if isinstance(a, Answered) and isinstance(b, Answered):
        assert set(a.body) == set(b.body)
        assert a.body["status"] == b.body["status"] == "FILLED"


MARKET = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.00100"}


async def test_an_order_is_placed_through_the_wire_and_answered_as_through_ccxt(
    gateway: OrderGateway,
) -> None:
    a, b = await both_paths(gateway, MARKET, 1)
    same(a, b)
    assert isinstance(a, Answered) and a.body["clientOrderId"] == "w-1"
    query = await gateway.query("BTCUSDT", "w-1")
    assert isinstance(query, Answered) and query.body["status"] == "FILLED"
    connects = gateway.wire.connects if gateway.wire else 0
    a, b = await both_paths(gateway, {**MARKET, "side": "SELL"}, 2)
    same(a, b)
    assert gateway.wire is not None and gateway.wire.connects == connects  # kept alive


@pytest.mark.parametrize(
    ("fault", "outcome"),
    [
        ({"kind": "reject_orders", "count": 1}, Refused),  # -2010
        ({"kind": "rest", "status": 429, "count": 1, "retry_after": 7}, Refused),
        ({"kind": "rest", "status": 418, "count": 1, "retry_after": 30}, Refused),
        ({"kind": "rest", "status": 500, "count": 1}, StatusUnknown),
        ({"kind": "rest", "status": 503, "count": 1}, StatusUnknown),
    ],
)
async def test_every_refusal_is_the_outcome_ccxt_gives(
    gateway: OrderGateway, exchange_url: str, fault: dict[str, Any], outcome: type
) -> None:
    tag = f"{fault['kind'][:6]}-{fault.get('status', 0)}"
    assert gateway.wire is not None and gateway.wire.ready()
    sent = gateway.wire.sent
    await arm(exchange_url, **fault)
    by_wire = await gateway.new_order({**MARKET, "newClientOrderId": f"f-{tag}-w"})
    assert gateway.wire.sent == sent + 1
    await arm(exchange_url, **fault)  # armed again for ccxt's path
    wire, gateway.wire = gateway.wire, None
    try:
        by_ccxt = await gateway.new_order({**MARKET, "newClientOrderId": f"f-{tag}-c"})
    finally:
        gateway.wire = wire
    assert isinstance(by_wire, outcome)
    same(by_wire, by_ccxt)


async def test_a_late_answer_is_status_unknown_and_its_connection_is_not_reused(
    gateway: OrderGateway, exchange_url: str
) -> None:
    wire = gateway.wire
    assert wire is not None and wire.ready()
    connects = wire.connects
    await arm(exchange_url, kind="ack_delay", seconds=1.0)  # past the 0.6 s timeout
    late = await gateway.new_order({**MARKET, "newClientOrderId": "late-1"})
    assert isinstance(late, StatusUnknown)
    await arm(exchange_url, kind="clear")
    await asyncio.sleep(0.2)
    assert wire.ready() and wire.connects > connects  # a fresh connection replaced it
    query = await gateway.query("BTCUSDT", "late-1")  # placed: only a query could tell
    assert isinstance(query, Answered) and query.body["status"] == "FILLED"
    again = await gateway.new_order({**MARKET, "newClientOrderId": "late-2"})
    assert isinstance(again, Answered)


async def test_an_idle_connection_is_replaced_before_the_server_drops_it(
    gateway: OrderGateway,
) -> None:
    wire = gateway.wire
    assert wire is not None
    wire.max_idle_s = 0.05
    connects = wire.connects
    await asyncio.sleep(0.1)
    assert not wire.ready()  # stale: closed, and fresh ones are opening
    wire.max_idle_s = 20.0
    await asyncio.sleep(0.2)
    assert wire.ready() and wire.connects >= connects + 1
    outcome = await gateway.new_order({**MARKET, "newClientOrderId": "idle-1"})
    assert isinstance(outcome, Answered)
