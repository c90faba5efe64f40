"""The trader's event journal: typed records, SQLite and Redis backends, restart recovery.

- ``records``: ``RecordKind``, ``JournalRecord`` (validated in and out), ``Snapshot``.
- ``journal``: the ``Journal`` protocol and ``open_journal(url)``.
- ``sqlite`` / ``redis``: the backends (``SqliteJournal``, ``RedisJournal``); ``checkpoint``
  and ``flush_keeper``: the SQLite writer's two helper threads (WAL checkpoints and idle device
  flushes, both off the commit path).
- ``recovery``: ``recover(journal)`` -> ``TraderState`` of real Rust objects.
"""

from __future__ import annotations

from gradtrade.persistence.journal import Journal, open_journal
from gradtrade.persistence.options import Durability, JournalOptions
from gradtrade.persistence.records import (
    SCHEMA_VERSION,
    JournalRecord,
    RecordKind,
    Snapshot,
)
from gradtrade.persistence.recovery import ObjectKind, TraderState, recover, take_snapshot
from gradtrade.persistence.redis import RedisJournal
from gradtrade.persistence.sqlite import SqliteJournal

__all__ = [
    "SCHEMA_VERSION",
    "Durability",
    "Journal",
    "JournalOptions",
    "JournalRecord",
    "ObjectKind",
    "RecordKind",
    "RedisJournal",
    "Snapshot",
    "SqliteJournal",
    "TraderState",
    "open_journal",
    "recover",
    "take_snapshot",
]
