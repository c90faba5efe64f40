"""The live execution client against the local exchange running in its own process.

No mocks: ``gradtrade exchange serve`` is started as a subprocess (synthetic market), faults are
armed over its HTTP control endpoint, and what the client reports is checked against the
exchange's own account of the orders (``allOrders``, ``myTrades``) read with ccxt.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import ccxt.async_support as ccxt_async
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradtrade.core import Side, SymbolFilters
from gradtrade.events import FillEvent, IntentKind, Liquidity, OrderStyle
from gradtrade.execution.client import (
    Ack,
    Canceled,
    ExecutionClient,
    ExecutionEvent,
    OrderRequest,
    VenueReject,
    VenueRejectReason,
)
from gradtrade.execution.live import LiveClientConfig, LiveExecutionClient, reject_reason
from gradtrade.venue.config import ConnectorConfig
from gradtrade.venue.instruments import symbol_filters
from gradtrade.venue.urls import ccxt_urls
from trader_process import exchange_process

KEY, SECRET = "live-test-key", "live-test-secret-0123456789"
SYMBOL = "BTCUSDT"


@pytest.fixture(scope="module")
def exchange_url() -> Iterator[str]:
    """A local exchange in its own process; its URL is the first line it prints."""
    yield from exchange_process(seed=3, key=KEY, secret=SECRET)


async def arm(url: str, **fault: Any) -> None:
    async with aiohttp.ClientSession() as s, s.post(f"{url}/_gradtrade/faults", json=fault) as r:
        assert r.status == 200, await r.text()


@pytest.fixture
async def oracle(exchange_url: str) -> AsyncIterator[Any]:
    """A plain ccxt client: the exchange's own view of our orders and trades."""
    ex = ccxt_async.binance({"urls": ccxt_urls(exchange_url, "spot"), "apiKey": KEY,
                             "secret": SECRET})  # fmt: skip
    yield ex
    await ex.close()


@pytest.fixture
async def filters(oracle: Any) -> dict[str, SymbolFilters]:
    info = await oracle.publicGetExchangeInfo()
    return {SYMBOL: symbol_filters(info, SYMBOL)}


@pytest.fixture
async def client(exchange_url: str, filters: dict[str, SymbolFilters]) -> AsyncIterator[Any]:
    await arm(exchange_url, kind="clear")
    connector = ConnectorConfig.for_url(
        exchange_url, api_key=KEY, api_secret=SECRET, timeout_s=0.6, backoff_base_s=0.1
    )
    live = LiveExecutionClient(
        connector,
        filters,
        LiveClientConfig(poll_interval_s=0.2, resolve_interval_s=0.1, recv_window_ms=1500),
    )
    await live.start()
    yield live
    await live.close()


_SEQ = iter(range(1, 10**6))


def request(
    side: Side,
    qty: float,
    style: OrderStyle = OrderStyle.MARKET,
    price: float | None = None,
    ref: float = 1.0,
) -> OrderRequest:
    cid = f"lt.{int(time.time())}.{next(_SEQ)}"
    return OrderRequest(cid, SYMBOL, side, qty, style, IntentKind.REBALANCE, time.time_ns(), ref,
                        price)  # fmt: skip


async def until(
    client: LiveExecutionClient, done: Any, timeout: float = 10.0
) -> list[ExecutionEvent]:
    """Poll events until ``done(events)`` holds (events accumulated), or fail."""
    events: list[ExecutionEvent] = []
    deadline = time.monotonic() + timeout
    while not done(events):
        if time.monotonic() > deadline:
            pytest.fail(f"timed out; events so far: {events}")
        await asyncio.sleep(0.05)
        events += client.poll()
    return events


def fills_of(events: list[ExecutionEvent], cid: str) -> list[FillEvent]:
    return [e for e in events if isinstance(e, FillEvent) and e.client_order_id == cid]


