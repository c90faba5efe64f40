"""The SQLite journal's WAL is checkpointed off the commit path and stays bounded."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from gradtrade.persistence import JournalRecord, RecordKind, SqliteJournal
from gradtrade.persistence import sqlite as sqlite_backend
from gradtrade.persistence.checkpoint import HARD_CAP, WalCheckpointer

EVERY = 100


@pytest.fixture
def small_period(monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sqlite_backend, "CHECKPOINT_EVERY", EVERY)
    return EVERY


def decision(seq: int) -> JournalRecord:
    return JournalRecord.new(seq, seq, RecordKind.DECISION, "BTCUSDT", {"checkpoint": f"c{seq}"})


def wal_frames(path: Path, page: int) -> int:
    wal = path.with_name(path.name + "-wal")
    return (wal.stat().st_size - 32) // (page + 24) if wal.exists() else 0


def run(path: Path, n: int, burst: int, pause_s: float) -> tuple[list[int], WalCheckpointer]:
    """Append n records one commit each (the trader's write-ahead), pausing after each burst;
    returns the WAL's frame count after every burst."""
    frames = []
    with SqliteJournal(path) as j:
        assert j._db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        page = j._db.execute("PRAGMA page_size").fetchone()[0]
        assert isinstance(j._checkpointer, WalCheckpointer)
        for seq in range(1, n + 1):
            j.append(decision(seq))
            if seq % burst == 0:
                frames.append(wal_frames(path, page))
                time.sleep(pause_s)
        cp = j._checkpointer
    assert wal_frames(path, page) == 0  # close checkpointed (TRUNCATE) what was left
    with SqliteJournal(path) as j:
        assert j.last_seq() == n
        assert [r.seq for r in j.read(n - 3)] == [n - 2, n - 1, n]
    return frames, cp


def test_bursts_with_pauses_are_checkpointed_by_the_thread(
    tmp_path: Path, small_period: int
) -> None:
    n = 1500
    frames, cp = run(tmp_path / "j.db", n, burst=25, pause_s=0.08)
    assert cp.checkpoints >= n // small_period - 2 and cp.failures == 0
    # each commit appends >= 1 frame: unbounded, the WAL would end with >= n frames; the
    # thread's complete checkpoints restart it (2 frames per commit, a period and a burst)
    assert max(frames) <= 2 * (small_period + 25), frames


def test_a_writer_that_never_pauses_checkpoints_itself_at_the_cap(
    tmp_path: Path, small_period: int
) -> None:
    n = 12 * small_period
    frames, _ = run(tmp_path / "j.db", n, burst=small_period, pause_s=0.0)
    assert max(frames) <= 2 * (HARD_CAP + 1) * small_period, frames
    assert frames[-1] < n  # it did not grow with every commit


def test_a_checkpointer_whose_file_cannot_open_counts_failures_and_stops(tmp_path: Path) -> None:
    cp = WalCheckpointer(tmp_path / "no" / "such" / "dir" / "j.db", every=1, quiet_s=0.0)
    cp.committed(1)
    deadline = time.monotonic() + 5
    while not cp.failures and time.monotonic() < deadline:
        time.sleep(0.01)
    cp.close()
    assert cp.failures >= 1 and cp.checkpoints == 0
    assert not cp._thread.is_alive()


def test_committed_records_are_readable_before_any_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with SqliteJournal(path) as j:
        j.append_many([decision(s) for s in (1, 2, 3)])
        reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            assert reader.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 3
        finally:
            reader.close()
