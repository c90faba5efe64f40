"""``FlushKeeper``: a device flush while the SQLite journal is idle, so that the next commit's
flush (the one an order waits for) does not pay for somebody else's writes.

Why: a commit's ``fdatasync`` ends with a cache flush of the whole device, and the flush writes
out everything the device (or, on a virtual disk, the host) holds dirty, not only the journal's
pages. Writes by other processes therefore land on whichever flush comes next. On the machine
the benches run on, such a write arrives every 10.07 s (same phase across processes: not the
trader's own), and the flush after it takes 4-5.5 ms instead of 0.5; a trader committing an
order per bar pays it on the order path. Flushing on this thread whenever the journal has
been idle for ``idle_ms`` moves that cost off the order path: a commit then pays it only when
the foreign write came in the last ``idle_ms`` (see ``benches/RESULTS.md``, trader section).
Each wait is ``idle_ms`` stretched by a random 0-50 %: at a fixed period the flushes would
keep the phase of the last commit, and bars whose length is a multiple of the period (a
minute is 1200 periods of 50 ms) would find a flush in flight at every close.

Invariant: durability never depends on this thread. A commit's own fsync is SQLite's and is
unchanged; this thread only issues extra flushes (``fdatasync`` of the journal file on a
read-only descriptor of its own, which on Linux flushes the device even when the file has
nothing dirty). A failing flush is logged once and counted, and the next one is tried after
another idle period. ``committed`` is one unlocked store: a lost update only shifts a flush.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

MAX_IDLE_MS = 60_000


class FlushKeeper:
    """A daemon thread flushing ``path``'s device after ``idle_ms`` without a commit."""

    def __init__(self, path: Path, idle_ms: int) -> None:
        if isinstance(idle_ms, bool) or not isinstance(idle_ms, int):
            raise ValueError(f"idle_ms must be an int, got {idle_ms!r}")
        if not 1 <= idle_ms <= MAX_IDLE_MS:
            raise ValueError(f"idle_ms must be in [1, {MAX_IDLE_MS}], got {idle_ms}")
        self.path, self.idle_s = path, idle_ms / 1000
        self.flushes = 0
        self.failures = 0
        self._last = time.monotonic()  # of the latest commit or flush
        self._jitter = random.Random()
        self._stop = threading.Event()
        self._fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        self._thread = threading.Thread(target=self._loop, name=f"flush-keeper:{path.name}",
                                        daemon=True)  # fmt: skip
        self._thread.start()

    def committed(self) -> None:
        """Called by the writer after each commit: its flush was just paid."""
        self._last = time.monotonic()

    def _loop(self) -> None:
        stretch = 1 + self._jitter.random() / 2
        while True:
            wait = self._last + self.idle_s * stretch - time.monotonic()
            if wait > 0:
                if self._stop.wait(wait):
                    return
                continue
            if self._stop.is_set():
                return
            try:
                os.fdatasync(self._fd)
            except OSError as exc:
                self.failures += 1
                if self.failures == 1:  # the journal's own commits report their failures
                    log.warning("journal %s: idle flush failed (retried): %s", self.path, exc)
            else:
                self.flushes += 1
            self._last = time.monotonic()
            stretch = 1 + self._jitter.random() / 2

    def close(self) -> None:
        """Stops the thread and closes its descriptor; idempotent."""
        if self._fd < 0:
            return
        self._stop.set()
        self._thread.join()
        os.close(self._fd)
        self._fd = -1


__all__ = ["MAX_IDLE_MS", "FlushKeeper"]
