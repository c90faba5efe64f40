"""Reconciliation against the real local exchange: each discrepancy made for real (orders
placed on the account behind the trader's back, fills that happened while it was down, money
moved out of band, orders the exchange never got), with the exact report and verdict."""

from __future__ import annotations

from gradtrade.core import OrderStatus, Side
from gradtrade.events import FillEvent, IntentKind
from gradtrade.execution.client import ExecutionEvent
from gradtrade.live.reconcile import (
    Discrepancy,
    DiscrepancyKind,
    Verdict,
    reconcile,
)
from gradtrade.live.reconcile_apply import apply_and_recheck, apply_repairs

from .conftest import SYMBOL, Trader, out_of_band

K = DiscrepancyKind


def fills_only(event: ExecutionEvent) -> bool:
    return isinstance(event, FillEvent)


async def test_consistent_after_real_trading_is_ok(spot_trader: Trader) -> None:
    await spot_trader.target(0.003)
    await spot_trader.target(0.001)
    exchange = await spot_trader.exchange_state()
    report = reconcile(spot_trader.believed(), exchange)
    assert report.verdict is Verdict.OK, report.discrepancies
    assert report.discrepancies == () and report.repairs == ()
    assert len(exchange.trades) >= 2


async def test_fill_missed_while_down_is_repaired_once(spot_trader: Trader) -> None:
    cid = await spot_trader.target(0.002, drop=fills_only)
    order = spot_trader.manager.orders[cid]
    assert order.filled_qty == 0 and order.status == OrderStatus.NEW
    exchange = await spot_trader.exchange_state()
    report = reconcile(spot_trader.believed(), exchange)
    assert report.verdict is Verdict.REPAIRED
    trades = [t for t in exchange.trades if t.order_id == order.exchange_order_id]
    assert trades and sum(t.qty for t in trades) == 0.002
    assert [d.kind for d in report.discrepancies] == [K.MISSING_FILL] * len(trades)
    assert [(f.trade_id, f.qty, f.price, f.fee, f.fee_asset) for f in report.missing_fills] == [
        (t.trade_id, t.qty, t.price, t.commission, t.commission_asset) for t in trades
    ]
    final, applied = apply_and_recheck(report, exchange, spot_trader.manager,
                                       spot_trader.portfolio, spot_trader.opening,
                                       spot_trader.since_ms)  # fmt: skip
    assert final is report and applied.fills == len(trades) and applied.duplicates == 0
    assert order.status == OrderStatus.FILLED
    assert spot_trader.manager.slot(SYMBOL, IntentKind.REBALANCE) is None  # the slot is free
    again = apply_repairs(report, spot_trader.manager, spot_trader.portfolio)
    assert (again.fills, again.duplicates) == (0, len(trades))
    assert reconcile(spot_trader.believed(), exchange).verdict is Verdict.OK