def filled(cid: str, qty: float) -> Any:
    return lambda ev: abs(sum(f.qty for f in fills_of(ev, cid)) - qty) < 1e-12


async def exchange_orders(oracle: Any, cid: str) -> list[dict[str, Any]]:
    orders = await oracle.privateGetAllOrders({"symbol": SYMBOL})
    return [o for o in orders if o["clientOrderId"] == cid]


async def trades_of(oracle: Any, order_id: int) -> list[dict[str, Any]]:
    """The exchange's trades of one order (myTrades filtered by ``orderId``, as on Binance)."""
    trades: list[dict[str, Any]] = await oracle.privateGetMyTrades(
        {"symbol": SYMBOL, "orderId": order_id}
    )
    assert all(int(t["orderId"]) == int(order_id) for t in trades)
    return trades


async def best(oracle: Any) -> tuple[float, float]:
    book = await oracle.publicGetDepth({"symbol": SYMBOL, "limit": 5})
    return float(book["bids"][0][0]), float(book["asks"][0][0])


def test_protocol_and_code_mapping() -> None:
    assert issubclass(LiveExecutionClient, ExecutionClient)
    assert reject_reason(-2010, 400) is VenueRejectReason.INSUFFICIENT_BALANCE
    for code in (-1013, -1111, -4014, -1100):
        assert reject_reason(code, 400) is VenueRejectReason.INVALID_ORDER
    assert reject_reason(-2011, 400) is VenueRejectReason.UNKNOWN_ORDER
    assert reject_reason(-2013, 400) is VenueRejectReason.UNKNOWN_ORDER
    for code, status in ((-1003, 429), (-1015, 429), (None, 429)):
        assert reject_reason(code, status) is VenueRejectReason.RATE_LIMITED
    assert reject_reason(-1003, 418) is VenueRejectReason.BANNED
    assert VenueRejectReason.BANNED.retryable


@given(st.one_of(st.none(), st.integers(-5000, 0)), st.integers(400, 599))
def test_only_rate_limits_and_bans_are_retryable(code: int | None, status: int) -> None:
    """A refusal for cause is never resent: only 429 / 418 / -1003 / -1015 are retryable."""
    reason = reject_reason(code, status)
    limited = status in (418, 429) or code in (-1003, -1015)
    assert reason.retryable == limited


async def test_market_order_acked_filled_with_fees_once(
    client: LiveExecutionClient, oracle: Any
) -> None:
    req = request(Side.BUY, 0.002)
    client.submit(req)
    events = await until(client, filled(req.client_order_id, 0.002))
    await asyncio.sleep(0.5)  # let the websocket copies of the same fills arrive
    events += client.poll()
    assert isinstance(events[0], Ack) and events[0].client_order_id == req.client_order_id
    fills = fills_of(events, req.client_order_id)
    assert client.reports > 0  # the websocket did deliver executionReports too
    assert len({f.trade_id for f in fills}) == len(fills)  # REST and websocket: each trade once
    trades = await trades_of(oracle, events[0].exchange_order_id)
    assert sorted(int(t["id"]) for t in trades) == sorted(f.trade_id for f in fills)
    for f in fills:
        t = next(t for t in trades if int(t["id"]) == f.trade_id)
        assert f.price == pytest.approx(float(t["price"]), abs=1e-9)
        assert f.fee == pytest.approx(0.001 * f.qty, rel=1e-6)  # 0.1 % taker, in BTC received
        assert f.fee_asset == "BTC" and f.liquidity is Liquidity.TAKER


async def test_rejected_order_is_typed(client: LiveExecutionClient, exchange_url: str) -> None:
    await arm(exchange_url, kind="reject_orders", count=1)
    req = request(Side.BUY, 0.001)
    client.submit(req)
    events = await until(client, lambda ev: any(isinstance(e, VenueReject) for e in ev))
    (rej,) = events
    assert isinstance(rej, VenueReject)
    assert rej.reason is VenueRejectReason.INSUFFICIENT_BALANCE
    assert KEY not in rej.message and SECRET not in rej.message


