"""Restart recovery: the latest snapshot, then a replay of every record after it.

The restored objects are the real Rust ones (``Order`` by client order id, ``Position`` by
symbol, ``SymbolFilters``, ``RiskEngine`` by symbol, the ``DrawdownBreaker``), each built by its
``from_json`` (which validates it like new state) and then driven through the same Rust methods
the live engine calls: ``acknowledge``, ``transition``, ``apply_fill``, ``cancel_rejected``. So a
record the order state table refuses (a fill on a canceled order, an overfill, FILLED without
the fills) stops the recovery with ``JournalCorrupted`` naming its seq: a journal that does not
replay is never half-trusted, and neither is a snapshot whose objects do not load.

Invariant of :class:`TraderState`: it is exactly the state after record ``seq``; ``apply``
takes only record ``seq + 1``. ``in_flight`` holds the orders submitted but not acknowledged:
after a crash each must be resolved with the exchange (by ``origClientOrderId`` and trades),
never assumed rejected.

Pruning (schema version 2): an ``orders_pruned`` record removes terminal orders from
``orders`` (each named one must be there, terminal and not in flight, with a client id of
``core.client_order_id``'s form), so the mirror and its snapshots stay bounded. ``pruned`` keeps,
per strategy, the highest ``(session, seq)`` pruned: an id of that strategy at or below it that
is not in ``orders`` was pruned or never journaled, and either way every report about it has
been journaled already (:meth:`TraderState.was_pruned`). A snapshot carries ``pruned``, so a
restart from it equals a full replay.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import orjson

from gradtrade.core import (
    DrawdownBreaker,
    Order,
    OrderStatus,
    Position,
    RiskEngine,
    SymbolFilters,
    parse_client_order_id,
)
from gradtrade.errors import GradtradeError, InvalidInput, JournalCorrupted
from gradtrade.persistence.journal import Journal
from gradtrade.persistence.records import JournalRecord, RecordKind, Snapshot


class ObjectKind(Enum):
    """What a snapshot object is; its name is ``<kind>`` or ``<kind>/<id>``."""

    ORDER = "order"
    POSITION = "position"
    FILTERS = "filters"
    RISK_ENGINE = "risk_engine"
    BREAKER = "breaker"
    FUNDING = "funding"
    IN_FLIGHT = "in_flight"
    DECISION = "decision"
    RECONCILIATION = "reconciliation"
    PRUNED = "pruned"
    EXTRA = "extra"


# Kinds stored once (no id) versus one object per id.
_SINGLETONS = {ObjectKind.BREAKER, ObjectKind.FUNDING, ObjectKind.IN_FLIGHT,
               ObjectKind.RECONCILIATION, ObjectKind.PRUNED}  # fmt: skip
_STATUS = {
    RecordKind.ORDER_PARTIALLY_FILLED: OrderStatus.PARTIALLY_FILLED,
    RecordKind.ORDER_FILLED: OrderStatus.FILLED,
    RecordKind.ORDER_CANCEL_REQUESTED: OrderStatus.PENDING_CANCEL,
    RecordKind.ORDER_CANCELED: OrderStatus.CANCELED,
    RecordKind.ORDER_REJECTED: OrderStatus.REJECTED,
}
_STATUS_KINDS = tuple(_STATUS)


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def parse_object_name(name: str) -> tuple[ObjectKind, str]:
    """``"order/abc"`` -> ``(ObjectKind.ORDER, "abc")``; ``InvalidInput`` for unknown names."""
    head, sep, ident = name.partition("/")
    try:
        kind = ObjectKind(head)
    except ValueError:
        raise InvalidInput(f"unknown snapshot object {name!r}") from None
    if (kind in _SINGLETONS) == bool(sep) or (sep and not ident):
        shape = f"{head}" if kind in _SINGLETONS else f"{head}/<id>"
        raise InvalidInput(f"snapshot object {name!r} must be named {shape}")
    return kind, ident


@dataclass
class TraderState:
    """Everything the journal restores (see the module docstring for the invariant)."""

    seq: int = 0
    orders: dict[str, Order] = field(default_factory=dict)
    positions: dict[str, Position] = field(default_factory=dict)
    filters: dict[str, SymbolFilters] = field(default_factory=dict)
    risk_engines: dict[str, RiskEngine] = field(default_factory=dict)
    breaker: DrawdownBreaker | None = None
    funding: dict[str, dict[str, float]] = field(default_factory=dict)
    in_flight: set[str] = field(default_factory=set)
    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)
    reconciliation: dict[str, Any] | None = None
    pruned: dict[str, tuple[int, int]] = field(default_factory=dict)  # strategy -> floor
    pruned_count: int = 0
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_snapshot(cls, snapshot: Snapshot) -> TraderState:
        """The state a snapshot holds; ``JournalCorrupted`` (naming its seq and the object)
        when any object does not load or contradicts its name."""
        state = cls(seq=snapshot.seq)
        for name, text in snapshot.objects.items():
            try:
                state._load(name, text)
            except (GradtradeError, ValueError, TypeError, OverflowError) as exc:
                raise JournalCorrupted(
                    f"snapshot at record {snapshot.seq}: object {name!r} refused: {exc}",
                    snapshot.seq,
                ) from None
        return state

    def _load(self, name: str, text: str) -> None:
        kind, ident = parse_object_name(name)
        if kind is ObjectKind.ORDER:
            order = Order.from_json(text)
            if order.client_order_id != ident:
                raise InvalidInput(f"holds order {order.client_order_id!r}")
            self.orders[ident] = order
        elif kind is ObjectKind.POSITION:
            position = Position.from_json(text)
            if position.symbol != ident:
                raise InvalidInput(f"holds the position of {position.symbol!r}")
            self.positions[ident] = position
        elif kind is ObjectKind.FILTERS:
            filters = SymbolFilters.from_json(text)
            if filters.symbol != ident:
                raise InvalidInput(f"holds the filters of {filters.symbol!r}")
            self.filters[ident] = filters
        elif kind is ObjectKind.RISK_ENGINE:
            engine = RiskEngine.from_json(text)
            if engine.filters.symbol != ident:
                raise InvalidInput(f"holds the risk engine of {engine.filters.symbol!r}")
            self.risk_engines[ident] = engine
        elif kind is ObjectKind.BREAKER:
            self.breaker = DrawdownBreaker.from_json(text)
        elif kind is ObjectKind.FUNDING:
            self.funding = _funding(orjson.loads(text))
        elif kind is ObjectKind.IN_FLIGHT:
            ids = orjson.loads(text)
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise InvalidInput("in_flight must be a list of client order ids")
            self.in_flight = set(ids)
        elif kind is ObjectKind.DECISION:
            self.decisions[ident] = _object(orjson.loads(text))
        elif kind is ObjectKind.RECONCILIATION:
            self.reconciliation = _object(orjson.loads(text))
        elif kind is ObjectKind.PRUNED:
            self.pruned, self.pruned_count = _pruned(orjson.loads(text))
        else:
            self.extra[ident] = text

    def snapshot_objects(self) -> dict[str, str]:
        """The state as ``name -> JSON text``, for ``Journal.put_snapshot(state.seq, ...)``."""
        out: dict[str, str] = {}
        out.update({f"order/{k}": v.to_json() for k, v in self.orders.items()})
        out.update({f"position/{k}": v.to_json() for k, v in self.positions.items()})
        out.update({f"filters/{k}": v.to_json() for k, v in self.filters.items()})
        out.update({f"risk_engine/{k}": v.to_json() for k, v in self.risk_engines.items()})
        out.update({f"decision/{k}": _json(v) for k, v in self.decisions.items()})
        out.update({f"extra/{k}": v for k, v in self.extra.items()})
        if self.breaker is not None:
            out["breaker"] = self.breaker.to_json()
        if self.funding:
            out["funding"] = _json(self.funding)
        if self.in_flight:
            out["in_flight"] = _json(sorted(self.in_flight))
        if self.reconciliation is not None:
            out["reconciliation"] = _json(self.reconciliation)
        if self.pruned_count:
            out["pruned"] = _json({
                "count": self.pruned_count,
                "through": {k: list(v) for k, v in sorted(self.pruned.items())},
            })  # fmt: skip
        return out

    def was_pruned(self, client_order_id: str) -> bool:
        """Whether a report about this id concerns an order this state pruned (or one never
        journaled): not in ``orders``, and at or below its strategy's floor (module docstring)."""
        if client_order_id in self.orders or not self.pruned:
            return False
        try:
            strategy, session, seq = parse_client_order_id(client_order_id)
        except GradtradeError:
            return False
        floor = self.pruned.get(strategy)
        return floor is not None and (session, seq) <= floor

    def prunable(self, keep: int, ended_before_ms: int | None = None) -> list[str]:
        """The terminal orders past the newest ``keep`` terminal ones (by session, then seq),
        oldest first; with ``ended_before_ms``, only those whose last fill is before it (an
        exchange trade of theirs is then outside a trade window starting there). Orders whose
        client id is not ``core.client_order_id``'s are never pruned."""
        ended: list[tuple[int, int, str]] = []
        for cid, order in self.orders.items():
            if order.is_terminal and cid not in self.in_flight:
                try:
                    _, session, seq = parse_client_order_id(cid)
                except GradtradeError:
                    continue
                ended.append((session, seq, cid))
        if len(ended) <= keep:
            return []
        ended.sort()
        old = ended[: len(ended) - keep]
        return [
            cid for _, _, cid in old
            if ended_before_ms is None or self.orders[cid].updated_ms < ended_before_ms
        ]  # fmt: skip

    def _prune(self, ids: Any) -> None:
        if not isinstance(ids, list) or not ids or not all(isinstance(c, str) for c in ids):
            raise InvalidInput("orders_pruned names a non-empty list of client order ids")
        for cid in ids:
            order = self.orders.get(cid)
            if order is None or not order.is_terminal or cid in self.in_flight:
                raise InvalidInput(f"order {cid!r} is not a terminal order of the journal")
            strategy, session, seq = parse_client_order_id(cid)
            floor = self.pruned.get(strategy)
            if floor is None or (session, seq) > floor:
                self.pruned[strategy] = (session, seq)
            del self.orders[cid]
            self.pruned_count += 1

    def apply(self, record: JournalRecord) -> None:
        """Replays record ``seq + 1``; ``JournalCorrupted`` naming it when it does not apply
        (the state may then be partly updated: discard it, the journal is the truth)."""
        if record.seq != self.seq + 1:
            raise JournalCorrupted(
                f"record {record.seq} replayed onto the state after record {self.seq}",
                record.seq,
            )
        try:
            self._apply(record.kind, record.key, record.data())
        except JournalCorrupted:
            raise
        except (GradtradeError, ValueError, TypeError, OverflowError) as exc:
            raise JournalCorrupted(
                f"journal record {record.seq} ({record.kind.value} of {record.key}) does not "
                f"replay: {exc}",
                record.seq,
            ) from None
        self.seq = record.seq

    def _order(self, key: str) -> Order:
        order = self.orders.get(key)
        if order is None:
            raise InvalidInput(f"no order {key!r} was initialized before it")
        return order

    def _apply(self, kind: RecordKind, key: str, data: dict[str, Any]) -> None:
        if kind is RecordKind.INSTRUMENT:
            filters = SymbolFilters.from_json(_json(data["filters"]))
            if filters.symbol != key:
                raise InvalidInput(f"the filters are of {filters.symbol!r}")
            self.filters[key] = filters
        elif kind is RecordKind.ORDER_INITIALIZED:
            if key in self.orders:
                raise InvalidInput(f"order {key!r} is initialized twice")
            order = Order.from_json(_json(data["order"]))
            if order.client_order_id != key:
                raise InvalidInput(f"the order is {order.client_order_id!r}")
            self.orders[key] = order
        elif kind is RecordKind.ORDER_SUBMITTED:
            order = self._order(key)
            if order.status != OrderStatus.PENDING_NEW:
                raise InvalidInput("only a PENDING_NEW order can be submitted")
            self.in_flight.add(key)
        elif kind is RecordKind.ORDER_ACCEPTED:
            self._order(key).acknowledge(data["exchange_order_id"])
            self.in_flight.discard(key)
        elif kind in _STATUS_KINDS:  # a tuple: no Python-level Enum.__hash__ per record
            self._order(key).transition(_STATUS[kind])
        elif kind is RecordKind.ORDER_EXPIRED:
            status = OrderStatus.EXPIRED_IN_MATCH if data["in_match"] else OrderStatus.EXPIRED
            self._order(key).transition(status)
        elif kind is RecordKind.ORDER_CANCEL_REJECTED:
            self._order(key).cancel_rejected()
        elif kind is RecordKind.FILL:
            self._fill(self._order(key), data)
        elif kind is RecordKind.FUNDING:
            by_asset = self.funding.setdefault(key, {})
            by_asset[data["asset"]] = by_asset.get(data["asset"], 0.0) + float(data["amount"])
        elif kind is RecordKind.DECISION:
            self.decisions[key] = data
        elif kind is RecordKind.BREAKER_TRANSITION:
            self.breaker = DrawdownBreaker.from_json(_json(data["breaker"]))
        elif kind is RecordKind.RECONCILIATION:
            self.reconciliation = data
        elif kind is RecordKind.ORDERS_PRUNED:
            self._prune(data["orders"])
        if kind in (RecordKind.ORDER_CANCELED, RecordKind.ORDER_REJECTED, RecordKind.ORDER_EXPIRED):
            self.in_flight.discard(key)

    def _fill(self, order: Order, data: dict[str, Any]) -> None:
        """The order takes the fill once (by trade id); only a new fill moves the position."""
        quantity, price, fee = float(data["quantity"]), float(data["price"]), float(data["fee"])
        applied = order.apply_fill(
            data["trade_id"], quantity, price, fee, data["fee_asset"], data["time_ms"]
        )
        if not applied:
            return
        position = self.positions.get(order.symbol)
        if position is None:
            filters = self.filters.get(order.symbol)
            if filters is None:
                raise InvalidInput(f"no instrument record for {order.symbol} before its fill")
            position = self.positions[order.symbol] = Position(filters)
        position.apply_fill(order.side, quantity, price, fee, data["fee_asset"])


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput("must be a JSON object")
    return value


