"""Conditional orders on the local exchange: spot STOP_LOSS(_LIMIT) / TAKE_PROFIT(_LIMIT) and
USD-M STOP_MARKET / TAKE_PROFIT_MARKET, triggered by the trades the market prints, reported as
Binance reports them (REST bodies, executionReport, ORDER_TRADE_UPDATE), and refused with
Binance's codes. Prices move through ``ExchangeState.trade`` (the path every source uses) on a
frozen synthetic market whose books the tests set by hand."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
import websockets
from hypothesis import event, given, settings
from hypothesis import strategies as st

from gradtrade.core import OrderStatus, Side
from gradtrade.local_exchange import ExchangeServer, ServerThread
from gradtrade.local_exchange.auth import sign, ws_text
from gradtrade.local_exchange.conditional import fires_on_rise, triggers
from gradtrade.local_exchange.errors import ApiError
from gradtrade.local_exchange.state import ExchangeState
from gradtrade.local_exchange.trading import Trading

BIDS = [(59_990.0, 1.0), (59_980.0, 2.0), (59_900.0, 5.0)]
ASKS = [(60_010.0, 1.0), (60_020.0, 2.0), (60_100.0, 5.0)]
SYMBOL = {"symbol": "BTCUSDT"}


def _trade(srv: ServerThread, venue: str, price: float) -> None:
    """A public trade at ``price``: what a live source prints, with its listeners."""
    state = srv.server.state
    srv.run(lambda: state.trade(state.markets[venue]["BTCUSDT"], price, 0.001, False, None))


def _enable(srv: ServerThread, kind: str) -> None:
    """List ``kind`` in the spot symbol's orderTypes (real BTCUSDT lists no market stops)."""
    m = srv.server.state.markets["spot"]["BTCUSDT"]
    srv.run(lambda: m.entry["orderTypes"].append(kind))


@pytest.fixture
def market(quiet_server: ServerThread, set_book: Callable[..., None]) -> ServerThread:
    for venue in ("spot", "usdm"):
        set_book(quiet_server, venue, "BTCUSDT", BIDS, ASKS)
        _trade(quiet_server, venue, 60_000.0)
    return quiet_server


@pytest.fixture
def rest(signed: Any, market: ServerThread) -> Callable[..., Any]:
    """``await rest(method, path, **params)`` -> (status, body) on the test market."""

    async def call(method: str, path: str, **params: Any) -> tuple[int, Any]:
        status, body, _ = await signed(market.url).request(method, path, {**SYMBOL, **params})
        return status, body

    return call


