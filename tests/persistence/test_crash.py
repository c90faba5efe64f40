"""Crash safety: a writer killed with SIGKILL mid-append (and a Redis server killed under it)
loses no append that returned, leaves no hole and nothing half-written, on both backends."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from gradtrade.persistence import open_journal, recover

if TYPE_CHECKING:
    from tests.persistence.conftest import RedisServer

# Appends batches of `batch` records as fast as it can and prints each seq once append returned.
_WRITER = """
import sys, time
from gradtrade.persistence import JournalRecord, RecordKind, open_journal
url, batch = sys.argv[1], int(sys.argv[2])
journal = open_journal(url)
seq = journal.last_seq()
while True:
    records = [
        JournalRecord.new(seq + i, time.time_ns(), RecordKind.DECISION, "BTCUSDT",
                          {"checkpoint": "ckpt", "bar": seq + i, "pad": "x" * ((seq + i) % 500)})
        for i in range(1, batch + 1)
    ]
    if batch == 1:
        journal.append(records[0])
    else:
        journal.append_many(records)
    seq += batch
    print(seq, flush=True)
"""


def _run_and_kill(url: str, batch: int, acks: int) -> int:
    """Starts the writer, waits for `acks` returned appends, SIGKILLs it; the last acked seq."""
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, url, str(batch)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert writer.stdout is not None
    last = 0
    try:
        for _ in range(acks):
            line = writer.stdout.readline()
            if not line:
                pytest.fail(f"writer died: {writer.stderr.read() if writer.stderr else ''}")
            last = int(line)
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
    # Whatever it printed after our last read was acknowledged too.
    rest = [int(line) for line in writer.stdout.read().split()]
    return max([last, *rest])


@pytest.mark.parametrize("batch", [1, 7])
def test_sigkill_of_the_writer_loses_nothing_that_returned(journal_url: str, batch: int) -> None:
    acked = 0
    for round_, acks in enumerate((40, 75, 130)):
        acked = _run_and_kill(journal_url, batch, acks)
        with open_journal(journal_url) as j:  # reopens: the dead writer's lock is gone
            last = j.last_seq()
            seqs = [r.seq for r in j.read()]  # every record validates (checksum, JSON, kind)
            state = recover(j)
        assert last >= acked, f"round {round_}: acked {acked} but the journal ends at {last}"
        assert seqs == list(range(1, last + 1)), "a hole or a duplicate"
        assert last % batch == 0, "a batch was half-written"
        assert state.decisions["BTCUSDT"]["bar"] == last


def test_sigkill_of_the_redis_server_loses_nothing_acknowledged(
    start_redis_server: Callable[..., RedisServer],
) -> None:
    fsync = ("--appendonly", "yes", "--appendfsync", "always")
    server = start_redis_server(*fsync)
    url = server.url("crash-server")
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, url, "3"], stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    assert writer.stdout is not None
    acked = [int(writer.stdout.readline()) for _ in range(60)]
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait()
    acked += [int(line) for line in writer.stdout.read().split()]  # until the writer failed
    assert writer.wait(timeout=30) != 0
    time.sleep(0.1)
    restarted = start_redis_server(*fsync, directory=server.directory)
    with open_journal(restarted.url("crash-server")) as j:
        last = j.last_seq()
        seqs = [r.seq for r in j.read()]
    assert last >= max(acked) and last % 3 == 0
    assert seqs == list(range(1, last + 1))


# Rewrites a 200-object snapshot in a loop; every object of round k holds k.
_SNAPSHOTTER = """
import sys
from gradtrade.persistence import JournalRecord, RecordKind, open_journal
journal = open_journal(sys.argv[1])
if journal.last_seq() == 0:
    journal.append(JournalRecord.new(1, 1, RecordKind.SNAPSHOT, "account", {"objects": 200}))
k = 0
while True:
    k += 1
    journal.put_snapshot(1, {f"extra/o{i}": f'{{"k":{k},"pad":"{"x" * 300}"}}' for i in range(200)})
    print(k, flush=True)
"""


def test_sigkill_during_snapshots_leaves_one_whole_snapshot(journal_url: str) -> None:
    for acks in (5, 17):
        writer = subprocess.Popen(
            [sys.executable, "-c", _SNAPSHOTTER, journal_url], stdout=subprocess.PIPE, text=True
        )
        assert writer.stdout is not None
        acked = [int(writer.stdout.readline()) for _ in range(acks)]
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
        acked += [int(line) for line in writer.stdout.read().split()]
        with open_journal(journal_url) as j:
            snapshot = j.latest_snapshot()  # checksum verified: no torn snapshot
        assert snapshot is not None and len(snapshot.objects) == 200
        rounds = {json.loads(text)["k"] for text in snapshot.objects.values()}
        assert len(rounds) == 1 and rounds.pop() >= max(acked)
