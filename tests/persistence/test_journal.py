"""The Journal protocol, run against both backends (SQLite file, real redis-server)."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradtrade.errors import InvalidInput, JournalError, JournalLocked
from gradtrade.persistence import (
    Journal,
    JournalOptions,
    JournalRecord,
    RecordKind,
    RedisJournal,
    SqliteJournal,
    open_journal,
)
from gradtrade.persistence.journal import sqlite_path

if TYPE_CHECKING:
    from tests.persistence.conftest import RedisServer


def decision(seq: int, bar: int | None = None) -> JournalRecord:
    payload = {"checkpoint": "ckpt-1", "bar": seq if bar is None else bar}
    return JournalRecord.new(seq, 1_000 + seq, RecordKind.DECISION, "BTCUSDT", payload)


def test_open_journal_picks_the_backend(journal_url: str) -> None:
    with open_journal(journal_url) as j:
        assert isinstance(j, Journal)
        assert isinstance(j, SqliteJournal if "redis" not in journal_url else RedisJournal)
        assert j.trader_id == journal_url.split("trader=")[1]
        assert j.last_seq() == 0 and list(j.read()) == [] and j.latest_snapshot() is None


def test_append_read_and_last_seq(journal_url: str) -> None:
    j = open_journal(journal_url)
    j.append(decision(1))
    j.append_many([decision(2), decision(3), decision(4)])
    assert j.last_seq() == 4
    assert [r.seq for r in j.read()] == [1, 2, 3, 4]
    assert [r.seq for r in j.read(after_seq=2)] == [3, 4]
    assert list(j.read(after_seq=4)) == []
    assert list(j.read()) == [decision(1), decision(2), decision(3), decision(4)]
    j.close()
    j.close()  # idempotent
    with pytest.raises(JournalError, match=r"closed"):
        j.append(decision(5))
    again = open_journal(journal_url)
    assert again.last_seq() == 4 and next(iter(again.read(after_seq=3))) == decision(4)
    again.close()


def test_appends_that_do_not_continue_are_refused_and_write_nothing(journal_url: str) -> None:
    j = open_journal(journal_url)
    j.append_many([decision(1), decision(2)])
    with pytest.raises(InvalidInput, match=r"does not continue the journal"):
        j.append(decision(2))  # duplicate
    with pytest.raises(InvalidInput, match=r"does not continue the journal"):
        j.append(decision(4))  # hole
    with pytest.raises(InvalidInput, match=r"seq 5 does not continue"):
        j.append_many([decision(3), decision(5)])  # hole inside a batch: nothing of it lands
    with pytest.raises(InvalidInput, match=r"at least one record"):
        j.append_many([])
    with pytest.raises(InvalidInput, match=r"JournalRecord"):
        j.append_many([decision(3), "x"])  # type: ignore[list-item]
    assert j.last_seq() == 2 and [r.seq for r in j.read()] == [1, 2]
    j.append(decision(3))
    assert [r.seq for r in j.read()] == [1, 2, 3]
    with pytest.raises(InvalidInput, match=r"after_seq"):
        list(j.read(after_seq=-1))
    with pytest.raises(InvalidInput, match=r"through_seq"):
        list(j.read(through_seq=-1))
    j.close()


def test_a_read_stops_at_its_bound(journal_url: str) -> None:
    with open_journal(journal_url) as j:
        j.append_many([decision(s) for s in range(1, 6)])
        assert [r.seq for r in j.read(through_seq=3)] == [1, 2, 3]
        assert [r.seq for r in j.read(after_seq=1, through_seq=2)] == [2]
        assert list(j.read(after_seq=3, through_seq=3)) == []
        assert [r.seq for r in j.read(after_seq=3, through_seq=99)] == [4, 5]


def test_snapshots_replace_each_other_and_stay_in_range(journal_url: str) -> None:
    j = open_journal(journal_url)
    j.append_many([decision(s) for s in range(1, 6)])
    j.put_snapshot(2, {"breaker": '{"x":1}', "order/a": '{"y":2}'})
    snap = j.latest_snapshot()
    assert snap is not None and snap.seq == 2 and dict(snap.objects) == {
        "breaker": '{"x":1}', "order/a": '{"y":2}',
    }  # fmt: skip
    j.put_snapshot(5, {"breaker": '{"x":3}'})
    snap = j.latest_snapshot()
    assert snap is not None and snap.seq == 5 and dict(snap.objects) == {"breaker": '{"x":3}'}
    with pytest.raises(InvalidInput, match=r"past the journal"):
        j.put_snapshot(6, {})
    with pytest.raises(InvalidInput, match=r"before the latest"):
        j.put_snapshot(4, {})
    with pytest.raises(InvalidInput, match=r"not valid JSON"):
        j.put_snapshot(5, {"breaker": "{"})
    snap = j.latest_snapshot()
    assert snap is not None and snap.seq == 5 and dict(snap.objects) == {"breaker": '{"x":3}'}
    j.close()


def test_a_second_writer_is_refused_and_readers_may_look_on(journal_url: str) -> None:
    writer = open_journal(journal_url)
    writer.append(decision(1))
    with pytest.raises(JournalLocked, match=r"open for writing by another"):
        open_journal(journal_url)
    reader = open_journal(journal_url + "&readonly=1")
    assert reader.last_seq() == 1
    writer.append(decision(2))
    assert [r.seq for r in reader.read()] == [1, 2]
    with pytest.raises(JournalError, match=r"read-only"):
        reader.append(decision(3))
    with pytest.raises(JournalError, match=r"read-only"):
        reader.put_snapshot(1, {})
    reader.close()
    writer.close()
    taken_over = open_journal(journal_url)  # the lock is released on close
    assert taken_over.last_seq() == 2
    taken_over.close()


_HOLDER = """
import sys, time
from gradtrade.persistence import open_journal
journal = open_journal(sys.argv[1])
print("locked", flush=True)
time.sleep(60)
"""


def test_a_writer_in_another_process_locks_until_it_dies(journal_url: str) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, journal_url], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(JournalLocked):
            open_journal(journal_url)
    finally:
        holder.kill()
        holder.wait()
    j = open_journal(journal_url)  # a killed writer does not lock the journal forever
    j.append(decision(1))
    j.close()


def test_readonly_open_of_a_missing_journal_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match=r"no journal at"):
        open_journal(f"{tmp_path / 'none.db'}?readonly=1")
    assert not (tmp_path / "none.db").exists()


def test_journal_urls(tmp_path: Path, redis_server: RedisServer) -> None:
    assert sqlite_path("sqlite:///rel/j.db") == Path("rel/j.db")
    assert sqlite_path("sqlite:////abs/j.db") == Path("/abs/j.db")
    assert sqlite_path("plain/j.db") == Path("plain/j.db")
    with pytest.raises(InvalidInput, match=r"no host"):
        sqlite_path("sqlite://host/j.db")
    with pytest.raises(InvalidInput, match=r"unknown journal URL scheme 'postgres'"):
        open_journal("postgres://x/y")
    with pytest.raises(InvalidInput, match=r"needs \?trader=NAME"):
        open_journal(f"redis://127.0.0.1:{redis_server.port}/0")
    with pytest.raises(InvalidInput, match=r"unknown journal URL options \['bogus'\]"):
        open_journal(f"sqlite:///{tmp_path}/j.db?bogus=1")
    with pytest.raises(InvalidInput, match=r"durability='sometimes'"):
        open_journal(redis_server.url("t", durability="sometimes"))
    with pytest.raises(InvalidInput, match=r"trader id must match"):
        open_journal(redis_server.url("bad name"))
    with pytest.raises(InvalidInput, match=r"trader id must match"):
        JournalOptions(trader_id="")
    path = tmp_path / "j.db"
    open_journal(f"sqlite:///{path}?trader=alice").close()
    with pytest.raises(InvalidInput, match=r"belongs to trader 'alice', not 'bob'"):
        open_journal(f"{path}?trader=bob")
    with open_journal(f"sqlite:///{path}") as j:
        assert j.trader_id == "alice"


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batches=st.lists(st.integers(1, 30), min_size=1, max_size=6), bars=st.integers(0, 10**12))
def test_any_batching_reads_back_identically(
    journal_url: str, batches: list[int], bars: int
) -> None:
    url = journal_url.replace(journal_url.split("trader=")[1], f"h-{uuid.uuid4().hex[:10]}")
    if "redis" not in url:
        url = url.replace("journal.db", f"{uuid.uuid4().hex[:8]}.db")
    expected = []
    with open_journal(url) as j:
        for size in batches:
            start = j.last_seq() + 1
            batch = [decision(s, bars + s) for s in range(start, start + size)]
            j.append_many(batch) if size > 1 else j.append(batch[0])
            expected += batch
    with open_journal(url + "&readonly=1") as j:
        assert list(j.read()) == expected
        assert j.last_seq() == sum(batches)
