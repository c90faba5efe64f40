"""A USD-M (``market: usdm``) live trader in its own process against ``gradtrade exchange serve``
in its own, each test on an exchange of its own (``fresh_exchange``: a position one test leaves
would halt the next one's startup reconciliation, correctly).

* a trader holding a position (journaled fills) that reconciliation halts at startup (a position
  it does not know) exits on ``--run-for`` and on SIGTERM within a bound, exit 0, having sent
  nothing (the hang this reproduces: every bar its flattening order was refused retryably, and
  the retry timers, compared with the bar's exchange time, fired in a loop holding the event
  loop for the whole backoff);
* fills made while the trader was down are journaled once at the restart, reconciliation OK;
* an out-of-band position change is caught by the periodic reconciliation: HALT naming the
  position difference, breaker HALTED, nothing sent after it; ``trade reconcile`` prints it;
* ``reconcile.adopt_unknown``: the unknown position is adopted (portfolio, journal, status) at
  the exchange's entry price, and the next decisions trade from it.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import ccxt
import ccxt.async_support as ccxt_async
import pytest

from gradtrade.core import parse_client_order_id
from gradtrade.persistence import RecordKind
from gradtrade.persistence.records import JournalRecord
from gradtrade.venue.urls import ccxt_urls

from .harness import KEY, SECRET, SYMBOL, BarPump, Exchange, run_cli, start_trader, trader_config
from .oracle import Account, account, check, journal, journal_ready
from .resting import kill_until_filled

RUN_FOR = 5
STOP_BOUND_S = 5.0  # from the start of trading (or the signal) to the process's exit


def _config(tmp_path: Path, exchange: Exchange, session: int, **over: Any) -> Path:
    execution = {"session": session, **over.pop("execution", {})}
    return trader_config(
        tmp_path, exchange.url, "live", execution=execution, venue={"market": "usdm"}, **over
    )


async def _usdm(url: str, call: str, params: dict[str, Any]) -> Any:
    ex = ccxt_async.binanceusdm({"urls": ccxt_urls(url, "usdm"), "apiKey": KEY, "secret": SECRET})
    try:
        for attempt in range(3):
            await ex.load_time_difference()  # the tests move the exchange's clock
            try:
                return await getattr(ex, call)(params)
            except ccxt.InvalidNonce:  # a bar pump moved it between the two requests: -1021
                if attempt == 2:
                    raise
    finally:
        await ex.close()


def usdm(url: str, call: str, **params: Any) -> Any:
    return asyncio.run(_usdm(url, call, params))


def outsider_market_order(url: str, cid: str, side: str, qty: str) -> dict[str, Any]:
    """A USD-M market order placed on the account behind the trader's back."""
    body = usdm(url, "fapiPrivatePostOrder", symbol=SYMBOL, side=side, type="MARKET",
                quantity=qty, newClientOrderId=cid)  # fmt: skip
    assert body["status"] == "FILLED", body
    return dict(body)


def _sessions_on_exchange(url: str) -> list[int]:
    out = []
    for o in usdm(url, "fapiPrivateGetAllOrders", symbol=SYMBOL, limit=1000):
        try:
            out.append(parse_client_order_id(o["clientOrderId"])[1])
        except Exception:
            continue
    return out


def _log_lines(err: str) -> list[dict[str, Any]]:
    out = []
    for line in err.splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


def _ts(line: dict[str, Any]) -> float:
    return datetime.fromisoformat(line["ts"]).timestamp()


def _trading_from(err: str) -> float:
    """When the trader started trading (its "session N: ... warm-up bars" line)."""
    (line,) = [x for x in _log_lines(err) if "warm-up bars" in x["msg"]]
    return _ts(line)


def _after(db: Path, seq: int) -> list[JournalRecord]:
    return [r for r in journal(db)[1] if r.seq > seq]


