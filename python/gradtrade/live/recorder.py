"""``Recorder``: the live trader's one writer of its journal, with a validated mirror of it.

Invariants:

* every record is first applied to ``state`` (a ``persistence.TraderState``: real Rust orders
  and positions) and only then appended; a record the mirror refuses (a fill for an order never
  initialized, a transition the order table forbids) is never written: ``InvalidInput``, the
  journal unchanged. So the journal always replays (``persistence.recover``) to ``state``;
* ``record_many`` is one atomic append (the write-ahead pair ``order_initialized`` +
  ``order_submitted`` is either both durable or absent);
* a snapshot is taken only when the caller says the process is quiescent (``maybe_snapshot``
  after an engine event was handled), so the extra objects it carries (the portfolio) are of
  the same instant as ``state.seq``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from gradtrade.errors import InvalidInput, JournalCorrupted
from gradtrade.persistence.journal import Journal
from gradtrade.persistence.records import JournalRecord, RecordKind
from gradtrade.persistence.recovery import TraderState, take_snapshot

log = logging.getLogger("gradtrade.live.journal")

Entry = tuple[RecordKind, str, Mapping[str, Any]]


class Recorder:
    def __init__(
        self,
        journal: Journal,
        state: TraderState,
        snapshot_every: int,
        extras: Callable[[], dict[str, str]] | None = None,
    ) -> None:
        self.journal, self.state = journal, state
        self.snapshot_every = snapshot_every
        self.extras = extras
        self.since_snapshot = 0
        self.appended = 0
        self.refused = 0
        self.on_append: list[Callable[[JournalRecord], None]] = []

    def record(self, kind: RecordKind, key: str, payload: Mapping[str, Any]) -> JournalRecord:
        return self.record_many([(kind, key, payload)])[0]

    def record_many(self, entries: Sequence[Entry]) -> list[JournalRecord]:
        """Validate against the mirror, then append atomically; durable on return."""
        now = time.time_ns()
        seq = self.state.seq
        records = [
            JournalRecord.new(seq + i, now, kind, key, payload)
            for i, (kind, key, payload) in enumerate(entries, start=1)
        ]
        for record in records:
            try:
                self.state.apply(record)
            except JournalCorrupted as exc:
                self.refused += 1
                # roll the mirror's seq back: nothing of the batch is written
                self.state.seq = seq
                raise InvalidInput(f"not journaled: {exc}") from None
        if len(records) == 1:
            self.journal.append(records[0])
        else:
            self.journal.append_many(records)
        self.appended += len(records)
        self.since_snapshot += len(records)
        for hook in self.on_append:
            hook(records[-1])
        return records

    def maybe_snapshot(self, force: bool = False) -> bool:
        """Snapshot when ``snapshot_every`` records were appended since the last (or ``force``);
        call only at a quiescent point (see the module docstring)."""
        if self.state.seq == 0 or not (force or self.since_snapshot >= self.snapshot_every):
            return False
        if self.extras is not None:
            self.state.extra.update(self.extras())
        take_snapshot(self.journal, self.state)
        self.since_snapshot = 0
        return True


__all__ = ["Recorder"]
