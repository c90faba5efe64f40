"""REST access through ccxt (async): retries with backoff, rate limits, weights, server time.

Every call goes through :meth:`RestClient.call`, which

* waits before sending when the used request weight (``X-MBX-USED-WEIGHT-1M``, read from every
  response, refusals included) is above ``weight_safety`` of the budget
  (``ConnectorConfig.weight_budget``: Binance's 6000 spot / 2400 USD-M unless configured),
  until the next minute of the exchange clock (Binance's windows are calendar minutes);
* maps ccxt errors onto gradtrade's (:mod:`gradtrade.errors`); retries the retryable ones
  after ``Retry-After`` when the server sent one (429/418), else after exponential backoff with
  full jitter; gives up with ``RetriesExhausted`` after ``max_retries``;
* counts everything in a :class:`ConnectorMetrics`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

import aiohttp
import ccxt
import ccxt.async_support as ccxt_async

from gradtrade.errors import (
    AuthenticationFailed,
    ConnectorError,
    ExchangeRejected,
    FatalError,
    RateLimited,
    RetriesExhausted,
    RetryableError,
    ServerError,
)
from gradtrade.venue.config import ConnectorConfig
from gradtrade.venue.redaction import LOG_FILTER, install_log_filter, redact

log = logging.getLogger(__name__)
T = TypeVar("T")


# Binance error codes that mean "the server could not answer now", whatever the HTTP status.
RETRYABLE_CODES = ("-1000", "-1001", "-1003", "-1007", "-1008")


def from_ccxt(
    exc: BaseException, *, retry_after: float | None = None, status: int | None = None
) -> ConnectorError:
    """The gradtrade error for a ccxt exception. ``status`` is the
    HTTP status of the failed response when known: 5xx is retryable whatever ccxt made of it."""
    message = redact(f"{type(exc).__name__}: {exc}", LOG_FILTER.secrets)
    if status in (418, 429) or isinstance(exc, ccxt.DDoSProtection | ccxt.RateLimitExceeded):
        if status not in (418, 429):
            status = 418 if " 418 " in str(exc) else 429
        return RateLimited(message, retry_after, status)
    if status is not None and status >= 500:
        return ServerError(message, retry_after)
    if any(f'"code":{code},' in str(exc) for code in RETRYABLE_CODES):
        return ServerError(message, retry_after)
    if isinstance(exc, ccxt.AuthenticationError):
        return AuthenticationFailed(message)
    if isinstance(exc, ccxt.NetworkError | ccxt.BadResponse):
        return ServerError(message, retry_after)
    if isinstance(exc, ccxt.ExchangeError):
        return ExchangeRejected(message)
    if isinstance(exc, TimeoutError | ConnectionError | OSError):
        return ServerError(message, retry_after)
    return FatalError(message)


def from_http(status: int, body: bytes, retry_after: float | None) -> ConnectorError:
    """The gradtrade error for a refused raw HTTP request (same split as :func:`from_ccxt`)."""
    message = redact(f"HTTP {status}: {body[:300].decode('utf-8', 'replace')}", LOG_FILTER.secrets)
    if status in (418, 429):
        return RateLimited(message, retry_after, status)
    if status >= 500 or any(f'"code":{code},'.encode() in body for code in RETRYABLE_CODES):
        return ServerError(message, retry_after)
    if status in (401, 403):
        return AuthenticationFailed(message)
    return ExchangeRejected(message)


@dataclass
class ConnectorMetrics:
    """Counters a monitor can scrape; every recovery the connector makes shows up here."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    weight_pauses: int = 0
    used_weight: int = 0
    reconnects: int = 0
    resyncs: int = 0
    sequence_gaps: int = 0
    stale_streams: int = 0
    stale_frames: int = 0
    frames: int = 0
    clock_offset_ms: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


class Backoff:
    """Exponential backoff with full jitter: attempt k waits uniform(0, min(max, base * 2**k))."""

    def __init__(self, base_s: float, max_s: float, rng: random.Random | None = None) -> None:
        self.base_s, self.max_s = base_s, max_s
        self.attempt = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        ceiling = min(self.max_s, self.base_s * 2.0**self.attempt)
        self.attempt += 1
        return self._rng.uniform(0.0, ceiling)

    def reset(self) -> None:
        self.attempt = 0


