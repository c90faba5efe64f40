"""The fault matrix of the live trader (issue 10), the rows ``test_trader_live.py`` does not
cover: a 418 ban, ``-1021`` with the periodic clock sync, an acknowledgement held past the
client timeout (a market order filled and gone from openOrders before its answer is read),
websocket stalls, a kline stream gap across bar closes while trading, and ``kill -9`` at every
crash point (after the journal write, after the send, after a partial fill, during a cancel
before and after it is sent), spot and USD-M. The real ``gradtrade trade`` runs in its own
process against ``gradtrade exchange serve --faults``; the exchange (``oracle.check``) decides:
0 lost, 0 duplicated, every fill once, position and balances equal.
"""

from __future__ import annotations

import itertools
import json
import signal
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from gradtrade.core import OrderStatus
from gradtrade.persistence import RecordKind

from .harness import (
    KEY,
    SECRET,
    SYMBOL,
    BarPump,
    Exchange,
    server_ms,
    start_trader,
    trader_config,
)
from .oracle import account, check, exchange_orders, journal, journal_ready

# sessions end in 5 (restarts 6): never one of test_trader_live's (0, 1) or the soak's (8),
# whatever second each module was imported in: they share one exchange account
_SESSIONS = itertools.count(int(time.time()) % 100_000 * 100 + 5, 10)
BIG = {"kind": "ma_cross", "params": {"fast": 1, "slow": 2, "size": 1.0}}
POST_ONLY = {"style": "post_only", "post_only_timeout_s": 1.0, "on_timeout": "reprice"}


def _config(tmp_path: Path, exchange: Exchange, market: str = "spot", **over: Any) -> Path:
    session = next(_SESSIONS)
    execution = {"session": session, **over.pop("execution", {})}
    venue = {"market": market, **over.pop("venue", {})}
    return trader_config(tmp_path, exchange.url, "live", execution=execution, venue=venue, **over)


def _session(config: Path) -> int:
    return int(yaml.safe_load(config.read_text())["execution"]["session"])


def _run(exchange: Exchange, config: Path, run_for: int = 16) -> str:
    with BarPump(exchange, every_s=2.0):
        proc = start_trader(config, "--run-for", str(run_for))
        _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-3000:]
    assert KEY not in err and SECRET not in err
    return err


def _rejections(records: list[Any]) -> list[dict[str, Any]]:
    return [r.data() for r in records if r.kind is RecordKind.ORDER_REJECTED]


def test_418_ban_is_honoured_and_trading_resumes_after_it(
    exchange: Exchange, tmp_path: Path
) -> None:
    config = _config(tmp_path, exchange)
    before = account(exchange.url)
    exchange.arm(kind="rest", status=418, count=1, retry_after=4, path_prefix="/api/v3/order")
    _run(exchange, config, run_for=20)
    seen = check(exchange.url, tmp_path / "live.db", {_session(config)}, before)
    reasons = [r["reason"] for r in _rejections(seen.records)]
    assert reasons and set(reasons) == {"banned"}, reasons
    # the ban was kept by the client: its own refusals while banned (the exchange's 418 fired
    # once), never a resend
    own = [r for r in _rejections(seen.records) if "by the venue (HTTP 418)" in r["message"]]
    assert own and len(reasons) == len(own) + 1, _rejections(seen.records)
    assert seen.trades, "trading resumes once the ban is over"


def test_clock_moved_under_periodic_sync_is_resynced_not_rejected(
    exchange: Exchange, tmp_path: Path
) -> None:
    """The bar pump moves the exchange's clock a minute per bar; with the per-bar sync off, a
    signed order carries a stale timestamp and the exchange answers -1021: the client re-syncs
    and the order is retried, never turned into a rejection of the order itself."""
    config = _config(
        tmp_path, exchange, venue={"sync_clock_every_bar": False, "clock_sync_s": 3600}
    )
    before = account(exchange.url)
    _run(exchange, config, run_for=20)
    seen = check(exchange.url, tmp_path / "live.db", {_session(config)}, before)
    rejected = _rejections(seen.records)
    assert all(r["reason"] == "unavailable" for r in rejected)
    skewed = [r.seq for r in seen.records if r.kind is RecordKind.ORDER_REJECTED
              and "-1021" in r.data()["message"]]  # fmt: skip
    assert skewed, "the clock really was off"
    # how often ma_cross trades depends on the synthetic market's path: one fill after the
    # first -1021 is the proof (without the re-sync every later order is refused alike)
    assert [r for r in seen.records if r.kind is RecordKind.FILL and r.seq > skewed[0]], (
        "orders go through once the clock is re-synced"
    )


