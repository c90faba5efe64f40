"""Health: whether the trader can be trusted to trade right now, and if not, every reason why.

``/healthz`` (and the container's HEALTHCHECK) answer from :func:`assess`. Unhealthy means one
of: a stream silent for longer than ``stale_after_s`` (decisions would be taken on old prices),
the journal's last write failed (write-ahead ordering cannot hold, so no order may go out), or a
breaker HALTED (the trader is flat and refuses new exposure until a person resets it). Each
reason is listed once per cause with a detail line naming the stream, the error class or the
symbol, never a value that could carry a secret. No reason at all: healthy.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from gradtrade.monitoring.state import AccountSnapshot, JournalStatus, StreamRegistry


class HealthReason(Enum):
    MARKET_DATA_STALE = "market_data_stale"
    JOURNAL_UNWRITABLE = "journal_unwritable"
    HALTED = "halted"


@dataclass(frozen=True, slots=True)
class Problem:
    reason: HealthReason
    detail: str


@dataclass(frozen=True, slots=True)
class Health:
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def reasons(self) -> tuple[HealthReason, ...]:
        return tuple(dict.fromkeys(p.reason for p in self.problems))

    def as_json(self) -> dict[str, Any]:
        if self.ok:
            return {"status": "ok", "reasons": []}
        return {
            "status": "unhealthy",
            "reasons": [r.value for r in self.reasons],
            "problems": [{"reason": p.reason.value, "detail": p.detail} for p in self.problems],
        }


def assess(
    account: AccountSnapshot | None,
    streams: StreamRegistry,
    journal: JournalStatus | None,
    *,
    stale_after_s: float,
    now_s: float,
) -> Health:
    """Every reason the trader is unhealthy at ``now_s`` (none: healthy)."""
    problems: list[Problem] = []
    for s in streams:
        age = s.age_s(now_s)
        if age > stale_after_s:
            what = "no message yet" if s.last_message_s is None else "silent"
            problems.append(
                Problem(
                    HealthReason.MARKET_DATA_STALE,
                    f"stream {s.name}: {what} for {age:.1f} s (limit {stale_after_s:g} s)",
                )
            )
    if journal is not None and not journal.writable:
        problems.append(
            Problem(
                HealthReason.JOURNAL_UNWRITABLE,
                f"last journal write failed ({journal.last_error}); "
                f"{journal.failures} failed write(s)",
            )
        )
    if account is not None:
        for symbol in account.halted:
            problems.append(
                Problem(HealthReason.HALTED, f"{symbol}: drawdown breaker HALTED, reset needed")
            )
    return Health(tuple(problems))


__all__ = ["Health", "HealthReason", "Problem", "assess"]
