"""Restart recovery into real Rust objects: snapshot + replay, both backends identical, and
corrupted snapshots or unreplayable records refused naming the record."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from gradtrade.core import Order, OrderStatus, Side, SymbolFilters
from gradtrade.errors import JournalCorrupted
from gradtrade.persistence import (
    Journal,
    JournalRecord,
    ObjectKind,
    RecordKind,
    TraderState,
    open_journal,
    recover,
    take_snapshot,
)
from gradtrade.persistence.recovery import parse_object_name

if TYPE_CHECKING:
    from tests.persistence.conftest import RedisServer, Scenario


def objects(state: TraderState) -> dict[str, str]:
    return state.snapshot_objects()


def test_recovery_restores_the_live_objects(
    journal_url: str, make_scenario: Callable[[int], Scenario]
) -> None:
    s = make_scenario(60)
    with open_journal(journal_url) as j:
        j.append_many(s.records)
    with open_journal(journal_url) as j:
        state = recover(j)
    assert state.seq == len(s.records)
    assert {k: o.to_json() for k, o in state.orders.items()} == {
        k: o.to_json() for k, o in s.orders.items()
    }
    assert {k: p.to_json() for k, p in state.positions.items()} == {
        k: p.to_json() for k, p in s.positions.items()
    }
    assert state.breaker is not None and state.breaker.to_json() == s.breaker_journaled
    assert state.in_flight == s.in_flight
    assert state.filters["BTCUSDT"] == s.filters
    assert state.decisions["BTCUSDT"]["bar"] == 59
    assert state.reconciliation == {"ok": True, "differences": []}
    assert state.funding["BTCUSDT"]["USDT"] < 0
    statuses = {o.status for o in state.orders.values()}
    assert statuses == {
        OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.REJECTED,
        OrderStatus.PENDING_NEW,
    }  # fmt: skip
    pending = state.orders[next(iter(state.in_flight))]
    assert pending.status == OrderStatus.PENDING_NEW and pending.exchange_order_id is None


def test_sqlite_and_redis_rebuild_identical_objects(
    tmp_path: Path, redis_server: RedisServer, make_scenario: Callable[[int], Scenario]
) -> None:
    s = make_scenario(80)
    urls = [f"{tmp_path / 'j.db'}?trader=same", redis_server.url(f"same-{uuid.uuid4().hex[:8]}")]
    states = []
    for url in urls:
        with open_journal(url) as j:
            j.append_many(s.records[:200])
            for r in s.records[200:]:
                j.append(r)
            state = recover(j)
            take_snapshot(j, state)
        with open_journal(url) as j:
            states.append((state, recover(j)))
    (sqlite_full, sqlite_snap), (redis_full, redis_snap) = states
    assert (
        objects(sqlite_full) == objects(redis_full) == objects(sqlite_snap) == objects(redis_snap)
    )
    assert len(objects(sqlite_full)) > 80


def test_snapshot_plus_tail_equals_a_full_replay(
    journal_url: str, make_scenario: Callable[[int], Scenario]
) -> None:
    s = make_scenario(50)
    middle = len(s.records) // 2
    with open_journal(journal_url) as j:
        j.append_many(s.records[:middle])
        take_snapshot(j, recover(j))
        j.append_many(s.records[middle:])
        snap = j.latest_snapshot()
        assert snap is not None and snap.seq == middle
        restored = recover(j)
    full = TraderState()
    for r in s.records:
        full.apply(r)
    assert objects(restored) == objects(full)
    assert restored.seq == full.seq == len(s.records)


class _WriterRacesTheReader:
    """A read-only journal whose writer appends right after the reader took ``last_seq()``:
    what ``gradtrade trade status`` meets while the trader runs."""

    def __init__(self, reader: Journal, writer: Journal, late: list[JournalRecord]) -> None:
        self.reader, self.writer, self.late = reader, writer, late

    def __getattr__(self, name: str) -> object:
        return getattr(self.reader, name)

    def last_seq(self) -> int:
        last = self.reader.last_seq()
        if self.late:
            self.writer.append_many(self.late)
            self.late = []
        return last


def test_a_reader_recovers_as_of_its_last_seq_while_the_writer_appends(
    journal_url: str, make_scenario: Callable[[int], Scenario]
) -> None:
    s = make_scenario(40)
    middle = len(s.records) // 2
    with open_journal(journal_url) as writer:
        writer.append_many(s.records[:middle])
        with open_journal(journal_url + "&readonly=1") as reader:
            racing = _WriterRacesTheReader(reader, writer, s.records[middle:])
            state = recover(racing)  # type: ignore[arg-type]
            assert writer.last_seq() == len(s.records)
            later = recover(reader)
    expected = TraderState()
    for r in s.records[:middle]:
        expected.apply(r)
    assert state.seq == middle and objects(state) == objects(expected)
    assert later.seq == len(s.records)


def test_a_corrupted_snapshot_is_refused_never_half_trusted(
    journal_url: str, make_scenario: Callable[[int], Scenario]
) -> None:
    s = make_scenario(10)
    with open_journal(journal_url) as j:
        j.append_many(s.records)
        good = recover(j).snapshot_objects()
        name = next(n for n in good if n.startswith("order/"))
        bad_order = json.loads(good[name])
        bad_order["filled_steps"] = bad_order["quantity_steps"] + 1  # more filled than ordered
        for broken, match in [
            ({**good, name: json.dumps(bad_order)}, f"object '{name}' refused"),
            ({**good, "position/ETHUSDT": good["position/BTCUSDT"]}, "holds the position of"),
            ({**good, "mystery/x": "{}"}, "unknown snapshot object 'mystery/x'"),
            ({**good, "breaker/x": "{}"}, "must be named breaker"),
            ({**good, "in_flight": '["nobody"]'}, "in-flight orders \\['nobody'\\]"),
        ]:
            j.put_snapshot(len(s.records), broken)
            with pytest.raises(JournalCorrupted, match=match) as info:
                recover(j)
            assert info.value.seq == len(s.records)
        j.put_snapshot(len(s.records), good)
        assert objects(recover(j)) == good


def test_an_unreplayable_record_stops_recovery_naming_it(
    journal_url: str, make_scenario: Callable[[int], Scenario]
) -> None:
    s = make_scenario(5)
    canceled = next(o for o in s.orders.values() if o.status == OrderStatus.CANCELED)
    seq = len(s.records) + 1
    late_fill = JournalRecord.new(seq, 1, RecordKind.FILL, canceled.client_order_id, {
        "trade_id": 999_999, "quantity": 0.001, "price": 30_000.0, "fee": 0.0,
        "fee_asset": None, "time_ms": 1,
    })  # fmt: skip
    with open_journal(journal_url) as j:
        j.append_many([*s.records, late_fill])
        with pytest.raises(JournalCorrupted, match=rf"record {seq} \(fill of .*CANCELED") as info:
            recover(j)
        assert info.value.seq == seq


@pytest.mark.parametrize(
    ("kind", "key", "payload", "match"),
    [
        (RecordKind.ORDER_ACCEPTED, "nobody", {"exchange_order_id": 1}, "no order 'nobody'"),
        (RecordKind.ORDER_FILLED, "ORDER", {}, "FILLED is not allowed .filled 0"),
        (RecordKind.ORDER_ACCEPTED, "ORDER", {"exchange_order_id": -1}, "does not replay"),
        (RecordKind.ORDER_INITIALIZED, "ORDER", {"order": {}}, "initialized twice"),
        (RecordKind.BREAKER_TRANSITION, "account", {"breaker": {"x": 1}}, "does not replay"),
        (RecordKind.INSTRUMENT, "ETHUSDT", {"filters": {}}, "does not replay"),
    ],
)
def test_replay_refuses_what_the_rust_state_refuses(
    kind: RecordKind, key: str, payload: dict[str, object], match: str, btc_filters: SymbolFilters
) -> None:
    order = Order("persist-order-1", btc_filters, Side.BUY, 0.001, 30_000.0)
    state = TraderState()
    state.apply(JournalRecord.new(1, 0, RecordKind.ORDER_INITIALIZED, order.client_order_id,
                                  {"order": json.loads(order.to_json())}))  # fmt: skip
    key = order.client_order_id if key == "ORDER" else key
    with pytest.raises(JournalCorrupted, match=match) as info:
        state.apply(JournalRecord.new(2, 0, kind, key, payload))
    assert info.value.seq == 2
    with pytest.raises(JournalCorrupted, match=r"record 5 replayed onto the state after record 1"):
        state.apply(JournalRecord.new(5, 0, RecordKind.SNAPSHOT, "k", {"objects": 0}))


def test_a_fill_replayed_twice_moves_the_position_once(
    make_scenario: Callable[[int], Scenario],
) -> None:
    s = make_scenario(3)
    state = TraderState()
    for r in s.records:
        state.apply(r)
    fill = next(r for r in s.records if r.kind is RecordKind.FILL)
    before = state.positions["BTCUSDT"].to_json()
    # The websocket and the REST poll both report the same trade: the order dedups by trade id.
    order = state.orders[fill.key]
    data = fill.data()
    assert not order.apply_fill(data["trade_id"], data["quantity"], data["price"])
    state.apply(fill.with_seq(state.seq + 1))
    assert state.positions["BTCUSDT"].to_json() == before


def test_object_names() -> None:
    assert parse_object_name("order/abc") == (ObjectKind.ORDER, "abc")
    assert parse_object_name("breaker") == (ObjectKind.BREAKER, "")
    for bad in ("order", "order/", "breaker/x", "nope/x"):
        with pytest.raises(ValueError):
            parse_object_name(bad)
