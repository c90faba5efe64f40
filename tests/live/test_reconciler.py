"""``live.reconciler`` in process against the real local exchange (a ``ServerThread``): the
trader's engine, journaling client and journal as ``Trader`` assembles them, around the real
``LiveExecutionClient``. Reports the engine never saw (the trader was busy, the stream lost
them) are repaired through the engine by a pass: journaled exactly once, booked once, and
the same reports arriving late change nothing."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
import pytest

from gradtrade.engine.assembly import EngineSpec, assemble_engine, build_strategy
from gradtrade.engine.clock import WallClock
from gradtrade.engine.loop import Engine
from gradtrade.errors import InvalidInput
from gradtrade.events import FillEvent, IntentKind, OrderIntent
from gradtrade.execution.client import ExecutionEvent
from gradtrade.execution.config import ExecutionConfig
from gradtrade.execution.live import LiveClientConfig, LiveExecutionClient
from gradtrade.execution.portfolio import PortfolioTracker
from gradtrade.live.journaled import JournalingClient
from gradtrade.live.reconcile import ReconcileConfig, Verdict
from gradtrade.live.reconciler import Baseline, Reconciler
from gradtrade.live.recorder import Recorder
from gradtrade.live.resume import restore_portfolio
from gradtrade.persistence import JournalOptions, RecordKind, open_journal, recover
from gradtrade.persistence.journal import Journal
from gradtrade.persistence.recovery import TraderState
from gradtrade.risk.config import RiskConfig
from gradtrade.strategy.config import StrategySection
from gradtrade.venue.config import ConnectorConfig
from gradtrade.venue.instruments import symbol_filters
from gradtrade.venue.orders import Answered
from gradtrade.venue.urls import Market

from .reconcile_harness import KEY, SECRET, SYMBOL

if TYPE_CHECKING:
    from .reconcile_harness import LocalExchange


async def _assemble(
    url: str, journal: Journal, market: Market = "spot"
) -> tuple[Engine, JournalingClient, Recorder]:
    connector = ConnectorConfig.for_url(url, market, api_key=KEY, api_secret=SECRET, timeout_s=2.0)
    client = LiveExecutionClient(connector, {}, LiveClientConfig(poll_interval_s=0.2))
    await client.start()
    info = await client.gateway.rest.get_bytes("exchangeInfo", {"symbol": SYMBOL})
    filters = symbol_filters(info, SYMBOL)
    client.filters[SYMBOL] = filters
    recorder = Recorder(journal, recover(journal), 1000)
    recorder.record(RecordKind.INSTRUMENT, SYMBOL, {"filters": orjson.loads(filters.to_json())})
    spec = EngineSpec(SYMBOL, filters, RiskConfig(), ExecutionConfig(session=7), 10_000.0,
                      "USDT", 525_600.0)  # fmt: skip
    engine = assemble_engine(spec, build_strategy(StrategySection(kind="ma_cross")), client,
                             WallClock())  # fmt: skip
    venue = JournalingClient(client, recorder, engine.orders.orders)
    engine.venue = venue
    return engine, venue, recorder


async def _buy_unseen(engine: Engine, venue: JournalingClient, qty: float) -> list[ExecutionEvent]:
    """A market BUY through the write-ahead path whose reports never reach the engine."""
    client = venue.inner
    assert isinstance(client, LiveExecutionClient)
    now = time.time_ns()
    intent = OrderIntent(SYMBOL, now, qty, IntentKind.REBALANCE, 1.0)
    (proposal,) = engine.orders.plan(intent, engine.portfolio.quantity(SYMBOL), now).proposals
    request = engine.orders.send(proposal, now)
    venue.submit(request)
    deadline = time.monotonic() + 10
    while sum(e.qty for e in client.events if isinstance(e, FillEvent)) < request.qty - 1e-12:
        assert time.monotonic() < deadline, list(client.events)
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # the websocket copies of the same reports
    return client.poll()  # taken from under the engine: it never sees them


def _fills(journal: Journal) -> list[int]:
    return [r.data()["trade_id"] for r in journal.read() if r.kind is RecordKind.FILL]


async def test_unseen_fills_are_repaired_once_through_the_engine(
    server: LocalExchange, tmp_path: Path
) -> None:
    journal = open_journal(str(tmp_path / "j.db"), JournalOptions(trader_id="rc"))
    engine, venue, recorder = await _assemble(server.url, journal)
    client = venue.inner
    assert isinstance(client, LiveExecutionClient)
    try:
        reconciler = Reconciler(client.gateway, recorder, engine, venue, SYMBOL,
                                ReconcileConfig(), confirm_after_s=0.2)  # fmt: skip
        first = await reconciler.run()
        assert first.verdict is Verdict.OK and reconciler.baseline is not None
        opening = dict(reconciler.baseline.opening)
        assert opening["USDT"] > 0

        lost = await _buy_unseen(engine, venue, 0.004)
        fills = {e.trade_id: e for e in lost if isinstance(e, FillEvent)}
        unseen = sorted(fills)
        held = sum(f.qty - (f.fee if f.fee_asset == "BTC" else 0.0) for f in fills.values())
        assert unseen and _fills(journal) == [] and engine.portfolio.quantity(SYMBOL) == 0.0

        repaired = await reconciler.run()
        assert repaired.verdict is Verdict.REPAIRED, repaired
        assert sorted(f.trade_id for f in repaired.missing_fills) == unseen
        assert sorted(_fills(journal)) == unseen
        assert abs(engine.portfolio.quantity(SYMBOL) - held) < 1e-12
        (cid,) = {e.client_order_id for e in lost}
        assert recorder.state.orders[cid].is_terminal and engine.orders.orders[cid].is_terminal

        client.events.extend(lost)  # the same reports arrive late: nothing moves twice
        engine.drain_venue()
        assert sorted(_fills(journal)) == unseen
        assert abs(engine.portfolio.quantity(SYMBOL) - held) < 1e-12

        again = await reconciler.run()
        assert again.verdict is Verdict.OK, again
        records = [r.data() for r in journal.read() if r.kind is RecordKind.RECONCILIATION]
        assert [r["verdict"] for r in records] == ["ok", "repaired", "ok"]
        assert all(r["baseline"]["opening"] == opening for r in records)
        assert Baseline.from_state(recover(journal)) == reconciler.baseline  # read back
    finally:
        await client.close()
        journal.close()


async def test_a_deposit_nobody_traded_halts_and_the_breaker_is_journaled(
    server: LocalExchange, tmp_path: Path
) -> None:
    journal = open_journal(str(tmp_path / "j.db"), JournalOptions(trader_id="rc"))
    engine, venue, recorder = await _assemble(server.url, journal)
    client = venue.inner
    assert isinstance(client, LiveExecutionClient)
    try:
        reconciler = Reconciler(client.gateway, recorder, engine, venue, SYMBOL,
                                ReconcileConfig(), confirm_after_s=0.2)  # fmt: skip
        assert (await reconciler.run()).verdict is Verdict.OK
        server.out_of_band("USDT", "25")
        report = await reconciler.run()
        assert report.verdict is Verdict.HALT
        assert [(d.kind.value, d.subject) for d in report.discrepancies] == [
            ("balance_differs", "USDT")
        ]
        assert str(engine.risk[SYMBOL].breaker.state).endswith("HALTED")
        assert not venue.accepting  # no new order from this process
        kinds = [r.kind for r in journal.read()][-2:]
        assert kinds == [RecordKind.RECONCILIATION, RecordKind.BREAKER_TRANSITION]
        state = recover(journal)
        assert state.reconciliation is not None and state.reconciliation["ok"] is False
        assert str(state.breaker.state).endswith("HALTED") if state.breaker else False
    finally:
        server.out_of_band("USDT", "-25")
        await client.close()
        journal.close()


async def test_usdm_adoption_takes_the_position_rebuilds_from_the_journal_halts_on_another_symbol(
    server: LocalExchange, tmp_path: Path
) -> None:
    journal = open_journal(str(tmp_path / "j.db"), JournalOptions(trader_id="rc"))
    engine, venue, recorder = await _assemble(server.url, journal, "usdm")
    client = venue.inner
    assert isinstance(client, LiveExecutionClient)

    ids = iter(range(1, 100))

    async def outsider(symbol: str, side: str, qty: str) -> None:
        params = {"symbol": symbol, "side": side, "type": "MARKET", "quantity": qty,
                  "newClientOrderId": f"outsider-{next(ids)}"}  # fmt: skip
        assert isinstance(await client.gateway.new_order(params), Answered)

    try:
        adopting = ReconcileConfig(adopt_unknown=True)
        reconciler = Reconciler(client.gateway, recorder, engine, venue, SYMBOL, adopting,
                                confirm_after_s=0.2)  # fmt: skip
        assert (await reconciler.run()).verdict is Verdict.OK
        await outsider(SYMBOL, "SELL", "0.007")
        adopted = await reconciler.run()
        assert adopted.verdict is Verdict.ADOPTED, adopted
        p = engine.portfolio
        assert p.quantity(SYMBOL) == pytest.approx(-0.007) and p.positions[SYMBOL].average_entry
        record = [r.data() for r in journal.read() if r.kind is RecordKind.RECONCILIATION][-1]
        entry = record["adopted_positions"][SYMBOL]["entry_price"]
        assert record["adopted_positions"][SYMBOL]["quantity"] == pytest.approx(-0.007)
        assert p.positions[SYMBOL].average_entry == pytest.approx(entry)
        assert (await reconciler.run()).verdict is Verdict.OK  # it is ours now

        # a restart's portfolio (no snapshot: the journal from the start) is the same
        rebuilt = PortfolioTracker(p.initial_cash, dict(p.filters), p.quote_asset)
        restore_portfolio(journal, recover(journal), rebuilt)
        assert rebuilt.positions[SYMBOL].to_json() == p.positions[SYMBOL].to_json()
        assert rebuilt.cash == pytest.approx(p.cash)

        # a position in a symbol this trader does not trade cannot be adopted: HALT, the
        # portfolio as it was
        before = p.to_json()
        await outsider("ETHUSDT", "BUY", "0.05")
        halted = await reconciler.run()
        assert halted.verdict is Verdict.HALT
        refused = [d for d in halted.discrepancies if "cannot be adopted" in d.detail]
        assert [d.subject for d in refused] == ["ETHUSDT"]
        assert p.to_json() == before and not venue.accepting
    finally:
        await outsider(SYMBOL, "BUY", "0.007")  # the server is per test; tidy anyway
        await client.close()
        journal.close()


@pytest.mark.parametrize(
    ("baseline", "field"),
    [
        ({"opening": [], "since_ms": 1}, "baseline.opening"),
        ({"opening": {"USDT": 1.0}, "since_ms": -5}, "baseline.since_ms"),
        ({"opening": {"USDT": 1.0}, "since_ms": 1.5}, "baseline.since_ms"),
        ({"opening": {"USDT": "lots"}, "since_ms": 1}, "baseline.opening.USDT"),
        ({"opening": {"USDT": True}, "since_ms": 1}, "baseline.opening.USDT"),
    ],
)
def test_a_malformed_baseline_in_the_journal_is_refused_naming_the_field(
    baseline: dict[str, Any], field: str
) -> None:
    state = TraderState(seq=3, reconciliation={"ok": True, "baseline": baseline})
    with pytest.raises(InvalidInput, match=f"field '{field}'"):
        Baseline.from_state(state)


def test_a_baseline_round_trips_and_a_journal_without_one_has_none() -> None:
    assert Baseline.from_state(TraderState()) is None
    assert Baseline.from_state(TraderState(reconciliation={"ok": True})) is None
    b = Baseline({"USDT": 100.5, "BTC": 0.25}, 1_700_000_000_000)
    state = TraderState(reconciliation={"ok": True, "baseline": b.to_payload()})
    assert Baseline.from_state(state) == b
