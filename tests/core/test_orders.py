"""Order state table, fills, Binance execution reports, client order ids, persistence."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradtrade.core import (
    InvalidInput,
    InvalidTransition,
    Order,
    OrderStatus,
    OrderType,
    Overfill,
    Side,
    SymbolFilters,
    TimeInForce,
    client_order_id,
    parse_client_order_id,
    transition_allowed,
)

FILTERS = SymbolFilters("ETHBTC", "0.00000100", "0.00010000", min_qty="0.0001")
STATUSES = [
    OrderStatus.PENDING_NEW,
    OrderStatus.NEW,
    OrderStatus.PARTIALLY_FILLED,
    OrderStatus.FILLED,
    OrderStatus.PENDING_CANCEL,
    OrderStatus.CANCELED,
    OrderStatus.REJECTED,
    OrderStatus.EXPIRED,
    OrderStatus.EXPIRED_IN_MATCH,
]
TERMINAL = {
    OrderStatus.FILLED,
    OrderStatus.CANCELED,
    OrderStatus.REJECTED,
    OrderStatus.EXPIRED,
    OrderStatus.EXPIRED_IN_MATCH,
}
CID = "mUvoqJxFIILMdfAW5iGSOW"

# Binance's documented executionReport payload (spot user data stream; its price set to this
# order's), as the base of the reports below; only the fields that change per event differ.
NEW_REPORT: dict[str, Any] = {
    "e": "executionReport", "E": 1499405658658, "s": "ETHBTC", "c": CID, "S": "BUY",
    "o": "LIMIT", "f": "GTC", "q": "1.00000000", "p": "0.10264400", "P": "0.00000000",
    "F": "0.00000000", "g": -1, "C": "", "x": "NEW", "X": "NEW", "r": "NONE", "i": 4293153,
    "l": "0.00000000", "z": "0.00000000", "L": "0.00000000", "n": "0", "N": None,
    "T": 1499405658657, "t": -1, "v": 3, "I": 8641984, "w": True, "m": False, "M": False,
    "O": 1499405658657, "Z": "0.00000000", "Y": "0.00000000", "Q": "0.00000000",
    "W": 1499405658657, "V": "NONE",
}  # fmt: skip


def report(**fields: Any) -> str:
    return json.dumps({**NEW_REPORT, **fields})


def trade(trade_id: int, qty: str, price: str, cumulative: str, status: str, fee: str) -> str:
    return report(
        x="TRADE",
        X=status,
        t=trade_id,
        l=qty,
        L=price,
        z=cumulative,
        n=fee,
        N="BNB",
        T=1499405700000,
    )


def order(quantity: float = 1.0) -> Order:
    return Order(CID, FILTERS, Side.BUY, quantity, 0.102644, OrderType.LIMIT, TimeInForce.GTC)


def test_transition_table_matches_the_documented_one() -> None:
    allowed = {
        OrderStatus.PENDING_NEW: set(STATUSES) - {OrderStatus.PENDING_NEW},
        OrderStatus.NEW: {
            OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED, OrderStatus.PENDING_CANCEL,
            OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.EXPIRED_IN_MATCH,
        },
        OrderStatus.PARTIALLY_FILLED: {
            OrderStatus.FILLED, OrderStatus.PENDING_CANCEL, OrderStatus.CANCELED,
            OrderStatus.EXPIRED, OrderStatus.EXPIRED_IN_MATCH,
        },
        OrderStatus.PENDING_CANCEL: {
            OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED,
            OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.EXPIRED_IN_MATCH,
        },
    }  # fmt: skip
    for a in STATUSES:
        assert a.is_terminal == (a in TERMINAL)
        for b in STATUSES:
            assert transition_allowed(a, b) == (b in allowed.get(a, set())), (a, b)


def test_lifecycle_with_two_partial_fills_gives_exact_average_and_fees() -> None:
    o = order()
    assert o.status == OrderStatus.PENDING_NEW and not o.is_terminal
    assert o.apply_execution_report_json(report())
    assert o.status == OrderStatus.NEW and o.exchange_order_id == 4293153
    assert o.apply_execution_report_json(
        trade(1, "0.3000", "0.102644", "0.3000", "PARTIALLY_FILLED", "0.00002")
    )
    assert o.status == OrderStatus.PARTIALLY_FILLED
    assert o.apply_execution_report_json(
        trade(2, "0.7000", "0.102600", "1.0000", "FILLED", "0.00005").encode()
    )
    assert o.status == OrderStatus.FILLED and o.is_terminal
    # (0.3 * 0.102644 + 0.7 * 0.1026) / 1.0 = 0.1026132
    assert o.average_price == pytest.approx(0.1026132, abs=1e-15)
    assert o.filled_notional == pytest.approx(0.1026132, abs=1e-15)
    assert o.fees == {"BNB": pytest.approx(0.00007, abs=1e-15)}
    assert (o.filled_qty, o.remaining_qty, o.trade_ids) == (1.0, 0.0, [1, 2])
    assert o.updated_ms == 1499405700000


def test_repeated_trade_id_is_a_no_op() -> None:
    o = order()
    fill = trade(7, "0.4000", "0.102644", "0.4000", "PARTIALLY_FILLED", "0.00001")
    assert o.apply_execution_report_json(fill) is True
    snapshot = o.to_json()
    assert o.apply_execution_report_json(fill) is False
    assert o.apply_fill(7, 0.4, 0.102644) is False
    assert o.to_json() == snapshot


def test_overfill_is_refused_and_changes_nothing() -> None:
    o = order()
    assert o.apply_fill(1, 0.6, 0.102644, fee=0.1, fee_asset="BTC")
    snapshot = o.to_json()
    with pytest.raises(Overfill, match=r"filled to 1\.1 of 1"):
        o.apply_fill(2, 0.5, 0.102644)
    assert isinstance(Overfill("x"), InvalidTransition)
    assert o.to_json() == snapshot
    assert o.apply_fill(3, 0.4, 0.102644)
    assert o.status == OrderStatus.FILLED


def test_illegal_transitions_raise_and_leave_the_order_unchanged() -> None:
    o = order()
    o.transition(OrderStatus.NEW)
    with pytest.raises(InvalidTransition, match="NEW -> REJECTED"):
        o.transition(OrderStatus.REJECTED)
    with pytest.raises(InvalidTransition, match="filled 0"):
        o.transition(OrderStatus.FILLED)  # no fill delivered that quantity
    assert o.transition(OrderStatus.NEW) is False
    o.transition(OrderStatus.CANCELED)
    snapshot = o.to_json()
    for target in STATUSES:
        if target != OrderStatus.CANCELED:
            with pytest.raises(InvalidTransition):
                o.transition(target)
    with pytest.raises(InvalidTransition, match="CANCELED"):
        o.apply_fill(1, 0.1, 0.102644)
    assert o.to_json() == snapshot


def test_cancel_race_and_cancel_reject() -> None:
    o = order()
    o.apply_execution_report_json(report())
    o.transition(OrderStatus.PENDING_CANCEL)
    # A fill that raced the cancel keeps the cancel pending.
    o.apply_execution_report_json(trade(3, "0.2500", "0.102644", "0.2500", "PARTIALLY_FILLED", "0"))
    assert o.status == OrderStatus.PENDING_CANCEL
    o.cancel_rejected()
    assert o.status == OrderStatus.PARTIALLY_FILLED
    with pytest.raises(InvalidTransition):
        o.cancel_rejected()
    o.transition(OrderStatus.PENDING_CANCEL)
    # Spot cancel: `c` is the cancel request's id, `C` the order's original client id.
    canceled = report(x="CANCELED", X="CANCELED", c="cancel-req-1", C=CID, z="0.2500")
    assert o.apply_execution_report_json(canceled)
    assert o.status == OrderStatus.CANCELED and o.filled_qty == 0.25


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"i": 999, "c": "someone-else"}, "order id 999"),
        ({"s": "BTCUSDT"}, "BTCUSDT"),
        ({"S": "SELL"}, "side"),
        ({"q": "2.00000000"}, "quantity"),
        ({"p": "0.10264500"}, "price"),
        ({"o": "MARKET"}, "order type"),
        ({"X": "WHATEVER"}, "WHATEVER"),
        ({"e": "outboundAccountPosition"}, "outboundAccountPosition"),
        ({"x": "TRADE", "X": "PARTIALLY_FILLED", "t": 1, "l": "0.5", "z": "0.9", "L": "0.1"},
         "missing"),
        ({"x": "TRADE", "X": "PARTIALLY_FILLED", "t": 1, "l": "0.5", "z": "0.5",
          "L": "0.1000005"}, "multiple"),
    ],
)  # fmt: skip
def test_bad_reports_raise_invalid_input(fields: dict[str, Any], message: str) -> None:
    o = order()
    o.apply_execution_report_json(report())
    snapshot = o.to_json()
    with pytest.raises(InvalidInput, match=message):
        o.apply_execution_report_json(report(**fields))
    assert o.to_json() == snapshot


@pytest.mark.parametrize("raw", ["", "{", "[1,2]", '{"e": "executionReport"}', b"\xff\xfe"])
def test_malformed_reports(raw: str | bytes) -> None:
    o = order()
    with pytest.raises(InvalidInput):
        o.apply_execution_report_json(raw)
    assert o.status == OrderStatus.PENDING_NEW


def test_once_acknowledged_the_exchange_id_identifies_the_order() -> None:
    o = order()
    assert o.acknowledge(4293153) is True  # the REST response to the new order
    assert (o.status, o.exchange_order_id) == (OrderStatus.NEW, 4293153)
    assert o.acknowledge(4293153) is False
    with pytest.raises(InvalidInput, match="already has exchange id"):
        o.acknowledge(1)
    assert o.apply_execution_report_json(report()) is False  # the stream's NEW: nothing new
    with pytest.raises(InvalidInput, match="4293154"):
        o.apply_execution_report_json(report(i=4293154))


def test_usdm_order_trade_update_and_wrappers() -> None:
    filters = SymbolFilters("BTCUSDT", "0.10", "0.001")
    o = Order("gt.1.2", filters, Side.SELL, 0.002, 61659.7)
    update = {
        "e": "ORDER_TRADE_UPDATE", "E": 1723161600000, "T": 1723161600000,
        "o": {
            "s": "BTCUSDT", "c": "gt.1.2", "S": "SELL", "o": "LIMIT", "f": "GTC", "q": "0.002",
            "p": "61659.70", "ap": "61659.70", "sp": "0", "x": "TRADE", "X": "FILLED", "i": 4077,
            "l": "0.002", "z": "0.002", "L": "61659.70", "N": "USDT", "n": "0.02466388",
            "T": 1723161600000, "t": 555, "b": "0", "a": "0", "m": True, "R": False,
            "wt": "CONTRACT_PRICE", "ot": "LIMIT", "ps": "BOTH", "cp": False, "rp": "0",
        },
    }  # fmt: skip
    assert o.apply_execution_report_json(json.dumps({"stream": "user", "data": update}))
    assert o.status == OrderStatus.FILLED
    assert o.average_price == 61659.7
    assert o.fees == {"USDT": 0.02466388}
    ws_api = json.dumps({"subscriptionId": 0, "event": update})
    assert o.apply_execution_report_json(ws_api) is False


def test_order_validation() -> None:
    with pytest.raises(InvalidInput, match="client order id"):
        Order("has space", FILTERS, Side.BUY, 1.0, 0.1)
    with pytest.raises(InvalidInput, match="quantity"):
        Order(CID, FILTERS, Side.BUY, 0.00005, 0.1)
    with pytest.raises(InvalidInput, match="price"):
        Order(CID, FILTERS, Side.BUY, 1.0, 0.1000005)
    with pytest.raises(InvalidInput, match="needs a price"):
        Order(CID, FILTERS, Side.BUY, 1.0)
    market = Order(CID, FILTERS, Side.BUY, 1.0, order_type=OrderType.MARKET)
    assert market.price is None


def test_json_round_trip_and_tampering() -> None:
    o = order()
    o.apply_execution_report_json(report())
    o.apply_fill(11, 0.25, 0.1026, fee=0.0001, fee_asset="BNB", time_ms=5)
    raw = o.to_json()
    back = Order.from_json(raw)
    assert back.to_json() == raw
    assert (back.status, back.filled_qty, back.trade_ids) == (o.status, 0.25, [11])
    assert back.apply_fill(11, 0.25, 0.1026) is False  # dedup survives a restart
    data = json.loads(raw)
    data["filled_steps"] = 5000  # no longer the sum of the fills
    with pytest.raises(InvalidInput, match="add up"):
        Order.from_json(json.dumps(data))
    data = json.loads(raw)
    data["status"] = "FILLED"
    with pytest.raises(InvalidInput, match="FILLED"):
        Order.from_json(json.dumps(data))


def test_client_order_ids() -> None:
    assert client_order_id("kelly", 0, 0) == "kelly.0.0"
    cid = client_order_id("kelly_v2", 1_732_400_000_000, 12345)
    assert cid == client_order_id("kelly_v2", 1_732_400_000_000, 12345)  # same after restart
    assert re.fullmatch(r"[.A-Z:/a-z0-9_-]{1,36}", cid)
    assert parse_client_order_id(cid) == ("kelly_v2", 1_732_400_000_000, 12345)
    longest = client_order_id("abcdefghij", 36**12 - 1, 36**12 - 1)
    assert len(longest) == 36
    for bad in [("", 1, 1), ("a.b", 1, 1), ("x" * 11, 1, 1), ("a", 36**12, 1)]:
        with pytest.raises(InvalidInput):
            client_order_id(*bad)
    with pytest.raises(InvalidInput):
        parse_client_order_id("not-ours")


@settings(max_examples=300, deadline=None)
@given(
    strategy=st.from_regex(r"[A-Za-z0-9_-]{1,10}", fullmatch=True),
    a=st.tuples(st.integers(0, 36**12 - 1), st.integers(0, 36**12 - 1)),
    b=st.tuples(st.integers(0, 36**12 - 1), st.integers(0, 36**12 - 1)),
)
def test_client_order_ids_never_collide(
    strategy: str, a: tuple[int, int], b: tuple[int, int]
) -> None:
    ida, idb = client_order_id(strategy, *a), client_order_id(strategy, *b)
    assert re.fullmatch(r"[.A-Z:/a-z0-9_-]{1,36}", ida)
    assert (ida == idb) == (a == b)


operations = st.lists(
    st.one_of(
        st.tuples(st.just("fill"), st.integers(0, 15), st.integers(1, 6000)),
        st.tuples(st.just("move"), st.sampled_from(STATUSES), st.just(0)),
        st.tuples(st.just("cancel_rejected"), st.just(0), st.just(0)),
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(ops=operations)
def test_invariants_under_any_sequence(ops: list[tuple[str, Any, int]]) -> None:
    o = order(quantity=1.0)  # 10000 steps of 0.0001
    seen: set[int] = set()
    for kind, arg, steps in ops:
        before_status, before = o.status, o.to_json()
        try:
            if kind == "fill":
                changed = o.apply_fill(arg, steps * 0.0001, 0.102644, 0.00001, "BNB")
                assert changed == (arg not in seen)
                seen.add(arg)
            elif kind == "move":
                o.transition(arg)
            else:
                o.cancel_rejected()
        except (InvalidTransition, InvalidInput):
            assert o.to_json() == before  # a failed operation changes nothing
        if before_status in TERMINAL:
            assert o.status == before_status  # nothing leaves a terminal status
        assert 0 <= o.filled_qty <= o.quantity + 1e-12
        assert (o.status == OrderStatus.FILLED) == (abs(o.filled_qty - o.quantity) < 1e-12)
        assert Order.from_json(o.to_json()).to_json() == o.to_json()


def test_stale_reports_are_no_ops_and_lost_fills_are_errors() -> None:
    o = order()
    o.apply_execution_report_json(report())
    o.apply_execution_report_json(trade(1, "0.2000", "0.102644", "0.2000", "PARTIALLY_FILLED", "0"))
    snapshot = o.to_json()
    assert o.apply_execution_report_json(report()) is False  # the NEW report again, z=0
    assert o.to_json() == snapshot
    # A cancel whose cumulative quantity is ahead of the fills we have: one fill was lost.
    ahead = report(x="CANCELED", X="CANCELED", z="0.5000")
    with pytest.raises(InvalidInput, match="missing"):
        o.apply_execution_report_json(ahead)
    assert o.to_json() == snapshot
    # After reconciling the lost trade, the same cancel applies.
    assert o.apply_fill(2, 0.3, 0.102644)
    assert o.apply_execution_report_json(ahead)
    assert o.status == OrderStatus.CANCELED and o.filled_qty == 0.5


def test_amend_keep_priority_lowers_the_quantity() -> None:
    o = order()
    o.apply_execution_report_json(report())
    o.apply_execution_report_json(trade(1, "0.2000", "0.102644", "0.2000", "PARTIALLY_FILLED", "0"))
    amended = report(x="REPLACED", X="PARTIALLY_FILLED", q="0.50000000", z="0.2000")
    assert o.apply_execution_report_json(amended)
    assert (o.quantity, o.remaining_qty) == (0.5, 0.3)
    with pytest.raises(InvalidInput, match="below the filled"):
        o.apply_execution_report_json(report(x="REPLACED", X="PARTIALLY_FILLED", q="0.1", z="0.2"))
    with pytest.raises(Overfill):
        o.apply_fill(2, 0.4, 0.102644)


def test_reports_binance_cannot_send_are_refused_with_the_order_intact() -> None:
    """Issue 12: an amend to the filled quantity that stays PARTIALLY_FILLED (the order then
    failed its own invariant on reload), an amend that raises the quantity, and a trade above
    a BUY limit were accepted."""
    o = order()
    o.apply_execution_report_json(report())
    o.apply_execution_report_json(trade(1, "0.2000", "0.102644", "0.2000", "PARTIALLY_FILLED", "0"))
    snapshot = o.to_json()
    impossible = [
        report(x="REPLACED", X="PARTIALLY_FILLED", q="0.20000000", z="0.2000"),
        report(x="REPLACED", X="PARTIALLY_FILLED", q="2.00000000", z="0.2000"),
        trade(2, "0.1000", "0.102645", "0.3000", "PARTIALLY_FILLED", "0"),
        trade(2, "0.1000", "0.200000", "0.3000", "PARTIALLY_FILLED", "0"),
    ]
    for raw in impossible:
        with pytest.raises(InvalidInput):
            o.apply_execution_report_json(raw)
        assert o.to_json() == snapshot
        assert Order.from_json(o.to_json()).to_json() == snapshot
    # Binance's own amend down to the filled quantity completes the order.
    assert o.apply_execution_report_json(
        report(x="REPLACED", X="FILLED", q="0.20000000", z="0.2000")
    )
    assert o.status == OrderStatus.FILLED
    assert Order.from_json(o.to_json()).to_json() == o.to_json()


def test_accumulation_near_the_fixed_point_limit_is_refused_not_wrapped() -> None:
    """Issue 12: two fills near the maximum quantity made filled_qty and remaining negative and
    wrapped the fee total; the order's own JSON then failed to load."""
    filters = SymbolFilters("BTCUSDT", "0.01", "0.00000001")
    big = 9.0e9  # 9e17 steps of 1e-8
    o = Order(CID, filters, Side.BUY, big, None, OrderType.MARKET)
    assert o.apply_fill(1, big / 2, 1.0, 8.9e8, "USDT")
    snapshot = o.to_json()
    with pytest.raises(InvalidInput, match="fee total"):
        o.apply_fill(2, big / 4, 1.0, 8.9e8, "USDT")
    with pytest.raises(Overfill):
        o.apply_fill(3, big, 1.0, 0.0)
    assert o.to_json() == snapshot
    assert o.filled_qty > 0 and o.remaining_qty > 0
    assert Order.from_json(o.to_json()).to_json() == snapshot
