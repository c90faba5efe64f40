"""Position sizing, protective levels and the drawdown circuit breaker."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradtrade.core import (
    DrawdownBreaker,
    InvalidInput,
    PositionSizer,
    Side,
    SymbolFilters,
    TradingState,
    kelly_leverage,
    vol_target_leverage,
)

FILTERS = SymbolFilters("BTCUSDT", "0.01", "0.001", min_qty="0.001", min_notional=5, max_qty=1000)


def sizer(**kwargs: float) -> PositionSizer:
    params = {"kelly_fraction": 0.5, "target_vol": 0.02, "max_leverage": 2.0}
    params.update(kwargs)
    return PositionSizer(FILTERS, **params)


def test_kelly_and_vol_target_by_hand() -> None:
    # f = fraction * mu / sigma^2 = 0.25 * 0.0004 / 0.0001 = 1.0
    assert kelly_leverage(0.0004, 0.01, 0.25) == pytest.approx(1.0)
    assert kelly_leverage(-0.0004, 0.01) == pytest.approx(-4.0)
    assert vol_target_leverage(0.02, 0.04) == 0.5
    for bad in (math.nan, 0.0, -0.01, math.inf):
        with pytest.raises(InvalidInput, match="sigma"):
            kelly_leverage(0.001, bad)
    with pytest.raises(InvalidInput, match="predicted_vol"):
        vol_target_leverage(0.02, 0.0)


def test_leverage_is_the_smallest_of_kelly_vol_target_and_cap() -> None:
    s = sizer()
    assert s.leverage(0.001, 0.01) == 2.0  # Kelly 5, vol target 2, cap 2
    assert s.leverage(0.001, 0.02) == 1.0  # Kelly 1.25, vol target 1
    assert s.leverage(-0.0001, 0.01) == -0.5  # Kelly 0.5 is smallest
    assert s.leverage(0.0, 0.01) == 0.0
    assert sizer(max_leverage=0.3).leverage(0.001, 0.01) == 0.3


def test_size_rounds_down_to_the_step() -> None:
    s = sizer()
    # 0.5x of 10000 at 30000 = 0.16666.. -> 0.166
    assert s.size(0.0001, 0.01, 10_000.0, 30_000.0) == 0.166
    assert s.size(-0.0001, 0.01, 10_000.0, 30_000.0) == -0.166
    # 2x of 10 at 30000 is 0.000666: below one step, not tradable.
    assert s.size(0.001, 0.01, 10.0, 30_000.0) == 0.0
    # 2x of 9 at 1000 = 0.018 -> notional 18 >= 5, tradable; of 2 at 1000 = 0.004 -> 4 < 5.
    assert s.size(0.001, 0.01, 9.0, 1000.0) == 0.018
    assert s.size(0.001, 0.01, 2.0, 1000.0) == 0.0
    # max_qty caps: 2x of 1e9 at 1 would be 2e9 units.
    assert s.size(0.001, 0.01, 1e9, 1.0) == 1000.0
    assert s.size(0.001, 0.01, 0.0, 30_000.0) == 0.0
    assert s.size(0.001, 0.01, -5.0, 30_000.0) == 0.0


@pytest.mark.parametrize(
    "args",
    [
        (math.nan, 0.01, 1.0, 1.0),
        (0.001, math.nan, 1.0, 1.0),
        (0.001, 0.01, math.inf, 1.0),
        (0.001, 0.01, 1.0, 0.0),
    ],
)
def test_size_refuses_bad_inputs(args: tuple[float, float, float, float]) -> None:
    with pytest.raises(InvalidInput):
        sizer().size(*args)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kelly_fraction": 0.0},
        {"kelly_fraction": 1.5},
        {"target_vol": -0.1},
        {"max_leverage": math.nan},
        {"k_sl": 0.0},
    ],
)
def test_sizer_validates_parameters(kwargs: dict[str, float]) -> None:
    with pytest.raises(InvalidInput, match=next(iter(kwargs))):
        sizer(**kwargs)


def test_stops_round_toward_the_entry() -> None:
    s = sizer(k_sl=2.0, k_tp=3.0)
    assert s.stops(Side.BUY, 100.0, 0.01) == (98.0, 103.0)
    # Long: SL 98.00294 rounds up to 98.01, TP 103.00309 down to 103.00.
    assert s.stops(Side.BUY, 100.003, 0.01) == (98.01, 103.0)
    # Short: SL 102.00306 rounds down to 102.00, TP 97.00291 up to 97.01.
    assert s.stops(Side.SELL, 100.003, 0.01) == (102.0, 97.01)
    # Never on the entry itself.
    assert s.stops(Side.BUY, 100.0, 1e-9) == (99.99, 100.01)
    with pytest.raises(InvalidInput, match="zero"):
        s.stops(Side.BUY, 100.0, 0.6)
    with pytest.raises(InvalidInput):
        s.stops(Side.BUY, math.nan, 0.01)


def test_sizer_json_round_trip() -> None:
    s = sizer(k_sl=1.5)
    back = PositionSizer.from_json(s.to_json())
    assert back.k_sl == 1.5 and back.filters == FILTERS
    assert back.size(0.0001, 0.01, 10_000.0, 30_000.0) == s.size(0.0001, 0.01, 10_000.0, 30_000.0)
    with pytest.raises(InvalidInput):
        PositionSizer.from_json(s.to_json().replace('"k_sl":1.5', '"k_sl":-1.5'))


@settings(max_examples=400, deadline=None)
@given(
    mu=st.floats(-0.01, 0.01),
    sigma=st.floats(0.0005, 0.1),
    equity=st.floats(0.0, 1e7),
    price=st.floats(1.0, 100_000.0),
)
def test_size_never_exceeds_caps_and_is_a_step_multiple(
    mu: float, sigma: float, equity: float, price: float
) -> None:
    q = sizer().size(mu, sigma, equity, price)
    steps = round(q / 0.001)
    assert abs(q / 0.001 - steps) < 1e-6
    assert abs(q) <= 1000.0
    if q != 0.0:
        leverage = abs(q) * price / equity
        assert leverage <= 2.0 * (1 + 1e-9)
        assert leverage <= 0.02 / sigma * (1 + 1e-9)
        assert leverage <= 0.5 * abs(mu) / sigma**2 * (1 + 1e-9)
        assert math.copysign(1, q) == math.copysign(1, mu)
        assert abs(q) * price >= 5.0


@settings(max_examples=200, deadline=None)
@given(entry=st.floats(1.0, 100_000.0), sigma=st.floats(1e-6, 0.2), buy=st.booleans())
def test_stops_are_on_the_tick_and_on_the_right_side(entry: float, sigma: float, buy: bool) -> None:
    side = Side.BUY if buy else Side.SELL
    sl, tp = sizer(k_sl=2.0, k_tp=3.0).stops(side, entry, sigma)
    for level in (sl, tp):
        assert abs(level / 0.01 - round(level / 0.01)) < 1e-6
    if buy:
        assert sl < entry < tp
        # Rounding never widens the stop (it may tighten it to stay a tick off the entry).
        assert sl >= min(entry * (1 - 2 * sigma), entry - 0.01) - 1e-9
    else:
        assert tp < entry < sl
        assert sl <= max(entry * (1 + 2 * sigma), entry + 0.01) + 1e-9


def test_breaker_by_hand() -> None:
    b = DrawdownBreaker(0.05, 0.10)
    assert b.update(100.0) == TradingState.ACTIVE
    assert b.update(110.0) == TradingState.ACTIVE
    assert b.update(104.0) == TradingState.REDUCING  # 5.45% below 110
    assert b.drawdown == pytest.approx(6 / 110)
    assert b.update(120.0) == TradingState.REDUCING  # sticky: recovery does not re-open
    assert b.update(107.9) == TradingState.HALTED  # 10.08% below 120
    assert b.update(1000.0) == TradingState.HALTED
    assert b.high_water_mark == 1000.0
    b.reset()
    assert b.state == TradingState.ACTIVE and b.drawdown == 0.0
    assert b.update(960.0) == TradingState.ACTIVE  # 4% below the new mark
    b.reset(equity=500.0)
    assert b.high_water_mark == 500.0
    assert b.update(0.0) == TradingState.HALTED


def test_breaker_bad_inputs() -> None:
    with pytest.raises(InvalidInput, match="drawdown"):
        DrawdownBreaker(0.2, 0.1)
    with pytest.raises(InvalidInput):
        DrawdownBreaker(math.nan, 0.1)
    b = DrawdownBreaker(0.05, 0.1)
    with pytest.raises(InvalidInput, match="equity"):
        b.update(math.inf)
    with pytest.raises(InvalidInput):
        b.reset(equity=-1.0)
    assert b.state == TradingState.ACTIVE


@settings(max_examples=200, deadline=None)
@given(equities=st.lists(st.floats(-10.0, 1000.0), min_size=1, max_size=60))
def test_breaker_is_monotone_until_reset_and_round_trips(equities: list[float]) -> None:
    b = DrawdownBreaker(0.05, 0.2)
    previous = TradingState.ACTIVE
    for equity in equities:
        state = b.update(equity)
        assert int(state) >= int(previous)
        previous = state
    back = DrawdownBreaker.from_json(b.to_json())
    assert back.to_json() == b.to_json()
    assert back.state == b.state and back.high_water_mark == b.high_water_mark
