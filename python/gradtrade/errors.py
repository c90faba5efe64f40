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


class InvalidCheckpoint(InvalidInput):
    """A checkpoint that cannot be trusted: unreadable, not gradtrade's, missing a field, or
    holding a value its writer refuses to write; the message names the file and the field."""


class NonFiniteCheckpoint(InvalidCheckpoint, NumericalError):
    """A checkpoint whose weights, loss or normalization hold NaN or infinity."""


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


# A credential is a value after a credential's name and a separator, in any of the forms it takes
# in URLs (signature=ab12), headers and dicts ('X-MBX-APIKEY': 'k'), JSON ("apiKey": "k") and YAML
# (api_secret: s). The separator is required: "Signature for this request" is ordinary text.
_SECRET = re.compile(
    r"""(?P<name>\b(?:signature|api[-_]?key|x-mbx-apikey|api[-_]?secret|secret(?:[-_]?key)?"""
    r"""|password|passphrase|listen[-_]?key)\b)"""
    r"""(?P<sep>["']?\s*[:=]\s*["']?)(?P<value>[^\s"'&,;}\])]+)""",
    re.I,
)


def scrub(message: str) -> str:
    """``message`` with the value of every key, secret, password or signature it carries replaced
    by ``<redacted>``; text without a ``name=value`` or ``name: value`` pair is unchanged."""
    return _SECRET.sub(r"\g<name>\g<sep><redacted>", message)


class CorruptData(GradtradeError):
    """A stored file failed its integrity check: its bytes do not match the checksum written
    with it, it cannot be decoded, or its rows break the store's invariant (sorted, unique dates).

    Fatal: reading again returns the same bytes. The file is left exactly as it is (never
    repaired, never overwritten); restore it or delete it and download again. ``path`` is the
    file, and the message says what mismatched.
    """

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class UnverifiedData(GradtradeError):
    """A stored file has no checksum (written by a version without checksums, or its manifest
    was removed), so nothing vouches for its bytes.

    Fatal until a person decides: it is neither read nor merged into until ``gradtrade data
    seal`` has checked it and recorded its checksum. ``path`` is the file.
    """

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class JournalError(GradtradeError):
    """Base of the event journal's errors (``gradtrade.persistence``)."""


class JournalUnavailable(JournalError):
    """Retryable: the journal's backend could not be reached (a Redis connection dropped).

    Whether the last append landed is unknown: the caller reopens, reads ``last_seq`` and
    retries what is missing (a record's seq makes a duplicate impossible), or stops trading.
    """


class JournalCorrupted(JournalError):
    """Fatal: a stored record or snapshot fails validation; ``seq`` names the record.

    A bad checksum, bad JSON, an unknown kind, a hole or a step back in the sequence, or a
    record whose replay the Rust state refuses. The journal is left as it was for inspection.
    """

    def __init__(self, message: str, seq: int) -> None:
        super().__init__(message)
        self.seq = seq


class JournalVersionError(JournalError):
    """Fatal: the journal (or a record in it) was written by a newer schema version."""


class JournalLocked(JournalError):
    """Fatal: another writer holds the journal; two writers would interleave their events."""


class JournalDurabilityError(JournalError):
    """Fatal: the backend does not make an acknowledged append durable (e.g. Redis AOF off)."""


class SecretInPayload(InvalidInput):
    """A journal payload carries something that looks like a credential; nothing is written."""


__all__ = [
    "AuthenticationFailed",
    "BookNotSynced",
    "ConfigError",
    "ConnectorError",
    "CorruptData",
    "ExchangeRejected",
    "FatalError",
    "GradtradeError",
    "InvalidCheckpoint",
    "InvalidInput",
    "InvalidTransition",
    "JournalCorrupted",
    "JournalDurabilityError",
    "JournalError",
    "JournalLocked",
    "JournalUnavailable",
    "JournalVersionError",
    "NonFiniteCheckpoint",
    "NumericalError",
    "Overfill",
    "RateLimited",
    "RetriesExhausted",
    "RetryableError",
    "SecretInPayload",
    "SequenceGap",
    "ServerError",
    "StreamStale",
    "UnknownOrder",
    "UnverifiedData",
    "scrub",
]
