"""Property tests of every ``from_json`` of ``gradtrade.core``: saved state restores exactly, and
a tampered journal is refused (issue 12).

Invariant: for any object built through the public API, ``from_json(to_json(x))`` is ``x`` (same
JSON). A restore runs the validation construction runs, so a mutation that breaks an invariant
(fills under NEW, sums that do not add up, ACTIVE past the halt level, a negative variance, an
absurd grid, an unknown field) raises ``InvalidInput``; an arbitrary mutation either raises a
``gradtrade.errors`` class or yields an object that itself round-trips. Nothing else comes out.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradtrade.core import (
    DrawdownBreaker,
    InvalidInput,
    KalmanFilter,
    Order,
    OrderBook,
    OrderStatus,
    Position,
    RiskEngine,
    RiskLimits,
    Side,
    StreamingFeatures,
    SymbolFilters,
    TradingState,
)
from gradtrade.errors import GradtradeError

FILTERS = SymbolFilters("BTCUSDT", "0.01", "0.001", min_qty="0.001", quote_asset="USDT")
LIMITS = RiskLimits(
    max_order_notional=1e5,
    max_position=1.0,
    max_leverage=3.0,
    max_open_orders=10,
    max_orders_per_second=5,
    price_band_bps=50.0,
    reduce_drawdown=0.05,
    halt_drawdown=0.1,
)

fill_steps = st.lists(st.tuples(st.integers(1, 400), st.integers(9000, 10_000)), max_size=6)


def build_order(side: Side, fills: list[tuple[int, int]]) -> Order:
    """A limit order at 100.00 for 1.000 with the fills that fit (qty steps, price ticks)."""
    order = Order("t-1-1", FILTERS, side, 1.0, 100.0)
    order.acknowledge(9)
    for trade_id, (steps, ticks) in enumerate(fills, start=1):
        price = ticks / 100 if side == Side.BUY else (20_000 - ticks) / 100
        if order.filled_qty + steps / 1000 > order.quantity + 1e-9:
            break
        order.apply_fill(trade_id, steps / 1000, price, steps * 1e-6, "USDT", trade_id)
    return order


def round_trips(obj: Any, load: Callable[[str], Any]) -> None:
    text = obj.to_json()
    back = load(text)
    assert back.to_json() == text


def mutated_keys(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a scalar in a JSON document."""
    if isinstance(data, dict):
        return [p for k, v in data.items() for p in mutated_keys(v, (*path, k))]
    if isinstance(data, list):
        return [p for i, v in enumerate(data) for p in mutated_keys(v, (*path, i))]
    return [path]