async def test_post_only_rests_then_cancel(client: LiveExecutionClient, oracle: Any) -> None:
    bid, _ = await best(oracle)
    tick = client.filters[SYMBOL].tick_size
    req = request(Side.BUY, 0.001, OrderStyle.POST_ONLY, round(bid * 0.95 / tick) * tick)
    client.submit(req)
    events = await until(client, lambda ev: any(isinstance(e, Ack) for e in ev))
    client.cancel(req.client_order_id, time.time_ns())
    events += await until(client, lambda ev: any(isinstance(e, Canceled) for e in ev))
    assert [type(e) for e in events] == [Ack, Canceled]
    (o,) = await exchange_orders(oracle, req.client_order_id)
    assert o["status"] == "CANCELED"
    # a cancel of a finished order sends nothing and reports nothing
    client.cancel(req.client_order_id, time.time_ns())
    await asyncio.sleep(0.5)
    assert client.poll() == []


async def test_5xx_on_submit_resolves_by_query_not_placed(
    client: LiveExecutionClient, exchange_url: str, oracle: Any
) -> None:
    await arm(exchange_url, kind="rest", status=500, count=1, path_prefix="/api/v3/order")
    req = request(Side.BUY, 0.001)
    client.submit(req)
    t0 = time.monotonic()
    events = await until(client, lambda ev: bool(ev))
    (rej,) = events
    assert isinstance(rej, VenueReject) and rej.reason is VenueRejectReason.UNAVAILABLE
    assert rej.reason.retryable
    assert time.monotonic() - t0 >= 1.0  # not before the recvWindow had passed
    assert await exchange_orders(oracle, req.client_order_id) == []


async def test_a_settle_that_times_out_leaves_the_resolution_running(
    client: LiveExecutionClient, exchange_url: str, oracle: Any
) -> None:
    """A shutdown or a reconciliation waits for requests in flight at most so long: giving up
    must not cancel an order's resolution (it would stay unknown until the next start)."""
    await arm(exchange_url, kind="rest", status=503, count=1, path_prefix="/api/v3/order")
    req = request(Side.BUY, 0.001)
    client.submit(req)
    await asyncio.sleep(0.2)  # sent, refused with a 503: being resolved by query
    window = client.unanswered_for_s()
    assert 1.0 < window <= 1.5 + 0.6  # recvWindow + timeout, less what has passed
    assert not await client.settle(0.2)
    with contextlib.suppress(TimeoutError):  # a caller's own timeout cancels the settle only
        await asyncio.wait_for(client.settle(), 0.2)
    assert client.poll() == []
    assert await client.settle(window + 2.0)
    (rej,) = client.poll()
    assert isinstance(rej, VenueReject) and rej.reason is VenueRejectReason.UNAVAILABLE
    assert client.unanswered_for_s() == 0.0
    assert await exchange_orders(oracle, req.client_order_id) == []


