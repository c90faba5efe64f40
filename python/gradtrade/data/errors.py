"""Errors of exchange access, split by what the caller should do about them.

``RetryableError``: the request may succeed if repeated after a pause (network failure, timeout,
5xx, 429/418 rate limits, a stale or dropped stream). ``FatalError``: repeating it cannot help
(bad symbol, bad parameters, rejected credentials, a configuration mistake). Both derive from
:class:`gradtrade.errors.GradtradeError`. :func:`from_ccxt` maps ccxt's exceptions onto these,
keeping the original as ``__cause__``; messages never carry API keys or signatures.
"""

from __future__ import annotations

import re

from gradtrade.errors import GradtradeError, InvalidInput


class ConnectorError(GradtradeError):
    """Base of every exchange-access error."""


class RetryableError(ConnectorError):
    """Transient: retry after ``retry_after`` seconds (None: use the backoff schedule)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(RetryableError):
    """HTTP 429 (slow down) or 418 (IP banned for a while); ``retry_after`` from Retry-After."""

    def __init__(self, message: str, retry_after: float | None, status: int) -> None:
        super().__init__(message, retry_after)
        self.status = status


class ServerError(RetryableError):
    """The exchange answered 5xx or not at all."""


class StreamStale(RetryableError):
    """A websocket stream sent nothing for longer than the watchdog allows."""


class FatalError(ConnectorError):
    """Repeating the request cannot help."""


class ExchangeRejected(FatalError):
    """The exchange refused the request (4xx other than rate limits): bad symbol, parameters."""


class AuthenticationFailed(FatalError):
    """Credentials were refused or are missing for a private endpoint."""


class ConfigError(FatalError, InvalidInput):
    """The connector configuration is invalid; the message names the field."""


class RetriesExhausted(FatalError):
    """A retryable error kept happening past the configured number of attempts."""


_SECRET = re.compile(r"(signature|apiKey|api_key|X-MBX-APIKEY|secret)=?[\"':\s]*[A-Za-z0-9]+", re.I)


def scrub(message: str) -> str:
    """Remove anything that looks like a key or signature from an error message."""
    return _SECRET.sub(r"\1=<redacted>", message)


# Binance error codes that mean "the server could not answer now", whatever the HTTP status.
RETRYABLE_CODES = ("-1000", "-1001", "-1003", "-1007", "-1008")


def from_ccxt(
    exc: BaseException, *, retry_after: float | None = None, status: int | None = None
) -> ConnectorError:
    """The gradtrade error for a ccxt exception (ccxt is imported lazily). ``status`` is the
    HTTP status of the failed response when known: 5xx is retryable whatever ccxt made of it."""
    import ccxt

    message = scrub(f"{type(exc).__name__}: {exc}")
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


__all__ = [
    "AuthenticationFailed",
    "ConfigError",
    "ConnectorError",
    "ExchangeRejected",
    "FatalError",
    "RateLimited",
    "RetriesExhausted",
    "RetryableError",
    "ServerError",
    "StreamStale",
    "from_ccxt",
    "scrub",
]
