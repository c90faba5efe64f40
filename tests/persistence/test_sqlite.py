"""The SQLite backend: its durability settings, its meta table, and tampering caught by seq."""

from __future__ import annotations

import fcntl
import hashlib
import sqlite3
from pathlib import Path

import pytest

from gradtrade.errors import JournalCorrupted, JournalVersionError
from gradtrade.persistence import (
    SCHEMA_VERSION,
    JournalOptions,
    JournalRecord,
    RecordKind,
    SqliteJournal,
)


def decision(seq: int) -> JournalRecord:
    return JournalRecord.new(seq, seq, RecordKind.DECISION, "BTCUSDT", {"checkpoint": f"c{seq}"})


def filled(path: Path, n: int) -> Path:
    with SqliteJournal(path) as j:
        j.append_many([decision(s) for s in range(1, n + 1)])
        j.put_snapshot(n // 2, {"extra/x": "{}"})
    return path


def fingerprint(path: Path) -> str:
    """Hash of every row, to prove that a failed open or read changed nothing."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return hashlib.sha256("\n".join(db.iterdump()).encode()).hexdigest()
    finally:
        db.close()


def tamper(path: Path, sql: str, *args: object) -> None:
    db = sqlite3.connect(path)
    try:
        db.execute(sql, args)
        db.commit()
    finally:
        db.close()


def test_wal_and_synchronous_full_and_meta(tmp_path: Path) -> None:
    with SqliteJournal(tmp_path / "j.db") as j:
        db = j._db
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        meta = dict(db.execute("SELECT name, value FROM meta").fetchall())
    assert meta["schema_version"] == str(SCHEMA_VERSION)
    assert meta["trader_id"] == "default"
    assert int(meta["created_at_ns"]) > 1_700_000_000 * 10**9


def test_a_journal_of_a_newer_version_is_refused_untouched(tmp_path: Path) -> None:
    path = filled(tmp_path / "j.db", 4)
    tamper(path, "UPDATE meta SET value = ? WHERE name = 'schema_version'", SCHEMA_VERSION + 1)
    before = fingerprint(path)
    for readonly in (False, True):
        with pytest.raises(
            JournalVersionError, match=rf"written by schema version {SCHEMA_VERSION + 1}.*upgrade"
        ):
            SqliteJournal(path, JournalOptions(readonly=readonly))
    assert fingerprint(path) == before


@pytest.mark.parametrize(
    ("sql", "seq", "match"),
    [
        (
            'UPDATE records SET payload = CAST(\'{"checkpoint":"evil"}\' AS BLOB) WHERE seq = 3',
            3,
            "record 3 fails its checksum",
        ),
        (
            "UPDATE records SET payload = CAST('{\"checkpoint\":' AS BLOB) WHERE seq = 4",
            4,
            "record 4 is invalid: payload is not valid JSON",
        ),
        ("UPDATE records SET kind = 'teleport' WHERE seq = 2", 2, "unknown record kind 'teleport'"),
        ("UPDATE records SET ts_ns = ts_ns + 1 WHERE seq = 5", 5, "record 5 fails its checksum"),
        ("DELETE FROM records WHERE seq = 3", 3, "record 3 is missing .the next stored is 4"),
        (
            "UPDATE records SET seq = 9 WHERE seq = 6",
            6,
            "record 6 is missing .the next stored is 7",
        ),
        ("UPDATE records SET schema_version = 7 WHERE seq = 2", 2, None),
    ],
)
def test_a_tampered_row_is_named_by_seq(
    tmp_path: Path, sql: str, seq: int, match: str | None
) -> None:
    path = filled(tmp_path / "j.db", 8)
    tamper(path, sql)
    before = fingerprint(path)
    with SqliteJournal(path) as j:
        records = j.read()
        for expected in range(1, seq):
            assert next(records).seq == expected  # everything before the damage reads fine
        if match is None:
            with pytest.raises(JournalVersionError, match=rf"record {seq} has schema version 7"):
                next(records)
        else:
            with pytest.raises(JournalCorrupted, match=match) as info:
                next(records)
            assert info.value.seq == seq
    assert fingerprint(path) == before


def test_a_tampered_snapshot_is_refused(tmp_path: Path) -> None:
    path = filled(tmp_path / "j.db", 6)
    tamper(path, "UPDATE snapshot_objects SET state = '{\"a\":1}'")
    with SqliteJournal(path) as j, pytest.raises(JournalCorrupted, match=r"snapshot at record 3"):
        j.latest_snapshot()


def test_a_file_that_is_not_a_journal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(JournalCorrupted, match="not a readable journal"):
        SqliteJournal(path)
    assert path.read_bytes() == b"this is not sqlite at all" * 100
    with open(f"{path}.lock") as handle:  # the failed open released its writer lock
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
