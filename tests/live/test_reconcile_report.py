"""The report of a real reconciliation as the journal's RECONCILIATION record (written to a
real SQLite journal and recovered) and as the text ``gradtrade trade reconcile`` prints."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from gradtrade.core import Side
from gradtrade.errors import InvalidInput
from gradtrade.events import FillEvent
from gradtrade.live.reconcile import DiscrepancyKind, ReconciliationReport, Verdict, reconcile
from gradtrade.live.reconcile_report import (
    ADOPTED_POSITIONS,
    AdoptedPosition,
    adopted_positions,
    render,
    to_payload,
)
from gradtrade.local_exchange import DEFAULT_KEYS
from gradtrade.persistence import JournalRecord, RecordKind, open_journal, recover

if TYPE_CHECKING:
    from .reconcile_harness import Trader

SYMBOL = "BTCUSDT"


async def halted_report(trader: Trader) -> ReconciliationReport:
    """A fill missed while down (repairable) beside an order the journal does not know."""
    await trader.target(0.002, drop=lambda e: isinstance(e, FillEvent))
    bid, _ = await trader.best()
    tick = trader.filters[SYMBOL].tick_size
    await trader.direct("outsider-9", Side.BUY, "0.00100", f"{round(bid * 0.9 / tick) * tick:.2f}")
    return reconcile(trader.believed(), await trader.exchange_state())


async def test_payload_is_a_valid_record_and_recovers(spot_trader: Trader, tmp_path: Path) -> None:
    report = await halted_report(spot_trader)
    assert report.verdict is Verdict.HALT
    payload = to_payload(report)
    assert payload["ok"] is False and payload["verdict"] == "halt" and payload["market"] == "spot"
    kinds = [d["kind"] for d in payload["discrepancies"]]
    assert kinds[0] == "unknown_order" and set(kinds[1:]) == {"missing_fill"}
    fills = [r for r in payload["repairs"] if r["event"] == "fill"]
    assert [r["trade_id"] for r in fills] == [f.trade_id for f in report.missing_fills]
    assert all(r["client_order_id"] == "rc.1.1" and r["side"] == "BUY" for r in fills)
    record = JournalRecord.new(1, time.time_ns(), RecordKind.RECONCILIATION, "account", payload)
    with open_journal(f"sqlite:///{tmp_path / 'journal.db'}") as journal:
        journal.append(record)
    with open_journal(f"sqlite:///{tmp_path / 'journal.db'}") as journal:
        assert recover(journal).reconciliation == payload


async def test_text_says_exactly_what_differs(spot_trader: Trader) -> None:
    report = await halted_report(spot_trader)
    text = render(report)
    lines = text.splitlines()
    assert lines[0].startswith("Reconciliation (spot) at ") and lines[0].endswith("UTC: HALT")
    n = len(report.discrepancies)
    assert lines[1] == f"{n} discrepancies: {n - 1} repairable, 1 not"
    unknown = next(line for line in lines if "unknown_order" in line)
    assert unknown.split()[:3] == ["HALT", "unknown_order", "outsider-9"]
    assert "BUY 0.001 @" in unknown and unknown.split()[3:5] == ["-", "0.001"]
    for fill in report.missing_fills:
        assert f"trade_id={fill.trade_id}" in text
        assert any(
            line.split()[:3] == ["repair", "missing_fill", "rc.1.1"]
            and f"trade {fill.trade_id}:" in line
            for line in lines
        )
    assert f"Repairs: {len(report.missing_fills)} fills, 0 order updates" in text
    kinds = {d.kind for d in report.discrepancies}
    assert kinds == {DiscrepancyKind.UNKNOWN_ORDER, DiscrepancyKind.MISSING_FILL}
    for credential in next(iter(DEFAULT_KEYS.items())):  # the key and the secret it signed with
        assert credential not in text and credential not in str(to_payload(report))


def test_adopted_positions_round_trip_and_malformed_ones_are_refused_by_name() -> None:
    adopted = {SYMBOL: AdoptedPosition(0.005, 60000.01), "ETHUSDT": AdoptedPosition(0.0, None)}
    payload = {ADOPTED_POSITIONS: {s: a.to_payload() for s, a in adopted.items()}}
    assert adopted_positions(payload, "record 7") == adopted
    assert adopted_positions({"ok": True}, "record 7") == {}
    field = f"record 7: field 'adopted_positions.{SYMBOL}"
    bad: list[tuple[object, str]] = [
        ([], "record 7: field 'adopted_positions' must be an object"),
        ({SYMBOL: {"quantity": "1", "entry_price": 1.0}}, f"{field}.quantity' must be finite"),
        ({SYMBOL: {"quantity": True, "entry_price": 1.0}}, f"{field}.quantity' must be finite"),
        ({SYMBOL: {"quantity": 1.0, "entry_price": -2.0}}, f"{field}.entry_price' must be pos"),
        ({SYMBOL: 5}, f"{field}.quantity' must be finite"),
    ]
    for raw, message in bad:
        with pytest.raises(InvalidInput) as refused:
            adopted_positions({ADOPTED_POSITIONS: raw}, "record 7")
        assert str(refused.value).startswith(message), (raw, str(refused.value))
