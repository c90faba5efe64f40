"""The embedded journal backend: one SQLite file per trader, WAL, ``synchronous=FULL``.

Durability: every append is one transaction; in WAL mode with ``synchronous=FULL`` the commit
fsyncs the WAL before it returns, so a returned append survives ``kill -9`` and power loss, and a
batch is all-or-nothing. One writer: the writer holds an exclusive ``flock`` on ``<file>.lock``
for as long as it is open (the kernel drops it when the process dies, so a crashed trader does
not lock itself out); a second writer gets ``JournalLocked``. Read-only opens take no lock and
never write. The ``meta`` table records the schema version, the trader id and the creation time;
a journal of a newer schema is refused before anything is written to it; a writer that opens
an older one raises the meta's version to its own (it appends records of that version), so an
older gradtrade then refuses the journal at open ("upgrade gradtrade") instead of failing on a
record it cannot read. Read-only opens never change it. The writer copies nothing from the WAL
into the database file inside a commit: ``persistence.checkpoint`` does it on its own thread.
With ``idle_flush_ms``, ``persistence.flush_keeper`` flushes the device while the writer is idle.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO

from gradtrade.errors import (
    InvalidInput,
    JournalCorrupted,
    JournalError,
    JournalLocked,
    JournalVersionError,
)
from gradtrade.persistence.checkpoint import WalCheckpointer
from gradtrade.persistence.flush_keeper import FlushKeeper
from gradtrade.persistence.options import JournalOptions
from gradtrade.persistence.records import (
    SCHEMA_VERSION,
    JournalRecord,
    Snapshot,
    check_next,
    check_read_range,
    decode_page,
    decode_snapshot,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY,
    ts_ns INTEGER NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    payload BLOB NOT NULL,
    schema_version INTEGER NOT NULL,
    digest BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshots (seq INTEGER PRIMARY KEY, digest BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS snapshot_objects (
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (seq, name)
) WITHOUT ROWID;
"""
_PAGE = 10_000  # rows per read: a restart replays 100k records in ten queries
CHECKPOINT_EVERY = 1000  # committed records between the checkpointer's WAL checkpoints


