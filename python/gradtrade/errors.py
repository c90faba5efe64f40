"""gradtrade's exception hierarchy.

Errors are exceptions, outcomes are values: a risk rejection is a ``Decision``, a stale depth frame
returns ``False``; what raises is input that cannot be applied. The Rust extension raises these
same classes (``rust/errors/python.rs``), so one ``except GradtradeError`` covers both languages.

Errors of exchange access are split by what the caller should do about them.
``RetryableError``: the request may succeed if repeated after a pause (network failure, timeout,
5xx, 429/418 rate limits, a stale or dropped stream). ``FatalError``: repeating it cannot help
(bad symbol, bad parameters, rejected credentials, a configuration mistake). Their messages never
carry API keys or signatures (:func:`scrub`).
"""

from __future__ import annotations

import re


class GradtradeError(Exception):
    """Base of every error gradtrade raises on purpose."""


class InvalidInput(GradtradeError, ValueError):
    """Malformed or out-of-range input: bad JSON, NaN, a negative size, an off-grid price."""


class SequenceGap(GradtradeError):
    """A depth diff does not continue the book's update-id sequence.

    The book is marked invalid until the next snapshot; ``expected`` is the update id the book
    needed next and ``received`` the first id of the offending frame.
    """

    def __init__(self, message: str, expected: int = 0, received: int = 0) -> None:
        super().__init__(message)
        self.expected = expected
        self.received = received


class BookNotSynced(GradtradeError):
    """The operation needs a synced book: no snapshot yet, or a gap invalidated it."""


class InvalidTransition(GradtradeError):
    """An order status change that the order state table forbids."""


class Overfill(InvalidTransition):
    """A fill that would take an order's filled quantity above its quantity."""


class UnknownOrder(InvalidInput):
    """A fill, ack or cancel for a client order id this process never sent."""


class NumericalError(GradtradeError, ArithmeticError):
    """A numerical failure, e.g. a covariance that is not positive definite."""


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


__all__ = [
    "AuthenticationFailed",
    "BookNotSynced",
    "ConfigError",
    "ConnectorError",
    "ExchangeRejected",
    "FatalError",
    "GradtradeError",
    "InvalidInput",
    "InvalidTransition",
    "NumericalError",
    "Overfill",
    "RateLimited",
    "RetriesExhausted",
    "RetryableError",
    "SequenceGap",
    "ServerError",
    "StreamStale",
    "UnknownOrder",
    "scrub",
]
