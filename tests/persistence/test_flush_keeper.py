"""The SQLite journal's idle flush: the device is flushed only after an idle period, never
between commits closer than that, and the keeper's failures never reach the journal."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from gradtrade.errors import InvalidInput
from gradtrade.persistence import JournalOptions, JournalRecord, RecordKind, SqliteJournal
from gradtrade.persistence.flush_keeper import FlushKeeper


def decision(seq: int) -> JournalRecord:
    return JournalRecord.new(seq, seq, RecordKind.DECISION, "BTCUSDT", {"checkpoint": f"c{seq}"})


def test_an_idle_writer_flushes_at_most_once_per_idle_period(tmp_path: Path) -> None:
    with SqliteJournal(tmp_path / "j.db", JournalOptions(idle_flush_ms=20)) as j:
        keeper = j._keeper
        assert isinstance(keeper, FlushKeeper)
        j.append(decision(1))
        t0 = time.monotonic()
        time.sleep(0.6)
        flushes, elapsed = keeper.flushes, time.monotonic() - t0
    assert keeper.failures == 0
    assert 3 <= flushes <= elapsed / 0.020 + 1, (flushes, elapsed)
    assert not keeper._thread.is_alive() and keeper._fd == -1


def test_commits_closer_than_the_idle_period_are_not_flushed_between(tmp_path: Path) -> None:
    with SqliteJournal(tmp_path / "j.db", JournalOptions(idle_flush_ms=500)) as j:
        keeper = j._keeper
        assert keeper is not None
        for seq in range(1, 51):
            j.append(decision(seq))
            time.sleep(0.02)
        assert keeper.flushes == 0
        assert j.last_seq() == 50


def test_no_keeper_unless_asked_and_never_for_a_reader(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with SqliteJournal(path) as j:
        assert j._keeper is None
        j.append(decision(1))
    with SqliteJournal(path, JournalOptions(readonly=True, idle_flush_ms=10)) as r:
        assert r._keeper is None
        assert [x.seq for x in r.read()] == [1]


def test_a_failing_flush_is_counted_and_logged_once_and_the_thread_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # a character device has no fsync: every fdatasync fails with EINVAL, as on a broken disk
    caplog.set_level(logging.WARNING, "gradtrade.persistence.flush_keeper")
    keeper = FlushKeeper(Path("/dev/null"), 5)
    deadline = time.monotonic() + 5
    while keeper.failures < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert keeper._thread.is_alive()
    keeper.close()
    keeper.close()
    assert keeper.failures >= 3 and keeper.flushes == 0
    warnings = [r for r in caplog.records if "idle flush failed" in r.getMessage()]
    assert len(warnings) == 1


@pytest.mark.parametrize("bad", [-1, 60_001, 1.5, True, "50", None])
def test_bad_idle_periods_are_refused_naming_the_option(bad: object) -> None:
    with pytest.raises(InvalidInput, match="idle_flush_ms"):
        JournalOptions(idle_flush_ms=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0, -5, 60_001])
def test_the_keeper_itself_refuses_periods_out_of_range(tmp_path: Path, bad: int) -> None:
    (tmp_path / "f").write_bytes(b"")
    with pytest.raises(ValueError, match="idle_ms"):
        FlushKeeper(tmp_path / "f", bad)
