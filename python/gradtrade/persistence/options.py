"""How a journal is opened: whose it is, read-only or as the writer, and the durability rule.

Below both backends and the opener, so that each backend takes the same small frozen options
object and no module imports the opener back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from gradtrade.errors import InvalidInput
from gradtrade.persistence.flush_keeper import MAX_IDLE_MS

TRADER_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class Durability(Enum):
    """What to do when a Redis server does not fsync every write (``appendfsync always``):
    refuse to open (the default), or open and log a warning."""

    REQUIRE = "require"
    WARN = "warn"


@dataclass(frozen=True, slots=True)
class JournalOptions:
    """``trader_id`` None means: whatever the journal says (SQLite), required for Redis.
    ``idle_flush_ms`` (SQLite writers only; 0 = off): flush the device after that long without
    a commit, so an order's commit does not pay for other processes' writes
    (``persistence.flush_keeper``). A Redis server flushes on its own machine: it is ignored."""

    trader_id: str | None = None
    readonly: bool = False
    durability: Durability = Durability.REQUIRE
    idle_flush_ms: int = 0

    def __post_init__(self) -> None:
        if self.trader_id is not None and (
            not isinstance(self.trader_id, str) or not TRADER_ID.fullmatch(self.trader_id)
        ):
            raise InvalidInput(f"trader id must match {TRADER_ID.pattern}, got {self.trader_id!r}")
        if not isinstance(self.durability, Durability):
            raise InvalidInput(f"durability must be a Durability, got {self.durability!r}")
        ms = self.idle_flush_ms
        if isinstance(ms, bool) or not isinstance(ms, int) or not 0 <= ms <= MAX_IDLE_MS:
            raise InvalidInput(f"idle_flush_ms must be an int in [0, {MAX_IDLE_MS}], got {ms!r}")


__all__ = ["TRADER_ID", "Durability", "JournalOptions"]
