"""The ``Trader`` service in-process (the exchange in its own process): observers see every
handled event and cannot break trading, stream stats move, breaker transitions are journaled
and survive a restart, and live fills are accounted without waiting for the next bar."""

from __future__ import annotations

import asyncio
import gc
import signal
import time
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr

from gradtrade.engine.feed import FeedItem
from gradtrade.errors import JournalError
from gradtrade.events import Bar
from gradtrade.live import Trader, parse_trader_config
from gradtrade.live.credentials import Credentials
from gradtrade.live.status import reset_breaker, trader_status
from gradtrade.persistence import JournalOptions, RecordKind, open_journal

from .harness import KEY, SECRET, BarPump, Exchange, server_ms, start_trader, trader_config


def test_observers_stats_and_breaker_transitions(exchange: Exchange, tmp_path: Path) -> None:
    # a breaker that halts on the first fees paid: the transitions must reach the journal
    path = trader_config(
        tmp_path, exchange.url, risk={"reduce_drawdown": 0.00001, "halt_drawdown": 0.00002}
    )
    cfg = parse_trader_config(yaml.safe_load(path.read_text()))
    trader = Trader(cfg)
    seen: list[FeedItem] = []
    stats_at_bar: list[int] = []

    frozen: list[int] = []

    def watch(t: Trader, event: FeedItem) -> None:
        seen.append(event)
        stats = next(iter(t.stream_stats.values()))
        stats_at_bar.append(stats.messages)
        frozen.append(gc.get_freeze_count())

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
    # the heap allocated before trading is out of the cyclic GC while trading, and back after
    assert min(frozen) > 100_000 and gc.get_freeze_count() == 0
    assert trader.connector_metrics["market_data"].requests > 0
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


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_restart_resumes_the_portfolio_from_the_journal(
    exchange: Exchange, tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    journal: dict[str, object] = {"snapshot_every": 7}  # snapshot + tail on restart
    if backend == "redis":
        port = request.getfixturevalue("redis_port")
        journal["url"] = f"redis://127.0.0.1:{port}/0"
    path = trader_config(tmp_path, exchange.url, journal=journal, trader_id=f"resume-{backend}")
    cfg = parse_trader_config(yaml.safe_load(path.read_text()))
    first = Trader(cfg)
    with BarPump(exchange, every_s=1.5):
        asyncio.run(first.run(run_for_s=12))
    assert first.engine is not None and first.engine.portfolio.fee_value > 0  # it traded
    second = Trader(cfg)
    asyncio.run(second.run(run_for_s=0.5))  # no bar closes: nothing new happens
    assert second.engine is not None
    a, b = first.engine.portfolio, second.engine.portfolio
    assert b.cash == a.cash and b.fee_value == a.fee_value and b.slippage == a.slippage
    assert b.quantity("BTCUSDT") == a.quantity("BTCUSDT")
    assert b.positions["BTCUSDT"].to_json() == a.positions["BTCUSDT"].to_json()


def test_restart_after_kill_9_rebuilds_the_portfolio_from_snapshot_and_tail(
    exchange: Exchange, tmp_path: Path
) -> None:
    path = trader_config(tmp_path, exchange.url, journal={"snapshot_every": 4})
    cfg = parse_trader_config(yaml.safe_load(path.read_text()))
    with BarPump(exchange, every_s=1.5):
        proc = start_trader(path)
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                time.sleep(0.5)
                if not Path(cfg.journal.url).exists():
                    continue
                try:
                    with open_journal(cfg.journal.url, JournalOptions(readonly=True)) as j:
                        fills = [r for r in j.read() if r.kind is RecordKind.FILL]
                        snap = j.latest_snapshot()
                except JournalError:  # the file exists before the trader has written its meta
                    continue
                if len(fills) >= 3 and snap is not None and snap.seq < fills[-1].seq:
                    break  # a fill after the snapshot: the restart needs the tail
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
    trader = Trader(cfg)
    asyncio.run(trader.run(run_for_s=0.5))
    assert trader.engine is not None
    with open_journal(cfg.journal.url, JournalOptions(readonly=True)) as j:
        data = [r.data() for r in j.read() if r.kind is RecordKind.FILL]
    assert len(data) >= 3
    qty = sum(f["side"] * f["quantity"] for f in data)
    cash = cfg.capital - sum(f["side"] * f["quantity"] * f["price"] + f["fee"] for f in data)
    p = trader.engine.portfolio
    assert abs(p.quantity("BTCUSDT") - qty) < 1e-9
    assert abs(p.cash - cash) < 1e-6


@pytest.mark.parametrize("tolerance_ms", [1000, 0])
def test_the_venue_clock_is_asked_only_for_a_bar_that_disagrees_with_it(
    exchange: Exchange, tmp_path: Path, tolerance_ms: int
) -> None:
    """The per-bar clock follow: a /time round trip before a bar only when its closing frame's
    event time and the followed clock disagree by more than ``clock_tolerance_ms`` (before
    every bar with 0). The pump tells the trader each new offset as a sync would measure it
    (a real venue's clock does not jump a minute per bar), so the frames agree with it."""
    path = trader_config(
        tmp_path, exchange.url, "live", execution={"session": 4343 + tolerance_ms},
        venue={"clock_tolerance_ms": tolerance_ms},
    )  # fmt: skip
    cfg = parse_trader_config(yaml.safe_load(path.read_text()))
    trader = Trader(cfg, Credentials(SecretStr(KEY), SecretStr(SECRET)))
    bars: list[Bar] = []
    trader.observers.append(
        lambda t, e: bars.append(e) if isinstance(e, Bar) and e.ts_ns >= t.trade_from_ns else None
    )

    async def pump_and_tell() -> None:
        run = asyncio.create_task(trader.run(run_for_s=14))
        while trader.feed is None or trader.feed.stats.connections == 0:
            assert not run.done(), run.result()
            await asyncio.sleep(0.05)
        rest = trader.client.gateway.rest  # type: ignore[union-attr]
        for _ in range(6):
            await asyncio.sleep(1.5)
            # as Exchange.next_minute, with the offset told first: the frame finds it set
            now = await asyncio.to_thread(server_ms, exchange.url)
            skew = (now // 60_000 + 1) * 60_000 + 300 - int(time.time() * 1000)
            rest.metrics.clock_offset_ms = float(skew)
            rest.exchange.options["timeDifference"] = -skew
            await asyncio.to_thread(exchange.arm, kind="clock_skew", ms=skew)
        await run

    asyncio.run(pump_and_tell())
    assert len(bars) >= 5
    if tolerance_ms:
        assert trader.clock_syncs <= 1, trader.clock_syncs  # a bar from REST at the connect
    else:
        assert trader.clock_syncs >= len(bars)
    with open_journal(cfg.journal.url, JournalOptions(readonly=True)) as j:
        records = list(j.read())
    assert [r for r in records if r.kind is RecordKind.FILL], "orders go through"
    assert not [r for r in records if r.kind is RecordKind.ORDER_REJECTED]
