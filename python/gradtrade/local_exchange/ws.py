"""Websocket endpoints: market streams (raw ``/ws`` and combined ``/stream?streams=``) with
Binance's SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS protocol, and the user-data streams.

Spot user data follows the websocket API (``/ws-api/v3``): ``userDataStream.subscribe.signature``
then events wrapped as ``{"subscriptionId": n, "event": {...}}``; USD-M user data is the
listenKey stream (``/fapi/ws/<listenKey>`` or ``/fapi/private/ws?listenKey=``).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from gradtrade.local_exchange.errors import ApiError
from gradtrade.local_exchange.hub import MAX_STREAMS, Conn, Subscribe
from gradtrade.local_exchange.state import ExchangeState

log = logging.getLogger("gradtrade.local_exchange")
WsApiHandler = Callable[[Conn, str, dict[str, Any]], Any]
# (connection, name, subscribe?) -> whether the name was a user-data stream (a listenKey)
UserSubscribe = Callable[[Conn, str, bool], bool]


def _error(code: int, msg: str, req_id: object) -> bytes:
    return orjson.dumps({"error": {"code": code, "msg": msg}, "id": req_id})


# incoming messages per second a market-stream connection may send before it is closed
MESSAGE_RATE = {"spot": 5, "usdm": 10}
POLICY_VIOLATION = 1008  # the close code Binance uses for "too many requests"


def _control(
    state: ExchangeState, conn: Conn, raw: str, user: UserSubscribe | None = None
) -> bytes:
    """Answer one client message of the market-stream protocol. ``user`` subscribes a name
    that is not a market stream (a USD-M listenKey) and says whether it was one."""
    try:
        msg = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _error(3, "Invalid JSON: expected value at line 1 column 1", None)
    if not isinstance(msg, dict):
        return _error(2, "Invalid request: request ID must be an unsigned integer", None)
    req_id, method, params = msg.get("id"), msg.get("method"), msg.get("params", [])
    if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
        if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
            return _error(2, "Invalid request: invalid value for 'params'", req_id)
        for name in params:
            if method == "UNSUBSCRIBE":
                state.hub.unsubscribe(conn, name)
                if user is not None:
                    user(conn, name, False)
                continue
            outcome = state.hub.subscribe(conn, name)
            if outcome is Subscribe.UNKNOWN and user is not None and user(conn, name, True):
                continue
            if outcome is Subscribe.UNKNOWN:
                return _error(2, f"Invalid request: invalid stream name '{name}'", req_id)
            if outcome is Subscribe.TOO_MANY:
                return _error(
                    2, f"Invalid request: too many streams; the limit is {MAX_STREAMS}", req_id
                )
        return orjson.dumps({"result": None, "id": req_id})
    if method == "LIST_SUBSCRIPTIONS":
        return orjson.dumps({"result": sorted(conn.streams.values()), "id": req_id})
    if method == "SET_PROPERTY":
        return orjson.dumps({"result": None, "id": req_id})
    if method == "GET_PROPERTY":
        return orjson.dumps({"result": conn.combined, "id": req_id})
    return _error(2, "Invalid request: unknown method", req_id)


async def serve_socket(
    request: web.Request,
    state: ExchangeState,
    venue: str,
    combined: bool,
    streams: list[str],
    on_message: Callable[[Conn, str], bytes | None] | None = None,
    on_close: Callable[[Conn], None] | None = None,
    on_open: Callable[[Conn], None] | None = None,
    user: UserSubscribe | None = None,
) -> web.WebSocketResponse:
    """Run one websocket connection until it closes; everything it held is released then."""
    ws = web.WebSocketResponse(heartbeat=None, autoping=True, max_msg_size=1 << 20)
    await ws.prepare(request)
    conn = Conn(ws, venue, request.path, combined)
    state.hub.attach(conn)
    for name in streams:
        state.hub.subscribe(conn, name)
    if on_open is not None:
        on_open(conn)
    handler = on_message or (lambda c, raw: _control(state, c, raw, user))
    rate = MESSAGE_RATE.get(venue)
    window, seen = 0, 0
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                text = msg.data
            elif msg.type == WSMsgType.BINARY:
                text = msg.data.decode("utf-8", "replace")
            else:
                continue
            if rate is not None:
                second = int(time.monotonic())
                window, seen = (second, 1) if second != window else (window, seen + 1)
                if seen > rate:  # Binance drops a connection over its message rate
                    await ws.close(code=POLICY_VIOLATION, message=b"Too many requests")
                    break
            reply = handler(conn, text)
            if reply is not None:
                conn.push(reply)
    finally:
        state.hub.detach(conn)
        if on_close is not None:
            on_close(conn)
        with contextlib.suppress(Exception):
            await ws.close()
    return ws


class UserStreams:
    """Who receives user-data events: websocket-API subscriptions and listenKey streams."""

    def __init__(self) -> None:
        self.ws_api: dict[str, dict[Conn, int]] = {}  # api key -> conn -> subscription id
        self.listen_keys: dict[str, str] = {}  # listenKey -> api key
        self.listeners: dict[str, set[Conn]] = {}  # api key -> USD-M listenKey streams
        self.next_subscription = 0

    def subscribe_ws_api(self, api_key: str, conn: Conn) -> int:
        sid = self.next_subscription
        self.next_subscription += 1
        self.ws_api.setdefault(api_key, {})[conn] = sid
        return sid

    def by_listen_key(self, conn: Conn, name: str, subscribe: bool) -> bool:
        """SUBSCRIBE / UNSUBSCRIBE of a listenKey on a USD-M market connection (what the
        official futures connector does); False when ``name`` is no listenKey."""
        key = self.listen_keys.get(name)
        if key is None:
            return False
        if subscribe:
            self.listeners.setdefault(key, set()).add(conn)
        else:
            self.listeners.get(key, set()).discard(conn)
        return True

    def forget(self, conn: Conn) -> None:
        for conns in self.ws_api.values():
            conns.pop(conn, None)
        for listeners in self.listeners.values():
            listeners.discard(conn)
        for table in (self.ws_api, self.listeners):
            for key in [k for k, v in table.items() if not v]:
                del table[key]

    def send_spot(self, api_key: str, event: dict[str, Any]) -> None:
        for conn, sid in list(self.ws_api.get(api_key, {}).items()):
            conn.push(orjson.dumps({"subscriptionId": sid, "event": event}))

    def send_usdm(self, api_key: str, event: dict[str, Any]) -> None:
        data = orjson.dumps(event)
        for conn in list(self.listeners.get(api_key, ())):
            conn.push(data)


def ws_api_reply(
    req_id: object,
    result: Any = None,
    error: ApiError | None = None,
    limits: list[dict[str, Any]] | None = None,
) -> bytes:
    body: dict[str, Any] = {"id": req_id, "status": 200 if error is None else error.status}
    if error is not None:
        body["error"] = error.body()
    else:
        body["result"] = result
    if limits:
        body["rateLimits"] = limits
    return orjson.dumps(body)


async def serve_ws_api(
    request: web.Request,
    state: ExchangeState,
    methods: dict[str, WsApiHandler],
    users: UserStreams,
    venue: str = "spot",
    weights: dict[str, int] | None = None,
) -> web.WebSocketResponse:
    """The websocket API: ``{"id", "method", "params"}`` requests answered by ``methods``.
    Each request is charged its weight (``weights``, 1 by default) against the same per-IP
    budget as REST, and every answer carries Binance's ``rateLimits`` counters."""
    remote = request.remote or ""

    def charge(method: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        now = state.now_ms()
        weight = (weights or {}).get(method, 1)
        if method == "openOrders.status" and "symbol" not in params:
            weight = 80 if venue == "spot" else 40
        used = state.limits.charge(venue, remote, weight, now)["X-MBX-USED-WEIGHT-1M"]
        out: list[dict[str, Any]] = [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": state.limits.limits[venue],
                "count": int(used),
            }
        ]
        key = params.get("apiKey")
        if method == "order.place" and isinstance(key, str):
            out += state.limits.order_usage(venue, key, now)
        return out

    def charge_after(
        method: str, params: dict[str, Any], before: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        key = params.get("apiKey")
        if method != "order.place" or not isinstance(key, str):
            return before
        return before[:1] + state.limits.order_usage(venue, key, state.now_ms())

    def on_message(conn: Conn, raw: str) -> bytes:
        try:
            msg = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return ws_api_reply(None, error=ApiError(-1102, "Malformed request."))
        if not isinstance(msg, dict) or not isinstance(msg.get("method"), str):
            return ws_api_reply(None, error=ApiError(-1102, "Malformed request."))
        req_id = msg.get("id")
        params = msg.get("params") or {}
        handler = methods.get(msg["method"])
        if handler is None or not isinstance(params, dict):
            return ws_api_reply(req_id, error=ApiError(-1102, "Malformed request."))
        try:
            limits = charge(msg["method"], params)
        except ApiError as exc:  # over the weight budget: 429 / 418 as on REST
            return ws_api_reply(req_id, error=exc)
        try:
            result = handler(conn, msg["method"], params)
            return ws_api_reply(req_id, result, limits=charge_after(msg["method"], params, limits))
        except ApiError as exc:
            return ws_api_reply(req_id, error=exc, limits=limits)
        except Exception:  # a bug answers -1000 and keeps the connection; secrets stay out
            log.exception("websocket API method %s failed", msg["method"])
            return ws_api_reply(
                req_id,
                error=ApiError(
                    -1000, "An unknown error occurred while processing the request.", 500
                ),
            )

    return await serve_socket(request, state, "ws-api", False, [], on_message, users.forget)
