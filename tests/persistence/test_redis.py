"""The Redis backend on a real redis-server: durability check, layout, projections, tampering,
newer versions and a server that goes away."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest
import redis

from gradtrade.errors import (
    InvalidInput,
    JournalCorrupted,
    JournalDurabilityError,
    JournalError,
    JournalUnavailable,
    JournalVersionError,
)
from gradtrade.persistence import (
    SCHEMA_VERSION,
    JournalRecord,
    RecordKind,
    RedisJournal,
    open_journal,
)
from gradtrade.persistence.redis import keys

if TYPE_CHECKING:
    from tests.persistence.conftest import RedisServer


def decision(seq: int, key: str = "BTCUSDT") -> JournalRecord:
    return JournalRecord.new(seq, seq, RecordKind.DECISION, key, {"checkpoint": f"c{seq}"})


@pytest.fixture
def trader() -> str:
    return f"r-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def filled(redis_server: RedisServer, trader: str) -> Iterator[str]:
    """A journal of 8 decisions (keys alternating BTCUSDT / ETHUSDT) and a snapshot at 4."""
    url = redis_server.url(trader)
    with open_journal(url) as j:
        j.append_many([decision(s, "BTCUSDT" if s % 2 else "ETHUSDT") for s in range(1, 9)])
        j.put_snapshot(4, {"extra/x": '{"a":1}'})
    yield url


def dump(client: redis.Redis, trader: str) -> dict[str, bytes | None]:
    return {name: client.dump(key) for name, key in keys(trader).items()}  # type: ignore[misc]


def test_layout_stream_ids_and_projections(
    redis_server: RedisServer, trader: str, filled: str
) -> None:
    client, k = redis_server.client(), keys(trader)
    entries = client.xrange(k["journal"])
    assert [e[0] for e in entries] == [f"{s}-0".encode() for s in range(1, 9)]
    assert set(entries[0][1]) == {b"ts", b"kind", b"key", b"payload", b"v", b"digest"}
    assert client.hgetall(k["latest"]) == {b"BTCUSDT": b"7", b"ETHUSDT": b"8"}
    meta = client.hgetall(k["meta"])
    assert meta[b"last_seq"] == b"8" and meta[b"trader_id"] == trader.encode()
    assert b"writer" not in meta  # released on close
    snap = client.hgetall(k["snapshot"])
    assert snap[b"__seq__"] == b"4" and snap[b"obj:extra/x"] == b'{"a":1}'
    # Redis itself refuses a duplicate id, so a seq cannot be journaled twice.
    with pytest.raises(redis.ResponseError, match=r"equal or smaller"):
        client.xadd(k["journal"], {"x": "y"}, id="5-0")


@pytest.mark.parametrize("config", [("no", "always"), ("yes", "everysec"), ("yes", "no")])
def test_a_server_that_does_not_fsync_every_write_is_refused_or_warned(
    start_redis_server: Callable[..., RedisServer], trader: str, config: tuple[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    aof, fsync = config
    server = start_redis_server("--appendonly", aof, "--appendfsync", fsync)
    with pytest.raises(JournalDurabilityError, match=rf"appendonly={aof} appendfsync={fsync}"):
        open_journal(server.url(trader))
    assert server.client().keys("gradtrade:*") == []  # refused before writing anything
    with caplog.at_level(logging.WARNING, logger="gradtrade.persistence.redis"):
        with open_journal(server.url(trader, durability="warn")) as j:
            j.append(decision(1))
    assert "could be lost on a crash" in caplog.text


def test_a_newer_version_is_refused_untouched(
    redis_server: RedisServer, trader: str, filled: str
) -> None:
    client = redis_server.client()
    client.hset(keys(trader)["meta"], "schema_version", SCHEMA_VERSION + 1)
    before = dump(client, trader)
    for url in (filled, filled + "&readonly=1"):
        with pytest.raises(
            JournalVersionError, match=rf"written by schema version {SCHEMA_VERSION + 1}.*upgrade"
        ):
            open_journal(url)
    assert dump(client, trader) == before


def _rewrite(client: redis.Redis, stream: str, seq: int, **changes: bytes) -> None:
    """Rebuilds the stream with one entry's fields changed (same ids): stored data tampered."""
    entries = client.xrange(stream)
    client.delete(stream)
    for entry_id, fields in entries:
        if entry_id == f"{seq}-0".encode():
            fields = {**fields, **{k.encode(): v for k, v in changes.items()}}
        client.xadd(stream, fields, id=entry_id)


