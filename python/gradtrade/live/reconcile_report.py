"""A reconciliation report as the journal's RECONCILIATION payload and as text for a person.

Invariants: the payload is plain JSON (finite numbers, enum values as their text, no
credentials: nothing from the connector reaches a report) and carries the record's required
``ok`` field, true when the trader may trade (``OK``, ``REPAIRED``, ``ADOPTED``);
:func:`render` prints every discrepancy with both numbers and every repair, so the text of
``gradtrade trade reconcile`` says exactly what differs. A report that adopted USD-M positions
carries them (``adopted_positions``: symbol -> quantity and entry price): the journaled event
that set the trader's position, which a restart applies again in journal order
(:func:`adopted_positions` reads them back, refusing a malformed entry by name).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gradtrade.core import Side
from gradtrade.errors import InvalidInput
from gradtrade.events import FillEvent
from gradtrade.execution.client import Ack, VenueReject
from gradtrade.live.reconcile import Discrepancy, ReconciliationReport, Repair

_ACTION = {True: "repair", False: "HALT"}
ADOPTED_POSITIONS = "adopted_positions"


@dataclass(frozen=True, slots=True)
class AdoptedPosition:
    """A USD-M position taken from the exchange: signed quantity at its entry price (None when
    the exchange is flat)."""

    quantity: float
    entry_price: float | None

    def to_payload(self) -> dict[str, float | None]:
        return {"quantity": self.quantity, "entry_price": self.entry_price}


def adopted_positions(payload: Mapping[str, Any], where: str) -> dict[str, AdoptedPosition]:
    """The positions a RECONCILIATION ``payload`` adopted (empty when none); ``InvalidInput``
    naming ``where`` and the field when an entry is malformed."""
    raw = payload.get(ADOPTED_POSITIONS)
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where}: field {ADOPTED_POSITIONS!r} must be an object")
    out: dict[str, AdoptedPosition] = {}
    for symbol, entry in raw.items():
        field = f"{where}: field '{ADOPTED_POSITIONS}.{symbol}"
        qty = entry.get("quantity") if isinstance(entry, dict) else None
        price = entry.get("entry_price") if isinstance(entry, dict) else None
        if isinstance(qty, bool) or not isinstance(qty, int | float) or not math.isfinite(qty):
            raise InvalidInput(f"{field}.quantity' must be finite (a number), got {qty!r}")
        number = isinstance(price, int | float) and not isinstance(price, bool)
        if price is not None and not (number and 0 < price < math.inf):
            raise InvalidInput(f"{field}.entry_price' must be positive or null, got {price!r}")
        out[symbol] = AdoptedPosition(float(qty), None if price is None else float(price))
    return out


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


__all__ = ["ADOPTED_POSITIONS", "AdoptedPosition", "adopted_positions", "render", "to_payload"]
