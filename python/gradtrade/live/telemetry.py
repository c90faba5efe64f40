"""``Telemetry``: the bridge from a running engine (and trader) to ``gradtrade.monitoring``.

Wiring: ``telemetry.watch_trader(trader)`` is the whole trader wiring (its per-stream stats,
its user-data stream state, its observer callbacks, its engine once assembled); without a
trader, ``telemetry.attach(engine)`` and ``telemetry.stream(name)`` per stream.
``telemetry.journal(journal)`` returns the journal to write through;
``telemetry.watch_connector(name, rest_client)`` exports a REST client's weight; ``async with
telemetry.server():`` serves ``/metrics`` and ``/healthz``.

Invariants:

* Pull where the state exists: equity, positions, PnL, costs, breaker state, open orders and the
  risk manager's rejection counts are read from the engine's own objects at scrape time, on the
  event loop that owns the engine (``_snapshot``), so nothing is added per event for them.
* Push where only the event knows: ``attach`` wraps the engine's three seams without changing
  what they do: the strategy (inference time, NFE, forecast sigma, decisions), the venue client
  (orders submitted, acknowledgement latency, venue refusals by typed reason, fills by
  liquidity: it sees exactly what ``Engine._drain`` polls) and ``Engine.handle`` (the latency
  of a bar's handler chain, realized volatility of the closes, breaker transitions). The
  wrappers delegate every other attribute, so ``isinstance`` checks against the engine's venue
  protocols and trader code reading the venue client keep working.
* Labels are symbols, stream and connector names and enum values only (never client ids); no
  metric or health detail holds a value that could be a secret (errors are named by class).
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from prometheus_client import ProcessCollector
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from gradtrade.core import RollingVolatility, TradingState
from gradtrade.engine.loop import BookDrivenVenue, Engine, EngineEvent, MarketDrivenVenue
from gradtrade.errors import InvalidInput
from gradtrade.events import Bar, Decision, FillEvent, IntentKind, Liquidity, Timer
from gradtrade.execution.client import (
    Ack,
    Canceled,
    ExecutionClient,
    ExecutionEvent,
    OrderRequest,
    VenueReject,
    VenueRejectReason,
)
from gradtrade.monitoring import (
    AccountSnapshot,
    ConnectorView,
    Health,
    JournalStatus,
    Metrics,
    MetricsServer,
    MonitoringConfig,
    StateCollector,
    StreamRegistry,
    StreamStats,
    StreamView,
    SymbolSnapshot,
    assess,
    enum_label,
)
from gradtrade.monitoring.metrics import SymbolSeries
from gradtrade.persistence.journal import Journal
from gradtrade.persistence.records import JournalRecord, Snapshot
from gradtrade.risk.manager import SkipReason
from gradtrade.strategy.book import BookTop
from gradtrade.strategy.protocol import Strategy, StrategyContext
from gradtrade.venue.rest import RestClient

VENUE_REASONS = tuple(r.value for r in VenueRejectReason)
# the engine's skip counters that exist from the start (others appear when first counted)
SKIP_REASONS = (*(r.value for r in SkipReason), "book_not_synced")


NS_PER_S = 1e9


class _CountsNfe(Protocol):
    last_nfe: int


class _TraderStream(Protocol):
    """A trader's per-stream counters (``live.bars.StreamStats``, ``live.book.BookStats``)."""

    @property
    def name(self) -> str: ...
    @property
    def messages(self) -> int: ...
    @property
    def reconnects(self) -> int: ...
    @property
    def last_message_ns(self) -> int: ...  # 0: no message yet


class TraderView(Protocol):
    """What telemetry reads of a trader (``live.trader.Trader``)."""

    engine: Engine | None
    observers: list[Callable[[Any, Any], None]]

    @property
    def stream_stats(self) -> Mapping[str, _TraderStream]: ...

    @property
    def user_data_connected(self) -> bool | None: ...  # None: no user-data stream (paper)


class _UserDataCollector(Collector):
    """``gradtrade_user_data_connected``: 1 while a live trader's user-data stream is
    subscribed, 0 while it is down; absent without one (paper, or before it started)."""

    def __init__(self, trader: TraderView) -> None:
        self.trader = trader

    def describe(self) -> Iterable[GaugeMetricFamily]:
        return []  # what exists depends on the trader's mode: collected, never pre-declared

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = self.trader.user_data_connected
        if up is not None:
            yield GaugeMetricFamily(
                "gradtrade_user_data_connected",
                "1 while the user-data stream (order and account updates) is subscribed, "
                "0 while it is down (open orders are then polled over REST).",
                value=1.0 if up else 0.0,
            )


