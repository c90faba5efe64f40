"""Schema versions: a version 1 journal, written by the v1 writer path (``data/``: the SQLite
file and the Redis keys' raw bytes, made by ``data/make_v1_journal.py`` on gradtrade at
schema version 1), is read and replayed by this one; a writer raises its meta version, so a
gradtrade of the older version refuses it at open, untouched."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import gradtrade.persistence.records as records_module
import gradtrade.persistence.redis as redis_module
import gradtrade.persistence.sqlite as sqlite_module
from gradtrade.errors import JournalVersionError
from gradtrade.persistence import (
    SCHEMA_VERSION,
    JournalOptions,
    RecordKind,
    TraderState,
    open_journal,
    recover,
)
from gradtrade.persistence.journal import Journal
from gradtrade.persistence.redis import keys

if TYPE_CHECKING:
    from tests.persistence.conftest import RedisServer

DATA = Path(__file__).parent / "data"
FIXTURE = json.loads((DATA / "v1_redis.json").read_text())


def _b(text: str) -> bytes:
    return base64.b64decode(text)


def v1_sqlite(tmp_path: Path) -> str:
    path = tmp_path / "v1.db"
    shutil.copy(DATA / "v1_journal.db", path)
    return str(path)


def v1_redis(server: RedisServer) -> str:
    """The captured keys written back byte for byte under a fresh trader name's keys."""
    trader = f"legacy-{uuid.uuid4().hex[:8]}"
    k, client = keys(trader), server.client()
    meta = {_b(a): _b(b) for a, b in FIXTURE["meta"].items()}
    meta[b"trader_id"] = trader.encode()
    client.hset(k["meta"], mapping=meta)  # type: ignore[arg-type]
    for entry_id, flat in FIXTURE["journal"]:
        values = [_b(x) for x in flat]
        fields = dict(zip(values[0::2], values[1::2], strict=True))
        client.xadd(k["journal"], fields, id=_b(entry_id))  # type: ignore[arg-type]
    client.hset(k["latest"], mapping={_b(a): _b(b) for a, b in FIXTURE["latest"].items()})  # type: ignore[arg-type]
    client.hset(k["snapshot"], mapping={_b(a): _b(b) for a, b in FIXTURE["snapshot"].items()})  # type: ignore[arg-type]
    return server.url(trader)


@pytest.fixture(params=["sqlite", "redis"])
def v1_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return v1_sqlite(tmp_path)
    return v1_redis(request.getfixturevalue("redis_server"))


def meta_version(journal: Journal) -> int:
    if isinstance(journal, sqlite_module.SqliteJournal):
        row = journal._db.execute("SELECT value FROM meta WHERE name = 'schema_version'")
        return int(row.fetchone()[0])
    assert isinstance(journal, redis_module.RedisJournal)
    return int(journal._redis.hget(journal._keys["meta"], "schema_version"))


def fingerprint(url: str, server: RedisServer | None) -> Any:
    if server is None:
        path = Path(url.split("?")[0])
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(path.parent.glob(path.name + "*"))}  # fmt: skip
    trader = url.split("trader=")[1]
    client = server.client()
    return {name: client.dump(key) for name, key in keys(trader).items()}


def test_a_v1_journal_is_read_and_replayed(v1_url: str) -> None:
    with open_journal(v1_url, JournalOptions(readonly=True)) as j:
        assert meta_version(j) == 1
        stored = list(j.read())
        assert {r.schema_version for r in stored} == {1}
        kinds = {r.kind for r in stored}
        assert {RecordKind.ORDER_STATUS_UNKNOWN, RecordKind.ORDER_EXPIRED} <= kinds
        snapshot = j.latest_snapshot()
        assert snapshot is not None and 0 < snapshot.seq < len(stored)
        restored = recover(j)  # the v1 snapshot + tail
    full = TraderState()
    for r in stored:
        full.apply(r)
    assert restored.snapshot_objects() == full.snapshot_objects() == FIXTURE["state"]
    assert restored.seq == len(stored)


def test_a_writer_upgrades_a_v1_journal_and_an_older_reader_then_refuses_it(
    v1_url: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = request.getfixturevalue("redis_server") if v1_url.startswith("redis") else None
    with open_journal(v1_url) as j:
        assert meta_version(j) == SCHEMA_VERSION
        state = recover(j)
        terminal = sorted(c for c, o in state.orders.items() if o.is_terminal)
        record = records_module.JournalRecord.new(
            state.seq + 1, 1, RecordKind.ORDERS_PRUNED, "orders", {"orders": terminal[:2]}
        )
        state.apply(record)
        j.append(record)
    with open_journal(v1_url, JournalOptions(readonly=True)) as j:
        versions = [r.schema_version for r in j.read()]
        assert versions[-1] == SCHEMA_VERSION and set(versions[:-1]) == {1}
        assert recover(j).snapshot_objects() == state.snapshot_objects()
    # gradtrade at schema version 1 checks the journal's version at open: it now refuses
    before = fingerprint(v1_url, server)
    for module in (records_module, sqlite_module, redis_module):
        monkeypatch.setattr(module, "SCHEMA_VERSION", 1)
    for options in (JournalOptions(), JournalOptions(readonly=True)):
        with pytest.raises(JournalVersionError, match=r"schema version 2; this gradtrade reads "
                           r"up to 1 \(upgrade gradtrade\)"):  # fmt: skip
            open_journal(v1_url, options)
    assert fingerprint(v1_url, server) == before


def test_a_read_only_open_leaves_a_v1_journal_at_v1(v1_url: str) -> None:
    for _ in range(2):
        with open_journal(v1_url, JournalOptions(readonly=True)) as j:
            recover(j)
            assert meta_version(j) == 1
