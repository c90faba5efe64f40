"""Live mode against the local exchange: real signed orders, and ``kill -9`` of the trader at
its crash points, then a restart. The exchange's own account of our orders and trades (read
with ccxt) is the oracle: 0 lost orders, 0 duplicates (counted by client id on the exchange),
every exchange fill in the journal exactly once, the journal's position equal to the
exchange's trades.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from gradtrade.core import OrderStatus
from gradtrade.persistence import JournalOptions, RecordKind, open_journal, recover

from .harness import KEY, SECRET, SYMBOL, BarPump, Exchange, start_trader, trader_config
from .oracle import _read as oracle_read

_SESSIONS = itertools.count(int(time.time()) % 100_000 * 100, 10)  # restarts take +1


Rows = list[dict[str, Any]]


def exchange_view(url: str, sessions: set[int]) -> tuple[Rows, Rows]:
    """Our orders (client ids of these sessions) and their trades, as the exchange has them."""
    orders, trades, _ = asyncio.run(oracle_read(url, "spot", sessions))
    return orders, trades


def check_against_exchange(url: str, db: Path, sessions: set[int]) -> dict[str, Any]:
    with open_journal(str(db), JournalOptions(readonly=True)) as j:
        records = list(j.read())
        state = recover(j)
    orders, trades = exchange_view(url, sessions)
    on_exchange = [o["clientOrderId"] for o in orders]
    assert len(on_exchange) == len(set(on_exchange)), f"duplicated client ids: {on_exchange}"
    lost = set(on_exchange) - set(state.orders)
    assert not lost, f"orders on the exchange the journal does not know: {lost}"
    journal_fills = [r for r in records if r.kind is RecordKind.FILL]
    ids = [r.data()["trade_id"] for r in journal_fills]
    assert len(ids) == len(set(ids)), "a fill journaled twice"
    assert sorted(ids) == sorted(int(t["id"]) for t in trades)
    for o in orders:  # the journal's final status is the exchange's
        mine = state.orders[o["clientOrderId"]]
        assert str(mine.status).endswith(o["status"]), (o, mine.status)
    for cid, order in state.orders.items():  # an order the exchange never had: rejected
        if cid not in on_exchange:
            assert order.status == OrderStatus.REJECTED, (cid, order.status)
    side = {int(o["orderId"]): 1 if o["side"] == "BUY" else -1 for o in orders}
    exchange_qty = sum(side[int(t["orderId"])] * float(t["qty"]) for t in trades)
    journal_qty = sum(r.data()["side"] * r.data()["quantity"] for r in journal_fills)
    assert abs(exchange_qty - journal_qty) < 1e-9
    assert abs(state.positions[SYMBOL].quantity - journal_qty) < 1e-9
    return {"state": state, "records": records, "orders": orders, "trades": trades}


def test_live_trader_places_real_orders(exchange: Exchange, tmp_path: Path) -> None:
    session = next(_SESSIONS)
    config = trader_config(tmp_path, exchange.url, "live", execution={"session": session})
    with BarPump(exchange, every_s=2.0):
        proc = start_trader(config, "--run-for", "16")
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]
    seen = check_against_exchange(exchange.url, tmp_path / "live.db", {session})
    assert len(seen["orders"]) >= 1 and len(seen["trades"]) >= 1
    assert KEY not in err and SECRET not in err


@pytest.mark.parametrize("point", ["after_journal", "after_send"])
def test_kill_9_then_restart_loses_and_duplicates_nothing(
    exchange: Exchange, tmp_path: Path, point: str
) -> None:
    session = next(_SESSIONS)
    config = trader_config(tmp_path, exchange.url, "live", execution={"session": session})
    db = tmp_path / "live.db"
    with BarPump(exchange, every_s=2.0):
        proc = start_trader(config, GRADTRADE_CRASH_AT=point)
        try:
            _, err = proc.communicate(timeout=90)
        finally:
            proc.kill()
        assert proc.returncode == -signal.SIGKILL, err[-3000:]
        with open_journal(str(db), JournalOptions(readonly=True)) as j:
            crashed = recover(j)
        (cid,) = crashed.in_flight  # submitted, never acknowledged in the journal
        orders, _ = exchange_view(exchange.url, {session})
        placed = [o for o in orders if o["clientOrderId"] == cid]
        assert len(placed) == (0 if point == "after_journal" else 1)

        again = start_trader(config, "--run-for", "12")
        _, err2 = again.communicate(timeout=120)
    assert again.returncode == 0, err2[-3000:]
    seen = check_against_exchange(exchange.url, db, {session, session + 1})
    resolved = seen["state"].orders[cid]
    assert resolved.is_terminal and cid not in seen["state"].in_flight
    if point == "after_journal":
        assert resolved.status == OrderStatus.REJECTED  # never placed: resolved, not assumed
    else:
        assert resolved.status == OrderStatus.FILLED and resolved.filled_qty > 0
    assert f"session {session + 1}" in err2


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "rest", "status": 503, "count": 2, "path_prefix": "/api/v3/order"},
        {
            "kind": "rest",
            "status": 429,
            "count": 1,
            "retry_after": 1,
            "path_prefix": "/api/v3/order",
        },
        {"kind": "reject_orders", "count": 1},
    ],
    ids=["5xx", "429", "insufficient_balance"],
)
def test_order_entry_faults_lose_and_duplicate_nothing_and_leak_no_secret(
    exchange: Exchange, tmp_path: Path, fault: dict[str, Any]
) -> None:
    session = next(_SESSIONS)
    config = trader_config(tmp_path, exchange.url, "live", execution={"session": session})
    exchange.arm(**fault)  # (never "clear": it would also put the exchange's clock back)
    with BarPump(exchange, every_s=2.0):
        proc = start_trader(config, "--run-for", "16")
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]
    seen = check_against_exchange(exchange.url, tmp_path / "live.db", {session})
    records = seen["records"]
    rejected = [r.data() for r in records if r.kind is RecordKind.ORDER_REJECTED]
    if fault["kind"] == "reject_orders":
        assert [r["reason"] for r in rejected] == ["insufficient_balance"]
    else:  # a refusal or an unknown outcome is never turned into a trade or a lost order
        assert all(r["reason"] in ("rate_limited", "unavailable") for r in rejected)
    assert seen["trades"], "the trader must go on trading after the fault"
    journal_bytes = b"".join(p.read_bytes() for p in tmp_path.glob("live.db*"))
    for secret in (KEY, SECRET):
        assert secret not in err and secret.encode() not in journal_bytes


def test_user_data_stream_dropped_while_trading_misses_no_fill(
    exchange: Exchange, tmp_path: Path
) -> None:
    session = next(_SESSIONS)
    config = trader_config(tmp_path, exchange.url, "live", execution={"session": session})
    stop = threading.Event()

    def drop_user_data() -> None:  # the websocket API connection (spot user data) goes down
        while not stop.wait(1.3):
            exchange.arm(kind="drop_ws", path_prefix="/ws-api")

    dropper = threading.Thread(target=drop_user_data, daemon=True)
    with BarPump(exchange, every_s=2.0):
        proc = start_trader(config, "--run-for", "16")
        dropper.start()
        try:
            _, err = proc.communicate(timeout=120)
        finally:
            stop.set()
            dropper.join(10)
    assert proc.returncode == 0, err[-3000:]
    assert err.count("user-data stream down") >= 2  # it really went down, more than once
    seen = check_against_exchange(exchange.url, tmp_path / "live.db", {session})
    assert seen["trades"]