def test_ack_held_past_the_client_timeout_resolves_the_market_order_by_query(
    exchange: Exchange, tmp_path: Path
) -> None:
    """The exchange places (and fills) each market order at once and answers 5 s later, past
    the trader's 3 s timeout: the order is gone from openOrders before the answer is read. It
    must be found by origClientOrderId, filled once, never rejected and never resent."""
    config = _config(tmp_path, exchange)
    before = account(exchange.url)
    exchange.arm(kind="ack_delay", seconds=5.0)
    try:
        err = _run(exchange, config, run_for=20)
    finally:
        exchange.arm(kind="ack_delay", seconds=0.0)
    seen = check(exchange.url, tmp_path / "live.db", {_session(config)}, before)
    assert "status unknown" in err  # the timeout really happened
    assert not _rejections(seen.records)
    assert seen.trades and all(o["status"] == "FILLED" for o in seen.orders)


def test_websocket_stalls_lose_and_double_nothing(exchange: Exchange, tmp_path: Path) -> None:
    """Every websocket (klines and user data) holds its frames 4 s, twice, while trading."""
    config = _config(tmp_path, exchange)
    before = account(exchange.url)
    stop = threading.Event()

    def stall() -> None:
        for _ in range(2):
            if stop.wait(5.0):
                return
            exchange.arm(kind="stall_ws", seconds=4.0, path_prefix="")

    staller = threading.Thread(target=stall, daemon=True)
    staller.start()
    try:
        _run(exchange, config, run_for=22)
    finally:
        stop.set()
        staller.join(10)
    _, records = journal(tmp_path / "live.db")
    seen = check(exchange.url, tmp_path / "live.db", {_session(config)}, before)
    assert seen.trades
    bars = [r.data()["ts_ns"] for r in records if r.kind is RecordKind.DECISION]
    assert bars == sorted(set(bars)), "each bar decided once, in order"


CRASHES = [
    pytest.param("spot", "after_partial_fill", {}, id="spot-after_partial_fill"),  # big orders
    pytest.param("spot", "cancel_journaled", POST_ONLY, id="spot-cancel_journaled"),
    pytest.param("spot", "cancel_sent", POST_ONLY, id="spot-cancel_sent"),
    pytest.param("usdm", "after_journal", {}, id="usdm-after_journal"),
    pytest.param("usdm", "after_send", {}, id="usdm-after_send"),
    pytest.param("usdm", "after_partial_fill", {}, id="usdm-after_partial_fill"),  # big orders
    pytest.param("usdm", "cancel_journaled", POST_ONLY, id="usdm-cancel_journaled"),
    pytest.param("usdm", "cancel_sent", POST_ONLY, id="usdm-cancel_sent"),
]


@pytest.mark.parametrize(("market", "point", "execution"), CRASHES)
def test_kill_9_at_crash_point_then_restart(
    fresh_exchange: Exchange,
    tmp_path: Path,
    market: str,
    point: str,
    execution: dict[str, Any],
) -> None:
    exchange = fresh_exchange
    # orders of ~1 BTC walk more than one level of the synthetic book: fills one by one
    big = {"capital": 60_000, "strategy": BIG} if point == "after_partial_fill" else {}
    config = _config(tmp_path, exchange, market, execution=execution, **big)
    session, db = _session(config), tmp_path / "live.db"
    before = account(exchange.url, market)
    with BarPump(exchange, every_s=2.0):
        proc = start_trader(config, GRADTRADE_CRASH_AT=point)
        try:
            _, err = proc.communicate(timeout=100)
        finally:
            proc.kill()
        assert proc.returncode == -signal.SIGKILL and "test hook" in err, err[-3000:]
        crashed, _ = journal(db)
        hit = _crashed_order(crashed, point)
        placed = [o for o in exchange_orders(exchange.url, {session}, market)
                  if o["clientOrderId"] == hit]  # fmt: skip
        assert len(placed) == (0 if point == "after_journal" else 1)
        if point == "cancel_journaled":
            assert placed[0]["status"] in ("NEW", "PARTIALLY_FILLED")  # the cancel never left
        again = start_trader(config, "--run-for", "12")
        _, err2 = again.communicate(timeout=120)
    assert again.returncode == 0, err2[-3000:]
    seen = check(exchange.url, db, {session, session + 1}, before, market)
    resolved = seen.state.orders[hit]
    assert resolved.is_terminal and hit not in seen.state.in_flight
    if point == "after_journal":
        assert resolved.status == OrderStatus.REJECTED
    elif point.startswith("cancel"):
        assert resolved.status in (OrderStatus.CANCELED, OrderStatus.FILLED)
    else:
        assert resolved.filled_qty > 0
    assert f"session {session + 1}" in err2


