"""The ``Trader`` service in-process (the exchange in its own process): observers see every
handled event and cannot break trading, stream stats move, breaker transitions are journaled
and survive a restart, and live fills are accounted without waiting for the next bar."""

from __future__ import annotations

import asyncio
from pathlib import Path

import yaml
from pydantic import SecretStr

from conftest import KEY, SECRET, BarPump, Exchange, trader_config
from gradtrade.engine.feed import FeedItem
from gradtrade.events import Bar
from gradtrade.live import Trader, parse_trader_config
from gradtrade.live.credentials import Credentials
from gradtrade.live.status import reset_breaker, trader_status
from gradtrade.persistence import JournalOptions, RecordKind, open_journal


def test_observers_stats_and_breaker_transitions(exchange: Exchange, tmp_path: Path) -> None:
    # a breaker that halts on the first fees paid: the transitions must reach the journal
    path = trader_config(
        tmp_path, exchange.url, risk={"reduce_drawdown": 0.00001, "halt_drawdown": 0.00002}
    )
    cfg = parse_trader_config(yaml.safe_load(path.read_text()))
    trader = Trader(cfg)
    seen: list[FeedItem] = []
    stats_at_bar: list[int] = []

    def watch(t: Trader, event: FeedItem) -> None:
        seen.append(event)
        stats = next(iter(t.stream_stats.values()))
        stats_at_bar.append(stats.messages)

    def broken(t: Trader, event: FeedItem) -> None:
        raise RuntimeError("a monitoring bug")

    trader.observers += [broken, watch]
    with BarPump(exchange, every_s=1.5):
        asyncio.run(trader.run(run_for_s=14))
    bars = [e for e in seen if isinstance(e, Bar)]
    live_bars = [b for b in bars if b.ts_ns >= trader.trade_from_ns]
    assert len(bars) >= cfg.warmup_bars and len(live_bars) >= 4
    (stats,) = trader.stream_stats.values()
    assert stats.connections == 1 and stats.messages > 0 and stats.last_message_ns > 0
    assert stats_at_bar[-1] > 0
    with open_journal(cfg.journal.url, JournalOptions(readonly=True)) as j:
        records = list(j.read())
    transitions = [r.data() for r in records if r.kind is RecordKind.BREAKER_TRANSITION]
    assert transitions and transitions[-1]["to"] == "HALTED", transitions
    assert trader_status(cfg).breaker == "HALTED"
    # the halt survives a restart, and only the explicit reset leaves it
    assert reset_breaker(cfg) == "HALTED"
    assert trader_status(cfg).breaker == "ACTIVE"


def test_live_fills_do_not_wait_for_the_next_bar(exchange: Exchange, tmp_path: Path) -> None:
    path = trader_config(tmp_path, exchange.url, "live", execution={"session": 4242})
    cfg = parse_trader_config(yaml.safe_load(path.read_text()))
    trader = Trader(cfg, Credentials(SecretStr(KEY), SecretStr(SECRET)))
    with BarPump(exchange, every_s=4.0):
        asyncio.run(trader.run(run_for_s=14))
    with open_journal(cfg.journal.url, JournalOptions(readonly=True)) as j:
        records = list(j.read())
    submitted = {r.key: r.ts_ns for r in records if r.kind is RecordKind.ORDER_SUBMITTED}
    fills = [r for r in records if r.kind is RecordKind.FILL]
    assert fills
    for fill in fills:  # bars close every 4 s; a fill accounted at the next bar would lag that
        assert (fill.ts_ns - submitted[fill.key]) / 1e9 < 1.5
