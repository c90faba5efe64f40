"""Signed REST order entry, cancel and queries (spot ``/api/v3``, USD-M ``/fapi/v1``).

Invariant: every request is sent exactly once (no retry here: resending an order is the
caller's decision, made after it knows what happened to the first one), and every answer is one
of three typed outcomes:

* ``Answered``: the exchange processed the request; ``body`` is its JSON answer.
* ``Refused``: the exchange says it did *not* act (a 4xx with a Binance code, 429, 418). Binance
  refuses a rate-limited or banned request before the matching engine sees it.
* ``StatusUnknown``: no answer (timeout, connection lost), a 5xx, or Binance's "execution status
  unknown" (-1007, or -1000/-1008 with a 5xx): the order may or may not exist. Only a query by
  ``origClientOrderId`` can tell.

Signing, the clock offset and the key header are ccxt's (its implicit Binance API); a new
order takes ``venue.wire.OrderWire`` when it has an idle connection: the same signed request,
written straight to a kept-alive connection, its answer judged by ccxt (the latency path). The
API key and secret come from the ``ConnectorConfig``'s ``SecretStr`` fields and never reach a
message (every message goes through :func:`gradtrade.errors.scrub`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from gradtrade.errors import (
    AuthenticationFailed,
    ConfigError,
    RateLimited,
    RetryableError,
    scrub,
)
from gradtrade.venue.config import ConnectorConfig
from gradtrade.venue.rest import ConnectorMetrics, RestClient, from_ccxt, retry_after_s
from gradtrade.venue.wire import OrderWire

_CODE = re.compile(r'"code"\s*:\s*(-?\d+)')
# "Timeout waiting for response from backend server. Send status unknown; execution status unknown."
EXECUTION_UNKNOWN = -1007


@dataclass(frozen=True, slots=True)
class Answered:
    body: Any


@dataclass(frozen=True, slots=True)
class Refused:
    """The exchange did not act. ``code`` is Binance's error code when the body carried one."""

    code: int | None
    http_status: int | None
    message: str
    retry_after: float | None = None


@dataclass(frozen=True, slots=True)
class StatusUnknown:
    message: str


Outcome = Answered | Refused | StatusUnknown


def binance_code(text: str) -> int | None:
    """The ``"code"`` of a Binance error body quoted in an error message, if any."""
    m = _CODE.search(text)
    return int(m.group(1)) if m else None


class OrderGateway:
    """One market's signed order endpoints, each request answered by an :data:`Outcome`."""

    def __init__(
        self, config: ConnectorConfig, rest: RestClient | None = None, recv_window_ms: int = 5000
    ) -> None:
        if not 1 <= recv_window_ms <= 60_000:
            raise ConfigError(f"recv_window_ms must be within 1..60000, got {recv_window_ms}")
        # Past this window since the send, an order the exchange has not reported will never be
        # placed (Binance refuses a request whose timestamp is older): the limit of resolution.
        self.recv_window_ms = recv_window_ms
        if config.api_key is None or config.api_secret is None:
            raise ConfigError("connector: api_key and api_secret are required to trade")
        self.config = config
        self.rest = rest or RestClient(config, ConnectorMetrics())
        self.usdm = config.market == "usdm"
        ex = self.rest.exchange
        if self.usdm:
            self._new, self._cancel = ex.fapiPrivatePostOrder, ex.fapiPrivateDeleteOrder
            self._query, self._open = ex.fapiPrivateGetOrder, ex.fapiPrivateGetOpenOrders
            self._trades = ex.fapiPrivateGetUserTrades
        else:
            self._new, self._cancel = ex.privatePostOrder, ex.privateDeleteOrder
            self._query, self._open = ex.privateGetOrder, ex.privateGetOpenOrders
            self._trades = ex.privateGetMyTrades
        api = "fapiPrivate" if self.usdm else "private"
        self.wire = OrderWire(ex, api) if OrderWire.supports(ex, api) else None

    async def start(self) -> None:
        """Opens the order wire's connections (without them, orders take ccxt's path)."""
        if self.wire is not None:
            await self.wire.start()

    async def send(
        self, fn: Callable[[dict[str, Any]], Awaitable[Any]], params: dict[str, Any]
    ) -> Outcome:
        ex = self.rest.exchange
        ex.last_http_status = None
        self.rest.metrics.requests += 1
        try:
            body = await fn(params)
        except Exception as exc:  # ccxt's tree, split below by what the exchange did
            status = ex.last_http_status
            headers = getattr(ex, "last_response_headers", None) if status is not None else None
            text = scrub(f"{type(exc).__name__}: {exc}")
            # ccxt's message keeps Binance's text but not always its code: read the body too.
            body = getattr(ex, "last_http_response", None) if status is not None else None
            code = binance_code(str(body or "")) or binance_code(str(exc))
            error = from_ccxt(exc, retry_after=retry_after_s(headers), status=status)
            if isinstance(error, RateLimited):
                self.rest.metrics.rate_limited += 1
                return Refused(code, error.status, text, error.retry_after)
            if code == EXECUTION_UNKNOWN or isinstance(error, RetryableError):
                self.rest.metrics.server_errors += 1
                return StatusUnknown(text)
            if isinstance(error, AuthenticationFailed) and code is None:
                return Refused(None, status, text)
            return Refused(code, status, text)
        self.rest.weights.observe(getattr(ex, "last_response_headers", None), self.rest.now_ms())
        return Answered(body)

    async def new_order(self, params: dict[str, Any]) -> Outcome:
        """``POST order``; ``params`` must carry ``newClientOrderId`` (the resolution key)."""
        if "newClientOrderId" not in params:
            raise ConfigError("order params: newClientOrderId is required")
        sent = {"recvWindow": self.recv_window_ms, **params}
        if not self.usdm:
            sent.setdefault("newOrderRespType", "FULL")
        wire = self.wire
        return await self.send(wire.post if wire is not None and wire.ready() else self._new, sent)

    async def new_oco(self, params: dict[str, Any]) -> Outcome:
        """Spot ``POST orderList/oco``; ``params`` must name both legs' client ids (each leg is
        then resolved like an order, by its ``origClientOrderId``)."""
        if self.usdm:
            raise ConfigError("OCO order lists are a spot endpoint")
        if "aboveClientOrderId" not in params or "belowClientOrderId" not in params:
            raise ConfigError("OCO params: aboveClientOrderId and belowClientOrderId are required")
        sent = {"recvWindow": self.recv_window_ms, "newOrderRespType": "FULL", **params}
        return await self.send(self.rest.exchange.privatePostOrderListOco, sent)

    async def cancel(self, symbol: str, client_order_id: str) -> Outcome:
        return await self.send(
            self._cancel, {"symbol": symbol, "origClientOrderId": client_order_id}
        )

    async def query(self, symbol: str, client_order_id: str) -> Outcome:
        return await self.send(
            self._query, {"symbol": symbol, "origClientOrderId": client_order_id}
        )

    async def open_orders(self, symbol: str) -> Outcome:
        return await self.send(self._open, {"symbol": symbol})

    async def trades(self, symbol: str, order_id: int) -> Outcome:
        """The fills of one order (spot ``myTrades``, USD-M ``userTrades``)."""
        return await self.send(self._trades, {"symbol": symbol, "orderId": order_id})

    async def close(self) -> None:
        if self.wire is not None:
            await self.wire.close()
        await self.rest.close()


__all__ = [
    "EXECUTION_UNKNOWN",
    "Answered",
    "OrderGateway",
    "Outcome",
    "Refused",
    "StatusUnknown",
    "binance_code",
]
