"""Position accounting: average entry, realized/unrealized PnL, flips, fees, persistence."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradtrade.core import InvalidInput, Order, Position, Side, SymbolFilters

FILTERS = SymbolFilters("BTCUSDT", "0.01", "0.001", base_asset="BTC", quote_asset="USDT")


def test_long_then_flip_to_short_by_hand() -> None:
    p = Position(FILTERS)
    assert p.quote_asset == "USDT" and p.is_flat and p.average_entry is None
    assert p.apply_fill(Side.BUY, 1.0, 100.0, 0.10, "USDT") == 0.0
    assert p.apply_fill(Side.BUY, 1.0, 110.0, 0.11, "USDT") == 0.0
    assert p.average_entry == 105.0
    assert p.unrealized_pnl(120.0) == 30.0
    # Sell 3 at 120: 2 long close at +15 each (= +30); 1 short opens at 120.
    assert p.apply_fill(Side.SELL, 3.0, 120.0, 0.36, "USDT") == 30.0
    assert p.quantity == -1.0 and p.average_entry == 120.0
    assert p.unrealized_pnl(100.0) == 20.0
    assert p.notional(100.0) == -100.0 and p.exposure(100.0) == 100.0
    assert p.realized_pnl == 30.0
    assert p.net_realized_pnl == pytest.approx(30.0 - 0.57, abs=1e-12)
    # Short covered at 90: +30 more, exactly flat.
    assert p.apply_fill(Side.BUY, 1.0, 90.0) == 30.0
    assert p.is_flat and p.quantity == 0.0 and p.average_entry is None
    assert p.realized_pnl == 60.0 and p.unrealized_pnl(12345.0) == 0.0
    assert p.fill_count == 4


def test_partial_close_keeps_the_average_entry() -> None:
    p = Position(FILTERS)
    p.apply_fill(Side.SELL, 0.3, 200.0)
    p.apply_fill(Side.SELL, 0.1, 204.0)  # average 201
    assert p.average_entry == pytest.approx(201.0, abs=1e-12)
    assert p.apply_fill(Side.BUY, 0.1, 191.0) == pytest.approx(1.0, abs=1e-12)
    assert p.quantity == pytest.approx(-0.3, abs=1e-15)
    assert p.average_entry == pytest.approx(201.0, abs=1e-12)


def test_float_noise_never_leaves_dust() -> None:
    p = Position(FILTERS)
    for _ in range(3):
        p.apply_fill(Side.BUY, 0.1, 100.0)
    p.apply_fill(Side.SELL, 0.3, 100.0)  # 0.1 + 0.1 + 0.1 != 0.3 in floats, == in steps
    assert p.is_flat and p.quantity == 0.0


def test_fees_by_asset_and_base_asset_fees_not_netted() -> None:
    p = Position(FILTERS)
    p.apply_fill(Side.BUY, 1.0, 100.0, 0.001, "BTC")
    p.apply_fill(Side.SELL, 1.0, 101.0, 0.05, "BNB")
    p.apply_fill(Side.BUY, 1.0, 100.0, 0.1, "USDT")
    assert p.fees == {"BTC": 0.001, "BNB": 0.05, "USDT": 0.1}
    assert p.net_realized_pnl == pytest.approx(1.0 - 0.1)
    no_quote = Position(SymbolFilters("BTCUSDT", "0.01", "0.001"))
    assert no_quote.quote_asset is None


@pytest.mark.parametrize(
    ("quantity", "price", "fee", "match"),
    [
        (0.0, 100.0, 0.0, "positive"),
        (-1.0, 100.0, 0.0, "positive"),
        (math.nan, 100.0, 0.0, "positive"),
        (1.0, math.inf, 0.0, "positive"),
        (0.0005, 100.0, 0.0, "step"),
        (1.0, 100.0, math.nan, "fee"),
    ],
)
def test_bad_fills_raise_and_change_nothing(
    quantity: float, price: float, fee: float, match: str
) -> None:
    p = Position(FILTERS)
    p.apply_fill(Side.BUY, 1.0, 100.0)
    snapshot = p.to_json()
    with pytest.raises(InvalidInput, match=match):
        p.apply_fill(Side.SELL, quantity, price, fee, "USDT")
    assert p.to_json() == snapshot


def test_json_round_trip_and_tampering() -> None:
    p = Position(FILTERS)
    p.apply_fill(Side.BUY, 0.5, 100.0, 0.01, "USDT")
    p.apply_fill(Side.SELL, 0.2, 110.0)
    back = Position.from_json(p.to_json())
    assert back.to_json() == p.to_json()
    assert back.realized_pnl == p.realized_pnl == pytest.approx(2.0)
    data = json.loads(p.to_json())
    data["qty_steps"] = 0  # flat with a cost basis left over
    with pytest.raises(InvalidInput, match="inconsistent"):
        Position.from_json(json.dumps(data))
    with pytest.raises(InvalidInput):
        Position.from_json("[]")


def test_order_fills_feed_the_position_with_the_exact_average() -> None:
    order = Order("gt.0.1", FILTERS, Side.BUY, 1.0, 101.0)
    order.apply_fill(1, 0.5, 100.0, 0.05, "USDT")
    order.apply_fill(2, 0.5, 101.0, 0.05, "USDT")
    assert order.average_price == 100.5  # exact: 0.5 @ 100.00 and 0.5 @ 101.00
    p = Position(FILTERS)
    p.apply_fill(order.side, order.filled_qty, order.average_price, order.fees["USDT"], "USDT")
    assert p.average_entry == 100.5 and p.unrealized_pnl(101.5) == 1.0


fills = st.lists(
    st.tuples(st.booleans(), st.integers(1, 5000), st.integers(9000, 11000)),
    min_size=1,
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(fills=fills)
def test_pnl_equals_the_cash_flow(fills: list[tuple[bool, int, int]]) -> None:
    """Realized + unrealized PnL at any mark equals cash spent/received + position value."""
    p = Position(FILTERS)
    cash = 0.0
    realized = 0.0
    for buy, steps, ticks in fills:
        side = Side.BUY if buy else Side.SELL
        quantity, price = steps / 1000, ticks / 100
        realized += p.apply_fill(side, quantity, price)
        cash -= side.sign * quantity * price
    mark = fills[-1][2] / 100
    expected = cash + p.quantity * mark
    assert p.realized_pnl + p.unrealized_pnl(mark) == pytest.approx(expected, abs=1e-6)
    assert p.realized_pnl == pytest.approx(realized, abs=1e-9)
    net_steps = sum(s if b else -s for b, s, _ in fills)
    assert round(p.quantity * 1000) == net_steps
    assert p.is_flat == (net_steps == 0)
    assert Position.from_json(p.to_json()).to_json() == p.to_json()


def test_cost_pnl_and_fees_that_overflow_are_refused() -> None:
    """Issue 12 (accumulation is checked): a fill whose cost, PnL or fee total would leave the
    finite range is refused before anything changes, so the position still saves and loads."""
    p = Position(FILTERS)
    p.apply_fill(Side.BUY, 10.0, 1e307, 1e307, "USDT")
    snapshot = p.to_json()
    for side, qty, price, fee in (
        (Side.BUY, 100.0, 1e307, 0.0),  # cost overflows
        (Side.SELL, 1.0, 1e307, 1.7e308),  # fee total overflows
        (Side.SELL, 10.0, 1.7e308, 0.0),  # realized PnL overflows
    ):
        with pytest.raises(InvalidInput, match="overflows"):
            p.apply_fill(side, qty, price, fee, "USDT")
        assert p.to_json() == snapshot
    assert Position.from_json(p.to_json()).to_json() == snapshot
    with pytest.raises(InvalidInput):
        Position.from_json(json.dumps(dict(json.loads(snapshot), extra=1)))
