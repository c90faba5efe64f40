"""RiskManager: one sizing mode at a time, caps and rounding, the breaker, typed rejections."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradtrade.core import PositionSizer, RejectReason, Side, TradingState
from gradtrade.events import Decision
from gradtrade.risk import OrderCheck, RiskManager, SizingSkip, SkipReason, Target

PRICE = 61_602.01


def _target(m: RiskManager, d: Decision, equity: float = 10_000.0, pos: float = 0.0) -> Target:
    t = m.target(d, equity=equity, position=pos, price=PRICE)
    assert isinstance(t, Target), t
    return t


def test_policy_sizing_is_u_raw_capped_and_rounded_down(make_manager: Callable) -> None:
    m = make_manager(sizing="policy", max_leverage=1.0)
    t = _target(m, Decision("BTCUSDT", 0, 0.5))
    assert t.qty == pytest.approx(math.floor(0.5 * 10_000 / PRICE / 1e-5) * 1e-5, abs=1e-12)
    assert t.qty * PRICE <= 0.5 * 10_000
    assert _target(m, Decision("BTCUSDT", 0, 3.0)).leverage == 1.0  # capped, not scaled
    assert _target(m, Decision("BTCUSDT", 0, -0.5)).qty < 0
    no_short = make_manager(allow_short=False)
    assert _target(no_short, Decision("BTCUSDT", 0, -0.5)).qty == 0.0


def test_kelly_and_vol_target_modes_use_the_forecast_only(make_manager: Callable) -> None:
    kelly = make_manager(sizing="kelly", kelly_fraction=0.5, max_leverage=2.0)
    d = Decision("BTCUSDT", 0, u_raw=0.9, mean=2e-4, var=1e-4)
    sizer = PositionSizer(kelly.filters, kelly_fraction=0.5, target_vol=kelly.vol_target,
                          max_leverage=2.0)  # fmt: skip
    expected = sizer.leverage(math.expm1(2e-4 + 0.5e-4), 1e-2)
    assert _target(kelly, d).leverage == pytest.approx(expected)
    # the policy's size is ignored: the same forecast with another u_raw sizes the same
    assert _target(kelly, Decision("BTCUSDT", 0, 0.1, 2e-4, 1e-4)).leverage == expected
    vt = make_manager(sizing="vol_target", vol_target_annual=0.4, max_leverage=5.0)
    lev = _target(vt, Decision("BTCUSDT", 0, -0.2, 0.0, 1e-4)).leverage
    assert lev == pytest.approx(-(0.4 / math.sqrt(8760)) / 1e-2)


def test_unsizable_decisions_are_counted_skips(make_manager: Callable) -> None:
    m = make_manager(sizing="kelly")
    for d, reason in [
        (Decision("BTCUSDT", 0, math.nan), SkipReason.NON_FINITE_DECISION),
        (Decision("BTCUSDT", 0, math.inf), SkipReason.NON_FINITE_DECISION),
        (Decision("BTCUSDT", 0, 0.5, 1e-4, math.nan), SkipReason.NO_FORECAST),
        (Decision("BTCUSDT", 0, 0.5, 1e-4, -1.0), SkipReason.NO_FORECAST),
    ]:
        out = m.target(d, equity=1e4, position=0.0, price=PRICE)
        assert isinstance(out, SizingSkip) and out.reason == reason
    assert m.skips[SkipReason.NON_FINITE_DECISION] == 2 and m.skips[SkipReason.NO_FORECAST] == 2


def test_breaker_reduces_then_halts_and_only_reset_reopens(make_manager: Callable) -> None:
    m = make_manager(reduce_drawdown=0.1, halt_drawdown=0.2)
    assert m.update_equity(10_000) == TradingState.ACTIVE
    assert m.update_equity(8_900) == TradingState.REDUCING
    t = _target(m, Decision("BTCUSDT", 0, 1.0), equity=8_900, pos=0.05)
    assert t.reduce_only and t.qty == pytest.approx(0.05)  # may keep, never add
    assert _target(m, Decision("BTCUSDT", 0, -1.0), 8_900, 0.05).qty == 0.0  # no flip
    assert m.update_equity(7_900) == TradingState.HALTED
    assert m.update_equity(12_000) == TradingState.HALTED  # recovery does not re-open
    halted = _target(m, Decision("BTCUSDT", 0, 1.0), equity=12_000, pos=0.05)
    assert halted.qty == 0.0 and halted.state == TradingState.HALTED
    # the flattening order passes the pre-trade check (reduce-only) while HALTED
    flatten = OrderCheck(Side.SELL, 0.05, PRICE, PRICE, 0.05, 0, 12_000, 1, reduce_only=True)
    assert m.pre_trade(flatten).approved
    m.reset_breaker(12_000)
    assert m.state == TradingState.ACTIVE
    assert _target(m, Decision("BTCUSDT", 0, 1.0), 12_000).qty > 0


def test_rejections_are_typed_counted_and_never_raise(make_manager: Callable) -> None:
    m = make_manager(limits={"max_position": 0.1, "max_orders_per_second": 2,
                             "price_band_bps": 50})  # fmt: skip
    too_big = OrderCheck(Side.BUY, 0.2, PRICE, PRICE, 0.0, 0, 1e6, 0)
    off_band = OrderCheck(Side.BUY, 0.01, 62_300.0, PRICE, 0.0, 0, 1e6, 0)
    nan_qty = OrderCheck(Side.BUY, math.nan, PRICE, PRICE, 0.0, 0, 1e6, 0)
    off_step = OrderCheck(Side.BUY, 0.000015, PRICE, PRICE, 0.0, 0, 1e6, 0)
    reasons = [m.pre_trade(o).reason for o in (too_big, off_band, nan_qty, off_step)]
    assert reasons == [RejectReason.MAX_POSITION, RejectReason.PRICE_BAND,
                       RejectReason.INVALID_ORDER, RejectReason.QUANTITY_STEP]  # fmt: skip
    ok = OrderCheck(Side.BUY, 0.01, PRICE, PRICE, 0.0, 0, 1e6, 5)
    assert m.check(ok).approved and m.check(ok).approved  # pure: records nothing
    assert m.pre_trade(ok).approved and m.pre_trade(ok).approved
    assert m.pre_trade(ok).reason == RejectReason.RATE_LIMIT  # the two sent ones count
    assert sum(m.rejections.values()) == 5 and m.rejections[RejectReason.RATE_LIMIT] == 1


def test_stops_in_sigmas_and_percent(make_manager: Callable) -> None:
    sig = make_manager(stops={"mode": "sigma", "stop_loss": 2.0, "take_profit": 3.0})
    t = _target(sig, Decision("BTCUSDT", 0, 0.5, 0.0, 1e-4))
    assert t.stop_loss == sig.sizer.stops(Side.BUY, PRICE, 1e-2)[0]
    assert t.stop_loss is not None and t.take_profit is not None
    assert t.stop_loss < PRICE < t.take_profit
    pct = make_manager(stops={"mode": "percent", "stop_loss": 1.0, "take_profit": 2.0})
    short = _target(pct, Decision("BTCUSDT", 0, -0.5))
    assert short.stop_loss == pytest.approx(math.floor(PRICE * 1.01 / 0.01 + 1e-9) * 0.01)
    assert short.take_profit == pytest.approx(math.ceil(PRICE * 0.98 / 0.01 - 1e-9) * 0.01)
    assert _target(pct, Decision("BTCUSDT", 0, 0.0)).stop_loss is None  # flat: nothing to stop


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    u=st.floats(-50, 50, allow_nan=False),
    equity=st.floats(1.0, 1e9),
    price=st.floats(0.01, 1e6),
    lev=st.floats(0.1, 20),
)
def test_target_never_exceeds_the_leverage_cap_and_is_on_the_step(
    make_manager: Callable, u: float, equity: float, price: float, lev: float
) -> None:
    m = make_manager(max_leverage=lev)
    t = m.target(Decision("BTCUSDT", 0, u), equity=equity, position=0.0, price=price)
    assert isinstance(t, Target)
    assert abs(t.qty) * price <= lev * equity * (1 + 1e-12)
    steps = abs(t.qty) / 1e-5
    assert abs(steps - round(steps)) <= 1e-7 + steps * 1e-14  # core.exact_units tolerance
