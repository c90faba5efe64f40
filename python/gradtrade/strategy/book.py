"""What an L2 strategy sees: ``BookTick``, the cadence event, and ``BookTop``, the book at it.

Invariants: a ``BookTick`` carries no market data, only the instant the strategy wants to look
(its cadence: every ``interval`` of the replay or live clock), so the Rust replay driver
advances the book between ticks and Python runs only at the ticks. The engine hands the
strategy a ``BookTop`` read from the venue *after* it applied every frame up to the tick:
``is_valid`` is False while the book is unsynced (before the first snapshot, or after a
sequence gap until the resync) and the prices are then None, so a strategy cannot quote on a
stale book without noticing; ``gaps`` counts the sequence gaps seen so far, so a strategy is
told of a gap that opened and closed between two of its ticks.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradtrade.errors import InvalidInput
from gradtrade.events import fast_frozen_init


@dataclass(frozen=True, slots=True)
class BookTick:
    """The strategy looks at ``symbol``'s book at ``ts_ns`` (handled like a bar: priority 1)."""

    symbol: str
    ts_ns: int

    def __post_init__(self) -> None:
        if self.ts_ns < 0:
            raise InvalidInput(f"book tick time must be non-negative, got {self.ts_ns}")


@fast_frozen_init  # built at every tick of the L2 path
@dataclass(frozen=True, slots=True)
class BookTop:
    """The top of ``symbol``'s book at ``ts_ns`` as the venue holds it."""

    symbol: str
    ts_ns: int
    is_valid: bool
    bid: float | None
    bid_qty: float | None
    ask: float | None
    ask_qty: float | None
    gaps: int = 0

    def is_crossed(self) -> bool:
        return self.bid is not None and self.ask is not None and self.bid >= self.ask

    @property
    def mid(self) -> float | None:
        if not self.is_valid or self.bid is None or self.ask is None:
            return None
        return 0.5 * (self.bid + self.ask)


__all__ = ["BookTick", "BookTop"]
