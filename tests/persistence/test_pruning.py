"""``orders_pruned``: terminal orders leave the restored state, checked like every record; the
floor recognizes them afterwards; SQLite and Redis rebuild the same pruned state, from a
snapshot taken after pruning or from the first record."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from gradtrade.core import parse_client_order_id
from gradtrade.errors import InvalidInput, JournalCorrupted
from gradtrade.persistence import (
    JournalRecord,
    RecordKind,
    Snapshot,
    TraderState,
    open_journal,
    recover,
    take_snapshot,
)

if TYPE_CHECKING:
    from tests.persistence.conftest import RedisServer, Scenario


def replay(records: list[JournalRecord]) -> TraderState:
    state = TraderState()
    for r in records:
        state.apply(r)
    return state


def prune_record(seq: int, ids: list[str]) -> JournalRecord:
    return JournalRecord.new(seq, 1, RecordKind.ORDERS_PRUNED, "orders", {"orders": ids})


def with_pruning(s: Scenario, keep: int) -> list[JournalRecord]:
    """The scenario's records, then one ``orders_pruned`` of what ``prunable(keep)`` names."""
    state = replay(s.records)
    ids = state.prunable(keep)
    assert ids, "the scenario must leave terminal orders to prune"
    return [*s.records, prune_record(len(s.records) + 1, ids)]


def test_pruning_removes_terminal_orders_and_remembers_their_floor(
    make_scenario: Callable[[int], Scenario],
) -> None:
    s = make_scenario(30)
    before = replay(s.records)
    records = with_pruning(s, keep=4)
    state = replay(records)
    pruned = sorted(set(before.orders) - set(state.orders))
    terminal = [cid for cid, o in state.orders.items() if o.is_terminal]
    assert len(terminal) == 4 and state.pruned_count == len(pruned) > 20
    assert all(state.was_pruned(cid) for cid in pruned)
    assert not any(state.was_pruned(cid) for cid in state.orders)
    assert state.in_flight and state.in_flight <= state.orders.keys()  # open orders stay
    assert not state.was_pruned("someone-elses-id") and not state.was_pruned("persist.9.0")
    assert state.positions.keys() == before.positions.keys()
    assert all(state.positions[k].to_json() == p.to_json() for k, p in before.positions.items())
    floor = max(parse_client_order_id(c)[2] for c in pruned)
    assert state.pruned == {"persist": (1, floor)}
    assert state.snapshot_objects()["pruned"] == (
        f'{{"count":{len(pruned)},"through":{{"persist":[1,{floor}]}}}}'
    )


@pytest.mark.parametrize(
    ("ids", "match"),
    [
        ([], "non-empty list"),
        (["persist.1.999"], "not a terminal order"),
        (["in-flight"], "not a terminal order"),
    ],
)
def test_a_prune_the_state_cannot_take_stops_recovery_naming_it(
    make_scenario: Callable[[int], Scenario], ids: object, match: str
) -> None:
    s = make_scenario(10)
    state = replay(s.records)
    if ids == ["in-flight"]:
        ids = sorted(state.in_flight)
    record = JournalRecord.new(len(s.records) + 1, 1, RecordKind.ORDERS_PRUNED, "orders",
                               {"orders": ids})  # fmt: skip
    with pytest.raises(JournalCorrupted, match=match) as info:
        state.apply(record)
    assert info.value.seq == record.seq


def test_an_open_order_is_never_pruned(make_scenario: Callable[[int], Scenario]) -> None:
    s = make_scenario(10)
    state = replay(s.records)
    assert set(state.prunable(0)) == {c for c, o in state.orders.items() if o.is_terminal}
    with pytest.raises(InvalidInput, match="'orders' must be a JSON array"):
        JournalRecord.new(99, 1, RecordKind.ORDERS_PRUNED, "orders", {"orders": "persist.1.0"})
    (open_id,) = state.in_flight
    with pytest.raises(JournalCorrupted, match="not a terminal order"):
        state.apply(prune_record(len(s.records) + 1, [open_id]))


@pytest.mark.parametrize(
    "text",
    ['{"count":0,"through":{"a":[1,2]}}', '{"count":2,"through":{}}',
     '{"count":2,"through":{"a":[1]}}', '{"count":2,"through":{"a":[1,-2]}}', "[]"],
)  # fmt: skip
def test_a_malformed_pruned_object_in_a_snapshot_is_refused(text: str) -> None:
    with pytest.raises(JournalCorrupted, match=r"object 'pruned' refused"):
        TraderState.from_snapshot(Snapshot(3, {"pruned": text}))


def test_sqlite_and_redis_rebuild_the_same_pruned_state(
    tmp_path: Path, redis_server: RedisServer, make_scenario: Callable[[int], Scenario]
) -> None:
    """Full replay and snapshot-after-pruning + tail, on both backends: JSON-equal objects."""
    s = make_scenario(60)
    records = with_pruning(s, keep=5)
    tail = [JournalRecord.new(len(records) + 1, 2, RecordKind.FUNDING, "BTCUSDT",
                              {"asset": "USDT", "amount": -0.5, "time_ms": 9})]  # fmt: skip
    urls = [f"{tmp_path / 'j.db'}?trader=p", redis_server.url(f"p-{uuid.uuid4().hex[:8]}")]
    results = []
    for url in urls:
        with open_journal(url) as j:
            j.append_many(records)
            full = recover(j)
            take_snapshot(j, full)
            j.append_many(tail)
        with open_journal(url) as j:
            snap = j.latest_snapshot()
            assert snap is not None and "pruned" in snap.objects
            assert sum(n.startswith("order/") for n in snap.objects) <= 5 + len(full.in_flight)
            results.append(recover(j).snapshot_objects())
    expected = replay([*records, *tail]).snapshot_objects()
    assert results[0] == results[1] == expected