class Events:
    """User-data events of the default key as they arrive over the real websockets."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    def of(self, order_id: int) -> list[dict[str, Any]]:
        out = []
        for f in self.frames:
            body = f["o"] if f["e"] == "ORDER_TRADE_UPDATE" else f
            if body["i"] == order_id:
                out.append(body)
        return out

    async def wait(self, order_id: int, n: int) -> list[dict[str, Any]]:
        for _ in range(100):
            if len(self.of(order_id)) >= n:
                break
            await asyncio.sleep(0.02)
        return self.of(order_id)


@pytest.fixture
async def events(
    market: ServerThread, signed: Any, api_key: str, api_secret: str
) -> AsyncIterator[Events]:
    got = Events()
    ws_url = "ws" + market.url[4:]
    _, body, _ = await signed(market.url).request("POST", "/fapi/v1/listenKey", signed=False)
    spot = await websockets.connect(ws_url + "/ws-api/v3")
    usdm = await websockets.connect(ws_url + "/fapi/ws/" + body["listenKey"])
    params = {"apiKey": api_key, "timestamp": int(time.time() * 1000)}
    payload = "&".join(f"{k}={ws_text(v)}" for k, v in sorted(params.items()))
    request = {"id": 1, "method": "userDataStream.subscribe.signature"}
    request["params"] = {**params, "signature": sign(api_secret, payload)}
    await spot.send(orjson.dumps(request).decode())

    async def pump(ws: Any) -> None:
        async for raw in ws:
            msg = orjson.loads(raw)
            event = msg.get("event", msg)
            if event.get("e") in ("executionReport", "ORDER_TRADE_UPDATE"):
                got.frames.append(event)

    tasks = [asyncio.create_task(pump(ws)) for ws in (spot, usdm)]
    await asyncio.sleep(0.2)
    yield got
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    await spot.close()
    await usdm.close()


async def _open_orders(rest: Callable[..., Any], venue: str) -> list[dict[str, Any]]:
    path = "/api/v3/openOrders" if venue == "spot" else "/fapi/v1/openOrders"
    status, body = await rest("GET", path)
    assert status == 200, body
    return list(body)


async def _free_locked(rest: Callable[..., Any], asset: str) -> tuple[Decimal, Decimal]:
    _, body = await rest("GET", "/api/v3/account")
    b = next(x for x in body["balances"] if x["asset"] == asset)
    return Decimal(b["free"]), Decimal(b["locked"])


# --- the trigger rule itself ---


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(["STOP_LOSS", "STOP_LOSS_LIMIT", "STOP_MARKET"]),
    side=st.sampled_from([Side.BUY, Side.SELL]),
    stop=st.integers(1, 10_000),
    a=st.integers(1, 10_000),
    b=st.integers(1, 10_000),
)
def test_trigger_rule_is_binances(kind: str, side: Side, stop: int, a: int, b: int) -> None:
    """A stop-loss sells at or below its stop and buys at or above it; a take-profit does the
    opposite; a range triggers iff one of its prices would."""
    low, high = Decimal(min(a, b)), Decimal(max(a, b))
    s = Decimal(stop)
    tp = {"STOP_LOSS": "TAKE_PROFIT", "STOP_LOSS_LIMIT": "TAKE_PROFIT_LIMIT"}.get(
        kind, "TAKE_PROFIT_MARKET"
    )
    if side == Side.SELL:
        assert triggers(kind, side, s, low, high) == (low <= s)
        assert triggers(tp, side, s, low, high) == (high >= s)
    else:
        assert triggers(kind, side, s, low, high) == (high >= s)
        assert triggers(tp, side, s, low, high) == (low <= s)
    one = any(triggers(kind, side, s, p, p) for p in (low, high))
    assert triggers(kind, side, s, low, high) == one


# --- spot ---


async def test_spot_stop_loss_limit_waits_triggers_and_fills(
    market: ServerThread, rest: Callable[..., Any], events: Events
) -> None:
    free0, locked0 = await _free_locked(rest, "BTC")
    status, body = await rest(
        "POST", "/api/v3/order", side="SELL", type="STOP_LOSS_LIMIT", timeInForce="GTC",
        quantity="0.5", price="59950.00", stopPrice="59960.00",
    )  # fmt: skip
    assert status == 200, body
    oid = body["orderId"]
    (listed,) = await _open_orders(rest, "spot")
    assert listed["type"] == "STOP_LOSS_LIMIT" and listed["stopPrice"] == "59960.00000000"
    assert listed["isWorking"] is False and listed["workingTime"] == -1
    assert await _free_locked(rest, "BTC") == (free0 - Decimal("0.5"), locked0 + Decimal("0.5"))
    _trade(market, "spot", 59_961.0)  # above the stop: nothing
    assert (await _open_orders(rest, "spot"))[0]["status"] == "NEW"
    _trade(market, "spot", 59_960.0)  # at the stop: a limit sell at 59950 meets bid 59990
    reports = await events.wait(oid, 3)
    assert [(r["x"], r["X"], r["w"]) for r in reports] == [
        ("NEW", "NEW", False),
        ("NEW", "NEW", True),
        ("TRADE", "FILLED", False),
    ]
    assert all(r["o"] == "STOP_LOSS_LIMIT" and r["P"] == "59960.00000000" for r in reports)
    assert reports[2]["L"] == "59990.00000000" and reports[2]["l"] == "0.50000000"
    assert await _open_orders(rest, "spot") == []
    _, queried = await rest("GET", "/api/v3/order", orderId=oid)
    assert queried["status"] == "FILLED" and queried["stopPrice"] == "59960.00000000"
    assert (await _free_locked(rest, "BTC"))[1] == locked0


async def test_spot_stop_limit_beyond_the_book_rests_at_its_price(
    market: ServerThread, rest: Callable[..., Any]
) -> None:
    status, body = await rest(
        "POST", "/api/v3/order", side="BUY", type="STOP_LOSS_LIMIT", timeInForce="GTC",
        quantity="0.2", price="60005.00", stopPrice="60050.00",
    )  # fmt: skip
    assert status == 200, body
    _trade(market, "spot", 60_050.0)  # triggers; no ask at or below 60005: rests on the book
    (listed,) = await _open_orders(rest, "spot")
    assert listed["orderId"] == body["orderId"] and listed["isWorking"] is True
    assert listed["status"] == "NEW" and listed["price"] == "60005.00000000"
    state = market.server.state
    m = state.markets["spot"]["BTCUSDT"]
    market.run(lambda: state.apply_depth(m, [], [(60_001.0, 1.0)]))  # an ask below its price
    _, queried = await rest("GET", "/api/v3/order", orderId=body["orderId"])
    assert queried["status"] == "FILLED"  # the book moved through its price: filled as maker
    _, trades = await rest("GET", "/api/v3/myTrades", orderId=body["orderId"])
    assert [(t["price"], t["isMaker"]) for t in trades] == [("60005.00000000", True)]


@pytest.mark.parametrize(
    ("kind", "side", "stop", "moves", "fill"),
    [
        ("STOP_LOSS", "SELL", "59950.00", [59_951.0, 59_950.0], "59990.00000000"),
        ("STOP_LOSS", "BUY", "60050.00", [60_049.0, 60_060.0], "60010.00000000"),
        ("TAKE_PROFIT", "SELL", "60050.00", [60_049.0, 60_050.0], "59990.00000000"),
        ("TAKE_PROFIT", "BUY", "59950.00", [59_951.0, 59_900.0], "60010.00000000"),
    ],
)
async def test_spot_market_stops_trigger_on_their_side(
    market: ServerThread,
    rest: Callable[..., Any],
    events: Events,
    kind: str,
    side: str,
    stop: str,
    moves: list[float],
    fill: str,
) -> None:
    _enable(market, kind)
    status, body = await rest(
        "POST", "/api/v3/order", side=side, type=kind, quantity="0.1", stopPrice=stop
    )
    assert status == 200, body
    _trade(market, "spot", moves[0])  # one tick short of the stop
    assert [o["orderId"] for o in await _open_orders(rest, "spot")] == [body["orderId"]]
    _trade(market, "spot", moves[1])
    reports = await events.wait(body["orderId"], 3)
    assert [r["x"] for r in reports] == ["NEW", "NEW", "TRADE"]
    assert reports[-1]["X"] == "FILLED" and reports[-1]["L"] == fill
    assert await _open_orders(rest, "spot") == []


async def test_spot_refusals(rest: Callable[..., Any]) -> None:
    async def place(**params: Any) -> tuple[int, Any]:
        out: tuple[int, Any] = await rest("POST", "/api/v3/order", quantity="0.1", **params)
        return out

    # real BTCUSDT lists no STOP_LOSS / TAKE_PROFIT (market stops)
    status, body = await place(side="SELL", type="STOP_LOSS", stopPrice="59000.00")
    assert (status, body["code"]) == (400, -2010)
    assert body["msg"] == "Stop loss orders are not supported for this symbol."
    # the last trade (60000) already satisfies it
    status, body = await place(side="SELL", type="STOP_LOSS_LIMIT", timeInForce="GTC",
                               price="60500.00", stopPrice="60500.00")  # fmt: skip
    assert (body["code"], body["msg"]) == (-2010, "Order would trigger immediately.")
    status, body = await place(side="BUY", type="TAKE_PROFIT_LIMIT", timeInForce="GTC",
                               price="60000.00", stopPrice="60000.00")  # fmt: skip
    assert (body["code"], body["msg"]) == (-2010, "Order would trigger immediately.")
    status, body = await place(side="SELL", type="STOP_LOSS_LIMIT", timeInForce="GTC",
                               price="59000.00")  # fmt: skip
    assert body["code"] == -1102 and "'stopPrice'" in body["msg"]
    status, body = await place(side="SELL", type="LIMIT", timeInForce="GTC", price="61000.00",
                               stopPrice="59000.00")  # fmt: skip
    assert body["code"] == -1106
    status, body = await place(side="SELL", type="STOP_LOSS_LIMIT", timeInForce="GTC",
                               price="59000.00", stopPrice="59000.001")  # fmt: skip
    assert (body["code"], body["msg"]) == (-1013, "Filter failure: PRICE_FILTER")


async def test_spot_cancel_releases_and_algo_limit(rest: Callable[..., Any]) -> None:
    free0, locked0 = await _free_locked(rest, "USDT")
    ids = []
    for i in range(5):
        status, body = await rest(
            "POST", "/api/v3/order", side="BUY", type="STOP_LOSS_LIMIT", timeInForce="GTC",
            quantity="0.01", price=f"{61000 + i}.00", stopPrice=f"{61000 + i}.00",
        )  # fmt: skip
        assert status == 200, body
        ids.append(body["orderId"])
    status, body = await rest(
        "POST", "/api/v3/order", side="BUY", type="STOP_LOSS_LIMIT", timeInForce="GTC",
        quantity="0.01", price="61010.00", stopPrice="61010.00",
    )  # fmt: skip
    assert (body["code"], body["msg"]) == (-1013, "Filter failure: MAX_NUM_ALGO_ORDERS")
    status, body = await rest("DELETE", "/api/v3/order", orderId=ids[0])
    assert status == 200 and body["status"] == "CANCELED" and body["type"] == "STOP_LOSS_LIMIT"
    status, body = await rest("DELETE", "/api/v3/openOrders")
    assert status == 200 and len(body) == 4
    assert await _open_orders(rest, "spot") == []
    assert await _free_locked(rest, "USDT") == (free0, locked0)


# --- spot OCO lists ---

OCO = {"side": "SELL", "quantity": "0.5", "aboveType": "TAKE_PROFIT_LIMIT",
       "aboveStopPrice": "60100.00", "abovePrice": "60050.00", "aboveTimeInForce": "GTC",
       "belowType": "STOP_LOSS_LIMIT", "belowStopPrice": "59900.00", "belowPrice": "59800.00",
       "belowTimeInForce": "GTC"}  # fmt: skip


async def test_oco_locks_once_and_one_leg_expires_the_other(
    market: ServerThread, rest: Callable[..., Any], events: Events
) -> None:
    free0, locked0 = await _free_locked(rest, "BTC")
    ids = {
        "listClientOrderId": "pair-1",
        "aboveClientOrderId": "tp-1",
        "belowClientOrderId": "sl-1",
    }
    status, body = await rest("POST", "/api/v3/orderList/oco", **ids, **OCO)
    assert status == 200, body
    assert (body["contingencyType"], body["listOrderStatus"]) == ("OCO", "EXECUTING")
    tp_id, sl_id = (o["orderId"] for o in body["orders"])
    assert [r["type"] for r in body["orderReports"]] == ["TAKE_PROFIT_LIMIT", "STOP_LOSS_LIMIT"]
    # one quantity for the list, locked once
    assert await _free_locked(rest, "BTC") == (free0 - Decimal("0.5"), locked0 + Decimal("0.5"))
    listed = await _open_orders(rest, "spot")
    assert {o["orderListId"] for o in listed} == {body["orderListId"]} and len(listed) == 2
    _trade(market, "spot", 59_900.0)  # the stop-loss leg triggers; the take-profit expires
    sl = await events.wait(sl_id, 3)
    tp = await events.wait(tp_id, 2)
    assert [(r["x"], r["X"]) for r in tp] == [("NEW", "NEW"), ("EXPIRED", "EXPIRED")]
    assert [(r["x"], r["X"]) for r in sl] == [("NEW", "NEW"), ("NEW", "NEW"), ("TRADE", "FILLED")]
    assert all(r["g"] == body["orderListId"] for r in sl + tp)
    assert sl[-1]["L"] == "59990.00000000"
    assert await _open_orders(rest, "spot") == []
    assert await _free_locked(rest, "BTC") == (free0 - Decimal("0.5"), locked0)


async def test_oco_cancel_and_refusals(rest: Callable[..., Any]) -> None:
    free0, locked0 = await _free_locked(rest, "BTC")
    status, body = await rest("POST", "/api/v3/orderList/oco", **OCO)
    assert status == 200, body
    first_leg = body["orders"][0]["orderId"]
    status, canceled = await rest("DELETE", "/api/v3/order", orderId=first_leg)
    assert status == 200 and canceled["status"] == "CANCELED"
    assert await _open_orders(rest, "spot") == []  # a leg's cancel cancels the list
    assert await _free_locked(rest, "BTC") == (free0, locked0)
    status, body = await rest("POST", "/api/v3/orderList/oco", **OCO)
    status, done = await rest("DELETE", "/api/v3/orderList", orderListId=body["orderListId"])
    assert status == 200 and done["listOrderStatus"] == "ALL_DONE"
    assert {r["status"] for r in done["orderReports"]} == {"CANCELED"}
    status, again = await rest("DELETE", "/api/v3/orderList", orderListId=body["orderListId"])
    assert again["code"] == -2011
    swapped = OCO | {"aboveType": "STOP_LOSS_LIMIT", "belowType": "TAKE_PROFIT_LIMIT"}
    _, bad = await rest("POST", "/api/v3/orderList/oco", **swapped)
    assert (bad["code"], bad["msg"]) == (-1158, "Order type not supported in OCO.")
    inverted = OCO | {"belowStopPrice": "60500.00", "belowPrice": "60400.00"}  # above the last
    _, bad = await rest("POST", "/api/v3/orderList/oco", **inverted)
    assert (bad["code"], bad["msg"]) == (
        -2010,
        "The relationship of the prices for the orders is not correct.",
    )
    _, bad = await rest("POST", "/api/v3/orderList/oco", **(OCO | {"quantity": "5000"}))
    assert bad["code"] == -2010 and "insufficient balance" in bad["msg"]
    assert await _free_locked(rest, "BTC") == (free0, locked0)


# --- USD-M ---


async def _long(rest: Callable[..., Any], qty: str) -> None:
    status, body = await rest("POST", "/fapi/v1/order", side="BUY", type="MARKET", quantity=qty)
    assert status == 200 and body["status"] == "FILLED", body


async def _position(rest: Callable[..., Any]) -> Decimal:
    _, body = await rest("GET", "/fapi/v2/positionRisk")
    return sum((Decimal(p["positionAmt"]) for p in body), Decimal(0))


async def test_usdm_stop_market_reduce_only_closes_the_long(
    market: ServerThread, rest: Callable[..., Any], events: Events
) -> None:
    await _long(rest, "0.010")
    status, body = await rest(
        "POST", "/fapi/v1/order", side="SELL", type="STOP_MARKET", quantity="0.010",
        stopPrice="59900.0", reduceOnly="true",
    )  # fmt: skip
    assert status == 200, body
    oid = body["orderId"]
    (listed,) = await _open_orders(rest, "usdm")
    assert (listed["type"], listed["origType"]) == ("STOP_MARKET", "STOP_MARKET")
    assert listed["stopPrice"] == "59900" and listed["reduceOnly"] is True
    assert listed["workingType"] == "CONTRACT_PRICE"
    _trade(market, "usdm", 59_900.1)
    assert len(await _open_orders(rest, "usdm")) == 1
    _trade(market, "usdm", 59_850.0)
    reports = await events.wait(oid, 3)
    assert [(r["x"], r["X"], r["o"], r["ot"]) for r in reports] == [
        ("NEW", "NEW", "STOP_MARKET", "STOP_MARKET"),
        ("NEW", "NEW", "MARKET", "STOP_MARKET"),
        ("TRADE", "FILLED", "MARKET", "STOP_MARKET"),
    ]
    assert all(r["sp"] == "59900" and r["R"] is True for r in reports)
    assert reports[-1]["L"] == "59990"
    assert await _position(rest) == 0
    _, queried = await rest("GET", "/fapi/v1/order", orderId=oid)
    assert (queried["type"], queried["origType"], queried["status"]) == (
        "MARKET", "STOP_MARKET", "FILLED",
    )  # fmt: skip


async def test_usdm_take_profit_market_close_position_and_mark_price(
    market: ServerThread, rest: Callable[..., Any], events: Events
) -> None:
    await _long(rest, "0.020")
    status, body = await rest(
        "POST", "/fapi/v1/order", side="SELL", type="TAKE_PROFIT_MARKET", stopPrice="60100.0",
        closePosition="true", workingType="MARK_PRICE",
    )  # fmt: skip
    assert status == 200, body
    assert body["closePosition"] is True and body["workingType"] == "MARK_PRICE"
    _trade(market, "usdm", 60_200.0)  # the last price is not what it watches
    assert len(await _open_orders(rest, "usdm")) == 1
    state = market.server.state
    market.run(lambda: state.mark_price(state.markets["usdm"]["BTCUSDT"], 60_100.0, 0))
    reports = await events.wait(body["orderId"], 3)
    assert reports[-1]["X"] == "FILLED" and reports[-1]["cp"] is True
    assert reports[-1]["z"] == "0.02"
    assert await _position(rest) == 0


async def test_usdm_reduce_only_stop_expires_when_the_position_is_gone(
    market: ServerThread, rest: Callable[..., Any], events: Events
) -> None:
    await _long(rest, "0.010")
    placed = []
    for kind, stop in (("STOP_MARKET", "59900.0"), ("TAKE_PROFIT_MARKET", "60100.0")):
        status, body = await rest(
            "POST", "/fapi/v1/order", side="SELL", type=kind, quantity="0.010", stopPrice=stop,
            reduceOnly="true",
        )  # fmt: skip
        assert status == 200, body
        placed.append(body["orderId"])
    _trade(market, "usdm", 59_800.0)  # the stop-loss closes the long ...
    assert await _position(rest) == 0
    _trade(market, "usdm", 60_200.0)  # ... so the take-profit has nothing left to reduce
    reports = await events.wait(placed[1], 2)
    assert [(r["x"], r["X"]) for r in reports] == [("NEW", "NEW"), ("EXPIRED", "EXPIRED")]
    assert await _position(rest) == 0
    assert await _open_orders(rest, "usdm") == []


async def test_usdm_refusals(rest: Callable[..., Any]) -> None:
    async def place(**params: Any) -> Any:
        _, body = await rest("POST", "/fapi/v1/order", **params)
        return body

    # no position: a reduce-only order would open one
    body = await place(side="SELL", type="STOP_MARKET", quantity="0.010", stopPrice="59000.0",
                       reduceOnly="true")  # fmt: skip
    assert (body["code"], body["msg"]) == (-2022, "ReduceOnly Order is rejected.")
    await _long(rest, "0.010")
    body = await place(side="BUY", type="TAKE_PROFIT_MARKET", quantity="0.010",
                       stopPrice="59000.0", reduceOnly="true")  # fmt: skip
    assert body["code"] == -2022  # buying grows the long
    body = await place(side="SELL", type="STOP_MARKET", quantity="0.010", stopPrice="60500.0",
                       reduceOnly="true")  # fmt: skip
    assert (body["code"], body["msg"]) == (-2021, "Order would immediately trigger.")
    body = await place(side="SELL", type="STOP_MARKET", quantity="0.010", stopPrice="59000.05")
    assert body["code"] == -4014
    body = await place(side="SELL", type="STOP_MARKET", quantity="0.010", stopPrice="59000.0",
                       closePosition="true")  # fmt: skip
    assert body["code"] == -1106 and "'quantity'" in body["msg"]
    body = await place(side="SELL", type="STOP_MARKET", stopPrice="59000.0",
                       closePosition="true", reduceOnly="true")  # fmt: skip
    assert body["code"] == -1106 and "'reduceOnly'" in body["msg"]
    body = await place(side="SELL", type="STOP_MARKET", quantity="0.010", stopPrice="59000.0",
                       workingType="LAST")  # fmt: skip
    assert body["code"] == -1130
    body = await place(side="SELL", type="STOP", quantity="0.010", stopPrice="59000.0",
                       price="58000.0")  # fmt: skip
    assert body["code"] == -1116  # STOP / TAKE_PROFIT (limit) are not served


async def test_usdm_cancel_a_stop(rest: Callable[..., Any], events: Events) -> None:
    await _long(rest, "0.010")
    status, body = await rest(
        "POST", "/fapi/v1/order", side="SELL", type="STOP_MARKET", quantity="0.010",
        stopPrice="59000.0", reduceOnly="true", newClientOrderId="sl-1",
    )  # fmt: skip
    assert status == 200, body
    status, canceled = await rest("DELETE", "/fapi/v1/order", origClientOrderId="sl-1")
    assert status == 200 and canceled["status"] == "CANCELED"
    assert canceled["type"] == "STOP_MARKET" and canceled["stopPrice"] == "59000"
    reports = await events.wait(body["orderId"], 2)
    assert [(r["x"], r["o"]) for r in reports] == [
        ("NEW", "STOP_MARKET"),
        ("CANCELED", "STOP_MARKET"),
    ]
    assert await _open_orders(rest, "usdm") == []


# --- property: the real matching engine (no server) over random price paths ---

STOP = st.fixed_dictionaries(
    {
        "side": st.sampled_from(["BUY", "SELL"]),
        "type": st.sampled_from(
            ["STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"]
        ),
        "quantity": st.integers(12, 200).map(lambda n: str(Decimal(n) / 100)),  # >= MIN_NOTIONAL
        "away": st.integers(-200, 1_000),  # cents from the last price, on the waiting side
        "offset": st.integers(0, 300),  # cents between the stop and the limit
    }
)


def _engine() -> Trading:
    state = ExchangeState()
    m = state.market("spot", "BTCUSDT", "BTC", "USDT")
    m.entry["orderTypes"] += ["STOP_LOSS", "TAKE_PROFIT"]
    m.l2.replace([(99.0, 1.0), (98.5, 2.0), (97.0, 3.0)], [(100.0, 1.0), (101.5, 2.0)], 10)
    state.trade(m, 100.0, 0.01, False, None)
    return Trading(state, {"k": "s"}, balances={"USDT": "100000", "BTC": "10"})


@settings(max_examples=150, deadline=None)
@given(STOP, st.lists(st.integers(9_000, 11_000), min_size=1, max_size=20))
def test_a_stop_triggers_at_the_first_price_its_rule_accepts(
    spec: dict[str, Any], path: list[int]
) -> None:
    """Placed, a stop waits until the first trade its rule accepts and not one trade longer;
    refused only when the last price already triggers it; funds locked are what open orders
    reserve throughout."""
    t = _engine()
    m = t.state.markets["spot"]["BTCUSDT"]
    side = Side.BUY if spec["side"] == "BUY" else Side.SELL
    up = 1 if fires_on_rise(spec["type"], side) else -1  # <= 0 cents away: already triggers
    stop = Decimal(10_000 + up * spec["away"]) / 100
    params = {"symbol": "BTCUSDT", "side": spec["side"], "type": spec["type"],
              "quantity": spec["quantity"], "stopPrice": str(stop)}  # fmt: skip
    if spec["type"].endswith("_LIMIT"):
        sign = -1 if side == Side.SELL else 1  # the limit beyond the stop
        limit = stop + sign * Decimal(spec["offset"]) / 100
        params |= {"price": str(limit), "timeInForce": "GTC"}
    now = Decimal("100.00")
    if triggers(spec["type"], side, stop, now, now):
        with pytest.raises(ApiError) as refused:
            t.new_order("k", "spot", params)
        event("refused: would trigger immediately")
        assert (refused.value.code, refused.value.msg) == (
            -2010,
            "Order would trigger immediately.",
        )
        return
    body = t.new_order("k", "spot", params)
    order = t.orders[body["orderId"]]
    fired_at = next(
        (
            i
            for i, c in enumerate(path)
            if triggers(spec["type"], side, stop, *(Decimal(c) / 100,) * 2)
        ),
        None,
    )
    for i, cents in enumerate(path):
        t.state.trade(m, cents / 100, 0.001, False, None)
        waiting = order in t.stops.get(("spot", "BTCUSDT"), [])
        assert waiting == (fired_at is None or i < fired_at), (i, fired_at)
        assert order.triggered == (not waiting)
        acct = t.accounts["k"]
        usdt, btc = acct.balances["USDT"], acct.balances["BTC"]
        assert min(usdt + btc) >= 0
        live = [o for o in t._open("spot", "BTCUSDT") if not o.is_market or not o.triggered]
        assert usdt[1] == sum(
            (o.price * o.remaining for o in live if o.side == Side.BUY and not o.is_market),
            Decimal(0),
        )
        assert btc[1] == sum((o.remaining for o in live if o.side == Side.SELL), Decimal(0))
    event(f"triggered {order.status}" if fired_at is not None else "still waiting")
    if fired_at is not None and order.is_market:  # a triggered market stop is done
        assert order.status in (OrderStatus.FILLED, OrderStatus.EXPIRED)


# --- a replayed recording moves the market: its trades trigger the stops ---


@pytest.fixture(scope="module")
def replaying(templates_dir: Path | None, data_dir: Path) -> Iterator[ServerThread]:
    rec = data_dir / "recordings" / "hftbacktest" / "spot"
    with ServerThread(
        ExchangeServer(recordings=[rec], templates_dir=templates_dir, speed=20.0)
    ) as s:
        yield s


async def test_a_replayed_recording_triggers_stops(replaying: ServerThread, signed: Any) -> None:
    """A sell stop one tick under the last recorded trade and a buy stop one tick over it: the
    first recorded tick either way triggers one, which then fills against the replayed book."""
    m = replaying.server.state.markets["spot"]["BTCUSDT"]
    client = signed(replaying.url)
    for _ in range(200):  # the replay's first trades
        if m.last_price:
            break
        await asyncio.sleep(0.05)
    placed: list[int] = []
    while len(placed) < 2:
        placed.clear()
        last, tick = Decimal(str(m.last_price)), m.rules.tick
        for side, stop, limit in (("SELL", last - tick, last * Decimal("0.99")),
                                  ("BUY", last + tick, last * Decimal("1.01"))):  # fmt: skip
            status, body, _ = await client.request("POST", "/api/v3/order", {
                **SYMBOL, "side": side, "type": "STOP_LOSS_LIMIT", "timeInForce": "GTC",
                "quantity": "0.001", "stopPrice": str(stop),
                "price": str((limit / tick).to_integral_value() * tick),
            })  # fmt: skip
            if status == 200:
                placed.append(body["orderId"])
            else:  # the replay moved between reading the last price and placing: as Binance
                assert body["code"] == -2010 and "trigger immediately" in body["msg"], body
        if len(placed) < 2:
            await client.request("DELETE", "/api/v3/openOrders", dict(SYMBOL))
    for _ in range(300):
        states = []
        for oid in placed:
            _, body, _ = await client.request("GET", "/api/v3/order", {**SYMBOL, "orderId": oid})
            states.append(body["status"])
        if "FILLED" in states:
            break
        await asyncio.sleep(0.05)
    assert "FILLED" in states, states
    oid = placed[states.index("FILLED")]
    _, trades, _ = await client.request("GET", "/api/v3/myTrades", {**SYMBOL, "orderId": oid})
    assert sum(Decimal(t["qty"]) for t in trades) == Decimal("0.001")
    await client.request("DELETE", "/api/v3/openOrders", dict(SYMBOL))
