"""Clocks: what "now" means to the engine. Simulated in a backtest, the wall clock live.

Invariant: ``now_ns`` never goes backwards. ``SimulatedClock`` moves only when the engine
hands it the next event's time (an earlier time is an error: events must arrive in order);
``WallClock`` reads ``time.time_ns`` and holds its last reading if the system clock steps back.

The engine's timers (order timeouts, retry backoffs) are set on its clock (``now_ns`` plus a
delay), so they are due by the clock's time too: ``timers_due_by(ts)`` is the time up to which
timers fire before an event stamped ``ts`` is handled. Simulated: the event's own stamp (the
clock is about to move there). Wall: now, never the event's stamp, which is the venue's time
and may run ahead of this machine's; firing by it would fire a backoff timer early, and the
re-plan (still inside the backoff by the wall clock) would set it again for the same instant
and fire it again, a loop that holds the event loop until the wall clock catches up.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

from gradtrade.errors import InvalidInput


@runtime_checkable
class Clock(Protocol):
    def now_ns(self) -> int: ...

    def advance(self, ts_ns: int) -> None:
        """Called by the engine with each event's time before it is handled."""
        ...

    def timers_due_by(self, ts_ns: int) -> int:
        """The time up to which timers fire before an event stamped ``ts_ns`` is handled."""
        ...


class SimulatedClock:
    def __init__(self, start_ns: int = 0) -> None:
        self._now = int(start_ns)

    def now_ns(self) -> int:
        return self._now

    def advance(self, ts_ns: int) -> None:
        if ts_ns < self._now:
            raise InvalidInput(
                f"event at {ts_ns} ns arrived after {self._now} ns: events must be in time order"
            )
        self._now = int(ts_ns)

    def timers_due_by(self, ts_ns: int) -> int:
        return ts_ns


class WallClock:
    def __init__(self) -> None:
        self._last = time.time_ns()

    def now_ns(self) -> int:
        self._last = max(self._last, time.time_ns())
        return self._last

    def advance(self, ts_ns: int) -> None:
        """Events carry their own venue times; the wall clock only keeps moving forward."""
        self.now_ns()

    def timers_due_by(self, ts_ns: int) -> int:
        return self.now_ns()


__all__ = ["Clock", "SimulatedClock", "WallClock"]