class Telemetry:
    def __init__(
        self,
        config: MonitoringConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.config = config or MonitoringConfig()
        self.clock, self.timer = clock, timer
        self.metrics = Metrics()
        self.registry = self.metrics.registry
        ProcessCollector(registry=self.registry)  # process_* (RSS, CPU, fds): standard names
        self.streams = StreamRegistry(clock)
        self.journal_status = JournalStatus()
        self.collector = StateCollector(
            self._snapshot,
            self.streams,
            self.journal_status,
            stale_after_s=self.config.stale_after_s,
            clock=clock,
        )
        self.registry.register(self.collector)
        self.engine: Engine | None = None
        self._venue_rejects: Counter[tuple[str, str]] = Counter()
        self._sent: dict[str, tuple[str, float]] = {}  # client id -> (symbol, submit time)
        self._vol: dict[str, tuple[RollingVolatility, list[float]]] = {}
        self._breakers: dict[str, TradingState] = {}
        self._series: dict[str, SymbolSeries] = {}

    # --- wiring ---

    def attach(self, engine: Engine) -> None:
        """Instrument ``engine`` (once): its strategy, venue client and ``handle``."""
        if self.engine is not None:
            raise InvalidInput("telemetry is already attached to an engine")
        self.engine = engine
        symbols = list(engine.risk)
        self._series = self.metrics.prepare(
            symbols, [k.value for k in IntentKind], [liq.value for liq in Liquidity]
        )
        for s in symbols:
            self._vol[s] = (RollingVolatility(self.config.volatility_window), [])
            self._breakers[s] = engine.risk[s].state
        engine.strategy = _TimedStrategy(engine.strategy, self)
        engine.venue = _venue_proxy(engine.venue, self)
        engine.handle = _TimedHandle(engine.handle, self)  # type: ignore[method-assign]

    def stream(self, name: str) -> StreamStats:
        """The stats a stream reader updates (``message()`` per frame, ``reconnected()``)."""
        return self.streams.stream(name)

    def watch_trader(self, trader: TraderView) -> None:
        """Monitor ``trader`` (``gradtrade.live.trader.Trader``): its streams' stats are read
        at scrape time, ``observe`` joins its observers, and its engine is attached at the first
        event the trader reports after assembling it."""
        opened = self.clock()

        def streams() -> list[StreamView]:
            return [
                StreamView(
                    s.name, s.messages, s.reconnects,
                    s.last_message_ns / NS_PER_S if s.last_message_ns else None, opened,
                )
                for s in trader.stream_stats.values()
            ]  # fmt: skip

        self.streams.add_source(streams)
        self.registry.register(_UserDataCollector(trader))
        trader.observers.append(self.observe)

    def watch_connector(self, name: str, client: RestClient) -> None:
        """Export a REST client's counters and used request weight under ``connector=name``."""
        self.collector.connectors[name] = ConnectorView(client.metrics, client.weights.limit)

    def journal(self, journal: Journal) -> Journal:
        """``journal`` with every write timed and its outcome recorded for /healthz."""
        return MonitoredJournal(journal, self)

    def reconciled(self, discrepancies: int) -> None:
        """One reconciliation with the exchange found ``discrepancies`` differences."""
        if discrepancies < 0:
            raise InvalidInput(f"discrepancies must be >= 0, got {discrepancies}")
        self.metrics.reconciled(discrepancies, self.clock())

    def observe(self, trader: object, event: object) -> None:
        """The trader's observer callback: what the engine wrappers cannot see by themselves.

        A journal write failure (any exception the trader reports) and reconciliation results
        (an object with an integer ``discrepancies`` attribute) are recorded; anything else the
        engine wrappers already counted."""
        if self.engine is None:
            engine = getattr(trader, "engine", None)
            if isinstance(engine, Engine):
                self.attach(engine)
        if isinstance(event, BaseException):
            self.journal_status.failed(event, self.clock())
            return
        found = getattr(event, "discrepancies", None)
        if isinstance(found, int) and not isinstance(found, bool):
            self.reconciled(found)
        elif isinstance(found, Sequence) and not isinstance(found, str):
            self.reconciled(len(found))

    def server(self) -> MetricsServer:
        return MetricsServer(self.config, self.registry, self.health)

    # --- scrape time ---

    def health(self) -> Health:
        return assess(
            self._snapshot(),
            self.streams,
            self.journal_status,
            stale_after_s=self.config.stale_after_s,
            now_s=self.clock(),
        )

    def _snapshot(self) -> AccountSnapshot | None:
        engine = self.engine
        if engine is None:
            return None
        p = engine.portfolio
        equity = p.equity()
        symbols = []
        for symbol, risk in engine.risk.items():
            pos, mark = p.positions[symbol], p.marks.get(symbol)
            value = p.value(symbol)
            venue = dict.fromkeys(VENUE_REASONS, 0)
            for (sym, reason), n in self._venue_rejects.items():
                if sym == symbol:
                    venue[reason] = n
            symbols.append(
                SymbolSnapshot(
                    symbol=symbol,
                    position=p.quantity(symbol),
                    value=value,
                    exposure_ratio=abs(value) / equity if equity > 0 else math.nan,
                    realized_pnl=pos.realized_pnl,
                    unrealized_pnl=0.0 if pos.is_flat or mark is None
                    else pos.unrealized_pnl(mark),
                    breaker=risk.state,
                    breaker_drawdown_ratio=risk.breaker.drawdown,
                    orders_in_flight=len(engine.orders.open_orders(symbol)),
                    risk_rejections={enum_label(r): n for r, n in risk.rejections.items()},
                    venue_rejections=venue,
                )
            )  # fmt: skip
        return AccountSnapshot(
            quote_asset=p.quote_asset,
            equity=equity,
            cash=p.cash,
            fees=p.fee_value,
            funding=p.funding,
            slippage=p.slippage,
            drawdown_ratio=p.drawdown,
            symbols=tuple(symbols),
            skips=dict.fromkeys(SKIP_REASONS, 0) | dict(engine.log.skips),
        )

    # --- events (called by the wrappers) ---

    def _bar(self, bar: Bar) -> None:
        entry = self._vol.get(bar.symbol)
        if entry is None:
            return
        rv, last = entry
        if last:
            vol = rv.update(math.log(bar.close / last[0]))
            self._series[bar.symbol].realized_volatility.set(vol)
            last[0] = bar.close
        else:
            last.append(bar.close)

    def _breakers_changed(self) -> None:
        engine = self.engine
        if engine is None:
            return
        for symbol, before in self._breakers.items():
            state = engine.risk[symbol].state
            if state != before:
                self._breakers[symbol] = state
                self.metrics.breaker_entered(symbol, state)

    def _decided(self, decision: Decision, seconds: float, strategy: object) -> None:
        m = self.metrics
        m.inference.observe(seconds)
        series = self._series.get(decision.symbol)
        if series is None:  # a symbol the engine does not trade: nothing to export
            return
        series.decisions.inc()
        series.last_decision.set(self.clock())
        u, var = decision.u_raw, decision.var
        series.target.set(u if math.isfinite(u) else math.nan)
        series.predicted_sigma.set(math.sqrt(var) if math.isfinite(var) and var >= 0 else math.nan)
        model: _CountsNfe | None = getattr(strategy, "model", None)
        nfe = getattr(model, "last_nfe", None)
        if isinstance(nfe, int) and nfe > 0:
            m.nfe.observe(nfe)

    def _submitted(self, request: OrderRequest) -> None:
        series = self._series.get(request.symbol)
        if series is not None:
            series.submitted[request.intent.value].inc()
        self._sent[request.client_order_id] = (request.symbol, self.timer())

    def _venue_event(self, event: ExecutionEvent) -> None:
        if isinstance(event, Ack):
            sent = self._sent.pop(event.client_order_id, None)
            if sent is not None:
                self.metrics.ack_latency.observe(self.timer() - sent[1])
        elif isinstance(event, FillEvent):
            series = self._series.get(event.symbol)
            if series is not None:
                series.fills[event.liquidity.value].inc()
                series.notional[event.liquidity.value].inc(event.qty * event.price)
        elif isinstance(event, VenueReject):
            sent = self._sent.pop(event.client_order_id, None)
            symbol = sent[0] if sent is not None else self._symbol_of(event.client_order_id)
            if symbol is not None:
                self._venue_rejects[(symbol, event.reason.value)] += 1
        elif isinstance(event, Canceled):
            self._sent.pop(event.client_order_id, None)

    def _symbol_of(self, cid: str) -> str | None:
        engine = self.engine
        req = engine.orders.requests.get(cid) if engine is not None else None
        return req.symbol if req is not None else None


class _TimedHandle:
    """``Engine.handle`` timed per closed bar; breaker transitions read after every event."""

    def __init__(self, handle: Callable[[EngineEvent], None], telemetry: Telemetry) -> None:
        self.inner, self.t = handle, telemetry

    def __call__(self, event: EngineEvent) -> None:
        t = self.t
        if isinstance(event, Bar):
            t._bar(event)
            start = t.timer()
            self.inner(event)
            t.metrics.decision_latency.observe(t.timer() - start)
        else:
            self.inner(event)
        t._breakers_changed()


class _TimedStrategy:
    """The engine's strategy, with each decision's time, forecast and NFE recorded."""

    def __init__(self, inner: Strategy, telemetry: Telemetry) -> None:
        self.inner, self.t = inner, telemetry
        self.name = inner.name

    def _timed(self, call: Callable[[], Decision | None]) -> Decision | None:
        start = self.t.timer()
        decision = call()
        if decision is not None:
            self.t._decided(decision, self.t.timer() - start, self.inner)
        return decision

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> Decision | None:
        return self._timed(lambda: self.inner.on_bar(bar, ctx))

    def on_book(self, book: Any, ctx: StrategyContext) -> Decision | None:
        top: BookTop = book
        return self._timed(lambda: self.inner.on_book(top, ctx))

    def on_fill(self, fill: FillEvent, ctx: StrategyContext) -> Decision | None:
        return self.inner.on_fill(fill, ctx)

    def on_timer(self, timer: Timer, ctx: StrategyContext) -> Decision | None:
        return self.inner.on_timer(timer, ctx)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class _CountingVenue:
    """The engine's venue client, counting what goes out and what comes back."""

    def __init__(self, inner: ExecutionClient, telemetry: Telemetry) -> None:
        self.inner, self.t = inner, telemetry

    def submit(self, request: OrderRequest) -> None:
        self.t._submitted(request)
        self.inner.submit(request)

    def cancel(self, client_order_id: str, ts_ns: int) -> None:
        self.inner.cancel(client_order_id, ts_ns)

    def poll(self) -> list[ExecutionEvent]:
        events = self.inner.poll()
        for ev in events:
            self.t._venue_event(ev)
        return events

    def __getattr__(self, name: str) -> Any:  # ready, start, close, ...
        return getattr(self.inner, name)


# The engine asks ``isinstance(venue, MarketDrivenVenue / BookDrivenVenue)`` on every event: a
# proxy that has the protocol's methods on its class answers from the ABC cache, one that only
# delegates through __getattr__ costs a structural check (~20 us) each time.
class _CountingMarketVenue(_CountingVenue):
    def on_market(self, event: EngineEvent) -> None:
        self.inner.on_market(event)  # type: ignore[attr-defined]


class _CountingBookVenue(_CountingVenue):
    @property
    def gaps(self) -> int:
        return int(self.inner.gaps)  # type: ignore[attr-defined]

    def top(self) -> tuple[bool, tuple[float, float] | None, tuple[float, float] | None]:
        return self.inner.top()  # type: ignore[attr-defined]


class _CountingMarketBookVenue(_CountingMarketVenue, _CountingBookVenue):
    pass


def _venue_proxy(inner: ExecutionClient, telemetry: Telemetry) -> _CountingVenue:
    """The counting proxy of ``inner`` that satisfies exactly the venue protocols it does."""
    market, book = isinstance(inner, MarketDrivenVenue), isinstance(inner, BookDrivenVenue)
    cls = (
        _CountingMarketBookVenue if market and book
        else _CountingMarketVenue if market
        else _CountingBookVenue if book
        else _CountingVenue
    )  # fmt: skip
    return cls(inner, telemetry)


class MonitoredJournal:
    """A ``Journal`` whose writes are timed and whose failures mark it unwritable for /healthz
    (the error is re-raised unchanged: the caller decides to halt); reads pass through."""

    def __init__(self, inner: Journal, telemetry: Telemetry) -> None:
        self.inner, self.t = inner, telemetry

    @property
    def trader_id(self) -> str:
        return self.inner.trader_id

    def _write(self, call: Callable[[], None]) -> None:
        t, start = self.t, self.t.timer()
        try:
            call()
        except Exception as err:
            t.journal_status.failed(err, t.clock())
            raise
        t.metrics.journal_append.observe(t.timer() - start)
        t.journal_status.ok()

    def append(self, record: JournalRecord) -> None:
        self._write(lambda: self.inner.append(record))

    def append_many(self, records: Sequence[JournalRecord]) -> None:
        self._write(lambda: self.inner.append_many(records))

    def put_snapshot(self, seq: int, objects: Mapping[str, str]) -> None:
        self._write(lambda: self.inner.put_snapshot(seq, objects))

    def read(self, after_seq: int = 0, through_seq: int | None = None) -> Iterator[JournalRecord]:
        return self.inner.read(after_seq, through_seq)

    def last_seq(self) -> int:
        return self.inner.last_seq()

    def latest_snapshot(self) -> Snapshot | None:
        return self.inner.latest_snapshot()

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> MonitoredJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["MonitoredJournal", "Telemetry", "TraderView"]
