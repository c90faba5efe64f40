"""The journal's write-ahead commit at a trader's pace, with and without the idle flush.

One SQLite journal (``synchronous=FULL``: each commit ends with an ``fdatasync`` of the WAL)
takes one record every ``EVERY_S`` seconds, as a trader commits the order it is about to send;
each append is timed. Two runs of ``seconds`` each, in turn: ``journal.idle_flush_ms: 0`` and
the default 50 (``persistence.flush_keeper``: the device flushed after 50 ms without a commit).
A device flush also writes out what other processes left dirty; the slow appends' wall-clock
times show when that happens (their spacing, and their phase modulo that spacing, are the
same from one run to the next when the writer is not this process). There is no anchor tool:
the figure is the journal's own, with and without the keeper.
"""

from __future__ import annotations

import itertools
import statistics
import sys
import tempfile
import time
from pathlib import Path

from gradtrade.persistence import JournalOptions, JournalRecord, RecordKind, SqliteJournal

EVERY_S = 0.25
SLOW_MS = 2.5


def _appends(idle_flush_ms: int, seconds: float) -> tuple[list[float], list[float]]:
    """(every append's ms, the wall-clock seconds of the slow ones)."""
    times, slow_at = [], []
    with tempfile.TemporaryDirectory() as tmp:
        opts = JournalOptions(idle_flush_ms=idle_flush_ms)
        with SqliteJournal(Path(tmp) / "j.db", opts) as journal:
            end, seq = time.monotonic() + seconds, 0
            while time.monotonic() < end:
                seq += 1
                record = JournalRecord.new(
                    seq, time.time_ns(), RecordKind.ORDER_SUBMITTED, f"o{seq}", {"qty": "0.001"}
                )
                t0 = time.perf_counter_ns()
                journal.append(record)
                ms = (time.perf_counter_ns() - t0) / 1e6
                times.append(ms)
                if ms > SLOW_MS:
                    slow_at.append(time.time())
                time.sleep(EVERY_S)
    return times, slow_at


def _row(name: str, ms: list[float], slow_at: list[float]) -> str:
    q = statistics.quantiles(ms, n=100, method="inclusive")
    gaps = [b - a for a, b in itertools.pairwise(slow_at)]
    spacing = f"{statistics.median(gaps):.2f}" if gaps else "—"
    return (
        f"| {name} | {len(ms)} | {q[49]:.2f} | {q[98]:.2f} | {max(ms):.2f} "
        f"| {len(slow_at)} ({100 * len(slow_at) / len(ms):.1f} %) | {spacing} |"
    )


def run(data_dir: Path, quick: bool) -> str:
    del data_dir  # no market data: the journal's disk alone
    seconds = 15.0 if quick else 90.0
    rows = []
    for idle_flush_ms in (0, 50):
        ms, slow_at = _appends(idle_flush_ms, seconds)
        name = "no idle flush (`idle_flush_ms: 0`)" if not idle_flush_ms else "idle flush 50 ms"
        rows.append(_row(name, ms, slow_at))
    return "\n".join([
        f"One SQLite journal append (commit + `fdatasync`) every {EVERY_S} s for {seconds:.0f} s, "
        "as a trader commits the order it is about to send; the journal file in the system's "
        f"temporary directory. Slow: over {SLOW_MS} ms; their spacing is the median time "
        "between two slow appends.",
        "",
        "| journal | appends | p50 ms | p99 ms | max ms | slow | slow spacing, s |",
        "|---|---|---|---|---|---|---|",
        *rows,
    ])  # fmt: skip


if __name__ == "__main__":
    print(run(Path("."), "--quick" in sys.argv))
