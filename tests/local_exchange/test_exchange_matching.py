"""The matching engine against hand-computed cases: fills, average prices, fees, balances.

Book used throughout (BTCUSDT spot, set by hand on a frozen synthetic market):
asks 100.00 x 1, 101.00 x 2, 102.00 x 5; bids 99.00 x 1, 98.00 x 2.
Starting balances 100000 USDT and 1 BTC; maker fee 0.05 %, taker fee 0.1 % (on the asset received).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest

from gradtrade.local_exchange import ServerThread

PlaceOrder = Callable[..., Awaitable[tuple[int, Any]]]
ReadBalances = Callable[..., Awaitable[dict[str, tuple[Decimal, Decimal]]]]

ASKS = [(100.0, 1.0), (101.0, 2.0), (102.0, 5.0)]
BIDS = [(99.0, 1.0), (98.0, 2.0)]


@pytest.fixture
def book(set_book: Callable[..., None], quiet_server: ServerThread) -> ServerThread:
    set_book(quiet_server, "spot", "BTCUSDT", BIDS, ASKS)
    return quiet_server


@pytest.fixture
def order(signed: Any) -> PlaceOrder:
    """``await order(server_thread, **params)``: a signed BTCUSDT order, as (status, body)."""

    async def place(st: ServerThread, **params: Any) -> tuple[int, Any]:
        status, body, _ = await signed(st.url).request(
            "POST", "/api/v3/order", {"symbol": "BTCUSDT", **params}
        )
        return status, body

    return place


@pytest.fixture
def balances(signed: Any) -> ReadBalances:
    """``await balances(server_thread)``: asset -> (free, locked) of the default account."""

    async def read(st: ServerThread) -> dict[str, tuple[Decimal, Decimal]]:
        _, body, _ = await signed(st.url).request("GET", "/api/v3/account")
        return {b["asset"]: (Decimal(b["free"]), Decimal(b["locked"])) for b in body["balances"]}

    return read


async def test_market_buy_walks_the_book(
    order: PlaceOrder,
    balances: ReadBalances,
    book: ServerThread,
) -> None:
    status, body = await order(book, side="BUY", type="MARKET", quantity="2.5")
    assert status == 200 and body["status"] == "FILLED"
    fills = [(f["price"], f["qty"], f["commission"]) for f in body["fills"]]
    assert fills == [
        ("100.00000000", "1.00000000", "0.00100000"),
        ("101.00000000", "1.50000000", "0.00150000"),
    ]
    assert Decimal(body["cummulativeQuoteQty"]) == Decimal("251.5")  # average 100.6
    assert Decimal(body["cummulativeQuoteQty"]) / Decimal(body["executedQty"]) == Decimal("100.6")
    bal = await balances(book)
    assert bal["USDT"] == (Decimal("99748.5"), 0)
    assert bal["BTC"] == (Decimal("3.4975"), 0)  # 1 + 2.5 - 0.0025 fee


async def test_marketable_limit_fills_what_crosses_and_rests_the_rest(
    order: PlaceOrder,
    balances: ReadBalances,
    signed: Any,
    book: ServerThread,
) -> None:
    status, body = await order(
        book, side="BUY", type="LIMIT", timeInForce="GTC", quantity="4", price="101"
    )
    assert status == 200 and body["status"] == "PARTIALLY_FILLED"
    assert Decimal(body["executedQty"]) == 3 and Decimal(body["cummulativeQuoteQty"]) == 302
    bal = await balances(book)
    assert bal["USDT"] == (Decimal("99597"), Decimal("101"))  # 302 spent, 1 x 101 locked
    assert bal["BTC"] == (Decimal("3.997"), 0)  # 1 + 3 - 0.003
    _, canceled, _ = await signed(book.url).request(
        "DELETE", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": body["orderId"]}
    )
    assert canceled["status"] == "CANCELED" and Decimal(canceled["executedQty"]) == 3
    assert (await balances(book))["USDT"] == (Decimal("99698"), 0)


async def test_ioc_sell_fills_above_its_limit_only(
    order: PlaceOrder,
    balances: ReadBalances,
    book: ServerThread,
) -> None:
    status, body = await order(
        book, side="SELL", type="LIMIT", timeInForce="IOC", quantity="0.5", price="98.5"
    )
    assert status == 200 and body["status"] == "FILLED"
    _, body = await order(
        book, side="SELL", type="LIMIT", timeInForce="IOC", quantity="0.5", price="98.5"
    )
    # the book is not depleted by our fills: 99 x 1 is still there (see matching.py)
    assert body["status"] == "FILLED" and body["fills"][0]["price"] == "99.00000000"
    bal = await balances(book)
    assert bal["BTC"] == (Decimal("0"), 0)
    assert bal["USDT"] == (Decimal("100000") + 2 * (Decimal("49.5") - Decimal("0.0495")), 0)


async def test_ioc_expires_the_unfilled_part(order: PlaceOrder, book: ServerThread) -> None:
    await order(book, side="BUY", type="MARKET", quantity="2")  # 1 @ 100 + 1 @ 101
    _, body = await order(
        book, side="SELL", type="LIMIT", timeInForce="IOC", quantity="2", price="98.5"
    )
    assert body["status"] == "EXPIRED" and Decimal(body["executedQty"]) == 1
    assert [f["price"] for f in body["fills"]] == ["99.00000000"]


async def test_fok_all_or_nothing(
    order: PlaceOrder,
    balances: ReadBalances,
    book: ServerThread,
) -> None:
    before = await balances(book)
    status, body = await order(
        book, side="BUY", type="LIMIT", timeInForce="FOK", quantity="10", price="102"
    )  # only 8 available up to 102
    assert status == 200 and body["status"] == "EXPIRED" and Decimal(body["executedQty"]) == 0
    assert await balances(book) == before
    _, body = await order(
        book, side="BUY", type="LIMIT", timeInForce="FOK", quantity="8", price="102"
    )
    assert body["status"] == "FILLED"
    assert Decimal(body["cummulativeQuoteQty"]) == 100 + 202 + 510


async def test_limit_maker_and_resting_maker_fill(
    order: PlaceOrder,
    balances: ReadBalances,
    signed: Any,
    book: ServerThread,
) -> None:
    status, body = await order(book, side="BUY", type="LIMIT_MAKER", quantity="1", price="100")
    assert status == 400 and body == {
        "code": -2010,
        "msg": "Order would immediately match and take.",
    }
    status, body = await order(book, side="BUY", type="LIMIT_MAKER", quantity="1", price="99.5")
    assert body["status"] == "NEW"

    def print_trade() -> None:  # someone sells 0.4 at 99.40, through our bid
        m = book.server.state.markets["spot"]["BTCUSDT"]
        book.server.state.trade(m, 99.4, 0.4, buyer_maker=True, event_ms=None)

    book.run(print_trade)
    _, got, _ = await signed(book.url).request(
        "GET", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": body["orderId"]}
    )
    assert got["status"] == "PARTIALLY_FILLED" and Decimal(got["executedQty"]) == Decimal("0.4")
    _, trades, _ = await signed(book.url).request("GET", "/api/v3/myTrades", {"symbol": "BTCUSDT"})
    assert trades[-1]["isMaker"] is True and trades[-1]["price"] == "99.50000000"
    assert Decimal(trades[-1]["commission"]) == Decimal("0.0002")  # 0.4 x 0.05 %
    bal = await balances(book)
    assert bal["USDT"] == (Decimal("100000") - Decimal("99.5"), Decimal("0.6") * Decimal("99.5"))
    assert bal["BTC"] == (Decimal("1.3998"), 0)


async def test_insufficient_balance_and_filters(
    order: PlaceOrder,
    balances: ReadBalances,
    book: ServerThread,
) -> None:
    cases = [
        (
            dict(side="BUY", type="LIMIT", timeInForce="GTC", quantity="2000", price="99"),
            -2010,
            "Account has insufficient balance for requested action.",
        ),
        (
            dict(side="SELL", type="MARKET", quantity="1.5"),
            -2010,
            "Account has insufficient balance for requested action.",
        ),
        (
            dict(side="BUY", type="LIMIT", timeInForce="GTC", quantity="1", price="99.001"),
            -1013,
            "Filter failure: PRICE_FILTER",
        ),
        (
            dict(side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.000001", price="99"),
            -1013,
            "Filter failure: LOT_SIZE",
        ),
        (
            dict(side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.01", price="99"),
            -1013,
            "Filter failure: MIN_NOTIONAL",
        ),
        (
            dict(side="BUY", type="LIMIT", timeInForce="GTC", quantity="1", price="1000"),
            -1013,
            "Filter failure: PERCENT_PRICE",
        ),
        (
            dict(side="BUY", type="LIMIT", quantity="1", price="99"),
            -1102,
            "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.",
        ),
        (
            dict(side="BUY", type="LIMIT", timeInForce="GTD", quantity="1", price="99"),
            -1115,
            "Invalid timeInForce.",
        ),
        (
            dict(side="UP", type="LIMIT", timeInForce="GTC", quantity="1", price="99"),
            -1117,
            "Invalid side.",
        ),
        (dict(side="BUY", type="STOP", quantity="1"), -1116, "Invalid orderType."),
    ]
    for params, code, msg in cases:
        status, body = await order(book, **params)
        assert (status, body) == (400, {"code": code, "msg": msg}), params
    assert (await balances(book))["USDT"] == (Decimal("100000"), 0)


async def test_client_order_id_is_idempotent(
    order: PlaceOrder, signed: Any, book: ServerThread
) -> None:
    params = dict(
        side="BUY",
        type="LIMIT",
        timeInForce="GTC",
        quantity="1",
        price="95",
        newClientOrderId="my-order-1",
    )
    status, first = await order(book, **params)
    assert status == 200 and first["clientOrderId"] == "my-order-1"
    status, again = await order(book, **params)  # a retry after a lost ack
    assert (status, again) == (400, {"code": -2010, "msg": "Duplicate order sent."})
    _, open_orders, _ = await signed(book.url).request(
        "GET", "/api/v3/openOrders", {"symbol": "BTCUSDT"}
    )
    assert [o["clientOrderId"] for o in open_orders] == ["my-order-1"]
    _, found, _ = await signed(book.url).request(
        "GET", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "my-order-1"}
    )
    assert found["orderId"] == first["orderId"]
