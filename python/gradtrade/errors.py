"""gradtrade's exception hierarchy.

Errors are exceptions, outcomes are values: a risk rejection is a ``Decision``, a stale depth frame
returns ``False``; what raises is input that cannot be applied. The Rust extension raises these
same classes (``rust/errors/python.rs``), so one ``except GradtradeError`` covers both languages.
"""

from __future__ import annotations


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


class NumericalError(GradtradeError, ArithmeticError):
    """A numerical failure, e.g. a covariance that is not positive definite."""


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
    "BookNotSynced",
    "GradtradeError",
    "InvalidInput",
    "InvalidTransition",
    "JournalCorrupted",
    "JournalDurabilityError",
    "JournalError",
    "JournalLocked",
    "JournalUnavailable",
    "JournalVersionError",
    "NumericalError",
    "Overfill",
    "SecretInPayload",
    "SequenceGap",
]
