"""What the monitor reads at scrape time: account snapshots, stream stats, the journal status.

The monitoring layer sits beside risk, execution and persistence and imports none of them, so
the state it exports comes in as these small values, built by the layer above (``gradtrade.live
.telemetry``) from the engine's own objects when Prometheus scrapes. Nothing here is on the hot
path: a stream or journal writer updates two fields of a plain object per message; everything
else is read once per scrape.

Invariants: an :class:`AccountSnapshot` is taken in one go on the event loop that owns the
engine, so its numbers are consistent with each other; times are wall-clock seconds
(``time.time()``), the clock Prometheus and an operator read; a stream that never delivered a
message is as old as its registration (so a stream that never connects turns stale too).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from gradtrade.core import TradingState
from gradtrade.errors import InvalidInput

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class SymbolSnapshot:
    """One symbol of the account, valued in the quote asset."""

    symbol: str
    position: float  # signed holdings in base units
    value: float  # position * mark, signed
    exposure_ratio: float  # |value| / equity
    realized_pnl: float  # closed-trade PnL before fees
    unrealized_pnl: float  # open position against its average entry, at the mark
    breaker: TradingState
    breaker_drawdown_ratio: float  # the breaker's own drawdown from its high-water mark
    orders_in_flight: int  # orders sent and not yet terminal
    risk_rejections: dict[str, int] = field(default_factory=dict)  # reason -> count
    venue_rejections: dict[str, int] = field(default_factory=dict)  # reason -> count


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    quote_asset: str
    equity: float
    cash: float
    fees: float  # cumulative, quote value (maker rebates negative)
    funding: float  # cumulative net funding paid (negative: received)
    slippage: float  # cumulative, against the decision's reference price
    drawdown_ratio: float  # of equity from its high-water mark, 0..1
    symbols: tuple[SymbolSnapshot, ...]
    skips: dict[str, int] = field(default_factory=dict)  # engine skips by reason

    @property
    def halted(self) -> tuple[str, ...]:
        return tuple(s.symbol for s in self.symbols if s.breaker == TradingState.HALTED)


@dataclass(frozen=True, slots=True)
class StreamView:
    """One stream as the monitor reads it at scrape time."""

    name: str
    messages: int
    reconnects: int
    last_message_s: float | None  # wall clock; None: no message yet
    opened_s: float  # when the stream was registered (the age of a stream that never spoke)

    def age_s(self, now_s: float) -> float:
        """Seconds since the last message (since registration when none came yet)."""
        last = self.opened_s if self.last_message_s is None else self.last_message_s
        return max(0.0, now_s - last)


class StreamStats:
    """Liveness of one market-data or user-data stream; the reader of the stream updates it."""

    __slots__ = ("last_message_s", "messages", "name", "reconnects", "registered_s")

    def __init__(self, name: str, now_s: float) -> None:
        self.name = name
        self.registered_s = now_s
        self.last_message_s: float | None = None
        self.messages = 0
        self.reconnects = 0

    def message(self, now_s: float | None = None) -> None:
        self.messages += 1
        self.last_message_s = time.time() if now_s is None else now_s

    def reconnected(self) -> None:
        self.reconnects += 1

    def view(self) -> StreamView:
        return StreamView(
            self.name, self.messages, self.reconnects, self.last_message_s, self.registered_s
        )


StreamSource = Callable[[], Iterable[StreamView]]


class StreamRegistry:
    """The streams a trader reads, by name (``btcusdt@kline_1m``, ``user_data``...): stats kept
    here (:meth:`stream`) and sources read at scrape time (:meth:`add_source`, e.g. the
    trader's own per-stream counters)."""

    def __init__(self, clock: Clock = time.time) -> None:
        self.clock = clock
        self._streams: dict[str, StreamStats] = {}
        self._sources: list[StreamSource] = []

    def stream(self, name: str) -> StreamStats:
        """The stats of ``name``, registered on first use."""
        if not isinstance(name, str) or not name or len(name) > 200:
            raise InvalidInput(f"stream name must be a non-empty string of <= 200 chars: {name!r}")
        stats = self._streams.get(name)
        if stats is None:
            stats = self._streams[name] = StreamStats(name, self.clock())
        return stats

    def add_source(self, source: StreamSource) -> None:
        self._sources.append(source)

    def __iter__(self) -> Iterator[StreamView]:
        views = {s.name: s.view() for s in self._streams.values()}
        for source in self._sources:
            views.update((v.name, v) for v in source())
        return iter(list(views.values()))


@dataclass
class JournalStatus:
    """Whether the last journal write succeeded; set by whoever appends to the journal."""

    writable: bool = True
    appends: int = 0
    failures: int = 0
    last_error: str = ""  # the error's class name only: messages may name paths or hosts
    last_failure_s: float | None = None

    def ok(self) -> None:
        self.writable = True
        self.appends += 1

    def failed(self, error: BaseException, now_s: float | None = None) -> None:
        self.writable = False
        self.failures += 1
        self.last_error = type(error).__name__
        self.last_failure_s = time.time() if now_s is None else now_s


__all__ = [
    "AccountSnapshot",
    "Clock",
    "JournalStatus",
    "StreamRegistry",
    "StreamSource",
    "StreamStats",
    "StreamView",
    "SymbolSnapshot",
]