def _lock(path: Path) -> IO[str]:
    """The exclusive writer lock on ``<path>.lock`` (held until the handle is closed)."""
    handle = open(f"{path}.lock", "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise JournalLocked(
            f"journal {path} is open for writing by another process (pid {holder}); "
            "a second writer would interleave its events"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


class SqliteJournal:
    """:class:`gradtrade.persistence.journal.Journal` in one SQLite file (see module docs)."""

    def __init__(self, path: Path | str, options: JournalOptions | None = None) -> None:
        self.path = Path(path)
        self.options = options or JournalOptions()
        self._mutex = threading.Lock()
        self._lock_handle: IO[str] | None = None
        self._closed = False
        self._checkpointer: WalCheckpointer | None = None
        self._keeper: FlushKeeper | None = None
        if self.options.readonly:
            if not self.path.exists():
                raise JournalError(f"no journal at {self.path}")
            self._db = sqlite3.connect(
                f"file:{self.path}?mode=ro", uri=True, isolation_level=None,
                check_same_thread=False,
            )  # fmt: skip
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock_handle = _lock(self.path)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            self._trader_id = self._open()
            self._last_seq = self._max_seq()
            if not self.options.readonly:
                self._checkpointer = WalCheckpointer(self.path, CHECKPOINT_EVERY)
                if self.options.idle_flush_ms:
                    self._keeper = FlushKeeper(self.path, self.options.idle_flush_ms)
        except sqlite3.DatabaseError as exc:
            self.close()
            raise JournalCorrupted(f"{self.path} is not a readable journal: {exc}", 0) from None
        except BaseException:
            self.close()
            raise

    def _open(self) -> str:
        db = self._db
        db.execute("PRAGMA busy_timeout = 5000")
        has_meta = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
        ).fetchone()
        meta = dict(db.execute("SELECT name, value FROM meta").fetchall()) if has_meta else {}
        if meta:
            try:
                version = int(meta["schema_version"])
            except (KeyError, ValueError):
                raise JournalCorrupted(
                    f"journal {self.path} has no valid schema version", 0
                ) from None
            if version > SCHEMA_VERSION:
                raise JournalVersionError(
                    f"journal {self.path} was written by schema version {version}; this "
                    f"gradtrade reads up to {SCHEMA_VERSION} (upgrade gradtrade)"
                )
        if self.options.readonly:
            if not meta:
                raise JournalError(f"{self.path} is not a gradtrade journal (no meta table)")
        else:
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise JournalError(f"journal {self.path}: WAL mode refused (got {mode})")
            db.execute("PRAGMA synchronous = FULL")
            db.execute("PRAGMA wal_autocheckpoint = 0")  # the checkpointer's thread does it
            db.executescript(_SCHEMA)
            if meta and int(meta["schema_version"]) < SCHEMA_VERSION:
                # this writer appends records of its version: an older reader must refuse the
                # journal at open (module docstring)
                meta["schema_version"] = str(SCHEMA_VERSION)
                db.execute("BEGIN IMMEDIATE")
                db.execute("UPDATE meta SET value = ? WHERE name = 'schema_version'",
                           (meta["schema_version"],))  # fmt: skip
                db.execute("COMMIT")
            if not meta:
                trader = self.options.trader_id or "default"
                meta = {
                    "schema_version": str(SCHEMA_VERSION),
                    "trader_id": trader,
                    "created_at_ns": str(time.time_ns()),
                }
                db.execute("BEGIN IMMEDIATE")
                db.executemany("INSERT INTO meta (name, value) VALUES (?, ?)", meta.items())
                db.execute("COMMIT")
        trader_id = meta.get("trader_id", "")
        if self.options.trader_id is not None and self.options.trader_id != trader_id:
            raise InvalidInput(
                f"journal {self.path} belongs to trader {trader_id!r}, "
                f"not {self.options.trader_id!r}"
            )
        return trader_id

    def _max_seq(self) -> int:
        row = self._db.execute("SELECT MAX(seq) FROM records").fetchone()
        return int(row[0] or 0)

    def _writable(self) -> sqlite3.Connection:
        if self._closed:
            raise JournalError(f"journal {self.path} is closed")
        if self.options.readonly:
            raise JournalError(f"journal {self.path} is open read-only")
        return self._db

    @property
    def trader_id(self) -> str:
        return self._trader_id

    def append(self, record: JournalRecord) -> None:
        self.append_many([record])

    def append_many(self, records: Sequence[JournalRecord]) -> None:
        batch = list(records)
        with self._mutex:
            db = self._writable()
            check_next(batch, self._last_seq)
            rows = [
                (r.seq, r.ts_ns, r.kind.value, r.key, r.payload, r.schema_version, r.digest())
                for r in batch
            ]
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    db.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:
                        db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                # Disk full, I/O error, a foreign writer: nothing of the batch is committed.
                raise JournalError(f"journal {self.path}: append of seq {batch[0].seq} failed: "
                                   f"{exc}") from None  # fmt: skip
            self._last_seq = batch[-1].seq
            if self._keeper is not None:
                self._keeper.committed()
            cp = self._checkpointer
            if cp is not None and cp.committed(len(batch)):
                cp.checkpoint_inline(db)

    def last_seq(self) -> int:
        with self._mutex:
            if self.options.readonly:
                self._last_seq = self._max_seq()
            return self._last_seq

    def read(self, after_seq: int = 0, through_seq: int | None = None) -> Iterator[JournalRecord]:
        through = check_read_range(after_seq, through_seq)
        expected = after_seq + 1
        while expected <= through:
            with self._mutex:
                if self._closed:
                    raise JournalError(f"journal {self.path} is closed")
                try:
                    rows = self._db.execute(
                        "SELECT seq, ts_ns, kind, key, payload, schema_version, digest "
                        "FROM records WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?",
                        (expected, through, _PAGE),
                    ).fetchall()
                except sqlite3.DatabaseError as exc:
                    raise JournalCorrupted(
                        f"journal {self.path} unreadable from record {expected}: {exc}", expected
                    ) from None
            yield from decode_page(rows, expected)
            expected += len(rows)
            if len(rows) < _PAGE:
                return

    def put_snapshot(self, seq: int, objects: Mapping[str, str]) -> None:
        snapshot = Snapshot(seq, objects)
        with self._mutex:
            db = self._writable()
            if seq > self._last_seq:
                raise InvalidInput(f"snapshot seq {seq} is past the journal's end {self._last_seq}")
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT MAX(seq) FROM snapshots").fetchone()
                if row[0] is not None and seq < row[0]:
                    raise InvalidInput(f"snapshot seq {seq} is before the latest one ({row[0]})")
                db.execute("DELETE FROM snapshot_objects")
                db.execute("DELETE FROM snapshots")
                db.execute("INSERT INTO snapshots VALUES (?, ?)", (seq, snapshot.digest()))
                db.executemany(
                    "INSERT INTO snapshot_objects VALUES (?, ?, ?)",
                    [(seq, name, text) for name, text in snapshot.objects.items()],
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            if self._keeper is not None:
                self._keeper.committed()

    def latest_snapshot(self) -> Snapshot | None:
        with self._mutex:
            db = self._db
            db.execute("BEGIN")
            try:
                row = db.execute("SELECT seq, digest FROM snapshots ORDER BY seq DESC").fetchone()
                if row is None:
                    return None
                objects = dict(
                    db.execute(
                        "SELECT name, state FROM snapshot_objects WHERE seq = ?", (row[0],)
                    ).fetchall()
                )
            finally:
                db.execute("COMMIT")
        return decode_snapshot(int(row[0]), objects, bytes(row[1]))

    def close(self) -> None:
        with self._mutex:
            if self._closed:
                return
            self._closed = True
            if self._keeper is not None:
                self._keeper.close()
            if self._checkpointer is not None:
                self._checkpointer.close()
                # what stays in the WAL on failure is still committed; the next open reads it
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.close()
            if self._lock_handle is not None:
                self._lock_handle.close()
                self._lock_handle = None

    def __enter__(self) -> SqliteJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["SqliteJournal"]
