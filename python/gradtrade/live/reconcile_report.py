"""A reconciliation report as the journal's RECONCILIATION payload and as text for a person.

Invariants: the payload is plain JSON (finite numbers, enum values as their text, no
credentials: nothing from the connector reaches a report) and carries the record's required
``ok`` field, true when the trader may trade (``OK``, ``REPAIRED``, ``ADOPTED``);
:func:`render` prints every discrepancy with both numbers and every repair, so the text of
``gradtrade trade reconcile`` says exactly what differs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gradtrade.core import Side
from gradtrade.events import FillEvent
from gradtrade.execution.client import Ack, VenueReject
from gradtrade.live.reconcile import Discrepancy, ReconciliationReport, Repair

_ACTION = {True: "repair", False: "HALT"}


def _side(side: Side) -> str:
    return "BUY" if side == Side.BUY else "SELL"


def _repair(r: Repair) -> dict[str, Any]:
    if isinstance(r, FillEvent):
        return {
            "event": "fill",
            "client_order_id": r.client_order_id,
            "trade_id": r.trade_id,
            "symbol": r.symbol,
            "side": _side(r.side),
            "price": r.price,
            "quantity": r.qty,
            "fee": r.fee,
            "fee_asset": r.fee_asset,
            "liquidity": r.liquidity.value,
            "ts_ns": r.ts_ns,
        }
    if isinstance(r, Ack):
        return {
            "event": "ack",
            "client_order_id": r.client_order_id,
            "exchange_order_id": r.exchange_order_id,
            "ts_ns": r.ts_ns,
        }
    if isinstance(r, VenueReject):
        return {
            "event": "never_placed",
            "client_order_id": r.client_order_id,
            "reason": r.reason.value,
            "ts_ns": r.ts_ns,
        }
    return {"event": "canceled", "client_order_id": r.client_order_id, "ts_ns": r.ts_ns}


def _discrepancy(d: Discrepancy) -> dict[str, Any]:
    return {
        "kind": d.kind.value,
        "subject": d.subject,
        "believed": d.believed,
        "exchange": d.exchange,
        "tolerance": d.tolerance,
        "detail": d.detail,
    }


def to_payload(report: ReconciliationReport) -> dict[str, Any]:
    """The ``RecordKind.RECONCILIATION`` payload (``JournalRecord.new(..., payload)``)."""
    return {
        "ok": report.may_trade,
        "verdict": report.verdict.value,
        "market": report.market,
        "checked_ms": report.checked_ms,
        "discrepancies": [_discrepancy(d) for d in report.discrepancies],
        "repairs": [_repair(r) for r in report.repairs],
    }


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.10g}"


def render(report: ReconciliationReport) -> str:
    """The report as text: a headline with the verdict, one line per discrepancy, the repairs."""
    when = datetime.fromtimestamp(report.checked_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
    repairable = sum(d.kind.repairable for d in report.discrepancies)
    lines = [
        f"Reconciliation ({report.market}) at {when} UTC: {report.verdict.value.upper()}",
        f"{len(report.discrepancies)} discrepancies: {repairable} repairable, "
        f"{len(report.discrepancies) - repairable} not",
    ]
    if report.discrepancies:
        lines.append(
            f"  {'action':7} {'kind':24} {'subject':28} {'believed':>14} {'exchange':>14}  detail"
        )
    for d in report.discrepancies:
        lines.append(
            f"  {_ACTION[d.kind.repairable]:7} {d.kind.value:24} {d.subject:28} "
            f"{_number(d.believed):>14} {_number(d.exchange):>14}  {d.detail}"
        )
    fills = report.missing_fills
    lines.append(f"Repairs: {len(fills)} fills, {len(report.repairs) - len(fills)} order updates")
    for r in report.repairs:
        item = _repair(r)
        lines.append("  " + ", ".join(f"{k}={v}" for k, v in item.items()))
    return "\n".join(lines)


__all__ = ["render", "to_payload"]
