"""A fill while the trader is down: ``kill -9`` once one of its orders rests on the exchange, then
let the market fill it. Shared by the spot (``test_trader_reconcile``) and USD-M
(``test_trader_usdm``) crash tests; ``query`` reads the order on the exchange by client id."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gradtrade.core import OrderStatus, parse_client_order_id
from gradtrade.errors import JournalError
from gradtrade.persistence import JournalOptions, open_journal, recover

from .harness import start_trader

ROUNDS = 3  # the market (a seeded random walk) may walk away from a resting order for good
Query = Callable[[str], dict[str, Any]]


def kill_until_filled(
    config: Path, db: Path, session: int, query: Query
) -> tuple[str, dict[str, Any], int]:
    """Rounds of ``kill_while_resting`` (session, session + 1, ...) until the market fills the
    resting order of one; its client id, the filled order and the round."""
    for attempt in range(ROUNDS):
        resting, filled = kill_while_resting(config, db, session + attempt, query)
        if filled is not None:
            return resting, filled, attempt
    pytest.fail(f"no resting order filled while the trader was down ({ROUNDS} rounds)")


def kill_while_resting(
    config: Path, db: Path, session: int, query: Query
) -> tuple[str, dict[str, Any] | None]:
    """Start the trader, SIGKILL it once an order of this ``session`` rests on the exchange,
    and wait for the market to fill it; its client id and the filled order (None if the market
    never came back to it)."""
    proc = start_trader(config)
    try:
        resting = wait_for_resting(db, proc, session)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        o = query(resting)
        if o["status"] == "FILLED":
            return resting, dict(o)
        assert o["status"] in ("NEW", "PARTIALLY_FILLED"), o
        time.sleep(1.0)
    return resting, None


def wait_for_resting(
    db: Path, proc: subprocess.Popen[str], session: int, timeout_s: float = 60.0
) -> str:
    """The client id of an order of ``session`` resting on the exchange (acknowledged, NEW)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        try:
            with open_journal(str(db), JournalOptions(readonly=True)) as j:
                state = recover(j)
        except JournalError:  # not created yet
            state = None
        for cid, o in state.orders.items() if state is not None else ():
            mine = parse_client_order_id(cid)[1] == session
            if mine and o.status == OrderStatus.NEW and o.exchange_order_id:
                return str(cid)
        time.sleep(0.2)
    pytest.fail("no order came to rest on the exchange")