async def test_delayed_ack_resolves_by_query_without_duplicate(
    client: LiveExecutionClient, exchange_url: str, oracle: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await arm(exchange_url, kind="ack_delay", seconds=1.2)  # past the 0.6 s client timeout
    req = request(Side.SELL, 0.001)
    client.submit(req)
    events = await until(client, filled(req.client_order_id, 0.001))
    await arm(exchange_url, kind="clear")
    await asyncio.sleep(0.5)
    events += client.poll()
    assert isinstance(events[0], Ack)
    assert not any(isinstance(e, VenueReject) for e in events)
    fills = fills_of(events, req.client_order_id)
    assert len({f.trade_id for f in fills}) == len(fills)
    assert all(f.fee_asset == "USDT" for f in fills)
    assert len(await exchange_orders(oracle, req.client_order_id)) == 1
    assert "status unknown" in caplog.text  # the timeout was seen, and resolved
    for secret in (KEY, SECRET):
        assert secret not in caplog.text and secret not in repr(events)


async def test_stream_dropped_while_order_fills(
    client: LiveExecutionClient, exchange_url: str, oracle: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # ccxt and websockets log requests and frames at DEBUG
    await arm(exchange_url, kind="ack_delay", seconds=1.0)  # the REST answer is lost as well
    await arm(exchange_url, kind="drop_ws", path_prefix="/ws-api")
    req = request(Side.BUY, 0.001)
    client.submit(req)
    events = await until(client, filled(req.client_order_id, 0.001))
    await arm(exchange_url, kind="clear")
    await until(client, lambda ev: client.stream.connected)
    await asyncio.sleep(0.5)
    events += client.poll()
    fills = fills_of(events, req.client_order_id)
    assert len({f.trade_id for f in fills}) == len(fills)
    assert client.stream.connects >= 2
    assert len(await exchange_orders(oracle, req.client_order_id)) == 1
    assert "userDataStream.subscribe" in caplog.text  # the resubscription frame was logged
    for secret in (KEY, SECRET):
        assert secret not in caplog.text and secret not in repr(events)


async def test_post_only_fills_as_maker(client: LiveExecutionClient, oracle: Any) -> None:
    """A bid at the best bid and an ask at the best ask: the moving market fills one of them
    as maker (0.1 % maker fee on the asset received); the other is then cancelled."""
    bid, ask = await best(oracle)
    buy = request(Side.BUY, 0.001, OrderStyle.POST_ONLY, bid)
    sell = request(Side.SELL, 0.001, OrderStyle.POST_ONLY, ask)
    client.submit(buy)
    client.submit(sell)

    def one_filled(ev: list[ExecutionEvent]) -> bool:
        return filled(buy.client_order_id, 0.001)(ev) or filled(sell.client_order_id, 0.001)(ev)

    events = await until(client, one_filled, timeout=60.0)
    done = buy if filled(buy.client_order_id, 0.001)(events) else sell
    other = sell if done is buy else buy
    client.cancel(other.client_order_id, time.time_ns())
    events += await until(
        client,
        lambda ev: (
            any(isinstance(e, Canceled) and e.client_order_id == other.client_order_id for e in ev)
            or filled(other.client_order_id, 0.001)(ev)
        ),
    )
    fills = fills_of(events, done.client_order_id)
    assert len({f.trade_id for f in fills}) == len(fills)
    for f in fills:
        assert f.liquidity is Liquidity.MAKER
        assert f.price == pytest.approx(done.price)
        fee = 0.001 * f.qty if done.side is Side.BUY else 0.001 * f.qty * f.price
        assert f.fee == pytest.approx(fee, rel=1e-6)
    trades = await oracle.privateGetMyTrades({"symbol": SYMBOL})
    ids = {int(t["id"]) for t in trades if t["isMaker"]}
    assert {f.trade_id for f in fills} <= ids


async def test_usdm_market_order_over_listen_key(exchange_url: str, oracle: Any) -> None:
    """USD-M: the answer carries no fills (userTrades fills them in), fees in USDT at 0.05 %,
    and the listenKey stream's ORDER_TRADE_UPDATE copies change nothing."""
    await arm(exchange_url, kind="clear")
    info = await oracle.fapiPublicGetExchangeInfo()
    filters = {SYMBOL: symbol_filters(info, SYMBOL)}
    connector = ConnectorConfig.for_url(
        exchange_url, "usdm", api_key=KEY, api_secret=SECRET, timeout_s=2.0
    )
    live = LiveExecutionClient(connector, filters, LiveClientConfig(poll_interval_s=0.2))
    await live.start()
    try:
        req = request(Side.BUY, 0.002)
        live.submit(req)
        events = await until(live, filled(req.client_order_id, 0.002))
        await asyncio.sleep(0.5)
        events += live.poll()
        assert isinstance(events[0], Ack)
        fills = fills_of(events, req.client_order_id)
        assert len({f.trade_id for f in fills}) == len(fills)
        assert live.reports > 0
        for f in fills:
            assert f.fee_asset == "USDT"
            assert f.fee == pytest.approx(0.0005 * f.qty * f.price, rel=1e-6)
    finally:
        await live.close()


async def test_resting_order_fills_while_stream_is_down(
    exchange_url: str, oracle: Any, filters: dict[str, SymbolFilters]
) -> None:
    """The user-data stream is dropped (and kept down: the client waits 30 s to reconnect),
    then two post-only orders go out at the touch; the one the market fills is learned by REST
    polling of the open orders, once."""
    await arm(exchange_url, kind="clear")
    connector = ConnectorConfig.for_url(exchange_url, api_key=KEY, api_secret=SECRET)
    live = LiveExecutionClient(
        connector, filters, LiveClientConfig(poll_interval_s=0.2, min_reconnect_s=30.0)
    )
    await live.start()
    try:
        # down before the orders go out: nothing about them can come over the websocket
        await arm(exchange_url, kind="drop_ws", path_prefix="/ws-api")
        await until(live, lambda ev: not live.stream.connected)
        reports_before = live.reports
        bid, ask = await best(oracle)
        buy = request(Side.BUY, 0.001, OrderStyle.POST_ONLY, bid)
        sell = request(Side.SELL, 0.001, OrderStyle.POST_ONLY, ask)
        live.submit(buy)
        live.submit(sell)
        events: list[ExecutionEvent] = []

        def one_filled(ev: list[ExecutionEvent]) -> bool:
            return filled(buy.client_order_id, 0.001)(ev) or filled(sell.client_order_id, 0.001)(ev)

        events += await until(live, one_filled, timeout=25.0)
        assert sum(isinstance(e, Ack) for e in events) == 2  # from the REST answers
        assert not live.stream.connected and live.reports == reports_before
        assert live.recovered_fills > 0 and live.catch_ups > 0
        done = buy if filled(buy.client_order_id, 0.001)(events) else sell
        fills = fills_of(events, done.client_order_id)
        assert len({f.trade_id for f in fills}) == len(fills)
        (o,) = await exchange_orders(oracle, done.client_order_id)
        trades = await trades_of(oracle, o["orderId"])
        assert sorted(int(t["id"]) for t in trades) == sorted(f.trade_id for f in fills)
        assert all(f.liquidity is Liquidity.MAKER for f in fills)
    finally:
        for cid in (buy.client_order_id, sell.client_order_id):
            live.cancel(cid, time.time_ns())
        await live.settle()
        await live.close()


async def test_cancel_through_5xx_is_canceled_only_when_the_venue_says(
    client: LiveExecutionClient, exchange_url: str, oracle: Any
) -> None:
    """The cancel request and the queries after it get 5xx: the order stays pending cancel (no
    Canceled, no refusal) until the venue answers, then Canceled is reported exactly once."""
    bid, _ = await best(oracle)
    tick = client.filters[SYMBOL].tick_size
    req = request(Side.BUY, 0.001, OrderStyle.POST_ONLY, round(bid * 0.95 / tick) * tick)
    client.submit(req)
    await until(client, lambda ev: any(isinstance(e, Ack) for e in ev))
    errors = client.gateway.rest.metrics.server_errors
    await arm(exchange_url, kind="rest", status=503, count=4, path_prefix="/api/v3/order")
    client.cancel(req.client_order_id, time.time_ns())
    events = await until(client, lambda ev: any(isinstance(e, Canceled) for e in ev))
    await asyncio.sleep(0.3)
    events += client.poll()
    assert [type(e) for e in events] == [Canceled]
    assert client.gateway.rest.metrics.server_errors - errors == 4
    (o,) = await exchange_orders(oracle, req.client_order_id)
    assert o["status"] == "CANCELED"
