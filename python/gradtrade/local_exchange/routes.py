"""Routing of the private API: signed REST endpoints, the websocket API's user-data methods, and
USD-M listenKey streams, all onto :class:`gradtrade.local_exchange.trading.Trading`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from gradtrade.local_exchange import account_extras, reports, usdm
from gradtrade.local_exchange.auth import check_api_key, verify_request, verify_ws_params, ws_text
from gradtrade.local_exchange.errors import ApiError
from gradtrade.local_exchange.hub import Conn
from gradtrade.local_exchange.params import Params
from gradtrade.local_exchange.trading import Trading
from gradtrade.local_exchange.ws import serve_socket

# (API key, raw query, raw body, params) -> (body, extra response headers)
Private = Callable[[str | None, str, str, Params], Awaitable[tuple[Any, dict[str, str]]]]
_NO_HEADERS: dict[str, str] = {}


def private_endpoint(t: Trading, venue: str, method: str, endpoint: str) -> Private | None:
    """The handler of a signed (or API-key) endpoint, or None when the path is public."""
    if venue == "usdm" and endpoint == "listenKey":
        return _unsigned(t, lambda key, p: usdm.listen_key(t, key, method))
    table: dict[tuple[str, str, str], Callable[[str, Params], Any]] = {
        ("spot", "POST", "order"): lambda k, p: t.new_order(k, "spot", p),
        ("spot", "POST", "order/test"): lambda k, p: t.test_order(k, "spot", p),
        ("spot", "DELETE", "order"): lambda k, p: t.cancel(k, "spot", p),
        ("spot", "GET", "order"): lambda k, p: t.query(k, "spot", p),
        ("spot", "GET", "openOrders"): lambda k, p: t.open_orders(k, "spot", p),
        ("spot", "DELETE", "openOrders"): lambda k, p: t.cancel_all(k, "spot", p),
        ("spot", "GET", "allOrders"): lambda k, p: t.all_orders(k, "spot", p),
        ("spot", "GET", "myTrades"): lambda k, p: t.my_trades(k, "spot", p),
        ("spot", "GET", "account"): lambda k, p: reports.spot_account(
            t.accounts[k], *t.fees["spot"], t.state.now_ms()
        ),
        ("sapi", "GET", "capital/config/getall"): lambda k, p: usdm.coins(t.accounts[k]),
        ("sapi", "GET", "margin/allPairs"): lambda k, p: [],
        ("sapi", "GET", "margin/isolated/allPairs"): lambda k, p: [],
        ("usdm", "POST", "order"): lambda k, p: t.new_order(k, "usdm", p),
        ("usdm", "DELETE", "order"): lambda k, p: t.cancel(k, "usdm", p),
        ("usdm", "GET", "order"): lambda k, p: t.query(k, "usdm", p),
        ("usdm", "GET", "openOrders"): lambda k, p: t.open_orders(k, "usdm", p),
        ("usdm", "DELETE", "allOpenOrders"): lambda k, p: t.cancel_all(k, "usdm", p),
        ("usdm", "GET", "allOrders"): lambda k, p: t.all_orders(k, "usdm", p),
        ("usdm", "GET", "userTrades"): lambda k, p: t.my_trades(k, "usdm", p),
        ("usdm", "GET", "account"): lambda k, p: usdm.account(t, k),
        ("usdm", "GET", "balance"): lambda k, p: usdm.balance(t, k),
        ("usdm", "GET", "positionRisk"): lambda k, p: usdm.position_risk(t, k, p),
        ("usdm", "POST", "leverage"): lambda k, p: usdm.set_leverage(t, k, p),
        ("usdm", "GET", "leverageBracket"): lambda k, p: usdm.brackets(t, p),
        ("spot", "GET", "account/commission"): lambda k, p: account_extras.spot_commission(t, k, p),
        ("spot", "GET", "rateLimit/order"): lambda k, p: account_extras.spot_order_count(t, k, p),
        ("usdm", "GET", "openOrder"): lambda k, p: account_extras.usdm_open_order(t, k, p),
        ("usdm", "GET", "income"): lambda k, p: account_extras.usdm_income(t, k, p),
        ("usdm", "GET", "commissionRate"): lambda k, p: account_extras.usdm_commission(t, k, p),
        ("usdm", "GET", "positionSide/dual"): lambda k, p: account_extras.position_mode(
            t, k, p, "GET"
        ),
        ("usdm", "POST", "positionSide/dual"): lambda k, p: account_extras.position_mode(
            t, k, p, "POST"
        ),
    }
    handler = table.get((venue, method, endpoint))
    if handler is None:
        return None
    new_order = endpoint == "order" and method == "POST"

    async def call(
        api_key: str | None, raw_query: str, raw_body: str, params: Params
    ) -> tuple[Any, dict[str, str]]:
        now = t.state.now_ms()
        key = verify_request(t.keys, api_key, raw_query, raw_body, params, now)
        if not new_order:
            return handler(key, params), _NO_HEADERS
        counts = t.state.limits.count_order(venue, key, now)
        delay = t.state.faults.ack_delay_s
        if delay <= 0:
            return handler(key, params), counts
        # the order is placed (or refused) now; only the answer is late, so a client that
        # timed out finds the order by its origClientOrderId
        try:
            body = handler(key, params)
        except ApiError:
            await asyncio.sleep(delay)
            raise
        await asyncio.sleep(delay)
        return body, counts

    return call


def _unsigned(t: Trading, handler: Callable[[str, Params], Any]) -> Private:
    async def call(
        api_key: str | None, raw_query: str, raw_body: str, params: Params
    ) -> tuple[Any, dict[str, str]]:
        check_api_key(t.keys, api_key)
        assert api_key is not None
        return handler(api_key, params), _NO_HEADERS

    return call


# the websocket API's request weights (Binance's, spot and USD-M alike for these methods)
WS_API_WEIGHTS = {
    "order.place": 1,
    "order.cancel": 1,
    "order.status": 4,
    "openOrders.status": 6,
    "account.status": 20,
    "userDataStream.subscribe.signature": 2,
    "ping": 1,
    "time": 1,
}


def ws_api_methods(t: Trading, venue: str) -> dict[str, Callable[[Conn, str, dict[str, Any]], Any]]:
    """The websocket API of ``venue`` ("spot" on ``/ws-api/v3``, "usdm" on ``/ws-fapi/v1``):
    user-data subscription and the signed trading methods, each checked exactly as the REST
    endpoint it mirrors (same signature rule as ``userDataStream.subscribe.signature``, same
    filters and errors, new orders counted against the same order limits)."""

    def signed(handler: Callable[[str, Params], Any]) -> Callable[[Conn, str, dict[str, Any]], Any]:
        def call(conn: Conn, method: str, params: dict[str, Any]) -> Any:
            now = t.state.now_ms()
            key = verify_ws_params(t.keys, params, now)
            text = {k: ws_text(v) for k, v in params.items() if k not in ("apiKey", "signature")}
            if method == "order.place":
                t.state.limits.count_order(venue, key, now)
            return handler(key, text)

        return call

    def subscribe(conn: Conn, method: str, params: dict[str, Any]) -> Any:
        key = verify_ws_params(t.keys, params, t.state.now_ms())
        return {"subscriptionId": t.users.subscribe_ws_api(key, conn)}

    def unsubscribe(conn: Conn, method: str, params: dict[str, Any]) -> Any:
        t.users.forget(conn)
        return {}

    def account(key: str, p: Params) -> Any:
        if venue == "usdm":
            return usdm.account(t, key)
        return reports.spot_account(t.accounts[key], *t.fees["spot"], t.state.now_ms())

    return {
        "userDataStream.subscribe.signature": subscribe,
        "userDataStream.unsubscribe": unsubscribe,
        "ping": lambda c, m, p: {},
        "time": lambda c, m, p: {"serverTime": t.state.now_ms()},
        "order.place": signed(lambda k, p: t.new_order(k, venue, p)),
        "order.cancel": signed(lambda k, p: t.cancel(k, venue, p)),
        "order.status": signed(lambda k, p: t.query(k, venue, p)),
        "openOrders.status": signed(lambda k, p: t.open_orders(k, venue, p)),
        "account.status": signed(account),
    }


async def serve_listen_key(t: Trading, request: web.Request, listen_key: str) -> web.StreamResponse:
    key = t.users.listen_keys[listen_key]

    def on_open(conn: Conn) -> None:
        t.users.listeners.setdefault(key, set()).add(conn)

    return await serve_socket(
        request, t.state, "usdm-user", False, [], None, t.users.forget, on_open
    )
