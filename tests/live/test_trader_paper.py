"""The paper trader end to end: ``gradtrade trade`` in its own process against the local
exchange in another, candles closed by moving the exchange's clock; what it did is read back
from its journal (recovered like a restart would) and through ``gradtrade trade status``."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from gradtrade.core import OrderStatus
from gradtrade.persistence import JournalOptions, RecordKind, open_journal, recover

from .harness import BarPump, Exchange, run_cli, start_trader, trader_config
from .oracle import journal_ready


def journal_records(path: Path) -> list[object]:
    with open_journal(str(path), JournalOptions(readonly=True)) as j:
        return list(j.read())


def test_paper_trader_trades_journals_and_reports_status(
    exchange: Exchange, tmp_path: Path
) -> None:
    config = trader_config(tmp_path, exchange.url)
    with BarPump(exchange, every_s=2.0) as pump:
        proc = start_trader(config, "--run-for", "22")
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]
    assert len(pump.closed) >= 6
    db = tmp_path / "paper.db"
    with open_journal(str(db), JournalOptions(readonly=True)) as j:
        records = list(j.read())
        state = recover(j)
        snapshot = j.latest_snapshot()
    kinds = [r.kind for r in records]
    decisions = [r for r in records if r.kind is RecordKind.DECISION]
    fills = [r for r in records if r.kind is RecordKind.FILL]
    assert decisions and all(r.data()["checkpoint"] == "ma_cross(1,2)" for r in decisions)
    # every decision is of a distinct live bar, in order (each bar seen once)
    times = [r.data()["ts_ns"] for r in decisions]
    assert times == sorted(set(times))
    assert fills, f"no fill in {len(records)} records: {kinds}"
    # write-ahead: each order's initialized + submitted come before anything the venue said
    for cid in {r.key for r in fills}:
        seqs = {r.kind: r.seq for r in records if r.key == cid}
        assert seqs[RecordKind.ORDER_SUBMITTED] == seqs[RecordKind.ORDER_INITIALIZED] + 1
        assert seqs[RecordKind.ORDER_SUBMITTED] < seqs[RecordKind.ORDER_ACCEPTED]
        assert seqs[RecordKind.ORDER_ACCEPTED] < min(r.seq for r in fills if r.key == cid)
    # the position is the signed sum of the journaled fills, and every order ended
    signed = sum(r.data()["side"] * r.data()["quantity"] for r in fills)
    assert abs(state.positions["BTCUSDT"].quantity - signed) < 1e-9
    assert all(o.is_terminal for o in state.orders.values())
    assert sum(o.status == OrderStatus.FILLED for o in state.orders.values()) >= 1
    # the final snapshot is of the journal's end, and it holds the portfolio
    assert snapshot is not None and snapshot.seq == records[-1].seq
    assert "extra/portfolio" in snapshot.objects
    # structured logs: JSON lines
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert any("stopped: journal at record" in x["msg"] for x in lines)

    status = run_cli("trade", "status", "--config", str(config), "--json")
    assert status.returncode == 0, status.stderr
    st = json.loads(status.stdout)
    assert st["journal_seq"] == records[-1].seq
    assert abs(st["positions"]["BTCUSDT"]["quantity"] - signed) < 1e-9
    assert st["open_orders"] == [] and st["breaker"] == "ACTIVE"
    assert st["last_decision"]["ts_ns"] == times[-1]
    text = run_cli("trade", "status", "--config", str(config))
    assert "position BTCUSDT" in text.stdout and "last decision" in text.stdout


def test_sigterm_stops_cleanly_with_the_journal_flushed(exchange: Exchange, tmp_path: Path) -> None:
    config = trader_config(tmp_path, exchange.url, journal={"snapshot_every": 10_000})
    db = tmp_path / "paper.db"
    with BarPump(exchange, every_s=1.5):
        proc = start_trader(config)
        deadline = time.monotonic() + 60
        fills = 0
        while time.monotonic() < deadline and fills == 0:
            time.sleep(1.0)
            if journal_ready(db):
                fills = sum(r.kind is RecordKind.FILL for r in journal_records(db))  # type: ignore[attr-defined]
        assert fills, "the trader never filled"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-3000:]
    with open_journal(str(db), JournalOptions(readonly=True)) as j:
        snapshot, last = j.latest_snapshot(), j.last_seq()
        state = recover(j)
    assert snapshot is not None and snapshot.seq == last  # flushed: snapshot at the end
    assert all(o.is_terminal for o in state.orders.values())  # cancel_open_on_exit
    # a second run resumes from it (a new client-id session) and stops cleanly again
    again = start_trader(config, "--run-for", "3")
    _, err2 = again.communicate(timeout=60)
    assert again.returncode == 0, err2[-3000:]
    assert "session 1" in err2
