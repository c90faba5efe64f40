"""The candle ladder (the book both the backtest and the stepped local exchange build from a bar)
and the walk-the-book fill model on the simulated venue."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradtrade.core import Side, SymbolFilters
from gradtrade.errors import InvalidInput
from gradtrade.events import Bar, FillEvent, IntentKind, Liquidity, OrderStyle
from gradtrade.execution import (
    Ack,
    Canceled,
    LadderConfig,
    OrderRequest,
    SimulatedVenue,
    WalkBookModel,
    candle_ladder,
)
from gradtrade.execution.ladder import walk

TICK, STEP = 0.01, 0.001


def bar(o: float, h: float, low: float, c: float, v: float, t: int = 0) -> Bar:
    return Bar("BTCUSDT", t, t + 300_000_000_000, o, h, low, c, v)


def test_ladder_rule_by_hand() -> None:
    # range 20.00 = 2000 ticks over 2 x 10 levels: gap 100 ticks; unit 300 * 0.0005 = 0.15
    lad = candle_ladder(60010.0, 59990.0, 60000.0, 300.0, TICK, STEP, LadderConfig())
    assert lad.asks[0] == (60000.01, 0.15) and lad.bids[0] == (59999.99, 0.15)
    assert lad.asks[1] == (60001.01, 0.3) and lad.bids[9] == (59990.99, 1.5)
    assert len(lad.asks) == len(lad.bids) == 10
    fills = walk(lad, Side.BUY, 0.5, STEP)
    assert fills == [(60000.01, 0.15), (60001.01, 0.3), (60002.01, 0.05)]


def test_quiet_bar_still_has_a_book_and_the_rest_is_left() -> None:
    lad = candle_ladder(100.0, 100.0, 100.0, 0.0, TICK, STEP, LadderConfig(levels=3))
    assert [q for _, q in lad.asks] == [0.001, 0.002, 0.003]
    assert [p for p, _ in lad.asks] == [100.01, 100.02, 100.03]  # gap at least one tick
    fills = walk(lad, Side.SELL, 0.01, STEP)
    assert sum(q for _, q in fills) == pytest.approx(0.006)  # all the book holds


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((60010.0, 59990.0, 60000.0, -1.0, TICK, STEP), "volume"),
        ((60010.0, 59990.0, 60020.0, 1.0, TICK, STEP), "low <= close <= high"),
        ((60010.0, 59990.0, 60000.0, 1.0, 0.0, STEP), "tick"),
        ((60010.0, 59990.0, 60000.0, 1.0, TICK, math.nan), "step"),
    ],
)
def test_bad_bar_or_grid_is_named(args: tuple[float, ...], field: str) -> None:
    with pytest.raises(InvalidInput, match=field):
        candle_ladder(*args, LadderConfig())


def test_bad_config_and_off_grid_order_are_refused() -> None:
    with pytest.raises(InvalidInput, match="levels"):
        LadderConfig(levels=0)
    with pytest.raises(InvalidInput, match="level_share"):
        LadderConfig(level_share=2.0)
    lad = candle_ladder(101.0, 99.0, 100.0, 10.0, TICK, STEP, LadderConfig())
    with pytest.raises(InvalidInput, match="multiple"):
        walk(lad, Side.BUY, 0.0015, STEP)


prices = st.floats(1.0, 100_000.0)


sides = st.sampled_from([Side.BUY, Side.SELL])
shares = st.floats(0.0, 0.2)


@given(prices, shares, shares, st.floats(0.0, 5_000.0), st.integers(1, 30),
       st.integers(1, 2_000), sides)  # fmt: skip
def test_ladder_and_walk_invariants(
    close: float, up: float, down: float, volume: float, levels: int, lots: int, side: Side
) -> None:
    close = round(close / TICK) * TICK
    high, low = close * (1 + up), close * (1 - down)
    lad = candle_ladder(high, low, close, volume, TICK, STEP, LadderConfig(levels=levels))
    for side_levels, sign in ((lad.asks, 1), (lad.bids, -1)):
        px = [p for p, _ in side_levels]
        assert px == sorted(px, reverse=sign < 0)  # best first, strictly apart
        assert len(set(px)) == len(px)
        for p, q in side_levels:
            assert abs(p / TICK - round(p / TICK)) < 1e-6 and q > 0
            assert abs(q / STEP - round(q / STEP)) < 1e-6
    assert lad.asks[0][0] - lad.bids[0][0] == pytest.approx(2 * TICK, abs=1e-6)
    qty = lots * STEP
    fills = walk(lad, side, qty, STEP)
    book = lad.asks if side == Side.BUY else lad.bids
    assert fills == [(p, fq) for (p, _), (_, fq) in zip(book, fills, strict=False)]
    got = sum(q for _, q in fills)
    depth = sum(q for _, q in book)
    assert got == pytest.approx(min(qty, depth), abs=1e-9)


def request(cid: str, side: Side, qty: float) -> OrderRequest:
    return OrderRequest(cid, "BTCUSDT", side, qty, OrderStyle.MARKET, IntentKind.REBALANCE, 1,
                        60000.0)  # fmt: skip


def venue(filters: dict[str, SymbolFilters]) -> SimulatedVenue:
    model = WalkBookModel(LadderConfig(levels=3), filters, taker_fee_rate=4e-4, maker_fee_rate=0)
    return SimulatedVenue(model, filters)


def test_market_order_walks_the_decision_bar_one_fill_per_level() -> None:
    f = {"BTCUSDT": SymbolFilters("BTCUSDT", "0.01", "0.001")}
    v = venue(f)
    b = bar(60000.0, 60006.0, 59994.0, 60000.0, 2000.0)  # unit 1.0; 1200 ticks / (2 x 3): gap 200
    v.on_market(b)
    v.submit(request("a", Side.BUY, 2.5))
    events = v.poll()
    assert isinstance(events[0], Ack)
    fills = [e for e in events if isinstance(e, FillEvent)]
    assert [(x.price, x.qty) for x in fills] == [(60000.01, 1.0), (60002.01, 1.5)]
    for x in fills:
        assert x.fee == pytest.approx(4e-4 * x.price * x.qty) and x.liquidity is Liquidity.TAKER
    assert fills[1].slippage == pytest.approx((60002.01 - 60000.0) * 1.5)
    assert len({x.trade_id for x in fills}) == 2
    assert not any(isinstance(e, Canceled) for e in events)


def test_what_the_ladder_cannot_absorb_is_expired() -> None:
    f = {"BTCUSDT": SymbolFilters("BTCUSDT", "0.01", "0.001")}
    v = venue(f)
    v.on_market(bar(60000.0, 60006.0, 59994.0, 60000.0, 2000.0))  # depth 1 + 2 + 3 = 6
    v.submit(request("a", Side.SELL, 7.0))
    events = v.poll()
    fills = [e for e in events if isinstance(e, FillEvent)]
    assert sum(x.qty for x in fills) == pytest.approx(6.0)
    assert isinstance(events[-1], Canceled) and events[-1].client_order_id == "a"
    v.cancel("a", 2)  # nothing is left working
    assert v.poll()[0].__class__.__name__ == "VenueReject"


def test_walk_model_refuses_bad_fees_and_unknown_symbols() -> None:
    f = {"BTCUSDT": SymbolFilters("BTCUSDT", "0.01", "0.001")}
    with pytest.raises(InvalidInput, match="taker_fee_rate"):
        WalkBookModel(LadderConfig(), f, taker_fee_rate=math.inf, maker_fee_rate=0.0)
    model = WalkBookModel(LadderConfig(), f, taker_fee_rate=0.0, maker_fee_rate=0.0)
    other = Bar("ETHUSDT", 0, 60_000_000_000, 1.0, 1.0, 1.0, 1.0, 1.0)
    with pytest.raises(InvalidInput, match="ETHUSDT"):
        model.market(Side.BUY, 1.0, other)
