"""PortfolioTracker: cash + holdings = equity = the core.Position view, after any fills."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradtrade.core import Side, SymbolFilters
from gradtrade.errors import InvalidInput
from gradtrade.events import FillEvent, Liquidity
from gradtrade.execution import PortfolioTracker

_ops = st.lists(
    st.one_of(
        st.tuples(st.just("fill"), st.sampled_from([Side.BUY, Side.SELL]),
                  st.integers(1, 10**6), st.integers(1_000_000, 9_000_000),
                  st.sampled_from(["USDT", "BTC"])),
        st.tuples(st.just("mark"), st.integers(1_000_000, 9_000_000)),
        st.tuples(st.just("funding"), st.floats(-0.003, 0.003)),
    ),
    max_size=40,
)  # fmt: skip


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(_ops)
def test_equity_identities_hold_after_any_sequence(
    filters: dict[str, SymbolFilters], ops: list[tuple]
) -> None:
    p = PortfolioTracker(10_000.0, filters)
    trade = 0
    for op in ops:
        if op[0] == "fill":
            _, side, steps, ticks, fee_asset = op
            qty, price = steps * 1e-5, ticks * 0.01
            fee = 1e-3 * (qty if fee_asset == "BTC" else qty * price)
            trade += 1
            p.apply_fill(FillEvent("t.0.1", trade, "BTCUSDT", side, price, qty, fee, fee_asset,
                                   Liquidity.TAKER, trade))  # fmt: skip
        elif op[0] == "mark":
            p.mark("BTCUSDT", op[1] * 0.01)
        elif "BTCUSDT" in p.marks:
            p.apply_funding("BTCUSDT", op[1])
        eq = p.equity()
        value = p.quantity("BTCUSDT") * p.marks.get("BTCUSDT", 0.0)
        assert eq == pytest.approx(p.cash + value, rel=1e-12, abs=1e-6)
        assert eq == pytest.approx(p.pnl_identity(), rel=1e-9, abs=1e-6)
        assert p.high_water_mark >= 10_000.0


def test_base_asset_fees_reduce_holdings(filters: dict[str, SymbolFilters]) -> None:
    p = PortfolioTracker(10_000.0, filters)
    p.apply_fill(FillEvent("t.0.1", 1, "BTCUSDT", Side.BUY, 50_000.0, 0.1, 0.0001, "BTC",
                           Liquidity.TAKER, 0))  # fmt: skip
    assert p.quantity("BTCUSDT") == pytest.approx(0.0999)
    assert p.cash == pytest.approx(5_000.0)
    assert p.equity() == pytest.approx(10_000.0 - 0.0001 * 50_000)
    assert p.costs().fees == pytest.approx(5.0)


def test_funding_is_paid_by_longs_and_bad_input_is_refused(
    filters: dict[str, SymbolFilters],
) -> None:
    p = PortfolioTracker(10_000.0, filters)
    with pytest.raises(InvalidInput):
        p.apply_funding("BTCUSDT", 1e-4)  # no mark price yet
    p.apply_fill(FillEvent("t.0.1", 1, "BTCUSDT", Side.BUY, 50_000.0, 0.1, 0.0, "USDT",
                           Liquidity.TAKER, 0))  # fmt: skip
    assert p.apply_funding("BTCUSDT", 1e-4) == pytest.approx(0.5)
    assert p.apply_funding("BTCUSDT", -1e-4, mark=60_000.0) == pytest.approx(-0.6)
    with pytest.raises(InvalidInput):
        p.mark("BTCUSDT", float("nan"))
    with pytest.raises(InvalidInput):
        p.quantity("ETHUSDT")
    with pytest.raises(InvalidInput):
        PortfolioTracker(0.0, filters)


def _uncached(p: PortfolioTracker) -> tuple[float, float, float]:
    """Equity, exposure and holdings from the ``core.Position``s, nothing kept."""
    values = []
    for s, pos in p.positions.items():
        held = pos.quantity - p.base_fees[s]
        values.append(held * p.marks[s] if s in p.marks else 0.0)
    eq = p.cash + sum(values)
    gross = sum(abs(v) for v in values)
    held = p.positions["BTCUSDT"].quantity - p.base_fees["BTCUSDT"]
    return eq, gross / eq if eq > 0 else float("inf"), held


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(_ops, st.lists(st.booleans(), min_size=40, max_size=40))
def test_kept_equity_and_holdings_equal_a_fresh_computation_exactly(
    filters: dict[str, SymbolFilters], ops: list[tuple], read_between: list[bool]
) -> None:
    p = PortfolioTracker(10_000.0, filters)
    for trade, (op, read) in enumerate(zip(ops, read_between, strict=False), start=1):
        if read:  # a read between two changes must not keep a stale figure
            p.equity()
            p.exposure()
        if op[0] == "fill":
            _, side, steps, ticks, fee_asset = op
            qty, price = steps * 1e-5, ticks * 0.01
            fee = 1e-3 * (qty if fee_asset == "BTC" else qty * price)
            p.apply_fill(FillEvent("t.0.1", trade, "BTCUSDT", side, price, qty, fee, fee_asset,
                                   Liquidity.TAKER, trade))  # fmt: skip
        elif op[0] == "mark":
            figures = p.mark_figures("BTCUSDT", op[1] * 0.01)
            assert figures == (p.equity(), p.exposure(), p.drawdown, p.quantity("BTCUSDT"))
        elif "BTCUSDT" in p.marks:
            p.apply_funding("BTCUSDT", op[1])
        else:
            p.cash = p.cash * (1 + op[1])
        eq, exposure, held = _uncached(p)
        assert (p.equity(), p.exposure(), p.quantity("BTCUSDT")) == (eq, exposure, held)
        assert p.drawdown == max(0.0, 1.0 - eq / p.high_water_mark)


def test_marks_are_read_only(filters: dict[str, SymbolFilters]) -> None:
    p = PortfolioTracker(10_000.0, filters)
    p.mark("BTCUSDT", 50_000.0)
    with pytest.raises(TypeError):
        p.marks["BTCUSDT"] = 1.0  # type: ignore[index]
    assert p.marks == {"BTCUSDT": 50_000.0}


def test_state_round_trips_into_a_fresh_tracker_and_bad_state_is_refused_intact(
    filters: dict[str, SymbolFilters],
) -> None:
    p = PortfolioTracker(10_000.0, filters)
    p.apply_fill(FillEvent("t.0.1", 1, "BTCUSDT", Side.BUY, 50_000.0, 0.1, 0.0001, "BTC",
                           Liquidity.TAKER, 0))  # fmt: skip
    p.mark("BTCUSDT", 55_000.0)
    fresh = PortfolioTracker(10_000.0, filters)
    fresh.restore_json(p.to_json())
    assert fresh.to_json() == p.to_json()
    # the kept figures come from the restored holdings, not from before the restore
    assert fresh.quantity("BTCUSDT") == p.quantity("BTCUSDT") == pytest.approx(0.0999)
    assert fresh.equity() == p.equity() and fresh.drawdown == p.drawdown
    good = fresh.to_json()
    state = json.loads(good)
    for field, value in [("cash", "x"), ("high_water_mark", None), ("marks", {"BTCUSDT": -1.0})]:
        with pytest.raises(InvalidInput):
            fresh.restore_json(json.dumps({**state, field: value}))
        assert fresh.to_json() == good
    with pytest.raises(InvalidInput, match="portfolio state"):
        fresh.restore_json(good.replace('"funding":0.0', '"funding":1e999'))
    with pytest.raises(InvalidInput, match="symbols"):
        fresh.restore_json(json.dumps({**state, "positions": {}}))
    assert fresh.to_json() == good


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(_ops, st.integers(-(10**6), 10**6), st.integers(1_000_000, 9_000_000))
def test_an_adopted_position_keeps_the_equity_identities_and_its_realized_pnl(
    filters: dict[str, SymbolFilters], ops: list[tuple], steps: int, ticks: int
) -> None:
    p = PortfolioTracker(10_000.0, filters)
    for trade, op in enumerate(o for o in ops if o[0] == "fill"):
        _, side, qty_steps, price_ticks, _ = op
        p.apply_fill(FillEvent("t.0.1", trade, "BTCUSDT", side, price_ticks * 0.01,
                               qty_steps * 1e-5, 0.01, "USDT", Liquidity.TAKER, trade))  # fmt: skip
    realized, fees = p.positions["BTCUSDT"].net_realized_pnl, p.costs().fees
    entry = ticks * 0.01
    p.adopt_position("BTCUSDT", steps * 1e-5, entry)
    pos = p.positions["BTCUSDT"]
    assert p.quantity("BTCUSDT") == pytest.approx(steps * 1e-5, abs=1e-12)
    assert pos.average_entry == (pytest.approx(entry) if steps else None)
    assert pos.net_realized_pnl == pytest.approx(realized) and p.costs().fees == fees
    for mark in (entry, entry * 1.1):
        p.mark("BTCUSDT", mark)
        eq = p.equity()
        assert eq == pytest.approx(p.cash + p.quantity("BTCUSDT") * mark, rel=1e-12, abs=1e-6)
        assert eq == pytest.approx(p.pnl_identity(), rel=1e-9, abs=1e-6)


def test_adopting_off_the_grid_or_without_an_entry_price_is_refused_intact(
    filters: dict[str, SymbolFilters],
) -> None:
    p = PortfolioTracker(10_000.0, filters)
    before = p.to_json()
    with pytest.raises(InvalidInput, match="grid"):
        p.adopt_position("BTCUSDT", 0.000015, 50_000.0)
    with pytest.raises(InvalidInput, match="entry price"):
        p.adopt_position("BTCUSDT", 0.001, None)
    with pytest.raises(InvalidInput, match="ETHUSDT"):
        p.adopt_position("ETHUSDT", 0.001, 50_000.0)
    assert p.to_json() == before
