"""The paper trader with ``journal.keep_terminal_orders: 0`` against the local exchange (its own
process): terminal orders are pruned from the journal's mirror, its snapshots and the engine's
order table while it trades, and a restart from the pruned journal recovers the full replay's
state and opens a session past every pruned id."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import yaml

from gradtrade.core import parse_client_order_id
from gradtrade.live import Trader, parse_trader_config
from gradtrade.persistence import (
    JournalOptions,
    JournalRecord,
    RecordKind,
    TraderState,
    open_journal,
    recover,
)

from .harness import BarPump, Exchange, trader_config


def objects(state: TraderState) -> dict[str, str]:
    return {k: v for k, v in state.snapshot_objects().items()
            if not k.startswith("extra/") and k != "breaker"}  # fmt: skip


async def trade(trader: Trader, orders: int, cap_s: float = 60.0) -> None:
    """Runs ``trader`` until it has sent ``orders`` orders (or ``cap_s`` passed): how many bars
    that takes depends on the synthetic market's path, not on the machine's load."""
    run = asyncio.create_task(trader.run())
    sent = 0

    def count(record: JournalRecord) -> None:
        nonlocal sent
        sent += record.kind is RecordKind.ORDER_SUBMITTED  # the write-ahead pair's last record

    hooked, deadline = False, time.monotonic() + cap_s
    while not run.done() and sent < orders and time.monotonic() < deadline:
        if not hooked and trader.recorder is not None:
            trader.recorder.on_append.append(count)
            hooked = True
        await asyncio.sleep(0.1)
    trader.request_stop()
    await run


def test_a_trader_prunes_while_trading_and_restarts_on_the_pruned_journal(
    exchange: Exchange, tmp_path: Path
) -> None:
    path = trader_config(tmp_path, exchange.url, journal={
        "url": str(tmp_path / "paper.db"), "snapshot_every": 3, "keep_terminal_orders": 0,
    })  # fmt: skip
    cfg = parse_trader_config(yaml.safe_load(path.read_text()))
    sessions, pruned_by_run = [], []
    for _ in range(2):
        trader = Trader(cfg)
        with BarPump(exchange, every_s=1.5):
            asyncio.run(trader.run(run_for_s=14))
        assert trader.engine is not None and trader.recorder is not None
        sessions.append(trader.engine.orders.config.session)
        terminal = [o for o in trader.recorder.state.orders.values() if o.is_terminal]
        assert terminal == []  # the shutdown snapshot pruned every one
        assert not any(o.is_terminal for o in trader.engine.orders.orders.values())
        pruned_by_run.append(trader.recorder.state.pruned_count)
    with open_journal(cfg.journal.url, JournalOptions(readonly=True)) as j:
        records = list(j.read())
        restored = recover(j)
        snapshot = j.latest_snapshot()
    full = TraderState()
    for r in records:
        full.apply(r)
    # the snapshot also carries what only the trader sets there (portfolio, breaker as of it)
    assert objects(restored) == objects(full)
    initialized = {r.key for r in records if r.kind is RecordKind.ORDER_INITIALIZED}
    pruned = {c for r in records if r.kind is RecordKind.ORDERS_PRUNED for c in r.data()["orders"]}
    assert len(initialized) >= 4 and pruned and pruned <= initialized
    assert restored.pruned_count == len(pruned) and not pruned & restored.orders.keys()
    assert all(restored.was_pruned(cid) for cid in pruned)
    assert snapshot is not None and not any(n.startswith("order/") for n in snapshot.objects)
    assert 0 < pruned_by_run[0] < pruned_by_run[1]
    # every order of the first run was pruned before the second started: its session comes
    # from the pruned floor alone, and is past every id the first run sent
    first = {parse_client_order_id(c)[1] for c in initialized} - {sessions[1]}
    assert first == {sessions[0]} and sessions[1] > sessions[0]
