"""Binance's request-weight and order-count limits, accounted the way Binance documents them.

* Request weight is per client IP and per API (spot ``/api``, USD-M ``/fapi``, ``/sapi``, ``/dapi``
  each have their own counter), in fixed one-minute intervals of the server clock: a request at
  00:01:23.456 counts towards the 00:01:00 minute, and the count resets to zero when 00:02:00
  starts. Every REST answer carries ``X-MBX-USED-WEIGHT-1M`` (spot also the legacy
  ``X-MBX-USED-WEIGHT``; ``/sapi`` sends ``X-SAPI-USED-IP-WEIGHT-1M``).
* Over the limit: HTTP 429, code -1003, ``Retry-After`` = seconds until the minute ends. An IP
  that keeps sending after 429s (``ban_after`` refusals in one minute) is banned: HTTP 418 with
  ``Retry-After`` = seconds until the ban ends; bans double for repeat offenders, 2 minutes to
  3 days. Refused requests still count their weight, as on Binance.
* Order count is per account (API key): spot 100 per 10 s and 200,000 per day, USD-M 300 per
  10 s and 1,200 per minute; accepted ``POST order`` answers carry ``X-MBX-ORDER-COUNT-*``;
  over the limit: 429, code -1015, no ``Retry-After``.

Weights are Binance's published ones (spot after the 2023-08 change to a 6,000 budget).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gradtrade.errors import InvalidInput
from gradtrade.local_exchange.errors import TOO_MANY_REQUESTS, ApiError

TOO_MANY_ORDERS = -1015
MINUTE_MS = 60_000
DEFAULT_LIMITS = {"spot": 6000, "usdm": 2400, "sapi": 12000, "dapi": 2400}
BAN_BASE_S = 120
BAN_MAX_S = 3 * 86_400
# (window ms, header suffix, Binance's interval name, interval count, limit)
ORDER_WINDOWS = {
    "spot": ((10_000, "10S", "SECOND", 10, 100), (86_400_000, "1D", "DAY", 1, 200_000)),
    "usdm": ((10_000, "10S", "SECOND", 10, 300), (60_000, "1M", "MINUTE", 1, 1200)),
}

Weight = int | Callable[[Mapping[str, str]], int]


def _by_limit(
    default: int, steps: tuple[tuple[int, int], ...]
) -> Callable[[Mapping[str, str]], int]:
    """Weight from ``limit``: the first (upper bound, weight) step that admits it."""

    def weight(params: Mapping[str, str]) -> int:
        raw = params.get("limit", "")
        limit = int(raw) if raw.isdigit() else default
        for bound, w in steps:
            if limit <= bound:
                return w
        return steps[-1][1]

    return weight


def _per_symbol(one: int, every: int) -> Callable[[Mapping[str, str]], int]:
    """``one`` with ``symbol``, ``every`` for all symbols."""
    return lambda params: one if params.get("symbol") else every


SPOT_DEPTH = _by_limit(100, ((100, 5), (500, 25), (1000, 50), (5000, 250)))
USDM_DEPTH = _by_limit(500, ((50, 2), (100, 5), (500, 10), (1000, 20)))
USDM_KLINES = _by_limit(500, ((99, 1), (499, 2), (1000, 5), (1500, 10)))

WEIGHTS: dict[str, dict[tuple[str, str], Weight]] = {
    "spot": {
        ("GET", "ping"): 1,
        ("GET", "time"): 1,
        ("GET", "exchangeInfo"): 20,
        ("GET", "depth"): SPOT_DEPTH,
        ("GET", "trades"): 25,
        ("GET", "aggTrades"): 4,
        ("GET", "klines"): 2,
        ("GET", "uiKlines"): 2,
        ("GET", "avgPrice"): 2,
        ("GET", "ticker/24hr"): _per_symbol(2, 80),
        ("GET", "ticker/price"): _per_symbol(2, 4),
        ("GET", "ticker/bookTicker"): _per_symbol(2, 4),
        ("POST", "order"): 1,
        ("POST", "order/test"): 1,
        ("POST", "orderList/oco"): 1,
        ("DELETE", "orderList"): 1,
        ("DELETE", "order"): 1,
        ("GET", "order"): 4,
        ("GET", "openOrders"): _per_symbol(6, 80),
        ("DELETE", "openOrders"): 1,
        ("GET", "allOrders"): 20,
        ("GET", "myTrades"): 20,
        ("GET", "account"): 20,
        ("GET", "historicalTrades"): 25,
        ("GET", "ticker"): _per_symbol(4, 200),
        ("GET", "rateLimit/order"): 40,
        ("GET", "account/commission"): 20,
    },
    "usdm": {
        ("GET", "ping"): 1,
        ("GET", "time"): 1,
        ("GET", "exchangeInfo"): 1,
        ("GET", "depth"): USDM_DEPTH,
        ("GET", "trades"): 5,
        ("GET", "aggTrades"): 20,
        ("GET", "klines"): USDM_KLINES,
        ("GET", "markPriceKlines"): USDM_KLINES,
        ("GET", "fundingRate"): 1,
        ("GET", "premiumIndex"): _per_symbol(1, 10),
        ("GET", "ticker/24hr"): _per_symbol(1, 40),
        ("GET", "ticker/price"): _per_symbol(1, 2),
        ("GET", "ticker/bookTicker"): _per_symbol(2, 5),
        ("POST", "order"): 0,  # new orders count against the order limits only
        ("DELETE", "order"): 1,
        ("GET", "order"): 1,
        ("GET", "openOrders"): _per_symbol(1, 40),
        ("DELETE", "allOpenOrders"): 1,
        ("GET", "allOrders"): 5,
        ("GET", "userTrades"): 5,
        ("GET", "account"): 5,
        ("GET", "balance"): 5,
        ("GET", "positionRisk"): 5,
        ("POST", "leverage"): 1,
        ("GET", "leverageBracket"): 1,
        ("GET", "historicalTrades"): 20,
        ("GET", "openOrder"): 1,
        ("GET", "openInterest"): 1,
        ("GET", "income"): 30,
        ("GET", "commissionRate"): 20,
        ("GET", "positionSide/dual"): 30,
        ("POST", "positionSide/dual"): 1,
    },
    "sapi": {
        ("GET", "capital/config/getall"): 10,
        ("GET", "margin/allPairs"): 1,
        ("GET", "margin/isolated/allPairs"): 10,
    },
}


def request_weight(api: str, method: str, endpoint: str, params: Mapping[str, str]) -> int:
    """Binance's weight of one request (1 for anything not in the tables)."""
    w = WEIGHTS.get(api, {}).get((method, endpoint), 1)
    return w if isinstance(w, int) else w(params)