def _funding(value: Any) -> dict[str, dict[str, float]]:
    ok = isinstance(value, dict) and all(
        isinstance(assets, dict)
        and all(isinstance(a, str) and type(x) in (int, float) for a, x in assets.items())
        for assets in value.values()
    )
    if not ok:
        raise InvalidInput("funding must map symbol -> asset -> amount")
    return {symbol: {a: float(x) for a, x in assets.items()} for symbol, assets in value.items()}


@contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """The cyclic collector paused for a replay: a replay allocates a dict and a record per
    journal entry that die by reference count (or live on in the state) and makes no cycles,
    so the collections it would trigger (one per 700 allocations) free nothing."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _pruned(value: Any) -> tuple[dict[str, tuple[int, int]], int]:
    bad = InvalidInput("pruned must be {count: n > 0, through: {strategy: [session, seq]}}")
    if not isinstance(value, dict):
        raise bad
    count, through = value.get("count"), value.get("through")
    if type(count) is not int or count <= 0 or not isinstance(through, dict) or not through:
        raise bad
    floors: dict[str, tuple[int, int]] = {}
    for strategy, floor in through.items():
        if not (isinstance(floor, list) and len(floor) == 2
                and all(type(x) is int and x >= 0 for x in floor)):  # fmt: skip
            raise bad
        floors[strategy] = (floor[0], floor[1])
    return floors, count


def recover(journal: Journal) -> TraderState:
    """The state after the journal's last record: its latest snapshot plus the replay of the
    records after it (all of them without a snapshot). Typed errors name the bad record."""
    with _no_cyclic_gc():
        return _recover(journal)


def _recover(journal: Journal) -> TraderState:
    snapshot = journal.latest_snapshot()
    state = TraderState() if snapshot is None else TraderState.from_snapshot(snapshot)
    last = journal.last_seq()
    if state.seq > last:
        raise JournalCorrupted(
            f"the snapshot is of record {state.seq} but the journal ends at {last}", state.seq
        )
    unknown = sorted(state.in_flight - state.orders.keys())
    if unknown:
        raise JournalCorrupted(
            f"snapshot at record {state.seq}: in-flight orders {unknown} are not in it", state.seq
        )
    # bounded by `last`: a running trader may append while `trade status` reads
    for record in journal.read(after_seq=state.seq, through_seq=last):
        state.apply(record)
    if state.seq != last:
        raise JournalCorrupted(f"the journal ends at {state.seq}, not {last}", state.seq)
    return state


def take_snapshot(journal: Journal, state: TraderState) -> None:
    """Stores ``state`` as the journal's snapshot as of ``state.seq``."""
    journal.put_snapshot(state.seq, state.snapshot_objects())


__all__ = [
    "ObjectKind",
    "TraderState",
    "parse_object_name",
    "recover",
    "take_snapshot",
]