def _hold_a_position(exchange: Exchange, config: Path, db: Path) -> float:
    """Trade until the journal holds a position and nothing in flight, then SIGTERM."""
    for _ in range(4):
        with BarPump(exchange, every_s=1.0):
            proc = start_trader(config)
            try:
                deadline = time.monotonic() + 40
                while time.monotonic() < deadline:
                    assert proc.poll() is None, proc.communicate()[1][-3000:]
                    if journal_ready(db):
                        state, _ = journal(db)
                        pos = state.positions.get(SYMBOL)
                        if pos is not None and pos.quantity and not state.in_flight:
                            break
                    time.sleep(0.3)
                proc.send_signal(signal.SIGTERM)
                _, err = proc.communicate(timeout=30)
            finally:
                proc.kill()
        assert proc.returncode == 0, err[-3000:]
        state, _ = journal(db)
        pos = state.positions.get(SYMBOL)
        if pos is not None and pos.quantity:
            return float(pos.quantity)
    pytest.fail("the trader never ended holding a position")


def test_halted_at_startup_holding_a_position_stops_on_time_and_sends_nothing(
    fresh_exchange: Exchange, tmp_path: Path
) -> None:
    exchange, session, db = fresh_exchange, 300, tmp_path / "live.db"
    config = _config(tmp_path, exchange, session)
    held = _hold_a_position(exchange, config, db)
    outsider_market_order(exchange.url, "outsider-halt", "BUY", "0.005")
    sessions = set(_sessions_on_exchange(exchange.url))

    seq = journal(db)[0].seq
    with BarPump(exchange, every_s=1.0):
        proc = start_trader(config, "--run-for", str(RUN_FOR))
        try:
            _, err = proc.communicate(timeout=RUN_FOR + 60)
        except subprocess.TimeoutExpired:
            proc.kill()
            err = proc.communicate(timeout=30)[1]
            pytest.fail(f"the halted trader outlived --run-for {RUN_FOR}: {err[-4000:]}")
        exited = time.time()
    assert proc.returncode == 0, err[-3000:]
    late = exited - _trading_from(err) - RUN_FOR
    assert late < STOP_BOUND_S, f"exited {late:.1f} s after --run-for {RUN_FOR} ran out"
    after = _after(db, seq)
    (report,) = [r.data() for r in after if r.kind is RecordKind.RECONCILIATION]
    assert report["verdict"] == "halt"
    kinds = {(d["kind"], d["subject"]) for d in report["discrepancies"]}
    assert ("position_differs", SYMBOL) in kinds
    (moved,) = [d for d in report["discrepancies"] if d["kind"] == "position_differs"]
    assert moved["believed"] == pytest.approx(held) and moved["exchange"] == pytest.approx(
        held + 0.005
    )
    (halt,) = [r.data() for r in after if r.kind is RecordKind.BREAKER_TRANSITION]
    assert halt["to"] == "HALTED" and halt["reason"] == "reconciliation"
    assert not [r for r in after if r.kind is RecordKind.ORDER_INITIALIZED], "nothing journaled"
    assert set(_sessions_on_exchange(exchange.url)) == sessions, "nothing sent"
    assert [r for r in after if r.kind is RecordKind.DECISION], "it kept deciding, halted"

    # SIGTERM while halted (bars arriving): exit 0, promptly, still having sent nothing
    seq = journal(db)[0].seq
    with BarPump(exchange, every_s=1.0):
        proc = start_trader(config)
        try:
            deadline = time.monotonic() + 60
            while not [r for r in _after(db, seq) if r.kind is RecordKind.RECONCILIATION]:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.3)
            time.sleep(3.5)  # bars close and are decided while it is halted
            signalled = time.time()
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=60)
        finally:
            proc.kill()
    assert proc.returncode == 0, err[-3000:]
    assert time.time() - signalled < STOP_BOUND_S, err[-3000:]
    assert not [r for r in _after(db, seq) if r.kind is RecordKind.ORDER_INITIALIZED]
    assert set(_sessions_on_exchange(exchange.url)) == sessions
    assert KEY not in err and SECRET not in err
    before = account(exchange.url, "usdm")
    assert before.position == pytest.approx(held + 0.005)  # nothing flattened it


