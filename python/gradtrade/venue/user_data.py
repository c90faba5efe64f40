"""The user-data stream: our order and account events, as raw frames, kept connected.

Spot: the websocket API (``/ws-api/v3``) with ``userDataStream.subscribe.signature`` (apiKey,
timestamp, HMAC-SHA256 signature over the sorted parameters); events arrive wrapped as
``{"subscriptionId": n, "event": {...}}``. USD-M: a listenKey from ``POST /fapi/v1/listenKey``,
the stream ``{ws}/ws/<listenKey>``, and ``PUT listenKey`` every ``keepalive_s`` (Binance expires
a key after 60 minutes without one).

Invariants: frames are handed on as the bytes received, untouched (the Rust order parses them);
``connected`` is True only between a confirmed subscription and the next failure, and every
change of it is reported through ``on_state``, so the caller knows exactly when events may have
been missed (and must catch up over REST). The secret is used for the signature only and never
appears in a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
from collections.abc import Callable

import orjson
import websockets

from gradtrade.errors import AuthenticationFailed, scrub
from gradtrade.venue.config import ConnectorConfig
from gradtrade.venue.orders import Answered, OrderGateway
from gradtrade.venue.rest import Backoff
from gradtrade.venue.urls import PRESETS

log = logging.getLogger(__name__)


def ws_api_url(config: ConnectorConfig) -> str:
    """The spot websocket-API URL: a preset's when ``rest_url`` is one, else under ``ws_url``
    (the local exchange serves it on the same host)."""
    for markets in PRESETS.values():
        ends = markets.get(config.market)
        if ends is not None and ends.rest == config.rest_url:
            return ends.ws_api
    return f"{config.ws_url}/ws-api/v3"


def sign_params(secret: str, params: dict[str, str | int]) -> str:
    """Binance's websocket-API signature: hex HMAC-SHA256 of ``k=v&...`` sorted by name."""
    payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


class UserDataStream:
    """Runs until :meth:`stop`: connect, subscribe, forward frames, reconnect with backoff."""

    def __init__(
        self,
        config: ConnectorConfig,
        gateway: OrderGateway,
        on_frame: Callable[[bytes], None],
        on_state: Callable[[bool], None],
        keepalive_s: float = 1800.0,
        min_reconnect_s: float = 0.0,
    ) -> None:
        if config.api_key is None or config.api_secret is None:
            raise AuthenticationFailed("the user-data stream needs api_key and api_secret")
        self.config, self.gateway = config, gateway
        self.on_frame, self.on_state = on_frame, on_state
        self.keepalive_s = keepalive_s
        self.min_reconnect_s = min_reconnect_s  # at least this long between a loss and a retry
        self.connected = False
        self.connects = 0
        self._stop = asyncio.Event()
        self._backoff = Backoff(config.backoff_base_s, config.backoff_max_s)

    def stop(self) -> None:
        self._stop.set()

    def _set(self, connected: bool) -> None:
        if connected != self.connected:
            self.connected = connected
            self.on_state(connected)

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.config.market == "spot":
                    await self._spot()
                else:
                    await self._usdm()
            except asyncio.CancelledError:
                self._set(False)
                raise
            except Exception as exc:  # any failure: down, catch up, reconnect after a backoff
                log.warning("user-data stream lost: %s", scrub(f"{type(exc).__name__}: {exc}"))
            self._set(False)
            if self._stop.is_set():
                break
            with contextlib.suppress(TimeoutError):
                delay = max(self.min_reconnect_s, self._backoff.next_delay())
                await asyncio.wait_for(self._stop.wait(), delay)

    async def _forward(self, ws: websockets.ClientConnection) -> None:
        """Hand every frame on until the connection fails (the task is cancelled to stop)."""
        while not self._stop.is_set():
            frame = await ws.recv(decode=False)
            self.on_frame(frame if isinstance(frame, bytes) else frame.encode())

    async def _spot(self) -> None:
        assert self.config.api_key is not None and self.config.api_secret is not None
        async with websockets.connect(ws_api_url(self.config), max_size=1 << 22) as ws:
            params: dict[str, str | int] = {
                "apiKey": self.config.api_key.get_secret_value(),
                "timestamp": int(self.gateway.rest.now_ms()),
            }
            params["signature"] = sign_params(self.config.api_secret.get_secret_value(), params)
            await ws.send(
                orjson.dumps(
                    {"id": "sub", "method": "userDataStream.subscribe.signature", "params": params}
                ).decode()
            )
            reply = orjson.loads(await ws.recv(decode=False))
            if reply.get("status") != 200:
                raise AuthenticationFailed(
                    scrub(f"user-data subscription refused: {reply.get('error')}")
                )
            self._connected()
            await self._forward(ws)

    async def _usdm(self) -> None:
        ex = self.gateway.rest.exchange
        answer = await self.gateway.send(ex.fapiPrivatePostListenKey, {})
        if not isinstance(answer, Answered):
            raise AuthenticationFailed(scrub(f"listenKey refused: {answer}"))
        key = str(answer.body["listenKey"])
        keepalive = asyncio.ensure_future(self._keepalive(key))
        try:
            async with websockets.connect(f"{self.config.ws_url}/ws/{key}") as ws:
                self._connected()
                await self._forward(ws)
        finally:
            keepalive.cancel()

    async def _keepalive(self, key: str) -> None:
        ex = self.gateway.rest.exchange
        while True:
            await asyncio.sleep(self.keepalive_s)
            answer = await self.gateway.send(ex.fapiPrivatePutListenKey, {"listenKey": key})
            if not isinstance(answer, Answered):
                log.warning("listenKey keepalive failed: %s", answer)

    def _connected(self) -> None:
        self.connects += 1
        self._backoff.reset()
        self._set(True)


__all__ = ["UserDataStream", "sign_params", "ws_api_url"]
