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


class UnknownOrder(InvalidInput):
    """A fill, ack or cancel for a client order id this process never sent."""


class NumericalError(GradtradeError, ArithmeticError):
    """A numerical failure, e.g. a covariance that is not positive definite."""


__all__ = [
    "BookNotSynced",
    "GradtradeError",
    "InvalidInput",
    "InvalidTransition",
    "NumericalError",
    "Overfill",
    "SequenceGap",
    "UnknownOrder",
]