def _wait_for(db: Path, proc: subprocess.Popen[str], kind: RecordKind, after_seq: int) -> int:
    """The seq of the first ``kind`` record after ``after_seq`` (the trader still running)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        if journal_ready(db):
            found = [r.seq for r in _after(db, after_seq) if r.kind is kind]
            if found:
                return found[0]
        time.sleep(0.2)
    pytest.fail(f"no {kind.value} record came")


def test_out_of_band_position_change_halts_the_periodic_reconciliation(
    fresh_exchange: Exchange, tmp_path: Path
) -> None:
    exchange, session, db = fresh_exchange, 400, tmp_path / "live.db"
    config = _config(tmp_path, exchange, session, reconcile={"interval_s": 3})
    with BarPump(exchange, every_s=1.5):
        proc = start_trader(config, "--run-for", "16")
        try:
            first = _wait_for(db, proc, RecordKind.RECONCILIATION, 0)
            _wait_for(db, proc, RecordKind.ORDER_INITIALIZED, first)  # it trades, then
            outsider_market_order(exchange.url, "outsider-periodic", "BUY", "0.004")
            _, err = proc.communicate(timeout=90)
        finally:
            proc.kill()
    assert proc.returncode == 0, err[-3000:]
    reports = [r for r in journal(db)[1] if r.kind is RecordKind.RECONCILIATION]
    assert reports[0].data()["ok"] and len(reports) >= 2
    halt = next(r for r in reports if not r.data()["ok"])
    assert halt.data()["verdict"] == "halt" and halt.seq != reports[0].seq  # a periodic pass
    moved = [d for d in halt.data()["discrepancies"] if d["kind"] == "position_differs"]
    assert [d["subject"] for d in moved] == [SYMBOL]
    assert moved[0]["exchange"] - moved[0]["believed"] == pytest.approx(0.004)
    later = _after(db, halt.seq)
    (to,) = [r.data() for r in later if r.kind is RecordKind.BREAKER_TRANSITION]
    assert to["to"] == "HALTED" and to["reason"] == "reconciliation"
    assert not [r for r in later if r.kind is RecordKind.ORDER_INITIALIZED], "sent after HALT"
    assert "position_differs" in err and KEY not in err and SECRET not in err
    # the oracle, the outsider's lot counted as there before the run (our fills are the rest)
    now = account(exchange.url, "usdm")
    state, _ = journal(db)
    ours = state.positions[SYMBOL].quantity if SYMBOL in state.positions else 0.0
    assert now.position == pytest.approx(ours + 0.004)
    check(exchange.url, db, {session}, Account(now.balances, 0.004), "usdm")

    seq = state.seq
    out = run_cli("trade", "reconcile", "--config", str(config))
    assert out.returncode == 1, out.stderr[-3000:] + out.stdout
    assert "HALT" in out.stdout and "position_differs" in out.stdout and SYMBOL in out.stdout
    as_json = json.loads(run_cli("trade", "reconcile", "--config", str(config), "--json").stdout)
    (d,) = [d for d in as_json["discrepancies"] if d["kind"] == "position_differs"]
    assert d["exchange"] - d["believed"] == pytest.approx(0.004)
    assert journal(db)[0].seq == seq, "trade reconcile writes nothing"
    assert set(_sessions_on_exchange(exchange.url)) == {session}, "and sends nothing"


def test_adopt_unknown_takes_the_usdm_position_and_trades_from_it(
    fresh_exchange: Exchange, tmp_path: Path
) -> None:
    exchange, session, db = fresh_exchange, 500, tmp_path / "live.db"
    outsider_market_order(exchange.url, "outsider-adopted", "BUY", "0.005")
    (risk,) = usdm(exchange.url, "fapiPrivateV2GetPositionRisk", symbol=SYMBOL)
    entry = float(risk["entryPrice"])
    before = account(exchange.url, "usdm")
    assert before.position == pytest.approx(0.005)
    config = _config(
        tmp_path, exchange, session, reconcile={"adopt_unknown": True, "interval_s": 3}
    )
    with BarPump(exchange, every_s=1.5):
        proc = start_trader(config, "--run-for", "14")
        _, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err[-3000:]
    records = journal(db)[1]
    reports = [r for r in records if r.kind is RecordKind.RECONCILIATION]
    first = reports[0].data()
    assert first["ok"] and first["verdict"] == "adopted", first
    assert first["adopted_positions"] == {SYMBOL: {"quantity": 0.005, "entry_price": entry}}
    assert all(r.data()["verdict"] == "ok" for r in reports[1:]) and len(reports) >= 3
    assert not [r for r in records if r.kind is RecordKind.BREAKER_TRANSITION]

    # the first order trades from the adopted position toward its decision's target
    order = next(r for r in records if r.kind is RecordKind.ORDER_INITIALIZED)
    # (a decision is written within the event-loop turn, behind the order's write-ahead pair)
    decision = next(r for r in records if r.kind is RecordKind.DECISION and r.seq > order.seq)
    assert not [r for r in records if r.kind is RecordKind.DECISION and r.seq < order.seq][1:]
    o, target = journal(db)[0].orders[order.key], decision.data()["target_qty"]
    assert o.quantity * o.side.sign == pytest.approx(target - 0.005, abs=0.0011), (o, target)

    seen = check(exchange.url, db, {session}, before, "usdm")  # our fills on top of 0.005
    now = account(exchange.url, "usdm")
    status = json.loads(run_cli("trade", "status", "--config", str(config), "--json").stdout)
    assert status["positions"][SYMBOL]["quantity"] == pytest.approx(now.position)
    assert seen.trades, "it traded"
    out = run_cli("trade", "reconcile", "--config", str(config))
    assert out.returncode == 0 and "OK" in out.stdout, out.stdout + out.stderr[-2000:]

    # a restart rebuilds the adopted portfolio from the journal: OK, nothing adopted again
    n = len(reports)
    with BarPump(exchange, every_s=1.5):
        proc = start_trader(config, "--run-for", "4")
        _, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err[-3000:]
    again = [r.data() for r in journal(db)[1] if r.kind is RecordKind.RECONCILIATION][n:]
    assert again and again[0]["verdict"] == "ok", again[0]
    check(exchange.url, db, {session, session + 1}, before, "usdm")


def test_fills_while_the_trader_was_down_are_applied_once_at_startup(
    fresh_exchange: Exchange, tmp_path: Path
) -> None:
    """``kill -9`` while a post-only order rests; the market fills it; the restart journals the
    fill once (the order resolved by ``origClientOrderId``), reconciliation agrees, and the
    position equals the exchange's."""
    exchange, session, db = fresh_exchange, 600, tmp_path / "live.db"
    config = _config(
        tmp_path, exchange, session,
        execution={"style": "post_only", "post_only_timeout_s": 3600},
    )  # fmt: skip
    before = account(exchange.url, "usdm")

    def query(cid: str) -> dict[str, Any]:
        return dict(usdm(exchange.url, "fapiPrivateGetOrder", symbol=SYMBOL, origClientOrderId=cid))

    with BarPump(exchange, every_s=1.0):
        resting, filled, attempt = kill_until_filled(config, db, session, query)
        again = start_trader(config, "--run-for", "8")
        _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err[-3000:]
    seen = check(exchange.url, db, set(range(session, session + attempt + 2)), before, "usdm")
    fills = [r.data()["trade_id"] for r in seen.records
             if r.kind is RecordKind.FILL and r.key == resting]  # fmt: skip
    trades = [int(t["id"]) for t in seen.trades if t["orderId"] == filled["orderId"]]
    assert trades and sorted(fills) == sorted(trades)
    reports = [r.data() for r in seen.records if r.kind is RecordKind.RECONCILIATION]
    assert reports and all(r["ok"] for r in reports), reports
    assert account(exchange.url, "usdm").position == pytest.approx(
        seen.state.positions[SYMBOL].quantity
    )
    # idempotent: one more restart journals none of those trades again
    n = len(fills)
    with BarPump(exchange, every_s=1.0):
        again = start_trader(config, "--run-for", "4")
        _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err[-3000:]
    seen = check(exchange.url, db, set(range(session, session + attempt + 3)), before, "usdm")
    assert len([r for r in seen.records if r.kind is RecordKind.FILL and r.key == resting]) == n
