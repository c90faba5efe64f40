"""Reconciliation wired into the live trader, against the local exchange in its own process and
``gradtrade trade`` in its own: a consistent run reconciles OK at startup and periodically; an
order placed on the account out of band makes the restarted trader start HALTED (journaled,
no order placed) and ``trade reconcile`` print it and exit 1; ``adopt_unknown`` adopts it; a
fill that happened while the trader was down is journaled exactly once after the restart.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt_async
import pytest

from gradtrade.core import OrderStatus, parse_client_order_id
from gradtrade.persistence import JournalOptions, RecordKind, open_journal
from gradtrade.persistence.records import JournalRecord
from gradtrade.venue.urls import ccxt_urls

from .harness import KEY, SECRET, SYMBOL, BarPump, Exchange, run_cli, start_trader, trader_config
from .resting import kill_until_filled
from .test_trader_live import _SESSIONS, check_against_exchange  # one counter: ids never collide


def _records(db: Path) -> list[JournalRecord]:
    with open_journal(str(db), JournalOptions(readonly=True)) as j:
        return list(j.read())


def _reports(db: Path) -> list[dict[str, Any]]:
    return [r.data() for r in _records(db) if r.kind is RecordKind.RECONCILIATION]


async def _signed(url: str, call: str, params: dict[str, Any]) -> Any:
    ex = ccxt_async.binance({"urls": ccxt_urls(url, "spot"), "apiKey": KEY, "secret": SECRET})
    try:
        await ex.load_time_difference()  # the tests move the exchange's clock
        return await getattr(ex, call)(params)
    finally:
        await ex.close()


def signed(url: str, call: str, **params: Any) -> Any:
    return asyncio.run(_signed(url, call, params))


def run_trader(config: Path, exchange: Exchange, seconds: float) -> str:
    with BarPump(exchange, every_s=2.0):
        proc = start_trader(config, "--run-for", str(seconds))
        try:
            _, err = proc.communicate(timeout=seconds + 60)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate(timeout=30)
            pytest.fail(f"the trader did not stop after --run-for {seconds}: {err[-6000:]}")
    assert proc.returncode == 0, err[-3000:]
    assert KEY not in err and SECRET not in err
    return err


def test_consistent_run_reconciles_ok_at_startup_and_periodically(
    exchange: Exchange, tmp_path: Path
) -> None:
    session = next(_SESSIONS)
    config = trader_config(
        tmp_path, exchange.url, "live", execution={"session": session},
        reconcile={"interval_s": 3},
    )  # fmt: skip
    run_trader(config, exchange, 16)
    db = tmp_path / "live.db"
    reports = _reports(db)
    assert len(reports) >= 3, reports  # startup + periodic
    assert all(r["ok"] and r["verdict"] == "ok" for r in reports), reports
    first, last = reports[0], reports[-1]
    assert {"BTC", "USDT"} <= set(first["baseline"]["opening"])
    assert first["baseline"]["opening"] == last["baseline"]["opening"]  # taken once
    assert last["baseline"]["since_ms"] >= first["baseline"]["since_ms"]
    seen = check_against_exchange(exchange.url, db, {session})
    assert seen["trades"], "the trader must have traded between the passes"

    # a restart reads the same baseline back; `trade reconcile` agrees without writing
    seq = len(_records(db))
    out = run_cli("trade", "reconcile", "--config", str(config))
    assert out.returncode == 0, out.stderr[-3000:] + out.stdout
    assert "OK" in out.stdout and "baseline" not in out.stdout
    assert len(_records(db)) == seq
    run_trader(config, exchange, 6)
    again = _reports(db)[len(reports) :]
    assert (
        again and again[0]["ok"] and again[0]["baseline"]["opening"] == first["baseline"]["opening"]
    )


def test_out_of_band_order_halts_the_restart_then_adopt_unknown_adopts_it(
    exchange: Exchange, tmp_path: Path
) -> None:
    session = next(_SESSIONS)
    config = trader_config(tmp_path, exchange.url, "live", execution={"session": session})
    db = tmp_path / "live.db"
    run_trader(config, exchange, 10)
    assert _reports(db)[0]["ok"]

    book = signed(exchange.url, "publicGetDepth", symbol=SYMBOL, limit=5)
    price = round(float(book["bids"][0][0]) * 0.9, 2)
    cid = f"outsider-{session}"
    signed(exchange.url, "privatePostOrder", symbol=SYMBOL, side="BUY", type="LIMIT",
           timeInForce="GTC", quantity="0.001", price=f"{price:.2f}",
           newClientOrderId=cid)  # fmt: skip
    try:
        out = run_cli("trade", "reconcile", "--config", str(config))
        assert out.returncode == 1, out.stderr[-3000:] + out.stdout
        assert "HALT" in out.stdout and cid in out.stdout and "unknown_order" in out.stdout
        as_json = run_cli("trade", "reconcile", "--config", str(config), "--json")
        assert as_json.returncode == 1
        report = json.loads(as_json.stdout)
        assert report["verdict"] == "halt" and not report["ok"]
        assert [(d["kind"], d["subject"]) for d in report["discrepancies"]] == [
            ("unknown_order", cid)
        ]

        before = len(_records(db))
        err = run_trader(config, exchange, 8)
        after = _records(db)[before:]
        (halt,) = [r.data() for r in after if r.kind is RecordKind.RECONCILIATION][:1]
        assert not halt["ok"] and halt["verdict"] == "halt"
        assert [d["subject"] for d in halt["discrepancies"]] == [cid]
        transitions = [r.data() for r in after if r.kind is RecordKind.BREAKER_TRANSITION]
        assert transitions[0]["to"] == "HALTED" and transitions[0]["reason"] == "reconciliation"
        assert not [r for r in after if r.kind is RecordKind.ORDER_INITIALIZED]
        assert "HALT" in err and cid in err
        orders = signed(exchange.url, "privateGetAllOrders", symbol=SYMBOL, limit=1000)
        restarted = [o for o in orders if _session(o["clientOrderId"]) == session + 1]
        assert restarted == [], "a halted trader places no order"
        status = run_cli("trade", "status", "--config", str(config), "--json")
        assert json.loads(status.stdout)["breaker"] == "HALTED"
        text = run_cli("trade", "status", "--config", str(config)).stdout
        assert "breaker HALTED" in text and "last reconciliation: HALT, 1 discrepancies" in text

        reset = run_cli("trade", "reset-breaker", "--config", str(config))
        assert reset.returncode == 0 and "HALTED -> ACTIVE" in reset.stdout
        adopting = trader_config(
            tmp_path, exchange.url, "live", execution={"session": session + 2},
            reconcile={"adopt_unknown": True, "interval_s": 3},
        )  # fmt: skip
        before = len(_records(db))
        run_trader(adopting, exchange, 12)
        after = _records(db)[before:]
        reports = [r.data() for r in after if r.kind is RecordKind.RECONCILIATION]
        assert reports and all(r["ok"] and r["verdict"] == "adopted" for r in reports)
        assert [r for r in after if r.kind is RecordKind.ORDER_INITIALIZED], "it trades again"
        mine = signed(exchange.url, "privateGetOrder", symbol=SYMBOL, origClientOrderId=cid)
        assert mine["status"] == "NEW", "an adopted foreign order is left alone"
    finally:
        signed(exchange.url, "privateDeleteOrder", symbol=SYMBOL, origClientOrderId=cid)


def _session(cid: str) -> int | None:
    try:
        return parse_client_order_id(cid)[1]
    except Exception:
        return None


def test_fill_while_the_trader_was_down_is_journaled_once_after_restart(
    exchange: Exchange, tmp_path: Path
) -> None:
    session = next(_SESSIONS)
    config = trader_config(
        tmp_path, exchange.url, "live",
        execution={"session": session, "style": "post_only", "post_only_timeout_s": 3600},
    )  # fmt: skip
    db = tmp_path / "live.db"

    def query(cid: str) -> dict[str, Any]:
        return dict(signed(exchange.url, "privateGetOrder", symbol=SYMBOL, origClientOrderId=cid))

    with BarPump(exchange, every_s=1.0):
        # kill -9 while an order rests; the market (a seeded random walk) may walk away from
        # it for good: then the next start cancels it and the round is played again
        resting, filled, attempt = kill_until_filled(config, db, session, query)
        again = start_trader(config, "--run-for", "8")
        _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err[-3000:]
    seen = check_against_exchange(exchange.url, db, set(range(session, session + attempt + 2)))
    assert seen["state"].orders[resting].status == OrderStatus.FILLED
    fills = [r for r in seen["records"] if r.kind is RecordKind.FILL and r.key == resting]
    trades = [t for t in seen["trades"] if t["orderId"] == filled["orderId"]]
    assert trades and sorted(r.data()["trade_id"] for r in fills) == sorted(
        int(t["id"]) for t in trades
    )
    reports = _reports(db)
    assert reports and all(r["ok"] for r in reports), reports
