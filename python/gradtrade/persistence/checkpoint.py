"""``WalCheckpointer``: the SQLite journal's WAL copied into the database file off the hot path.

Invariant: an append's commit does not copy WAL pages into the database file, unless the WAL
has gone ``HARD_CAP`` checkpoint periods without a complete checkpoint. SQLite's default
(auto-checkpoint at 1000 WAL pages) runs that copy, and its fsync of the database file, inside
whichever commit crosses the threshold: a write-ahead append before an order then takes several
milliseconds instead of one WAL fsync. The writer's connection therefore runs with
``wal_autocheckpoint = 0``, and this thread, on a connection of its own, checkpoints in
``PASSIVE`` mode (it neither waits for nor blocks the writer or readers) once ``every`` records
were committed and the writer has been quiet for ``quiet_s``: a checkpoint that overlaps no
commit backfills the whole WAL, so the writer's next transaction restarts the WAL from its
beginning (its size stays bounded). A writer that never pauses would keep a thread's passive
checkpoint from ever completing: past ``HARD_CAP`` periods, the writer checkpoints itself after
its commit (``checkpoint_inline``), as SQLite would have.

Durability does not depend on any of this: a committed record is in the fsynced WAL whether or
not it was copied; a failed checkpoint is logged and retried at the next wake-up (the WAL only
grows meanwhile). ``close`` stops the thread; the writer's close checkpoints what is left
(``TRUNCATE``), so a journal at rest is one file.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

HARD_CAP = 4  # checkpoint periods without a complete checkpoint before the writer does one


class WalCheckpointer:
    """A daemon thread checkpointing ``path``'s WAL (see the module docstring)."""

    def __init__(self, path: Path, every: int = 1000, quiet_s: float = 0.05) -> None:
        if every < 1 or quiet_s < 0:
            raise ValueError(f"every must be >= 1 and quiet_s >= 0, got {every}, {quiet_s}")
        self.path, self.every, self.quiet_s = path, every, quiet_s
        self.checkpoints = 0  # complete ones, by the thread
        self.failures = 0
        self._pending = 0  # records since the last wake-up
        self._unbackfilled = 0  # records since the last complete checkpoint (approximate)
        self._last_commit = time.monotonic()
        self._wake = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._loop, name=f"wal-checkpoint:{path.name}",
                                        daemon=True)  # fmt: skip
        self._thread.start()

    def committed(self, records: int) -> bool:
        """Called by the writer after each commit; True when the writer must checkpoint now
        (``checkpoint_inline``). Unlocked counters: a lost update only shifts a checkpoint."""
        self._last_commit = time.monotonic()
        self._pending += records
        self._unbackfilled += records
        if self._pending >= self.every:
            self._pending = 0
            self._wake.set()
        return self._unbackfilled >= HARD_CAP * self.every

    def checkpoint_inline(self, db: sqlite3.Connection) -> None:
        """The writer's own checkpoint, on its connection, between its transactions."""
        try:
            busy, wal, done = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()[0]
        except sqlite3.Error as exc:
            self.failures += 1
            log.warning("journal %s: WAL checkpoint failed (retried later): %s", self.path, exc)
            return
        if not busy and wal == done:
            self._unbackfilled = 0

    def _loop(self) -> None:
        db: sqlite3.Connection | None = None
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                while not self._stop:  # let a burst of commits end first
                    idle = time.monotonic() - self._last_commit
                    if idle >= self.quiet_s:
                        break
                    time.sleep(self.quiet_s - idle)
                if self._stop:
                    return
                try:
                    if db is None:
                        db = sqlite3.connect(self.path, isolation_level=None,
                                             check_same_thread=False)  # fmt: skip
                        db.execute("PRAGMA busy_timeout = 5000")
                    # fetchall: the pragma's statement must finish, or it holds a read
                    # snapshot that keeps the writer from restarting the WAL
                    busy, wal, done = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()[0]
                except sqlite3.Error as exc:
                    self.failures += 1
                    log.warning("journal %s: WAL checkpoint failed (retried later): %s",
                                self.path, exc)  # fmt: skip
                    continue
                if not busy and wal == done:
                    self.checkpoints += 1
                    self._unbackfilled = 0
                else:  # a commit overlapped it: try again once the writer is quiet
                    self._wake.set()
        finally:
            if db is not None:
                db.close()

    def close(self) -> None:
        self._stop = True
        self._wake.set()
        self._thread.join()


__all__ = ["HARD_CAP", "WalCheckpointer"]