def test_a_stop_while_an_order_is_resolved_by_query_waits_for_its_answer(
    exchange: Exchange, tmp_path: Path
) -> None:
    """SIGTERM lands while an order refused with a 503 is being resolved by query (the venue
    could still place it until recvWindow + timeout has passed): the trader waits for the
    exchange's answer, up to that window, rather than exiting with the order unresolved (a
    recvWindow of 10 s: the answer comes well after the 3 s timeout)."""
    config = _config(tmp_path, exchange, venue={"recv_window_ms": 10_000})
    db, session = tmp_path / "live.db", _session(config)
    before = account(exchange.url)
    proc = start_trader(config)
    try:
        with BarPump(exchange, every_s=2.0):  # stopped before SIGTERM: the venue's clock runs
            known = _orders_once_trading(db, proc, set())
            exchange.arm(kind="rest", status=503, count=1, path_prefix="/api/v3/order")
            (cid,) = _orders_once_trading(db, proc, known) - known
        time.sleep(0.5)  # its POST answered 503: resolving, for recvWindow + timeout
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err[-3000:]
    assert f"order {cid}: status unknown" in err and "waiting up to" in err, err[-3000:]
    seen = check(exchange.url, db, {session}, before)
    assert seen.state.orders[cid].status == OrderStatus.REJECTED and not seen.state.in_flight


def _orders_once_trading(db: Path, proc: Any, known: set[str]) -> set[str]:
    """The journal's client ids once it holds one that ``known`` lacks."""
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None and time.monotonic() < deadline, "no new order came"
        orders = set(journal(db)[0].orders) if journal_ready(db) else set()
        if orders - known:
            return orders
        time.sleep(0.05)


def _crashed_order(state: Any, point: str) -> str:
    """The client id the crash left unresolved in the journal."""
    if point in ("after_journal", "after_send"):
        (cid,) = state.in_flight
        return str(cid)
    want = (
        OrderStatus.PARTIALLY_FILLED
        if point == "after_partial_fill"
        else OrderStatus.PENDING_CANCEL
    )
    hits = [cid for cid, o in state.orders.items() if o.status == want]
    assert len(hits) == 1, (point, {c: o.status for c, o in state.orders.items()})
    return str(hits[0])


