"""The strategy protocol: market events in, at most one ``Decision`` out, synchronously.

Invariants the engine relies on: a handler never awaits, never sends orders and never mutates
the context; it returns a ``Decision`` (a target fraction of equity, optionally with its
forecast) or ``None`` for "no change". Everything after that (sizing, limits, orders, fills,
accounting) belongs to the risk and execution layers, so the same strategy object runs
unchanged in a backtest, a paper session and a live one. A strategy may return NaN or inf: the
engine counts and logs the skip, it never trades on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from gradtrade.core import OrderBook
from gradtrade.events import Bar, Decision, FillEvent, Timer, fast_frozen_init
from gradtrade.strategy.book import BookTop


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class StrategyContext:
    """A read-only snapshot of what a strategy may know when an event arrives."""

    now_ns: int
    symbol: str
    position: float  # signed base units held
    equity: float  # account equity in the quote asset, marked at the last price
    last_price: float | None


@runtime_checkable
class Strategy(Protocol):
    """Implement the four handlers (return ``None`` from the ones you do not use)."""

    name: str

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> Decision | None: ...

    def on_book(self, book: OrderBook | BookTop, ctx: StrategyContext) -> Decision | None: ...

    def on_fill(self, fill: FillEvent, ctx: StrategyContext) -> Decision | None: ...

    def on_timer(self, timer: Timer, ctx: StrategyContext) -> Decision | None: ...


class BarStrategy:
    """Base for strategies that decide on closed bars only: the other handlers do nothing."""

    name = "bar"

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> Decision | None:
        raise NotImplementedError

    def on_book(self, book: OrderBook | BookTop, ctx: StrategyContext) -> Decision | None:
        return None

    def on_fill(self, fill: FillEvent, ctx: StrategyContext) -> Decision | None:
        return None

    def on_timer(self, timer: Timer, ctx: StrategyContext) -> Decision | None:
        return None


__all__ = ["BarStrategy", "Strategy", "StrategyContext"]