def set_path(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for key in path[:-1]:
        data = data[key]
    data[path[-1]] = value


REPLACEMENTS = st.sampled_from(
    [-1, 0, 1, -(2**63), 2**63 - 1, 2**64, 1e308, -1e-300, "", "NaN", "inf", None, [], {}, True]
)


def assert_refused_or_consistent(text: str, load: Callable[[str], Any]) -> None:
    try:
        restored = load(text)
    except GradtradeError:
        return
    round_trips(restored, load)


@settings(max_examples=60, deadline=None)
@given(side=st.sampled_from([Side.BUY, Side.SELL]), fills=fill_steps, data=st.data())
def test_order_round_trips_and_refuses_tampering(
    side: Side, fills: list[tuple[int, int]], data: st.DataObject
) -> None:
    order = build_order(side, fills)
    round_trips(order, Order.from_json)
    saved = json.loads(order.to_json())
    path = data.draw(st.sampled_from(mutated_keys(saved)))
    broken = json.loads(order.to_json())
    set_path(broken, path, data.draw(REPLACEMENTS))
    assert_refused_or_consistent(json.dumps(broken), Order.from_json)
    # Mutations that break an invariant are always refused.
    tampered: list[dict[str, Any]] = []
    extra = dict(saved, surprise=1)
    tampered.append(extra)
    if saved["fills"]:
        for key, delta in (("qty_steps", 1), ("fee_units", 1), ("price_ticks", 1)):
            t = json.loads(order.to_json())
            t["fills"][0][key] += delta
            tampered.append(t)
        t = json.loads(order.to_json())
        t["fills"][0]["qty_steps"] = -t["fills"][0]["qty_steps"]
        tampered.append(t)
        t = json.loads(order.to_json())
        t["status"] = "NEW"
        tampered.append(t)
    else:
        t = json.loads(order.to_json())
        t["status"] = "FILLED"
        tampered.append(t)
    t = json.loads(order.to_json())
    t["tick"]["scale"] = 400
    tampered.append(t)
    t = json.loads(order.to_json())
    t["step"]["mantissa"] = 0
    tampered.append(t)
    for t in tampered:
        with pytest.raises(InvalidInput):
            Order.from_json(json.dumps(t))


@settings(max_examples=60, deadline=None)
@given(equities=st.lists(st.floats(-50, 2000, allow_nan=False), min_size=1, max_size=30))
def test_breaker_and_engine_restore_no_looser_than_they_were(equities: list[float]) -> None:
    breaker = DrawdownBreaker(0.05, 0.1)
    engine = RiskEngine(LIMITS, FILTERS)
    for e in equities:
        breaker.update(e)
        engine.update_equity(e)
    round_trips(breaker, DrawdownBreaker.from_json)
    round_trips(engine, RiskEngine.from_json)
    saved = json.loads(breaker.to_json())
    if breaker.drawdown >= 0.1 or equities[-1] <= 0:
        assert breaker.state == TradingState.HALTED
        for loosened in ("ACTIVE", "REDUCING"):
            with pytest.raises(InvalidInput):
                DrawdownBreaker.from_json(json.dumps(dict(saved, state=loosened)))
            engine_saved = json.loads(engine.to_json())
            engine_saved["breaker"]["state"] = loosened
            with pytest.raises(InvalidInput):
                RiskEngine.from_json(json.dumps(engine_saved))
    with pytest.raises(InvalidInput):
        DrawdownBreaker.from_json(json.dumps(dict(saved, high_water_mark=-1.0)))
    with pytest.raises(InvalidInput):
        DrawdownBreaker.from_json(json.dumps(dict(saved, extra=0)))


@settings(max_examples=40, deadline=None)
@given(
    q=st.floats(1e-8, 1.0),
    r=st.floats(1e-6, 10.0),
    zs=st.lists(st.one_of(st.floats(-1e3, 1e3), st.just(math.nan)), max_size=20),
)
def test_kalman_round_trips_and_refuses_negative_variance(
    q: float, r: float, zs: list[float]
) -> None:
    kf = KalmanFilter.local_level(q, r)
    for z in zs:
        kf.update(z)
    round_trips(kf, KalmanFilter.from_json)
    saved = json.loads(kf.to_json())
    saved["p"][0][0] = "-1e-300"
    with pytest.raises(InvalidInput, match="negative variance"):
        KalmanFilter.from_json(json.dumps(saved))
    saved = json.loads(kf.to_json())
    saved["model"]["q"] = str(-q)
    with pytest.raises(InvalidInput):
        KalmanFilter.from_json(json.dumps(saved))


@settings(max_examples=40, deadline=None)
@given(
    fills=st.lists(
        st.tuples(st.booleans(), st.integers(1, 2000), st.integers(9000, 11_000)), max_size=12
    ),
    data=st.data(),
)
def test_position_round_trips_and_mutations_stay_consistent(
    fills: list[tuple[bool, int, int]], data: st.DataObject
) -> None:
    p = Position(FILTERS)
    for buy, steps, ticks in fills:
        p.apply_fill(Side.BUY if buy else Side.SELL, steps / 1000, ticks / 100, 0.01, "USDT")
    round_trips(p, Position.from_json)
    saved = json.loads(p.to_json())
    broken = json.loads(p.to_json())
    set_path(broken, data.draw(st.sampled_from(mutated_keys(saved))), data.draw(REPLACEMENTS))
    assert_refused_or_consistent(json.dumps(broken), Position.from_json)
    with pytest.raises(InvalidInput):
        Position.from_json(json.dumps(dict(saved, extra=1)))


@settings(max_examples=40, deadline=None)
@given(
    bids=st.lists(st.tuples(st.integers(9000, 9999), st.integers(1, 10**6)), max_size=8),
    asks=st.lists(st.tuples(st.integers(10_000, 11_000), st.integers(1, 10**6)), max_size=8),
    data=st.data(),
)
def test_book_round_trips_and_mutations_stay_consistent(
    bids: list[tuple[int, int]], asks: list[tuple[int, int]], data: st.DataObject
) -> None:
    book = OrderBook("BTCUSDT", "0.01", "0.001")
    book.apply_snapshot(
        5,
        [(f"{p / 100:.2f}", f"{q / 1000:.3f}") for p, q in dict(bids).items()],
        [(f"{p / 100:.2f}", f"{q / 1000:.3f}") for p, q in dict(asks).items()],
    )
    round_trips(book, OrderBook.from_json)
    saved = json.loads(book.to_json())
    broken = json.loads(book.to_json())
    set_path(broken, data.draw(st.sampled_from(mutated_keys(saved))), data.draw(REPLACEMENTS))
    assert_refused_or_consistent(json.dumps(broken), OrderBook.from_json)
    for bad in (dict(saved, extra=1), dict(saved, tick_size="0"), dict(saved, step_size="1e-400")):
        with pytest.raises(InvalidInput):
            OrderBook.from_json(json.dumps(bad))


@settings(max_examples=30, deadline=None)
@given(
    prices=st.lists(st.floats(1.0, 1e5), max_size=30),
    data=st.data(),
)
def test_features_and_filters_round_trip(prices: list[float], data: st.DataObject) -> None:
    features = StreamingFeatures()
    for i, price in enumerate(prices):
        features.update(price, float(i))
    round_trips(features, StreamingFeatures.from_json)
    saved = json.loads(features.to_json())
    broken = json.loads(features.to_json())
    set_path(broken, data.draw(st.sampled_from(mutated_keys(saved))), data.draw(REPLACEMENTS))
    assert_refused_or_consistent(json.dumps(broken), StreamingFeatures.from_json)
    with pytest.raises(InvalidInput):
        StreamingFeatures.from_json(json.dumps(dict(saved, extra=1)))
    round_trips(FILTERS, SymbolFilters.from_json)
    round_trips(LIMITS, RiskLimits.from_json)
    filters = json.loads(FILTERS.to_json())
    for bad_tick in (
        {"mantissa": 0, "scale": 2, "unit": 0.0},
        {"mantissa": 1, "scale": 99, "unit": 1e-99},
    ):
        with pytest.raises(InvalidInput):
            SymbolFilters.from_json(json.dumps(dict(filters, tick=bad_tick)))


def test_status_enum_is_what_json_holds() -> None:
    order = build_order(Side.BUY, [(300, 10_000)])
    assert order.status == OrderStatus.PARTIALLY_FILLED
    assert json.loads(order.to_json())["status"] == "PARTIALLY_FILLED"
