"""``Recorder.record_soon``: a decision is in the mirror at once and in the journal within one
event-loop turn, always in front of any later record and before a snapshot (real SQLite)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from gradtrade.errors import InvalidInput
from gradtrade.live.recorder import Recorder
from gradtrade.persistence import JournalOptions, RecordKind, open_journal, recover


def _decision(n: int) -> dict[str, object]:
    return {"checkpoint": "ma_cross", "ts_ns": n, "target_qty": 0.1 * n}


def _kinds(db: Path) -> list[tuple[int, str, int | None]]:
    with open_journal(str(db), JournalOptions(readonly=True)) as j:
        return [(r.seq, r.kind.value, r.data().get("ts_ns")) for r in j.read()]


def test_record_soon_is_written_one_loop_turn_later_in_order(tmp_path: Path) -> None:
    db = tmp_path / "j.db"

    async def go() -> None:
        with open_journal(str(db), JournalOptions(trader_id="t")) as journal:
            rec = Recorder(journal, recover(journal), snapshot_every=1000)
            rec.record_soon(RecordKind.DECISION, "BTCUSDT", _decision(1))
            assert rec.state.seq == 1 and _kinds(db) == []  # mirror now, journal not yet
            await asyncio.sleep(0)
            assert _kinds(db) == [(1, "decision", 1)]
            rec.record_soon(RecordKind.DECISION, "BTCUSDT", _decision(2))
            funding = {"asset": "USDT", "amount": -0.5, "time_ms": 7}
            rec.record(RecordKind.FUNDING, "BTCUSDT", funding)  # carries the decision in front
            assert _kinds(db) == [(1, "decision", 1), (2, "decision", 2), (3, "funding", None)]
            rec.record_soon(RecordKind.DECISION, "BTCUSDT", _decision(4))
            assert rec.maybe_snapshot(force=True)
            snapshot = journal.latest_snapshot()
            assert snapshot is not None and snapshot.seq == 4
            assert _kinds(db)[-1] == (4, "decision", 4)  # flushed before the snapshot

    asyncio.run(go())
    with open_journal(str(db), JournalOptions(readonly=True)) as j:
        assert recover(j).seq == 4


def test_record_soon_refuses_a_bad_record_and_keeps_nothing(tmp_path: Path) -> None:
    with open_journal(str(tmp_path / "j.db"), JournalOptions(trader_id="t")) as journal:
        rec = Recorder(journal, recover(journal), snapshot_every=1000)
        with pytest.raises(InvalidInput, match="checkpoint"):
            rec.record_soon(RecordKind.DECISION, "BTCUSDT", {"ts_ns": 1})
        rec.record_soon(RecordKind.DECISION, "BTCUSDT", _decision(1))  # no loop: written now
        assert rec.state.seq == 1 and len(list(journal.read())) == 1