@pytest.mark.parametrize(
    ("change", "seq", "match"),
    [
        ({"payload": b'{"checkpoint":"evil"}'}, 3, "record 3 fails its checksum"),
        ({"payload": b'{"checkpoint":'}, 5, "record 5 is invalid: payload is not valid JSON"),
        ({"kind": b"teleport"}, 2, "record 2 is invalid: unknown record kind 'teleport'"),
        ({"ts": b"soon"}, 6, "record 6 ts is not an integer"),
    ],
)
def test_a_tampered_entry_is_named_by_seq(
    redis_server: RedisServer, trader: str, filled: str, change: dict[str, bytes], seq: int,
    match: str,
) -> None:  # fmt: skip
    client = redis_server.client()
    _rewrite(client, keys(trader)["journal"], seq, **change)
    before = dump(client, trader)
    with open_journal(filled) as j:
        records = j.read()
        assert [next(records).seq for _ in range(1, seq)] == list(range(1, seq))
        with pytest.raises(JournalCorrupted, match=match) as info:
            next(records)
        assert info.value.seq == seq
    after = dump(client, trader)
    assert after["journal"] == before["journal"] and after["snapshot"] == before["snapshot"]


def test_a_deleted_or_truncated_entry_is_a_hole_named_by_seq(
    redis_server: RedisServer, trader: str, filled: str
) -> None:
    client, k = redis_server.client(), keys(trader)
    client.xdel(k["journal"], "4-0")
    with (
        open_journal(filled) as j,
        pytest.raises(JournalCorrupted, match=r"record 4 is missing .the next stored is 5"),
    ):
        list(j.read())
    client.xdel(k["journal"], "8-0")
    with open_journal(filled) as j:
        with pytest.raises(JournalCorrupted, match=r"record 8 is missing .meta says .* ends at 8"):
            list(j.read(after_seq=4))
        # An entry that meta does not account for: the next append is refused, nothing written.
        client.xadd(k["journal"], {"x": "y"}, id="9-0")
        with pytest.raises(
            JournalCorrupted, match=r"meta says last seq 8 but the stream ends at 9"
        ):
            j.append(decision(9))
    assert client.hget(k["meta"], "last_seq") == b"8"


def test_a_tampered_snapshot_is_refused(
    redis_server: RedisServer, trader: str, filled: str
) -> None:
    redis_server.client().hset(keys(trader)["snapshot"], "obj:extra/x", '{"a":2}')
    with (
        open_journal(filled) as j,
        pytest.raises(JournalCorrupted, match=r"snapshot at record 4 fails its checksum"),
    ):
        j.latest_snapshot()


def test_a_server_that_goes_away_is_retryable_and_secrets_stay_out(
    start_redis_server: Callable[..., RedisServer], trader: str
) -> None:
    server = start_redis_server("--appendonly", "yes", "--appendfsync", "always",
                                "--requirepass", "s3cr3t-pw")  # fmt: skip
    url = server.url(trader).replace("redis://", "redis://:s3cr3t-pw@")
    try:
        with pytest.raises(JournalError, match="refused the credentials") as bad_password:
            open_journal(url.replace("s3cr3t-pw", "wrong-pw"))
        assert not isinstance(bad_password.value, JournalUnavailable)  # fatal, not retryable
        assert "wrong-pw" not in str(bad_password.value)
        j = open_journal(url)
        assert isinstance(j, RedisJournal)
        j.append(decision(1))
    finally:
        server.stop()
    with pytest.raises(JournalUnavailable, match=rf"127.0.0.1:{server.port}") as info:
        j.append(decision(2))
    assert "s3cr3t-pw" not in str(info.value) and "s3cr3t-pw" not in repr(info.value.__cause__)
    with pytest.raises(JournalUnavailable):
        j.last_seq()
    j.close()
    with pytest.raises(InvalidInput, match=r"bad Redis journal URL"):
        RedisJournal("redis://127.0.0.1:notaport/0", j.options)