def test_kline_stream_gap_across_bar_closes_while_trading(
    exchange: Exchange, tmp_path: Path
) -> None:
    """The kline websocket is dropped and three candles close at once while it is down: the
    bars come back from REST (the reconnect's backfill, or the gap before the next live bar),
    each bar is decided once and in order, the two superseded ones are decided without a
    target (never traded late at a price that is gone) and the newest one trades as usual.
    Then the stream is stalled across three closes (the frames arrive late, in a burst): the
    same, by the venue's clock."""
    config = _config(tmp_path, exchange)
    db = tmp_path / "live.db"
    before = account(exchange.url)
    proc = start_trader(config)
    try:
        _pump_until_decided(exchange, db, proc, 3)  # trading on a healthy stream first
        exchange.arm(kind="drop_ws", path_prefix="/stream")
        gap = _close_three_candles(exchange)  # their close times (ns), the newest last
        _decided_at(db, proc, gap[-1])
        _pump_until_decided(exchange, db, proc, _decisions_count(db) + 2)  # and after it
        # stalled (frames held, then delivered late in a burst): three candles close a second
        # apart (the market moves between them); the venue's clock marks the first two late
        exchange.arm(kind="stall_ws", seconds=5.0, path_prefix="/stream")
        held = []
        for _ in range(3):
            time.sleep(1.0)
            held.append((exchange.next_minute() + 60_000) * 10**6)
        _decided_at(db, proc, held[-1])
        _pump_until_decided(exchange, db, proc, _decisions_count(db) + 1)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err[-3000:]
    assert KEY not in err and SECRET not in err
    seen = check(exchange.url, db, {_session(config)}, before)
    decisions = [r.data() for r in seen.records if r.kind is RecordKind.DECISION]
    times = [d["ts_ns"] for d in decisions]
    assert times == sorted(set(times)), "each bar decided once, in order"
    assert all(b - a == 60 * 10**9 for a, b in itertools.pairwise(times)), "no bar missed"
    target = {d["ts_ns"]: d["target_qty"] for d in decisions}
    assert target[gap[0]] is None and target[gap[1]] is None, "superseded: not traded"
    assert target[gap[2]] is not None, "the newest bar trades"
    assert target[held[0]] is None and target[held[1]] is None, "late frames: not traded"
    assert target[held[2]] is not None
    # a price that is gone: a superseded bar's close that the newest bar did not close at too
    # (the candles closed by one clock jump share their close: the market did not move; the
    # held ones closed a second apart)
    gone = _closes(exchange, gap[:2]) - _closes(exchange, gap[2:])
    gone |= _closes(exchange, held[:2]) - _closes(exchange, held[2:])
    assert gone, "the market moved between the held candles"
    sent = [r.data()["request"] for r in seen.records if r.kind is RecordKind.ORDER_INITIALIZED]
    stale = [q for q in sent if q["reference_price"] in gone]
    assert not stale, ("an order at a stale price", stale, gone, decisions[-6:])
    assert "kline gap" in err or "reconnect" in err.lower()


def _decisions_count(db: Path) -> int:
    if not journal_ready(db):
        return 0
    return sum(r.kind is RecordKind.DECISION for r in journal(db)[1])


def _pump_until_decided(exchange: Exchange, db: Path, proc: Any, n: int) -> None:
    """Close a candle every 2 s until the journal holds ``n`` decisions (the first ones wait
    for the trader to start)."""
    deadline = time.monotonic() + 60
    while _decisions_count(db) < n:
        assert proc.poll() is None and time.monotonic() < deadline, "no decision came"
        exchange.next_minute()
        wait = time.monotonic() + 2.0
        count = _decisions_count(db)
        while _decisions_count(db) == count and time.monotonic() < wait:
            time.sleep(0.1)


def _decided_at(db: Path, proc: Any, ts_ns: int) -> None:
    deadline = time.monotonic() + 30
    while not [r for r in journal(db)[1]
               if r.kind is RecordKind.DECISION and r.data()["ts_ns"] >= ts_ns]:  # fmt: skip
        assert proc.poll() is None and time.monotonic() < deadline, "the gap was not filled"
        time.sleep(0.1)


def _close_three_candles(exchange: Exchange) -> list[int]:
    """Move the server clock past three minute boundaries in one step (the open candle and
    the next two close together); their close times in ns."""
    now = server_ms(exchange.url)
    minute = now // 60_000
    target = (minute + 3) * 60_000 + 300
    exchange.arm(kind="clock_skew", ms=target - int(time.time() * 1000))
    return [(minute + k) * 60_000 * 10**6 for k in (1, 2, 3)]


def _closes(exchange: Exchange, close_ns: list[int]) -> set[float]:
    """The close prices of the candles closing at ``close_ns`` (the exchange's REST klines)."""
    start = min(close_ns) // 10**6 - 60_000
    with urllib.request.urlopen(
        f"{exchange.url}/api/v3/klines?symbol={SYMBOL}&interval=1m&startTime={start}&limit=5",
        timeout=10,
    ) as r:
        rows = json.loads(r.read())
    wanted = {ns // 10**6 for ns in close_ns}
    return {float(row[4]) for row in rows if int(row[0]) + 60_000 in wanted}
