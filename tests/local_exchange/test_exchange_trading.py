"""Trading through unmodified ccxt: orders, cancels, queries, user-data streams, USD-M."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import ccxt
import pytest

from gradtrade.local_exchange import ServerThread


async def test_create_fetch_cancel_order(spot: Any) -> None:
    ticker = await spot.fetch_ticker("BTC/USDT")
    price = spot.price_to_precision("BTC/USDT", ticker["bid"] * 0.95)
    order = await spot.create_order("BTC/USDT", "limit", "buy", 0.01, price)
    assert order["status"] == "open" and order["clientOrderId"]
    fetched = await spot.fetch_order(order["id"], "BTC/USDT")
    assert fetched["status"] == "open" and fetched["amount"] == 0.01
    assert order["id"] in [o["id"] for o in await spot.fetch_open_orders("BTC/USDT")]
    canceled = await spot.cancel_order(order["id"], "BTC/USDT")
    assert canceled["status"] == "canceled"
    assert (await spot.fetch_order(order["id"], "BTC/USDT"))["status"] == "canceled"
    with pytest.raises(ccxt.OrderNotFound):
        await spot.cancel_order(order["id"], "BTC/USDT")
    with pytest.raises(ccxt.OrderNotFound):
        await spot.fetch_order("987654321", "BTC/USDT")


async def test_market_order_changes_balance_and_my_trades(
    make_ccxt: Callable[..., Any], set_book: Callable[..., None], quiet_server: ServerThread
) -> None:
    set_book(quiet_server, "spot", "ETHUSDT", [(2999.0, 10.0)], [(3001.0, 10.0)])
    ex = make_ccxt(quiet_server.url, "spot")
    try:
        before = await ex.fetch_balance()
        order = await ex.create_order("ETH/USDT", "market", "buy", 2)
        assert order["status"] == "closed" and order["average"] == 3001.0
        assert order["fee"]["currency"] == "ETH" and order["fee"]["cost"] == pytest.approx(0.002)
        after = await ex.fetch_balance()
        assert after["USDT"]["free"] == pytest.approx(before["USDT"]["free"] - 6002)
        assert after["ETH"]["free"] == pytest.approx(before["ETH"]["free"] + 2 - 0.002)
        trades = await ex.fetch_my_trades("ETH/USDT")
        assert [(t["price"], t["amount"], t["side"]) for t in trades] == [(3001.0, 2.0, "buy")]
    finally:
        await ex.close()


async def test_watch_orders_over_the_websocket_api(
    make_ccxt: Callable[..., Any], set_book: Callable[..., None], quiet_server: ServerThread
) -> None:
    set_book(quiet_server, "spot", "BTCUSDT", [(59_990.0, 1.0)], [(60_010.0, 1.0)])
    ex = make_ccxt(quiet_server.url, "spot")
    try:
        await ex.load_markets()
        watcher = asyncio.ensure_future(ex.watch_orders("BTC/USDT"))
        balance_watcher = asyncio.ensure_future(ex.watch_balance())
        await asyncio.sleep(0.3)  # ccxt subscribes with userDataStream.subscribe.signature
        placed = await ex.create_order("BTC/USDT", "market", "buy", 0.01)
        seen = await asyncio.wait_for(watcher, 5)
        statuses = {(o["id"], o["status"]) for o in seen}
        while (placed["id"], "closed") not in statuses:
            seen = await asyncio.wait_for(ex.watch_orders("BTC/USDT"), 5)
            statuses |= {(o["id"], o["status"]) for o in seen}
        balance = await asyncio.wait_for(balance_watcher, 5)
        assert balance["BTC"]["free"] == pytest.approx(1.01 - 0.00001)
    finally:
        await ex.close()


async def test_usdm_orders_positions_and_order_updates(
    make_ccxt: Callable[..., Any], set_book: Callable[..., None], quiet_server: ServerThread
) -> None:
    set_book(quiet_server, "usdm", "BTCUSDT", [(59_990.0, 5.0)], [(60_010.0, 5.0)])
    ex = make_ccxt(quiet_server.url, "usdm")
    try:
        await ex.load_markets()
        watcher = asyncio.ensure_future(ex.watch_orders("BTC/USDT:USDT"))
        await asyncio.sleep(0.3)  # listenKey from /fapi/v1/listenKey, then the user stream
        order = await ex.create_order("BTC/USDT:USDT", "market", "buy", 0.1)
        assert order["status"] == "closed" and order["average"] == 60_010.0
        updates = await asyncio.wait_for(watcher, 5)
        assert updates[-1]["symbol"] == "BTC/USDT:USDT"
        (position,) = await ex.fetch_positions(["BTC/USDT:USDT"])
        assert position["contracts"] == pytest.approx(0.1) and position["side"] == "long"
        assert position["entryPrice"] == 60_010.0
        close = await ex.create_order("BTC/USDT:USDT", "market", "sell", 0.1)
        assert close["average"] == 59_990.0
        balance = await ex.fetch_balance()
        # realized -2 (0.1 x -20), fees 0.05 % taker on both notionals
        fees = 0.1 * (60_010 + 59_990) * 0.0005
        assert balance["USDT"]["total"] == pytest.approx(10_000 - 2 - fees)
        limit = await ex.create_order("BTC/USDT:USDT", "limit", "buy", 0.1, 59_000)
        assert limit["status"] == "open"
        assert (await ex.cancel_order(limit["id"], "BTC/USDT:USDT"))["status"] == "canceled"
    finally:
        await ex.close()


async def test_my_trades_filters_by_order_id(
    set_book: Callable[..., None], quiet_server: ServerThread, signed: Callable[..., Any]
) -> None:
    """``orderId`` selects the trades of that order only, as on Binance (spot and USD-M)."""
    set_book(quiet_server, "spot", "BTCUSDT", [(59999.0, 1.0)], [(60001.0, 0.001), (60002.0, 1.0)])
    set_book(quiet_server, "usdm", "BTCUSDT", [(59999.0, 1.0)], [(60001.0, 1.0)])
    client = signed(quiet_server.url)
    for api, trades_path in (("/api/v3", "/myTrades"), ("/fapi/v1", "/userTrades")):
        ids = []
        for _ in range(2):
            status, order, _ = await client.request(
                "POST", f"{api}/order",
                {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.002"},
            )  # fmt: skip
            assert status == 200, order
            ids.append(order["orderId"])
        status, every, _ = await client.request("GET", api + trades_path, {"symbol": "BTCUSDT"})
        assert status == 200 and {t["orderId"] for t in every} >= set(ids)
        for order_id in ids:
            status, mine, _ = await client.request(
                "GET", api + trades_path, {"symbol": "BTCUSDT", "orderId": order_id}
            )
            assert status == 200 and mine and {t["orderId"] for t in mine} == {order_id}
        status, none, _ = await client.request(
            "GET", api + trades_path, {"symbol": "BTCUSDT", "orderId": 10**9}
        )
        assert status == 200 and none == []
