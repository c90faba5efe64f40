"""Properties of reconciliation over generated trading histories (hypothesis).

The trader's side is the real ``OrderManager`` and ``PortfolioTracker`` fed the fills; the
exchange's side is what Binance would report for the same fills, its balances computed in exact
decimals as the exchange does (fees rounded to 8 decimals), so the float accounting of the trader
meets the exchange's arithmetic. Properties: a consistent state reconciles OK, twice alike, with
nothing to repair; dropping any fills of the working order is REPAIRED by exactly those fills,
and applying the repairs twice books them once and leaves the trader consistent.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradtrade.core import OrderStatus, Side, SymbolFilters
from gradtrade.events import FillEvent, IntentKind, Liquidity, OrderIntent
from gradtrade.execution.client import Ack
from gradtrade.execution.config import ExecutionConfig
from gradtrade.execution.orders import OrderManager
from gradtrade.execution.portfolio import PortfolioTracker
from gradtrade.live.reconcile import (
    Balance,
    BelievedState,
    DiscrepancyKind,
    ExchangeOrder,
    ExchangeState,
    ExchangeTrade,
    Verdict,
    reconcile,
)
from gradtrade.live.reconcile_apply import apply_and_recheck, apply_repairs, believed_state

SYMBOL, STEP, TICK = "BTCUSDT", Decimal("0.00001"), Decimal("0.01")
OPENING = {"BTC": Decimal("1"), "USDT": Decimal("100000")}
FEE = Decimal("0.001")

Spec = tuple[Side, int, list[tuple[int, int]]]
# one order: side, size in steps, and its fills as (share of the size, price in ticks)
order_st = st.tuples(
    st.sampled_from([Side.BUY, Side.SELL]),
    st.integers(1, 60),
    st.lists(
        st.tuples(st.integers(1, 5), st.integers(1_000_000, 2_000_000)), min_size=1, max_size=3
    ),
)


@dataclass
class History:
    manager: OrderManager
    portfolio: PortfolioTracker
    filters: dict[str, SymbolFilters]
    trades: list[ExchangeTrade]
    fills: list[FillEvent]
    orders: dict[str, ExchangeOrder]
    balances: dict[str, Decimal]


def split(total: int, shares: list[int]) -> list[int]:
    """``total`` steps in parts proportional to ``shares``, each at least one step."""
    parts = [max(1, total * s // sum(shares)) for s in shares][:total]
    parts[-1] += total - sum(parts)
    return [p for p in parts if p > 0] if parts[-1] > 0 else [total]


def trade(orders: list[Spec], drop: set[int]) -> History:
    """Run the orders through the manager and portfolio; the fills whose index within the
    last order is in ``drop`` never reach them (the trader was down)."""
    f = SymbolFilters(SYMBOL, str(TICK), str(STEP), base_asset="BTC", quote_asset="USDT")
    filters = {SYMBOL: f}
    manager = OrderManager("prop", filters, ExecutionConfig(session=3))
    portfolio = PortfolioTracker(float(OPENING["USDT"]), filters)
    h = History(manager, portfolio, filters, [], [], {}, dict(OPENING))
    trade_id, position = 100, Decimal(0)
    for n, (side, steps, fills) in enumerate(orders):
        last = n == len(orders) - 1
        qty = steps * STEP
        target = position + side.sign * qty
        now = (n + 1) * 10**9
        intent = OrderIntent(SYMBOL, now, float(target), IntentKind.REBALANCE, 15_000.0)
        (proposal,) = manager.plan(intent, float(position), now).proposals
        cid = manager.send(proposal, now).client_order_id
        manager.on_event(Ack(cid, 5000 + n, now))
        executed = Decimal(0)
        for k, part in enumerate(split(steps, [s for s, _ in fills])):
            q, p = part * STEP, fills[min(k, len(fills) - 1)][1] * TICK
            trade_id += 1
            buy = side == Side.BUY
            fee = (q * FEE if buy else q * p * FEE).quantize(Decimal("1e-8"))
            asset = "BTC" if buy else "USDT"
            h.balances["BTC"] += side.sign * q
            h.balances["USDT"] -= side.sign * q * p
            h.balances[asset] -= fee
            t = ExchangeTrade(
                SYMBOL,
                trade_id,
                5000 + n,
                side,
                float(p),
                float(q),
                float(fee),
                asset,
                now // 10**6 + k,
                False,
            )
            h.trades.append(t)
            executed += q
            fill = FillEvent(
                cid,
                trade_id,
                SYMBOL,
                side,
                float(p),
                float(q),
                float(fee),
                asset,
                Liquidity.TAKER,
                t.time_ms * 10**6,
            )
            h.fills.append(fill)
            if not (last and k in drop):
                booked, _ = manager.on_event(fill)
                assert booked is not None
                portfolio.apply_fill(booked)
        if not manager.orders[cid].is_terminal:
            h.orders[cid] = ExchangeOrder(
                SYMBOL,
                5000 + n,
                cid,
                side,
                OrderStatus.FILLED,
                float(qty),
                float(executed),
                0.0,
                now // 10**6 + 9,
            )
        position = target
    return h


def exchange_of(h: History) -> ExchangeState:
    balances = {a: Balance(float(v)) for a, v in h.balances.items()}
    return ExchangeState("spot", 10**12, (), dict(h.orders), tuple(h.trades), balances)


def believed_of(h: History) -> BelievedState:
    opening = {a: float(v) for a, v in OPENING.items()}
    return believed_state("spot", h.manager, h.portfolio, opening, 0)


FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.lists(order_st, min_size=1, max_size=5))
def test_consistent_state_is_ok_and_idempotent(orders: list[Spec]) -> None:
    h = trade(orders, drop=set())
    exchange = exchange_of(h)
    believed = believed_of(h)
    first = reconcile(believed, exchange)
    assert first.verdict is Verdict.OK, first.discrepancies
    assert first.repairs == () and first.discrepancies == ()
    assert reconcile(believed, exchange) == first
    applied = apply_repairs(first, h.manager, h.portfolio)
    assert (applied.fills, applied.duplicates, applied.acks, applied.ended) == (0, 0, 0, 0)
    assert believed_of(h) == believed


@FAST
@given(st.lists(order_st, min_size=1, max_size=5), st.sets(st.integers(0, 2), min_size=1))
def test_dropped_fills_are_repaired_exactly_and_once(
    orders: list[Spec],
    drop: set[int],
) -> None:
    h = trade(orders, drop)
    dropped = [f for f in h.fills if f.trade_id not in {t for _, t in believed_of(h).trade_ids}]
    exchange = exchange_of(h)
    report = reconcile(believed_of(h), exchange)
    if not dropped:  # the last order had fewer fills than the indices dropped
        assert report.verdict is Verdict.OK
        return
    assert report.verdict is Verdict.REPAIRED, report.discrepancies
    assert list(report.missing_fills) == dropped
    opening = {a: float(v) for a, v in OPENING.items()}
    final, applied = apply_and_recheck(report, exchange, h.manager, h.portfolio, opening, 0)
    assert final is report and applied.fills == len(dropped)
    after = believed_of(h)
    again = apply_repairs(report, h.manager, h.portfolio)
    assert (again.fills, again.duplicates) == (0, len(dropped))
    assert believed_of(h) == after
    assert reconcile(after, exchange).verdict is Verdict.OK


@FAST
@given(
    st.lists(order_st, min_size=1, max_size=5),
    st.sets(st.integers(0, 2), min_size=1),
    st.integers(0, 2),
)
def test_a_partial_account_of_an_order_is_never_applied(
    orders: list[Spec], drop: set[int], lost: int
) -> None:
    """The exchange executed more than the trades it reports (one trade missing from its list):
    the order differs, HALT, and none of its fills is proposed."""
    h = trade(orders, drop)
    believed = believed_of(h)
    dropped = [f for f in h.fills if (SYMBOL, f.trade_id) not in believed.trade_ids]
    if not dropped:
        return
    gone = dropped[min(lost, len(dropped) - 1)].trade_id
    exchange = exchange_of(h)
    exchange = ExchangeState(
        exchange.market,
        exchange.checked_ms,
        (),
        exchange.orders,
        tuple(t for t in exchange.trades if t.trade_id != gone),
        exchange.balances,
    )
    report = reconcile(believed, exchange)
    assert report.verdict is Verdict.HALT
    cid = dropped[0].client_order_id
    (order,) = [d for d in report.discrepancies if d.subject == cid]
    assert order.kind is DiscrepancyKind.ORDER_STATE_DIFFERS
    assert report.missing_fills == ()
    assert believed_of(h) == believed  # judging changed nothing
