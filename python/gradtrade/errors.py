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


__all__ = [
    "BookNotSynced",
    "CorruptData",
    "GradtradeError",
    "InvalidInput",
    "InvalidTransition",
    "NumericalError",
    "Overfill",
    "SequenceGap",
    "UnverifiedData",
]
