"""``Recorder``: the live trader's one writer of its journal, with a validated mirror of it.

Invariants:

* every record is first applied to ``state`` (a ``persistence.TraderState``: real Rust orders
  and positions) and only then appended; a record the mirror refuses (a fill for an order never
  initialized, a transition the order table forbids) is never written: ``InvalidInput``, the
  journal unchanged. So the journal always replays (``persistence.recover``) to ``state``;
* ``record_many`` is one atomic append (the write-ahead pair ``order_initialized`` +
  ``order_submitted`` is either both durable or absent);
* ``record_soon`` (decisions: informational, never needed to rebuild orders or positions) is
  validated and applied to the mirror at once, and written at the latest one event-loop turn
  later, always in front of any later record (the same atomic append) and before a snapshot:
  the journal's order is the mirror's, and the write-ahead pair of an order placed on the same
  bar is not kept waiting behind the decision's fsync. A ``kill -9`` inside that turn loses the
  decision record only;
* a snapshot is taken only when the caller says the process is quiescent (``maybe_snapshot``
  after an engine event was handled), so the extra objects it carries (the portfolio) are of
  the same instant as ``state.seq``;
* bounded retention (``keep_terminal_orders``): right before each snapshot, the terminal orders
  past the newest ``keep`` are journaled as ``orders_pruned`` (one atomic append) and so leave
  the mirror and the snapshot; ``on_prune`` hooks (the engine's order table) get their ids
  after the append. Live, only orders whose last fill is before the last reconciliation's
  trade window (``baseline.since_ms``) go: an exchange trade of a pruned order is never
  re-read, so reconciliation never meets one it cannot place. The mirror holds at most
  ``keep`` terminal orders plus those of the records since the last snapshot (and those the
  window still holds back).
"""

from __future__ import annotations

import asyncio
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
PRUNE_CHUNK = 500  # client ids per ``orders_pruned`` record (records stay small)


def trade_window_start(state: TraderState) -> int | None:
    """Where the last reconciliation's trade window starts (``baseline.since_ms``): None
    without a reconciliation (paper), 0 when it carries no readable baseline (only orders
    without fills may then be pruned)."""
    last = state.reconciliation
    if last is None:
        return None
    baseline = last.get("baseline")
    since = baseline.get("since_ms") if isinstance(baseline, dict) else None
    return since if type(since) is int and since >= 0 else 0


class Recorder:
    def __init__(
        self,
        journal: Journal,
        state: TraderState,
        snapshot_every: int,
        extras: Callable[[], dict[str, str]] | None = None,
        keep_terminal_orders: int | None = None,
    ) -> None:
        self.journal, self.state = journal, state
        self.snapshot_every = snapshot_every
        self.extras = extras
        self.keep_terminal_orders = keep_terminal_orders  # None: keep every order
        self.on_prune: list[Callable[[list[str]], object]] = []
        self.since_snapshot = 0
        self.appended = 0
        self.refused = 0
        self.on_append: list[Callable[[JournalRecord], None]] = []
        self._pending: list[JournalRecord] = []  # applied to the mirror, not yet appended

    def record(self, kind: RecordKind, key: str, payload: Mapping[str, Any]) -> JournalRecord:
        return self.record_many([(kind, key, payload)])[0]

    def record_soon(self, kind: RecordKind, key: str, payload: Mapping[str, Any]) -> None:
        """Validate and apply now; append within one event-loop turn (module docstring).
        Without a running loop it is appended at once."""
        (record,) = self._apply([(kind, key, payload)])
        self._pending.append(record)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        if len(self._pending) == 1:
            loop.call_soon(self.flush)

    def flush(self) -> None:
        """Append what ``record_soon`` holds; durable on return."""
        if self._pending:
            self._append([])

    def record_many(self, entries: Sequence[Entry]) -> list[JournalRecord]:
        """Validate against the mirror, then append atomically (with anything ``record_soon``
        holds, in front); durable on return."""
        records = self._apply(entries)
        self._append(records)
        return records

    def _apply(self, entries: Sequence[Entry]) -> list[JournalRecord]:
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
        return records

    def _append(self, records: list[JournalRecord]) -> None:
        batch, self._pending = [*self._pending, *records], []
        if len(batch) == 1:
            self.journal.append(batch[0])
        else:
            self.journal.append_many(batch)
        self.appended += len(batch)
        self.since_snapshot += len(batch)
        for hook in self.on_append:
            hook(batch[-1])

    def maybe_snapshot(self, force: bool = False) -> bool:
        """Snapshot when ``snapshot_every`` records were appended since the last (or ``force``);
        call only at a quiescent point (see the module docstring)."""
        if self.state.seq == 0 or not (force or self.since_snapshot >= self.snapshot_every):
            return False
        self.flush()
        self.prune()
        if self.extras is not None:
            self.state.extra.update(self.extras())
        take_snapshot(self.journal, self.state)
        self.since_snapshot = 0
        return True

    def prune(self) -> list[str]:
        """Journal ``orders_pruned`` for the terminal orders past the retention bound (module
        docstring); returns their ids (none when ``keep_terminal_orders`` is None)."""
        if self.keep_terminal_orders is None:
            return []
        ids = self.state.prunable(self.keep_terminal_orders, trade_window_start(self.state))
        if not ids:
            return []
        self.record_many([
            (RecordKind.ORDERS_PRUNED, "orders", {"orders": ids[i : i + PRUNE_CHUNK]})
            for i in range(0, len(ids), PRUNE_CHUNK)
        ])  # fmt: skip
        for hook in self.on_prune:
            hook(ids)
        return ids


__all__ = ["PRUNE_CHUNK", "Recorder", "trade_window_start"]
