"""``Trader``: the headless paper/live trading service (asyncio) behind ``gradtrade trade``.

One run: open the journal and recover from it (a journal of a newer version stops here, left
as it is) -> read the symbol's filters from the venue -> connect the venue (paper: the simulated
venue filling from the live bars; live: ``LiveExecutionClient``) -> resolve every order the last
run left open (``live.resume``) -> reconcile (the call site of ``live/reconcile.py``) -> warm the
strategy up on REST history -> trade closed bars until stopped.

Invariants:

* the engine is the one assembled by ``engine.assembly`` (the backtest's), driven by
  ``engine.feed.drive`` over one bounded queue: bars from ``KlineFeed`` and, live, a
  ``VenuePoll`` whenever the client has reports (fills are accounted when they arrive, not at
  the next bar);
* every state change is journaled (``live.journaled`` write-ahead for orders, decisions with
  the strategy's checkpoint id, funding and breaker transitions here); snapshots only between
  events;
* history bars warm the strategy up and never trade (``trade_from_ns`` is the first bar after
  them); a restarted trader starts a new client-id session;
* stopping (SIGTERM/SIGINT via ``request_stop``, or ``run_for_s``): no new order leaves, open
  orders are cancelled when ``cancel_open_on_exit``, the journal gets a final snapshot and is
  closed; ``run`` then returns normally;
* observers ``(trader, event) -> None`` run after each handled event; one that raises is
  logged and never stops trading.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from typing import Any

import orjson

from gradtrade.core import DrawdownBreaker, SymbolFilters
from gradtrade.engine.assembly import EngineSpec, assemble_engine, build_strategy, fill_model
from gradtrade.engine.clock import WallClock
from gradtrade.engine.feed import FeedItem, VenuePoll, drive
from gradtrade.engine.loop import DecisionRecord, Engine, EquityPoint
from gradtrade.errors import GradtradeError
from gradtrade.execution.client import ExecutionClient
from gradtrade.execution.live import LiveClientConfig, LiveExecutionClient
from gradtrade.execution.simulated import SimulatedVenue
from gradtrade.live.bars import KlineFeed, StreamStats
from gradtrade.live.config import TraderConfig
from gradtrade.live.credentials import Credentials, connector_config
from gradtrade.live.journaled import JournalingClient, JournalingMarketClient
from gradtrade.live.recorder import Recorder
from gradtrade.live.resume import (
    PORTFOLIO,
    check_filters,
    close_paper_orders,
    next_session,
    portfolio_json,
    resolve_live_orders,
    restore_portfolio,
)
from gradtrade.live.telemetry import Telemetry
from gradtrade.persistence.journal import Journal, open_journal
from gradtrade.persistence.options import JournalOptions
from gradtrade.persistence.records import RecordKind
from gradtrade.persistence.recovery import recover
from gradtrade.timeframes import periods_per_year
from gradtrade.venue.config import ConnectorConfig
from gradtrade.venue.instruments import symbol_filters
from gradtrade.venue.rest import ConnectorMetrics, RestClient

log = logging.getLogger("gradtrade.live")
Observer = Callable[["Trader", FeedItem], None]
NS_PER_MS = 1_000_000
QUEUE_SIZE = 1024  # bars and venue wake-ups waiting for the engine; producers wait when full


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


class Trader:
    def __init__(self, config: TraderConfig, credentials: Credentials | None = None) -> None:
        self.cfg = config
        self.credentials = credentials
        self.observers: list[Observer] = []
        self.engine: Engine | None = None
        self.recorder: Recorder | None = None
        self.feed: KlineFeed | None = None
        self.client: LiveExecutionClient | None = None
        self.rest: RestClient | None = None
        self.venue: JournalingClient | None = None
        self.filters: SymbolFilters | None = None
        self.last_decision: DecisionRecord | None = None
        self.last_equity: EquityPoint | None = None
        self.trade_from_ns = 0
        self.events_handled = 0
        self.started_ns = 0
        self._stop = asyncio.Event()
        self._breaker_state: str | None = None
        # /metrics and /healthz: attached before the first event, so nothing is missed
        self.telemetry = Telemetry(config.monitoring) if config.monitoring is not None else None

    # --- what monitoring reads ---

    @property
    def stream_stats(self) -> dict[str, StreamStats]:
        return {} if self.feed is None else {self.feed.stats.name: self.feed.stats}

    @property
    def connector_metrics(self) -> dict[str, ConnectorMetrics]:
        """Request, retry, rate-limit and stream counters of the market-data connector and,
        live, of the order gateway."""
        out = {} if self.rest is None else {"market_data": self.rest.metrics}
        if self.client is not None:
            out["orders"] = self.client.gateway.rest.metrics
        return out

    @property
    def user_data_connected(self) -> bool | None:
        return None if self.client is None else self.client.stream.connected

    def request_stop(self) -> None:
        """Stop after the event being handled (signal handlers call this)."""
        self._stop.set()

    async def reconcile(self) -> None:
        """Call site of the reconciliation (``live/reconcile.py``, branch ``reconcile``), run at
        startup and every ``reconcile.interval_s``.
        TODO(lead): wire ``live.reconcile`` here (compare the venue's open orders, trades,
        balances with ``self.recorder.state``, journal the report, HALT unless adopted)."""
        log.debug("reconciliation is not wired yet (live/reconcile.py)")

    # --- the run ---

    async def run(self, run_for_s: float | None = None) -> None:
        cfg = self.cfg
        url = cfg.journal.url
        journal = open_journal(url, JournalOptions(trader_id=cfg.trader_id))
        telemetry = self.telemetry
        try:
            if telemetry is None:
                await self._run(journal, run_for_s)
                return
            telemetry.watch_trader(self)
            journal = telemetry.journal(journal)
            async with telemetry.server():
                await self._run(journal, run_for_s)
        finally:
            journal.close()

    async def _run(self, journal: Journal, run_for_s: float | None) -> None:
        cfg = self.cfg
        state = recover(journal)  # validates everything; a newer journal raises here
        recorder = self.recorder = Recorder(
            journal, state, cfg.journal.snapshot_every, self._snapshot_extras
        )
        connector = connector_config(cfg, self.credentials)
        rest = self.rest = RestClient(connector, ConnectorMetrics())
        if self.telemetry is not None:
            self.telemetry.watch_connector("rest", rest)
        try:
            await self._session(journal, recorder, connector, rest, run_for_s)
        finally:
            if self.client is not None:
                await self.client.close()
            await rest.close()

    async def _session(
        self,
        journal: Journal,
        recorder: Recorder,
        connector: ConnectorConfig,
        rest: RestClient,
        run_for_s: float | None,
    ) -> None:
        cfg, symbol = self.cfg, self.cfg.symbol
        await rest.sync_time()
        info = await rest.get_bytes("exchangeInfo", {"symbol": symbol})
        filters = self.filters = symbol_filters(info, symbol)
        if not check_filters(recorder.state, filters):
            recorder.record(
                RecordKind.INSTRUMENT, symbol, {"filters": orjson.loads(filters.to_json())}
            )
        quote = filters.quote_asset or "USDT"
        inner: ExecutionClient
        if cfg.mode == "live":
            client = self.client = LiveExecutionClient(
                connector,
                {symbol: filters},
                LiveClientConfig(recv_window_ms=cfg.venue.recv_window_ms),
            )
            await client.start()
            await resolve_live_orders(recorder, client.gateway, cfg.venue.timeout_s)
            inner = client
        else:
            close_paper_orders(recorder)
            inner = SimulatedVenue(
                fill_model(cfg.fill, {symbol: filters}), {symbol: filters}, quote
            )
        await self.reconcile()
        feed = self.feed = KlineFeed(rest, symbol, cfg.timeframe)
        history = await feed.history(cfg.warmup_bars)
        self.trade_from_ns = history[-1].close_time_ns + 1 if history else 0
        state = recorder.state
        execution = cfg.execution.model_copy(
            update={"session": next_session(state, cfg.execution.session)}
        )
        spec = EngineSpec(
            symbol, filters, cfg.risk, execution, cfg.capital, quote,
            periods_per_year(cfg.timeframe), trade_from_ns=self.trade_from_ns,
        )  # fmt: skip
        engine = self.engine = assemble_engine(
            spec, build_strategy(cfg.strategy), inner, WallClock()
        )
        wrap = JournalingClient if cfg.mode == "live" else JournalingMarketClient
        self.venue = engine.venue = wrap(inner, recorder, engine.orders.orders)
        if self.telemetry is not None:
            self.telemetry.attach(engine)  # after the journaling wrap: it counts what was sent
        restore_portfolio(journal, state, engine.portfolio)
        risk = engine.risk[symbol]
        if state.breaker is not None:
            risk.breaker = DrawdownBreaker.from_json(state.breaker.to_json())
        self._breaker_state = _name(risk.breaker.state)
        log.info(
            "trader %s (%s, %s %s) session %d: %d warm-up bars, journal at record %d",
            cfg.trader_id, cfg.mode, symbol, cfg.timeframe, execution.session, len(history),
            state.seq,
        )  # fmt: skip
        queue: asyncio.Queue[FeedItem | None] = asyncio.Queue(maxsize=QUEUE_SIZE)
        for bar in history:
            await queue.put(bar)
        await self._trade(engine, queue, run_for_s)

    async def _trade(
        self, engine: Engine, queue: asyncio.Queue[FeedItem | None], run_for_s: float | None
    ) -> None:
        self.started_ns = time.time_ns()
        producers = [asyncio.create_task(self._bars(queue), name="bars"),
                     asyncio.create_task(self._reconcile_every(), name="reconcile")]  # fmt: skip
        if self.client is not None:
            producers.append(asyncio.create_task(self._venue_wakeups(queue), name="venue"))
            if not self.cfg.venue.sync_clock_every_bar:
                producers.append(asyncio.create_task(self._sync_clock_every(), name="clock"))
        consumer = asyncio.create_task(drive(engine, queue, self._after_event), name="engine")
        stop = asyncio.create_task(self._stop_after(run_for_s), name="stop")
        try:
            done, _ = await asyncio.wait(
                [consumer, stop, *producers], return_when=asyncio.FIRST_COMPLETED
            )
            for task in done:
                if task is not stop and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            for task in (*producers, stop):
                task.cancel()
            await asyncio.gather(*producers, stop, return_exceptions=True)
            if not consumer.done():
                with contextlib.suppress(asyncio.QueueFull):
                    _drop_pending(queue)
                    queue.put_nowait(None)
                await asyncio.gather(consumer, return_exceptions=True)
            await self._shutdown(engine)

    async def _stop_after(self, run_for_s: float | None) -> None:
        if run_for_s is None:
            await self._stop.wait()
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), run_for_s)
        log.info("stopping: no new orders from now on")

    async def _bars(self, queue: asyncio.Queue[FeedItem | None]) -> None:
        assert self.feed is not None
        every_bar = self.client is not None and self.cfg.venue.sync_clock_every_bar
        async for bar in self.feed:
            if every_bar:
                await self._sync_clock()
            await queue.put(bar)

    async def _sync_clock_every(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.venue.clock_sync_s)
            await self._sync_clock()

    async def _sync_clock(self) -> None:
        """Signed requests carry the venue's time: follow its clock before acting. A venue
        that cannot say now is not a reason to stop; the last offset is kept."""
        assert self.client is not None
        try:
            await self.client.gateway.rest.sync_time()
        except GradtradeError as exc:
            log.warning("clock sync with the venue failed, keeping the last offset: %s", exc)

    async def _venue_wakeups(self, queue: asyncio.Queue[FeedItem | None]) -> None:
        assert self.client is not None
        while True:
            await self.client.ready.wait()
            self.client.ready.clear()
            await queue.put(VenuePoll(time.time_ns()))

    async def _reconcile_every(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.reconcile.interval_s)
            await self.reconcile()

    # --- after each event: journal what the engine decided, notify observers ---

    def _after_event(self, item: FeedItem) -> None:
        engine, recorder = self.engine, self.recorder
        assert engine is not None and recorder is not None
        self.events_handled += 1
        elog = engine.log
        for rec in elog.decisions:
            self.last_decision = rec
            if rec.decision.ts_ns >= self.trade_from_ns:
                recorder.record_soon(RecordKind.DECISION, rec.decision.symbol, self._decision(rec))
        elog.decisions.clear()
        if elog.equity:
            self.last_equity = elog.equity[-1]
            elog.equity.clear()
        elog.fills.clear()  # journaled by the client wrapper as they arrived
        quote = engine.portfolio.quote_asset
        for ts_ns, symbol, paid in elog.funding:
            payload = {"asset": quote, "amount": paid, "time_ms": ts_ns // NS_PER_MS}
            recorder.record(RecordKind.FUNDING, symbol, payload)
        elog.funding.clear()
        breaker = engine.risk[self.cfg.symbol].breaker
        if _name(breaker.state) != self._breaker_state:
            recorder.record(RecordKind.BREAKER_TRANSITION, "account", {
                "breaker": orjson.loads(breaker.to_json()), "from": self._breaker_state,
                "to": _name(breaker.state),
            })  # fmt: skip
            self._breaker_state = _name(breaker.state)
        recorder.maybe_snapshot()
        for observer in list(self.observers):
            try:
                observer(self, item)
            except Exception:  # an observer must never stop trading
                log.exception("observer %r failed", observer)

    def _decision(self, rec: DecisionRecord) -> dict[str, Any]:
        d = rec.decision
        return {
            "checkpoint": d.source or self.cfg.strategy.kind, "ts_ns": d.ts_ns,
            "u_raw": _finite(d.u_raw), "mean": _finite(d.mean), "var": _finite(d.var),
            "target_qty": rec.target_qty, "leverage": _finite(rec.leverage),
        }  # fmt: skip

    def _snapshot_extras(self) -> dict[str, str]:
        engine, recorder = self.engine, self.recorder
        if engine is None or recorder is None:
            return {}
        recorder.state.breaker = DrawdownBreaker.from_json(
            engine.risk[self.cfg.symbol].breaker.to_json()
        )
        return {PORTFOLIO: portfolio_json(engine.portfolio)}

    # --- stopping ---

    async def _shutdown(self, engine: Engine) -> None:
        venue, recorder = self.venue, self.recorder
        assert venue is not None and recorder is not None
        venue.stop_new_orders()
        if self.cfg.cancel_open_on_exit:
            now = time.time_ns()
            for order in engine.orders.open_orders():
                if engine.orders.request_cancel(order.client_order_id):
                    venue.cancel(order.client_order_id, now)
        deadline = time.monotonic() + self.cfg.venue.timeout_s
        while True:
            if self.client is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.client.settle(), self.cfg.venue.timeout_s)
            engine.drain_venue()
            busy = [o for o in engine.orders.open_orders() if o.exchange_order_id is None]
            if not busy or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        recorder.maybe_snapshot(force=True)
        log.info("stopped: journal at record %d, snapshot written", recorder.state.seq)


def _name(state: object) -> str:
    return str(state).rpartition(".")[2]  # TradingState.HALTED -> HALTED


def _drop_pending(queue: asyncio.Queue[FeedItem | None]) -> None:
    """Bars not handled yet are not traded on after a stop: the next run backfills them."""
    while not queue.empty():
        queue.get_nowait()


__all__ = ["Observer", "Trader"]
