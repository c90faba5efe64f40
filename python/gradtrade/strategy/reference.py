"""Two tiny reference strategies for tests and benchmarks, written only against the protocol.

``MovingAverageCross``: long ``size`` while the fast simple moving average of closes is above
the slow one, flat (or short with ``allow_short``) otherwise; no decision before ``slow`` bars.
``QuoteAtBest``: a maker for L2 runs that wants ``size`` of equity long when flat and flat when
long, deciding on each book update; with the ``post_only`` execution style its orders rest at
the best bid (to buy) or ask (to sell), which is what the queue models are measured with.
"""

from __future__ import annotations

from collections import deque

from gradtrade.core import OrderBook
from gradtrade.errors import InvalidInput
from gradtrade.events import Bar, Decision
from gradtrade.strategy.book import BookTop
from gradtrade.strategy.protocol import BarStrategy, StrategyContext


class MovingAverageCross(BarStrategy):
    """Fast/slow SMA cross on closes; ``O(1)`` per bar (running sums)."""

    name = "ma_cross"

    def __init__(
        self, fast: int = 24, slow: int = 168, size: float = 1.0, allow_short: bool = False
    ) -> None:
        if not (1 <= fast < slow):
            raise InvalidInput(f"ma_cross needs 1 <= fast < slow, got fast={fast} slow={slow}")
        if not (0 < size <= 10):
            raise InvalidInput(f"ma_cross size must lie in (0, 10], got {size}")
        self.fast, self.slow, self.size, self.allow_short = fast, slow, size, allow_short
        self._closes: deque[float] = deque(maxlen=slow)
        self._sum_fast = 0.0
        self._sum_slow = 0.0
        self._seen = 0

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> Decision | None:
        closes = self._closes
        if len(closes) == self.slow:
            self._sum_slow -= closes[0]
        if len(closes) >= self.fast:
            self._sum_fast -= closes[-self.fast]
        closes.append(bar.close)
        self._sum_fast += bar.close
        self._sum_slow += bar.close
        self._seen += 1
        if len(closes) < self.slow:
            return None
        # Recompute exactly every ``slow`` bars so the running sums never drift.
        if self._seen % self.slow == 0:
            self._sum_fast = sum(list(closes)[-self.fast :])
            self._sum_slow = sum(closes)
        above = self._sum_fast / self.fast > self._sum_slow / self.slow
        u = self.size if above else (-self.size if self.allow_short else 0.0)
        return Decision(bar.symbol, bar.ts_ns, u, source=f"{self.name}({self.fast},{self.slow})")


class QuoteAtBest(BarStrategy):
    """Alternates between ``size`` long and flat on every valid book it sees."""

    name = "quote_at_best"

    def __init__(self, size: float = 0.1) -> None:
        if not (0 < size <= 1):
            raise InvalidInput(f"quote_at_best size must lie in (0, 1], got {size}")
        self.size = size

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> Decision | None:
        return None

    def on_book(self, book: OrderBook | BookTop, ctx: StrategyContext) -> Decision | None:
        if not book.is_valid or book.is_crossed():
            return None  # never quote on a stale or crossed book
        u = 0.0 if ctx.position > 0 else self.size
        # decided at the tick's time: the venue's clock, as a bar decision is at the bar's
        ts = book.ts_ns if isinstance(book, BookTop) else ctx.now_ns
        return Decision(book.symbol, ts, u, source=self.name)


class NoOp(BarStrategy):
    """Never decides: the L2 replay's floor (the engine and the venue, no orders)."""

    name = "noop"

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> Decision | None:
        return None


class DecisionReplay(BarStrategy):
    """Replays recorded decisions at their bars: the same decisions under other risk settings
    or costs, without running the model again."""

    name = "replay"

    def __init__(self, decisions: list[Decision], name: str = "replay") -> None:
        self._by_key = {(d.symbol, d.ts_ns): d for d in decisions}
        self.name = name

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> Decision | None:
        return self._by_key.get((bar.symbol, bar.ts_ns))


__all__ = ["DecisionReplay", "MovingAverageCross", "NoOp", "QuoteAtBest"]
