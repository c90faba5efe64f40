"""OrderManager over core.Order: one order in flight per slot, dedup, typed refusals."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradtrade.core import OrderStatus, Side, SymbolFilters, parse_client_order_id
from gradtrade.errors import InvalidTransition, Overfill, UnknownOrder
from gradtrade.events import FillEvent, IntentKind, Liquidity, OrderIntent
from gradtrade.execution import (
    Ack,
    Canceled,
    ExecutionConfig,
    OrderManager,
    VenueReject,
    VenueRejectReason,
)

P = 61_602.01


def _intent(qty: float, ts: int = 0, sl: float | None = None) -> OrderIntent:
    return OrderIntent("BTCUSDT", ts, qty, IntentKind.REBALANCE, P, stop_loss=sl)


def _fill(cid: str, trade_id: int, qty: float, side: Side = Side.BUY) -> FillEvent:
    return FillEvent(cid, trade_id, "BTCUSDT", side, P, qty, 0.1, "USDT", Liquidity.TAKER, 1)


def _send(m: OrderManager, intent: OrderIntent, position: float = 0.0) -> str:
    plan = m.plan(intent, position, intent.ts_ns)
    assert len(plan.proposals) == 1
    return m.send(plan.proposals[0], intent.ts_ns).client_order_id


def test_target_becomes_one_market_order_with_a_deterministic_id(manager: OrderManager) -> None:
    plan = manager.plan(_intent(0.5), 0.2, 0)
    (p,) = plan.proposals
    assert (p.side, p.qty, p.reduce_only) == (Side.BUY, pytest.approx(0.3), False)
    req = manager.send(p, 0)
    assert parse_client_order_id(req.client_order_id) == ("test", 7, 1)
    assert manager.slot("BTCUSDT", IntentKind.REBALANCE) == req.client_order_id
    # restart-safe: another session never reuses an id of this one
    other = OrderManager("test", manager.filters, ExecutionConfig(session=8))
    assert other.send(other.plan(_intent(0.5), 0.2, 0).proposals[0], 0).client_order_id != (
        req.client_order_id
    )


def test_never_two_orders_in_flight_for_one_slot(manager: OrderManager) -> None:
    cid = _send(manager, _intent(0.5))
    assert manager.plan(_intent(0.7, 1), 0.0, 1).proposals == []  # pending, not sent
    assert manager.next_intents("BTCUSDT", 0.0) == []  # still busy
    manager.on_event(Ack(cid, 1, 1))
    fill, _ = manager.on_event(_fill(cid, 11, 0.5))
    assert fill is not None and manager.slot("BTCUSDT", IntentKind.REBALANCE) is None
    (pending,) = manager.next_intents("BTCUSDT", 0.5)
    assert pending.target_qty == 0.7  # the latest target, worked once the slot is free
    with pytest.raises(UnknownOrder):  # send() refuses to fill a busy slot
        p = manager.plan(pending, 0.5, 2).proposals[0]
        manager.send(p, 2)
        manager.send(p, 2)


def test_duplicate_unknown_overfill_and_after_cancel_fills(manager: OrderManager) -> None:
    cid = _send(manager, _intent(0.5))
    manager.on_event(Ack(cid, 1, 0))
    assert manager.on_event(_fill(cid, 1, 0.2))[0] is not None
    assert manager.on_event(_fill(cid, 1, 0.2))[0] is None  # same trade id: applied once
    order = manager.orders[cid]
    before = order.to_json()
    with pytest.raises(Overfill):
        manager.on_event(_fill(cid, 2, 0.4))
    assert order.to_json() == before  # state intact
    with pytest.raises(UnknownOrder):
        manager.on_event(_fill("test.7.zz", 3, 0.1))
    assert manager.request_cancel(cid)
    manager.on_event(Canceled(cid, 5))
    assert order.status == OrderStatus.CANCELED
    with pytest.raises(InvalidTransition):
        manager.on_event(_fill(cid, 4, 0.1))
    assert order.filled_qty == pytest.approx(0.2)


def test_retryable_rejections_back_off_and_others_drop(filters: dict[str, SymbolFilters]) -> None:
    m = OrderManager("test", filters, ExecutionConfig(retry_backoff_ms=100, max_retries=2))
    cid = _send(m, _intent(0.5))
    m.on_event(VenueReject(cid, VenueRejectReason.RATE_LIMITED, "429", 1_000))
    plan = m.plan(_intent(0.5, 1_000), 0.0, 1_000)
    assert plan.proposals == [] and plan.timers_ns == [1_000 + 100_000_000]
    (retry,) = m.next_intents("BTCUSDT", 0.0)
    assert retry.target_qty == 0.5  # the refused order's target, kept for the retry
    later = m.plan(retry, 0.0, 200_000_000)
    (p,) = later.proposals
    cid2 = m.send(p, 200_000_000).client_order_id
    m.on_event(VenueReject(cid2, VenueRejectReason.INSUFFICIENT_BALANCE, "no", 200_000_001))
    assert m.next_intents("BTCUSDT", 0.0) == []  # not retried: resending cannot help
    assert m.venue_rejects == {VenueRejectReason.RATE_LIMITED: 1,
                               VenueRejectReason.INSUFFICIENT_BALANCE: 1}  # fmt: skip


def test_protective_orders_after_the_fill_and_oco(manager: OrderManager) -> None:
    cid = _send(manager, _intent(0.5, sl=60_000.0))
    manager.on_event(Ack(cid, 1, 0))
    manager.on_event(_fill(cid, 1, 0.5))
    (stop,) = manager.next_intents("BTCUSDT", 0.5)
    assert stop.kind == IntentKind.STOP_LOSS and stop.reference_price == 60_000.0
    proposal = manager.protective_proposal(stop, 0.5)
    assert (proposal.side, proposal.qty, proposal.reduce_only) == (Side.SELL, 0.5, True)
    sid = manager.send(proposal, 1).client_order_id
    # the next rebalance cancels the stop sized for the old position first
    plan = manager.plan(_intent(0.1, 2), 0.5, 2)
    assert plan.cancels == [sid] and plan.proposals[0].reduce_only


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(st.lists(st.tuples(st.sampled_from(["target", "fill", "dup", "reject", "ack"]),
                          st.integers(-5, 5)), max_size=40))  # fmt: skip
def test_random_event_sequences_keep_one_in_flight_and_dedup(
    filters: dict[str, SymbolFilters], ops: list[tuple[str, int]]
) -> None:
    m = OrderManager("prop", filters, ExecutionConfig())
    position, trade, applied = 0.0, 0, set()
    for op, k in ops:
        cid = m.slot("BTCUSDT", IntentKind.REBALANCE)
        if op == "target":
            plan = m.plan(_intent(k * 0.01), position, 0)
            for p in plan.proposals:
                m.send(p, 0)
        elif cid is not None and op == "ack":
            m.on_event(Ack(cid, 1, 0))
        elif cid is not None and op == "reject":
            o = m.orders[cid]
            before = o.to_json()
            if o.status == OrderStatus.PENDING_NEW:
                m.on_event(VenueReject(cid, VenueRejectReason.UNAVAILABLE, "down", 0))
            else:  # an acked order cannot be refused: a typed error, nothing changes
                with pytest.raises(InvalidTransition):
                    m.on_event(VenueReject(cid, VenueRejectReason.UNAVAILABLE, "down", 0))
                assert o.to_json() == before
        elif cid is not None and op in ("fill", "dup"):
            o = m.orders[cid]
            trade += op == "fill"
            fill, _ = m.on_event(_fill(cid, trade, o.remaining_qty, o.side))
            if fill is not None:
                assert (fill.symbol, fill.trade_id) not in applied
                applied.add((fill.symbol, fill.trade_id))
                position += fill.signed_qty
        assert len(m.open_orders("BTCUSDT")) <= 1
        for intent in m.next_intents("BTCUSDT", position):
            for p in m.plan(intent, position, 0).proposals:
                m.send(p, 0)
        assert len(m.open_orders("BTCUSDT")) <= 1


def test_forget_drops_only_terminal_orders_no_slot_holds(manager: OrderManager) -> None:
    done = _send(manager, _intent(0.5))
    manager.on_event(Ack(done, 1, 1))
    manager.on_event(_fill(done, 11, 0.5))
    working = _send(manager, _intent(0.2, 2), 0.5)
    manager.on_event(Ack(working, 2, 2))
    assert [o.client_order_id for o in manager.open_orders()] == [working]
    assert manager.forget([done, working, "never-sent"]) == 1
    assert done not in manager.orders and done not in manager.requests
    assert ("BTCUSDT", 11) not in manager._trades
    assert [o.client_order_id for o in manager.open_orders()] == [working]  # index still whole
    with pytest.raises(UnknownOrder):  # the trader's journaling client drops these first
        manager.on_event(_fill(done, 11, 0.5))
    fill, _ = manager.on_event(_fill(working, 12, 0.3, Side.SELL))
    assert fill is not None and manager.slot("BTCUSDT", IntentKind.REBALANCE) is None
    assert manager.forget([working]) == 1 and manager.orders == {} and manager.open_orders() == []
    nxt = _send(manager, _intent(0.0, 3), 0.2)
    assert [o.client_order_id for o in manager.open_orders()] == [nxt]
