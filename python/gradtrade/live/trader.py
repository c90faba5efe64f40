"""``Trader``: the headless paper/live trading service (asyncio) behind ``gradtrade trade``.

One run: open the journal and recover from it (a journal of a newer version stops here, left
as it is) -> read the symbol's filters from the venue -> connect the venue (paper: the simulated
venue filling from the live bars; live: ``LiveExecutionClient``) -> resolve every order the last
run left open (``live.resume``) -> assemble the engine -> reconcile with the exchange (live:
``live.reconciler``; a HALT starts the trader HALTED, taking no new order) -> warm the strategy
up on REST history -> trade closed bars until stopped.

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
* a bar that is already superseded when the engine takes it (a newer bar has closed: the bars
  a REST backfill brings after a stream gap, all but the newest) is decided on, journaled
  with no target, and not traded (``_superseded``): no order leaves late at a price that is
  gone; the newest bar trades as usual;
* stopping (SIGTERM/SIGINT via ``request_stop``, or ``run_for_s``): no new order leaves, open
  orders are cancelled when ``cancel_open_on_exit``, the journal gets a final snapshot and is
  closed; ``run`` then returns normally;
* observers ``(trader, event) -> None`` run after each handled event; one that raises is
  logged and never stops trading;
* a periodic reconciliation holds new bars back and waits for the requests in flight and the
  queued events first, so it compares a still picture; one that cannot read the exchange is
  logged and tried again at the next interval (at startup it stops the trader);
* what is allocated by the time trading starts (the model, torch, pandas, ccxt: ~450k
  objects) is frozen out of the cyclic GC (``gc.freeze``): a full collection over it takes
  ~170 ms, which would land, whenever the GC chose, between a bar close and its order;
* a failed journal write ends trading (the error propagates); with monitoring on and no
  ``run_for_s`` (a service), /metrics and /healthz (503 ``journal_unwritable``) stay up until
  SIGTERM, so the failure is alerted on before the process exits with the error.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import math
import time
from collections.abc import Callable
from typing import Any

import orjson
import torch

from gradtrade.core import DrawdownBreaker, SymbolFilters
from gradtrade.engine.assembly import EngineSpec, assemble_engine, build_strategy, fill_model
from gradtrade.engine.clock import WallClock
from gradtrade.engine.feed import FeedItem, VenuePoll, drive
from gradtrade.engine.loop import DecisionRecord, Engine, EquityPoint
from gradtrade.errors import GradtradeError, JournalError
from gradtrade.execution.client import ExecutionClient
from gradtrade.execution.fill_model import FillModel
from gradtrade.execution.live import LiveClientConfig, LiveExecutionClient
from gradtrade.execution.simulated import SimulatedVenue
from gradtrade.live.bars import KlineFeed, StreamStats
from gradtrade.live.book import BookStats, LiveBook, paper_fill_model, with_book
from gradtrade.live.config import TraderConfig
from gradtrade.live.credentials import Credentials, connector_config
from gradtrade.live.journaled import JournalingClient, JournalingMarketClient
from gradtrade.live.reconcile import ReconcileConfig
from gradtrade.live.reconciler import Reconciler
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
        self.book: LiveBook | None = None  # the L2 depth stream (``book.enabled``)
        self.client: LiveExecutionClient | None = None
        self.rest: RestClient | None = None
        self.venue: JournalingClient | None = None
        self.filters: SymbolFilters | None = None
        self.last_decision: DecisionRecord | None = None
        self.last_equity: EquityPoint | None = None
        self.trade_from_ns = 0
        self.events_handled = 0
        self.started_ns = 0
        self.clock_syncs = 0  # /time round trips made to follow the venue's clock
        self._stop = asyncio.Event()
        self._breaker_state: str | None = None
        self.reconciler: Reconciler | None = None
        self._queue: asyncio.Queue[FeedItem | None] | None = None
        self._bars_open = asyncio.Event()  # cleared while a reconciliation runs
        self._bars_open.set()
        # /metrics and /healthz: attached before the first event, so nothing is missed
        self.telemetry = Telemetry(config.monitoring) if config.monitoring is not None else None

    # --- what monitoring reads ---

    @property
    def stream_stats(self) -> dict[str, StreamStats | BookStats]:
        out: dict[str, StreamStats | BookStats] = {}
        if self.feed is not None:
            out[self.feed.stats.name] = self.feed.stats
        if self.book is not None:
            out[self.book.stats.name] = self.book.stats
        return out

    @property
    def connector_metrics(self) -> dict[str, ConnectorMetrics]:
        """Request, retry, rate-limit and stream counters of the market-data connector and,
        live, of the order gateway."""
        out = {} if self.rest is None else {"market_data": self.rest.metrics}
        if self.client is not None:
            out["orders"] = self.client.gateway.rest.metrics
        if self.book is not None:
            out["book"] = self.book.rest.metrics
        return out

    @property
    def user_data_connected(self) -> bool | None:
        return None if self.client is None else self.client.stream.connected

    def request_stop(self) -> None:
        """Stop after the event being handled (signal handlers call this)."""
        self._stop.set()

    async def reconcile(self) -> None:
        """One reconciliation with the exchange (``live.reconciler``), at startup once the engine
        is assembled and every ``reconcile.interval_s``; new bars wait until it is done."""
        engine, recorder, venue = self.engine, self.recorder, self.venue
        if self.client is None or engine is None or recorder is None or venue is None:
            if self.reconciler is None and self.events_handled == 0:
                log.info("paper mode: no exchange account to reconcile against")
            return
        if self.reconciler is None:
            cfg = ReconcileConfig(
                adopt_unknown=self.cfg.reconcile.adopt_unknown,
                placement_window_ms=self.cfg.venue.recv_window_ms
                + int(1000 * self.cfg.venue.timeout_s),
            )
            self.reconciler = Reconciler(
                self.client.gateway, recorder, engine, venue, self.cfg.symbol, cfg
            )
        self._bars_open.clear()
        try:
            await self._quiesce()
            report = await self.reconciler.run()
        finally:
            self._bars_open.set()
        if self.telemetry is not None:
            self.telemetry.reconciled(len(report.discrepancies))
        self._breaker_state = _name(engine.risk[self.cfg.symbol].breaker.state)

    async def _quiesce(self) -> None:
        """Until the queued events are handled and every request in flight is answered and
        accounted (at most ``venue.timeout_s``)."""
        client, deadline = self.client, time.monotonic() + self.cfg.venue.timeout_s
        while client is not None and time.monotonic() < deadline:
            await client.settle(max(0.01, deadline - time.monotonic()))
            if (self._queue is None or self._queue.empty()) and not client.events:
                return
            await asyncio.sleep(0.02)

    # --- the run ---

    async def run(self, run_for_s: float | None = None) -> None:
        cfg = self.cfg
        url = cfg.journal.url
        journal = open_journal(url, cfg.journal_options(readonly=False))
        telemetry = self.telemetry
        try:
            if telemetry is None:
                await self._run(journal, run_for_s)
                return
            telemetry.watch_trader(self)
            journal = telemetry.journal(journal)
            async with telemetry.server():
                try:
                    await self._run(journal, run_for_s)
                except JournalError:
                    if run_for_s is None and not telemetry.journal_status.writable:
                        await self._serve_unwritable()
                    raise
        finally:
            journal.close()

    async def _serve_unwritable(self) -> None:
        """A journal write failed: trading has stopped (no order may leave without its
        write-ahead record). A service keeps /healthz at 503 ``journal_unwritable`` and its
        metrics up until it is told to stop, so the failure is seen and alerted on; then the
        error ends the process."""
        log.error("journal write failed: trading stopped; /healthz reports it until SIGTERM")
        await self._stop.wait()

    async def _run(self, journal: Journal, run_for_s: float | None) -> None:
        cfg = self.cfg
        state = recover(journal)  # validates everything; a newer journal raises here
        recorder = self.recorder = Recorder(
            journal, state, cfg.journal.snapshot_every, self._snapshot_extras,
            cfg.journal.keep_terminal_orders,
        )  # fmt: skip
        connector = connector_config(cfg, self.credentials)
        rest = self.rest = RestClient(connector, ConnectorMetrics())
        if self.telemetry is not None:
            self.telemetry.watch_connector("market_data", rest)
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
        if cfg.book.enabled:  # before the venue: the paper venue fills on it
            self.book = LiveBook(connector, symbol, cfg.book)
            if self.telemetry is not None:
                self.telemetry.watch_connector("book", self.book.rest)
        inner: ExecutionClient
        if cfg.mode == "live":
            client = self.client = LiveExecutionClient(
                connector,
                {symbol: filters},
                LiveClientConfig(recv_window_ms=cfg.venue.recv_window_ms),
            )
            await client.start()
            if self.telemetry is not None:
                self.telemetry.watch_connector("orders", client.gateway.rest)
            await resolve_live_orders(recorder, client.gateway, cfg.venue.timeout_s)
            inner = client
        else:
            close_paper_orders(recorder)
            model: FillModel = fill_model(cfg.fill, {symbol: filters})
            model = paper_fill_model(model, self.book, filters, cfg.fill.taker_fee_bps)
            inner = SimulatedVenue(model, {symbol: filters}, quote)
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
        torch.set_num_threads(cfg.torch_threads)
        engine = self.engine = assemble_engine(
            spec, build_strategy(cfg.strategy), inner, WallClock()
        )
        wrap = JournalingClient if cfg.mode == "live" else JournalingMarketClient
        self.venue = engine.venue = wrap(inner, recorder, engine.orders.orders)
        recorder.on_prune.append(engine.orders.forget)  # the engine's table pruned alike
        if self.book is not None:  # the engine reads the live book's top for ``BookTick``s
            self.venue = engine.venue = with_book(self.venue, self.book)
        engine.superseded = self._superseded
        if self.telemetry is not None:
            self.telemetry.attach(engine)  # after the journaling wrap: it counts what was sent
        restore_portfolio(journal, state, engine.portfolio)
        risk = engine.risk[symbol]
        if state.breaker is not None:
            risk.breaker = DrawdownBreaker.from_json(state.breaker.to_json())
        self._breaker_state = _name(risk.breaker.state)
        await self.reconcile()
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
        self._queue = queue
        gc.collect()  # what is garbage now is not frozen with the rest
        gc.freeze()
        producers = [asyncio.create_task(self._bars(queue), name="bars"),
                     asyncio.create_task(self._reconcile_every(), name="reconcile")]  # fmt: skip
        if self.book is not None:
            producers += self.book.tasks(queue)
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
            await _cancel_all([*producers, stop])
            if not consumer.done():
                with contextlib.suppress(asyncio.QueueFull):
                    _drop_pending(queue)
                    queue.put_nowait(None)
                await asyncio.gather(consumer, return_exceptions=True)
            await self._shutdown(engine)
            gc.unfreeze()  # an in-process caller (tests, a notebook) gets its GC back

    async def _stop_after(self, run_for_s: float | None) -> None:
        if run_for_s is None:
            await self._stop.wait()
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), run_for_s)
        log.info("stopping: no new orders from now on")

    async def _bars(self, queue: asyncio.Queue[FeedItem | None]) -> None:
        feed, client = self.feed, self.client
        assert feed is not None
        follow = client is not None and self.cfg.venue.sync_clock_every_bar
        tolerance_ms = self.cfg.venue.clock_tolerance_ms
        async for bar in feed:
            if follow and client is not None:
                now_ms = client.gateway.rest.now_ms()
                if not (tolerance_ms and feed.clock_agrees(now_ms, tolerance_ms)):
                    await self._sync_clock()
            await self._bars_open.wait()
            await queue.put(bar)
            tick = None if self.book is None else self.book.after_bar(bar)
            if tick is not None:  # ``book.cadence_s: null``: the strategy looks after each bar
                await queue.put(tick)

    async def _sync_clock_every(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.venue.clock_sync_s)
            await self._sync_clock()

    async def _sync_clock(self) -> None:
        """Signed requests carry the venue's time: follow its clock before acting. A venue
        that cannot say now is not a reason to stop; the last offset is kept."""
        assert self.client is not None
        self.clock_syncs += 1
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
            try:
                await self.reconcile()
            except GradtradeError as exc:  # the venue could not say: the next interval asks
                log.warning("reconciliation failed, trying again in %.0f s: %s",
                            self.cfg.reconcile.interval_s, exc)  # fmt: skip

    def _superseded(self, ts_ns: int) -> bool:
        """A bar closing at ``ts_ns`` is superseded once a newer bar has closed: the feed knows
        one (the bars of a backfill being caught up, all but the newest), or, live with the
        clock followed at each bar (``sync_clock_every_bar``: re-synced unless the bar's closing
        frame agrees with it), the venue's clock has passed the next bar's close.
        The engine decides on it without trading (a late order at a price that is gone)."""
        feed = self.feed
        if feed is None:
            return False
        if feed.newest_close_ns > ts_ns:
            return True
        if self.client is None or not self.cfg.venue.sync_clock_every_bar:
            return False  # paper: the venue's clock offset is not followed
        step_ns = feed.step_ms * NS_PER_MS
        return self.client.gateway.rest.now_ms() * NS_PER_MS >= ts_ns + step_ns

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
        # An order sent and not answered is waited for until its fate is conclusive (the venue
        # can no longer place it), so a stop never leaves one unresolved that a query settles.
        wait_s = self.cfg.venue.timeout_s
        if self.client is not None:
            wait_s += self.client.unanswered_for_s()
        deadline, said = time.monotonic() + wait_s, False
        while True:
            left = deadline - time.monotonic()
            settled = self.client is None or await self.client.settle(max(0.0, min(left, 1.0)))
            engine.drain_venue()
            busy = [o for o in engine.orders.open_orders() if o.exchange_order_id is None]
            if (settled and not busy) or time.monotonic() >= deadline:
                break
            if not said:
                said = True
                log.info("stopping: waiting up to %.1f s for requests in flight (%d order(s) "
                         "not answered yet)", left, len(busy))  # fmt: skip
            await asyncio.sleep(0.05)
        if busy:
            log.warning(
                "stopped with %d order(s) not answered (%s): the next start resolves them by query",
                len(busy),
                ", ".join(o.client_order_id for o in busy),
            )
        recorder.maybe_snapshot(force=True)
        log.info("stopped: journal at record %d, snapshot written", recorder.state.seq)


def _name(state: object) -> str:
    return str(state).rpartition(".")[2]  # TradingState.HALTED -> HALTED


async def _cancel_all(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel ``tasks`` until every one has ended. Python 3.11's ``asyncio.wait_for`` drops a
    cancellation that lands as the awaited future completes (the stream readers' ``recv``
    under a staleness timeout): one ``cancel()`` may leave a reader running for ever."""
    pending = {t for t in tasks if not t.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.5)
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved: the caller reports what ended the session


def _drop_pending(queue: asyncio.Queue[FeedItem | None]) -> None:
    """Bars not handled yet are not traded on after a stop: the next run backfills them."""
    while not queue.empty():
        queue.get_nowait()


__all__ = ["Observer", "Trader"]