@dataclass
class _IpState:
    minute: int = -1
    used: int = 0
    refused: int = 0  # 429s answered in this minute
    banned_until_ms: int = 0
    bans: int = 0


class RateLimits:
    """Weight and order counters of one server. ``limits`` overrides the per-API weight budget
    (e.g. ``{"spot": 100}`` in a test); ``ban_after`` is how many 429s in one minute an IP may
    ignore before it is banned."""

    def __init__(self, limits: Mapping[str, int] | None = None, ban_after: int = 10) -> None:
        unknown = set(limits or {}) - set(DEFAULT_LIMITS)
        if unknown:
            raise InvalidInput(f"weight limits for unknown APIs {sorted(unknown)}")
        if any(v <= 0 for v in (limits or {}).values()) or ban_after < 1:
            raise InvalidInput("weight limits and ban_after must be positive")
        self.limits = {**DEFAULT_LIMITS, **(limits or {})}
        self.ban_after = ban_after
        self._ips: dict[tuple[str, str], _IpState] = {}
        self._orders: dict[tuple[str, str], list[tuple[int, int]]] = {}

    def used(self, api: str, ip: str, now_ms: int) -> int:
        """Weight ``ip`` has used on ``api`` in the current minute."""
        state = self._ips.get((api, ip))
        return state.used if state is not None and state.minute == now_ms // MINUTE_MS else 0

    def charge(self, api: str, ip: str, weight: int, now_ms: int) -> dict[str, str]:
        """Count one request; the weight headers of its answer, or ApiError 429/418 with them."""
        state = self._ips.get((api, ip))
        if state is None:
            state = self._ips[(api, ip)] = _IpState()
        minute = now_ms // MINUTE_MS
        if state.minute != minute:
            state.minute, state.used, state.refused = minute, 0, 0
        if state.banned_until_ms > now_ms:
            raise _banned(state.banned_until_ms, now_ms, self._headers(api, state.used))
        state.used += weight
        headers = self._headers(api, state.used)
        limit = self.limits[api]
        if state.used <= limit:
            return headers
        state.refused += 1
        if state.refused > self.ban_after:
            ban_s = min(BAN_BASE_S * 2**state.bans, BAN_MAX_S)
            state.bans += 1
            state.banned_until_ms = now_ms + ban_s * 1000
            raise _banned(state.banned_until_ms, now_ms, headers)
        retry_after = -(-((minute + 1) * MINUTE_MS - now_ms) // 1000)
        raise ApiError(
            TOO_MANY_REQUESTS,
            f"Too much request weight used; current limit is {limit} request weight per 1 "
            "MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.",
            status=429,
            headers={**headers, "Retry-After": str(retry_after)},
        )

    @staticmethod
    def _headers(api: str, used: int) -> dict[str, str]:
        text = str(used)
        if api == "spot":
            return {"X-MBX-USED-WEIGHT-1M": text, "X-MBX-USED-WEIGHT": text}
        if api == "sapi":
            return {"X-SAPI-USED-IP-WEIGHT-1M": text}
        return {"X-MBX-USED-WEIGHT-1M": text}

    def count_order(self, venue: str, api_key: str, now_ms: int) -> dict[str, str]:
        """Count one new order of ``api_key``; its order-count headers, or ApiError -1015."""
        windows = ORDER_WINDOWS[venue]
        counts = self._orders.setdefault((venue, api_key), [(-1, 0)] * len(windows))
        fresh = [
            (now_ms // w[0], n if start == now_ms // w[0] else 0)
            for w, (start, n) in zip(windows, counts, strict=True)
        ]
        for (_, n), (_, _, interval, num, limit) in zip(fresh, windows, strict=True):
            if n + 1 > limit:
                self._orders[(venue, api_key)] = fresh
                raise ApiError(
                    TOO_MANY_ORDERS,
                    f"Too many new orders; current limit is {limit} orders per {num} {interval}.",
                    status=429,
                )
        counts[:] = [(start, n + 1) for start, n in fresh]
        return {
            f"X-MBX-ORDER-COUNT-{w[1]}": str(n) for w, (_, n) in zip(windows, counts, strict=True)
        }

    def order_usage(self, venue: str, api_key: str, now_ms: int) -> list[dict[str, Any]]:
        """``GET /api/v3/rateLimit/order``: each order window's limit and this key's count."""
        counts = self._orders.get((venue, api_key), [(-1, 0)] * len(ORDER_WINDOWS[venue]))
        return [
            {
                "rateLimitType": "ORDERS",
                "interval": interval,
                "intervalNum": num,
                "limit": limit,
                "count": n if start == now_ms // window else 0,
            }
            for (window, _, interval, num, limit), (start, n) in zip(
                ORDER_WINDOWS[venue], counts, strict=True
            )
        ]

    def rate_limits(self, venue: str) -> list[dict[str, Any]]:
        """The ``rateLimits`` of ``exchangeInfo``: what this server actually enforces."""
        out: list[dict[str, Any]] = [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": self.limits[venue],
            }
        ]
        for _, _, interval, num, limit in ORDER_WINDOWS.get(venue, ()):
            out.append(
                {
                    "rateLimitType": "ORDERS",
                    "interval": interval,
                    "intervalNum": num,
                    "limit": limit,
                }
            )
        return out


def _banned(until_ms: int, now_ms: int, headers: dict[str, str]) -> ApiError:
    return ApiError(
        TOO_MANY_REQUESTS,
        f"Way too much request weight used; IP banned until {until_ms}. "
        "Please use WebSocket Streams for live updates to avoid bans.",
        status=418,
        headers={**headers, "Retry-After": str(-(-(until_ms - now_ms) // 1000))},
    )