def header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    """Case-insensitive header lookup (ccxt keeps the server's spelling)."""
    if not headers:
        return None
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return str(value)
    return None


def retry_after_s(headers: Mapping[str, Any] | None) -> float | None:
    value = header(headers, "Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class WeightTracker:
    """Used request weight of the current minute, as the server reports it."""

    def __init__(self, limit_per_minute: int, safety: float) -> None:
        self.limit = limit_per_minute
        self.safety = safety
        self.used = 0
        self._minute = 0

    def observe(self, headers: Mapping[str, Any] | None, now_ms: float) -> None:
        value = header(headers, "X-MBX-USED-WEIGHT-1M") or header(headers, "X-MBX-USED-WEIGHT")
        if value is not None and value.isdigit():
            self.used = int(value)
            self._minute = int(now_ms // 60_000)

    def pause_s(self, now_ms: float) -> float:
        """Seconds to wait before the next request (0 when under budget or a new minute)."""
        minute = int(now_ms // 60_000)
        if minute != self._minute or self.used < self.limit * self.safety:
            return 0.0
        return (minute + 1) * 60.0 - now_ms / 1000.0


def make_exchange(config: ConnectorConfig) -> Any:
    """A ccxt async exchange whose endpoints all point at ``config``'s URLs."""
    base = ccxt_async.binance if config.market == "spot" else ccxt_async.binanceusdm

    class Exchange(base):  # type: ignore[misc, valid-type]
        """ccxt's class, remembering the HTTP status of the last response for error mapping."""

        last_http_status: int | None = None

        def handle_errors(self, code: int, *args: Any) -> Any:
            self.last_http_status = code
            return super().handle_errors(code, *args)

    settings: dict[str, Any] = {
        # The server's own weight count (X-MBX-USED-WEIGHT-1M) paces us, not ccxt's estimate,
        # which would add seconds per deep snapshot (limit=5000 costs 50 x rateLimit there).
        "enableRateLimit": False,
        "timeout": int(config.timeout_s * 1000),
        "options": {
            "fetchCurrencies": False,  # needs a key on Binance; markets are enough here
            "fetchMarkets": {"types": ["spot" if config.market == "spot" else "linear"]},
            "adjustForTimeDifference": False,  # we sync the clock ourselves
        },
    }
    if config.api_key is not None and config.api_secret is not None:
        settings["apiKey"] = config.api_key.get_secret_value()
        settings["secret"] = config.api_secret.get_secret_value()
    exchange = Exchange(settings)
    # ccxt logs every request's headers and signed query at DEBUG: redact before any handler
    install_log_filter(config.secret_values(), [exchange.logger])
    exchange.enableLastResponseHeaders = True
    exchange.urls["api"].update(config.ccxt_urls())
    return exchange


class RestClient:
    """One ccxt exchange plus the retry, weight and clock bookkeeping around it."""

    def __init__(
        self, config: ConnectorConfig, metrics: ConnectorMetrics, rng: random.Random | None = None
    ) -> None:
        self.config = config
        self.metrics = metrics
        self.exchange = make_exchange(config)
        self.weights = WeightTracker(config.weight_budget, config.weight_safety)
        self._rng = rng or random.Random()
        self._markets_loaded = False
        self._session: aiohttp.ClientSession | None = None

    def now_ms(self) -> float:
        """Exchange time estimate: local clock plus the last measured offset."""
        return time.time() * 1000.0 + self.metrics.clock_offset_ms

    async def call(self, what: str, fn: Callable[..., Awaitable[T]], *args: Any, **kw: Any) -> T:
        backoff = Backoff(self.config.backoff_base_s, self.config.backoff_max_s, self._rng)
        for attempt in range(self.config.max_retries + 1):
            pause = self.weights.pause_s(self.now_ms())
            if pause > 0:
                self.metrics.weight_pauses += 1
                log.warning(
                    "%s: used weight %d near budget, pausing %.1fs", what, self.weights.used, pause
                )
                await asyncio.sleep(pause)
            self.metrics.requests += 1
            self.exchange.last_http_status = None  # set again only if a response arrives
            try:
                result = await fn(*args, **kw)
            except Exception as exc:  # ccxt raises its own tree; mapped below
                status = self.exchange.last_http_status
                self.exchange.last_http_status = None
                # no response (connection error): the last headers belong to an older request
                headers = (
                    getattr(self.exchange, "last_response_headers", None)
                    if status is not None
                    else None
                )
                if status is not None:  # a refusal (429 included) still reports the used weight
                    self.weights.observe(headers, self.now_ms())
                    self.metrics.used_weight = self.weights.used
                error = (
                    exc
                    if isinstance(exc, ConnectorError)
                    else from_ccxt(exc, retry_after=retry_after_s(headers), status=status)
                )
                if not isinstance(error, RetryableError):
                    raise error from exc
                if isinstance(error, RateLimited):
                    self.metrics.rate_limited += 1
                else:
                    self.metrics.server_errors += 1
                if attempt == self.config.max_retries:
                    raise RetriesExhausted(
                        f"{what}: gave up after {attempt + 1} attempts: {error}"
                    ) from exc
                delay = error.retry_after if error.retry_after is not None else backoff.next_delay()
                self.metrics.retries += 1
                log.warning("%s failed (%s); retry %d in %.2fs", what, error, attempt + 1, delay)
                await asyncio.sleep(delay)
                continue
            self.weights.observe(
                getattr(self.exchange, "last_response_headers", None), self.now_ms()
            )
            self.metrics.used_weight = self.weights.used
            return result
        raise AssertionError("unreachable")  # the loop returns or raises

    async def sync_time(self) -> float:
        """Measure the exchange clock offset (ms, server minus local, at the request midpoint)."""
        sent = time.time() * 1000.0
        server = await self.call("fetch_time", self.exchange.fetch_time)
        received = time.time() * 1000.0
        self.metrics.clock_offset_ms = float(server) - (sent + received) / 2.0
        # ccxt signs requests with nonce() = milliseconds() - timeDifference.
        self.exchange.options["timeDifference"] = int(-self.metrics.clock_offset_ms)
        return self.metrics.clock_offset_ms

    async def load_markets(self) -> dict[str, Any]:
        markets: dict[str, Any] = await self.call("load_markets", self.exchange.load_markets)
        self._markets_loaded = True
        return markets

    async def market(self, symbol: str) -> dict[str, Any]:
        if not self._markets_loaded:
            await self.load_markets()
        try:
            market: dict[str, Any] = self.exchange.market(symbol)
        except Exception as exc:
            raise from_ccxt(exc) from exc
        return market

    async def get_bytes(
        self,
        endpoint: str,
        params: Mapping[str, str | int],
        check: Callable[[bytes], None] | None = None,
    ) -> bytes:
        """One public REST ``GET`` answered by the raw body bytes, untouched (no JSON parsing):
        what the Rust book parses itself. Paced, retried and mapped like every other call;
        ``check`` may refuse a body by raising a retryable error (it is then fetched again)."""
        url = self.config.rest_path(endpoint)
        what = f"{endpoint} {dict(params)}"
        return await self.call(what, self._get_bytes, url, params, check)

    async def _get_bytes(
        self,
        url: str,
        params: Mapping[str, str | int],
        check: Callable[[bytes], None] | None,
    ) -> bytes:
        if self._session is None:
            timeout = aiohttp.ClientTimeout(total=self.config.timeout_s)
            self._session = aiohttp.ClientSession(timeout=timeout)
        try:
            async with self._session.get(url, params={k: str(v) for k, v in params.items()}) as r:
                body = await r.read()
                # call() reads the status and weight headers of the last response from here,
                # as it does for ccxt's own requests.
                self.exchange.last_http_status = r.status
                self.exchange.last_response_headers = dict(r.headers)
                if r.status >= 400:
                    raise from_http(r.status, body, retry_after_s(r.headers))
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ServerError(
                redact(f"GET {url}: {type(exc).__name__}: {exc}", LOG_FILTER.secrets)
            ) from exc
        if check is not None:
            check(body)
        return body

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        await self.exchange.close()


__all__ = [
    "Backoff",
    "ConnectorMetrics",
    "RestClient",
    "WeightTracker",
    "from_ccxt",
    "from_http",
    "header",
    "make_exchange",
    "retry_after_s",
]
