"""Reconciliation against ``gradtrade exchange serve`` in its own process (what the trader
meets in production: another program on the other end of a socket), spot and USD-M."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gradtrade.core import Side
from gradtrade.events import FillEvent
from gradtrade.execution.client import ExecutionEvent
from gradtrade.live.reconcile import DiscrepancyKind, Verdict, reconcile
from gradtrade.live.reconcile_apply import apply_and_recheck
from gradtrade.live.reconcile_exchange import check

if TYPE_CHECKING:
    from reconcile_harness import Trader

# The harness fixtures: a module beside the trader tests' conftest.py, not a second one.
pytest_plugins = ("reconcile_harness",)
SYMBOL = "BTCUSDT"


def fills_only(event: ExecutionEvent) -> bool:
    return isinstance(event, FillEvent)


async def test_missed_fills_repaired_then_an_outsider_halts(process_trader: Trader) -> None:
    trader = process_trader
    await trader.target(0.003)
    assert (await check(trader.gateway, trader.believed())).verdict is Verdict.OK
    cid = await trader.target(-0.003 if trader.market == "usdm" else 0.0, drop=fills_only)
    exchange = await trader.exchange_state()
    report = reconcile(trader.believed(), exchange)
    assert report.verdict is Verdict.REPAIRED
    assert {d.kind for d in report.discrepancies} == {DiscrepancyKind.MISSING_FILL}
    assert {f.client_order_id for f in report.missing_fills} == {cid}
    final, applied = apply_and_recheck(
        report, exchange, trader.manager, trader.portfolio, trader.opening, trader.since_ms
    )
    assert final is report and applied.fills == len(report.missing_fills) > 0
    assert (await check(trader.gateway, trader.believed())).verdict is Verdict.OK

    bid, _ = await trader.best()
    tick = trader.filters[SYMBOL].tick_size
    await trader.direct(
        f"outsider-{trader.market}", Side.BUY, "0.003", f"{round(bid * 0.98 / tick) * tick:.2f}"
    )
    halted = await check(trader.gateway, trader.believed())
    assert halted.verdict is Verdict.HALT and halted.repairs == ()
    (d,) = halted.discrepancies
    assert (d.kind, d.subject, d.exchange) == (
        DiscrepancyKind.UNKNOWN_ORDER,
        f"outsider-{trader.market}",
        0.003,
    )
