"""``Engine``: one synchronous handler chain per event, the same for backtest, paper and live.

Invariants:

* ``Engine.handle(event)`` is the one entry point. Events are handled strictly in time order
  (the clock refuses an earlier one); a backtest feeds them from a heap (``run``), paper and
  live will feed them from asyncio tasks through one queue; nothing inside awaits.
* Per market event the chain is: the simulated venue applies the bar to resting orders ->
  their fills are accounted -> funding settling at the bar's close is paid on the position
  then held -> the portfolio is marked at the close and the breaker fed the
  equity (the equity record is taken here, *before* the decision) -> the strategy decides ->
  risk sizes and caps -> the order manager plans -> every order passes the pre-trade check ->
  the venue -> fills -> portfolio. A HALTED breaker flattens whatever the strategy says.
* A ``BookTick`` (the L2 path) goes through the same chain: the venue replays the recording up
  to it, fills are accounted, the portfolio is marked at the mid, the strategy gets the venue's
  ``BookTop``; on an unsynced book it is told (``is_valid`` False), no mark or equity is taken
  and the tick is counted in ``log.skips["book_not_synced"]``. A post-only order rests at our
  side's best price of that book. Equity is recorded at most every ``book_equity_every_ns``.
* Decisions before ``trade_from_ns`` or after ``trade_until_ns`` only warm the strategy up, and
  a HALTED breaker flattens only inside that window too (a live trader's warm-up bars are
  history: they never trade).
  A NaN or infinite decision never reaches the order manager: it is a counted, logged skip.
* ``superseded`` (set by a live driver; None in a backtest): a bar's decision when it calls the
  bar superseded (a newer bar has closed: the decision is about a market that is gone) only
  warms the strategy up, counted in ``log.skips["superseded"]``; it never trades late as if
  current.
* A venue event the order manager refuses (a fill for an unknown order, an overfill, a fill
  after a confirmed cancel) is logged and counted in ``log.skips``; nothing is booked.
"""

from __future__ import annotations

import dataclasses
import heapq
import logging
import math
import operator
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice
from typing import Protocol, cast, runtime_checkable

from gradtrade.core import TradingState
from gradtrade.engine.clock import Clock, SimulatedClock
from gradtrade.errors import InvalidTransition, UnknownOrder
from gradtrade.events import (
    PRIORITY,
    Bar,
    Decision,
    FillEvent,
    FundingEvent,
    IntentKind,
    MarketEvent,
    OrderIntent,
    Timer,
    fast_frozen_init,
)
from gradtrade.execution.client import ExecutionClient
from gradtrade.execution.orders import OrderManager, Plan, Proposal
from gradtrade.execution.portfolio import PortfolioTracker
from gradtrade.risk.manager import OrderCheck, RiskManager, SizingSkip
from gradtrade.strategy.book import BookTick, BookTop
from gradtrade.strategy.protocol import Strategy, StrategyContext

log = logging.getLogger("gradtrade.engine")
EngineEvent = MarketEvent | BookTick  # what ``handle`` takes: market events and L2 cadence ticks
FAR_FUTURE = 2**62


@runtime_checkable
class MarketDrivenVenue(Protocol):
    """A venue that simulates fills from market events (the backtest's and paper's venue)."""

    def on_market(self, event: EngineEvent) -> None: ...


@runtime_checkable
class BookDrivenVenue(Protocol):
    """A venue that holds an L2 book (the L2 backtest's and paper's venue)."""

    gaps: int

    def top(self) -> tuple[bool, tuple[float, float] | None, tuple[float, float] | None]: ...


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class EquityPoint:
    ts_ns: int
    price: float
    equity: float
    position: float
    exposure: float
    drawdown: float
    state: TradingState


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class DecisionRecord:
    decision: Decision
    target_qty: float | None  # None: skipped, or outside the trading window
    leverage: float | None


@dataclass
class EngineLog:
    equity: list[EquityPoint] = field(default_factory=list)
    decisions: list[DecisionRecord] = field(default_factory=list)
    fills: list[FillEvent] = field(default_factory=list)
    funding: list[tuple[int, str, float]] = field(default_factory=list)
    skips: Counter[str] = field(default_factory=Counter)


_TIME = operator.attrgetter("ts_ns")
_equity_point = EquityPoint._unchecked  # type: ignore[attr-defined]
_context = StrategyContext._unchecked  # type: ignore[attr-defined]
_record = DecisionRecord._unchecked  # type: ignore[attr-defined]
_book_top = BookTop._unchecked  # type: ignore[attr-defined]
_HALTED = TradingState.HALTED


def _order(event: EngineEvent) -> tuple[int, int]:
    return event.ts_ns, PRIORITY.get(type(event), 1)


class Engine:
    def __init__(
        self,
        strategy: Strategy,
        risk: dict[str, RiskManager],
        orders: OrderManager,
        venue: ExecutionClient,
        portfolio: PortfolioTracker,
        clock: Clock | None = None,
        *,
        trade_from_ns: int = 0,
        trade_until_ns: int = FAR_FUTURE,
        book_equity_every_ns: int = 0,
    ) -> None:
        self.strategy, self.risk, self.orders = strategy, risk, orders
        self.venue, self.portfolio = venue, portfolio
        self.clock = clock or SimulatedClock()
        self.trade_from_ns, self.trade_until_ns = trade_from_ns, trade_until_ns
        self.log = EngineLog()
        self._timers: list[tuple[int, int, Timer]] = []
        self._deferred: list[FundingEvent] = []
        self._timer_seq = 0
        self.book_equity_every_ns = book_equity_every_ns
        self._books: dict[str, BookTop] = {}
        self._next_book_equity = 0
        self._kind_of: object = None  # the venue ``_market_driven``/``_book_driven`` describe
        self._market_driven = self._book_driven = False
        self.superseded: Callable[[int], bool] | None = None  # the module docstring

    # --- the entry point ---

    def handle(self, event: EngineEvent) -> None:
        self._handle(event, event.ts_ns)

    def _handle(self, event: EngineEvent, ts: int) -> None:
        self.clock.advance(ts)
        if self._deferred:
            self._settle_funding(before_ns=ts)
        venue = self.venue
        if venue is not self._kind_of:
            self._classify(venue)
        if self._market_driven:
            if isinstance(event, FundingEvent):
                # settled once the bar closing at this instant has filled what traded during
                # it (a next-open fill happened before this settlement), before it is decided on
                self._deferred.append(event)
                return
            venue.on_market(event)  # type: ignore[attr-defined]
        self._drain()
        if isinstance(event, Bar):
            if self._deferred:
                self._settle_funding(before_ns=ts + 1, symbol=event.symbol)
            self._on_bar(event, ts)
        elif isinstance(event, FundingEvent):
            self._pay(event)
        elif isinstance(event, Timer):
            self._on_timer(event)
        elif isinstance(event, BookTick):
            self._on_book(event)

    def _classify(self, venue: ExecutionClient) -> None:
        """Which protocols the venue implements, checked once per venue object (a
        ``runtime_checkable`` isinstance walks the protocol's members on every call)."""
        self._kind_of = venue
        self._market_driven = isinstance(venue, MarketDrivenVenue)
        self._book_driven = isinstance(venue, BookDrivenVenue)

    def _settle_funding(self, before_ns: int, symbol: str | None = None) -> None:
        keep = []
        for ev in self._deferred:
            if ev.ts_ns < before_ns and (symbol is None or ev.symbol == symbol):
                self._pay(ev)
            else:
                keep.append(ev)
        self._deferred = keep

    def _pay(self, event: FundingEvent) -> None:
        paid = self.portfolio.apply_funding(event.symbol, event.rate, event.mark_price)
        self.log.funding.append((event.ts_ns, event.symbol, paid))

    def run(
        self,
        events: Iterable[EngineEvent],
        on_event: Callable[[EngineEvent], None] | None = None,
        *,
        until_ns: int = FAR_FUTURE,
    ) -> EngineLog:
        """Backtest: merge ``events`` with the engine's own timers on one heap and handle them in
        (time, priority, arrival) order; ``on_event`` is called after each (a progress bar).
        Timers due after ``until_ns`` stay unfired (a replayed session ends there)."""
        # the heap's (time, priority, arrival) order is one stable sort by (time, priority),
        # and no sort at all when the times strictly increase (no tie for priority to break);
        # nothing is added to ``events`` during the run, the engine's timers keep their heap
        queue = list(events)
        times = list(map(_TIME, queue))
        if not all(map(operator.lt, times, islice(times, 1, None))):
            queue.sort(key=_order)
            times = list(map(_TIME, queue))
        timers = self._timers
        # a ``handle`` set on the instance (live.telemetry times it) sees every event
        wrapped: Callable[[EngineEvent], None] | None = vars(self).get("handle")
        for event, ts in zip(queue, times, strict=True):
            while timers and timers[0][0] <= ts:
                self.fire_timers(timers[0][0])
            if wrapped is None:
                self._handle(event, ts)
            else:
                wrapped(event)
            if on_event is not None:
                on_event(event)
        while timers and timers[0][0] <= until_ns:
            self.fire_timers(timers[0][0])
        self._settle_funding(before_ns=FAR_FUTURE)
        return self.log

    def fire_timers(self, now_ns: int) -> int:
        """Handle every timer due at or before ``now_ns`` (the live driver calls this before
        each event and on its own wake-ups); returns how many fired."""
        fired = 0
        while self._timers and self._timers[0][0] <= now_ns:
            _, _, timer = heapq.heappop(self._timers)
            self.handle(timer)
            fired += 1
        return fired

    @property
    def next_timer_ns(self) -> int | None:
        return self._timers[0][0] if self._timers else None

    # --- handlers ---

    def _ctx(self, symbol: str) -> StrategyContext:
        p = self.portfolio
        return _context(
            self.clock.now_ns(), symbol, p.quantity(symbol), p.equity(), p.marks.get(symbol)
        )

    def _on_bar(self, bar: Bar, ts: int) -> None:
        symbol, close = bar.symbol, bar.close
        equity, exposure, drawdown, position = self.portfolio.mark_figures(symbol, close)
        state = self.risk[symbol].update_equity(equity)
        # the figures are checked where they are made (the bar, the portfolio's mark), so the
        # records skip the constructor's call per field; nothing changed since the equity
        # record: the context reuses its figures
        self.log.equity.append(
            _equity_point(ts, close, equity, position, exposure, drawdown, state)
        )
        clock = self.clock
        now = ts if type(clock) is SimulatedClock else clock.now_ns()  # advanced to ``ts``
        decision = self.strategy.on_bar(bar, _context(now, symbol, position, equity, close))
        if position != 0 and state == _HALTED and self.trade_from_ns <= ts <= self.trade_until_ns:
            self._act(OrderIntent(symbol, ts, 0.0, IntentKind.FLATTEN, close))
        if decision is None:
            return
        superseded = self.superseded
        if superseded is not None and ts >= self.trade_from_ns and superseded(ts):
            self.log.skips["superseded"] += 1
            self.log.decisions.append(_record(decision, None, None))
        else:
            self._decide(decision, close)

    def _on_book(self, tick: BookTick) -> None:
        if not self._book_driven:
            return
        venue = cast(BookDrivenVenue, self.venue)  # classified by ``handle``, once per venue
        valid, bid, ask = venue.top()
        top = _book_top(
            tick.symbol, tick.ts_ns, valid and bid is not None and ask is not None,
            bid[0] if bid else None, bid[1] if bid else None,
            ask[0] if ask else None, ask[1] if ask else None, venue.gaps,
        )  # fmt: skip
        self._books[tick.symbol] = top
        mid, position = top.mid, self.portfolio.quantity(tick.symbol)
        ctx = None
        if mid is None:
            self.log.skips["book_not_synced"] += 1
        else:
            p = self.portfolio
            equity = p.mark(tick.symbol, mid)
            state = self.risk[tick.symbol].update_equity(equity)
            if tick.ts_ns >= self._next_book_equity:
                self._next_book_equity = tick.ts_ns + self.book_equity_every_ns
                self.log.equity.append(
                    _equity_point(
                        tick.ts_ns, mid, equity, position, p.exposure(), p.drawdown, state
                    )
                )
            if state == _HALTED and position != 0:
                self._act(OrderIntent(tick.symbol, tick.ts_ns, 0.0, IntentKind.FLATTEN, mid))
            elif type(self.clock) is SimulatedClock:  # advanced to the tick's time
                # nothing changed since the mark: what ``_ctx`` would read
                ctx = _context(tick.ts_ns, tick.symbol, position, equity, mid)
        if ctx is None:
            ctx = self._ctx(tick.symbol)
        decision = self.strategy.on_book(top, ctx)
        if decision is not None and mid is not None:
            self._decide(decision, mid)

    def _on_timer(self, timer: Timer) -> None:
        decision = self.strategy.on_timer(timer, self._ctx(timer.symbol))
        if timer.name == "order_timeout" and timer.ref in self.orders.orders:
            # a post-only order still working at its timeout is cancelled; its target is
            # worked again (repriced or crossed) once the cancel is confirmed
            if self.orders.on_timeout(timer.ref):
                self.venue.cancel(timer.ref, timer.ts_ns)
                self._drain()
        elif timer.name == "retry" and timer.symbol:
            self._follow_up(timer.symbol)
        if decision is not None:
            price = self.portfolio.marks.get(timer.symbol)
            if price is not None:
                self._decide(decision, price)

    def _decide(self, decision: Decision, price: float) -> None:
        ts = decision.ts_ns
        if not (self.trade_from_ns <= ts <= self.trade_until_ns):
            self.log.decisions.append(_record(decision, None, None))
            return
        p, risk = self.portfolio, self.risk[decision.symbol]
        target = risk.target(
            decision, equity=p.equity(), position=p.quantity(decision.symbol), price=price
        )
        if isinstance(target, SizingSkip):
            self.log.skips[target.reason.value] += 1
            self.log.decisions.append(_record(decision, None, None))
            return
        self.log.decisions.append(_record(decision, target.qty, target.leverage))
        kind = IntentKind.FLATTEN if target.state == TradingState.HALTED else IntentKind.REBALANCE
        self._act(
            OrderIntent(
                decision.symbol, ts, target.qty, kind, price, target.stop_loss, target.take_profit
            )
        )

    def _act(self, intent: OrderIntent) -> None:
        position = self.portfolio.quantity(intent.symbol)
        book, best = self._books.get(intent.symbol), None
        if book is not None and book.is_valid:  # a post-only order rests at our side's best
            best = book.bid if intent.target_qty > position else book.ask
        plan = self.orders.plan(intent, position, self.clock.now_ns(), best)
        self._execute(plan, intent.symbol)

    def _execute(self, plan: Plan, symbol: str) -> None:
        if not (plan.cancels or plan.proposals or plan.timers_ns):
            # nothing reached the venue since the last drain, so it has nothing new to report
            return
        now = self.clock.now_ns()
        for cid in plan.cancels:
            if self.orders.request_cancel(cid):
                self.venue.cancel(cid, now)
        sent = [ref for p in plan.proposals if (ref := self._send(p, now)) is not None]
        for ts in plan.timers_ns:
            if plan.proposals:
                for ref in sent:
                    self._schedule(Timer(ts, "order_timeout", symbol, ref))
            else:
                self._schedule(Timer(ts, "retry", symbol))
        self._drain()

    def _send(self, proposal: Proposal, now: int) -> str | None:
        """Check, then send; the client id of a sent order (None when risk refused it)."""
        p, risk = self.portfolio, self.risk[proposal.symbol]
        position = p.quantity(proposal.symbol)
        price = proposal.price if proposal.price is not None else proposal.reference_price
        check = OrderCheck(
            proposal.side,
            proposal.qty,
            price,
            proposal.reference_price,
            position,
            len(self.orders.open_orders(proposal.symbol)),
            p.equity(),
            now,
            proposal.reduce_only or risk.state != TradingState.ACTIVE,
        )
        if not risk.pre_trade(check).approved:
            return None
        request = self.orders.send(proposal, now)
        self.venue.submit(request)
        return request.client_order_id

    def drain_venue(self) -> None:
        """Account what a live venue reported between market events (its fills must not wait
        for the next bar); the live driver calls this when the client has events waiting."""
        self._drain()

    def _drain(self) -> None:
        """Account everything the venue reported, then work what the order manager has next."""
        events = self.venue.poll()
        if not events:  # most events: the venue has nothing to report
            return
        touched: set[str] = set()
        while events:
            for ev in events:
                try:
                    fill, plan = self.orders.on_event(ev)
                except (UnknownOrder, InvalidTransition) as err:
                    # refused with the order manager's state intact; the session goes on
                    self.log.skips[f"refused_{type(ev).__name__}"] += 1
                    log.error("refused venue event %r: %s", ev, err)
                    continue
                symbol = self.orders.requests[ev.client_order_id].symbol
                touched.add(symbol)
                if fill is not None:
                    self.portfolio.apply_fill(fill)
                    self.log.fills.append(fill)
                    self.strategy.on_fill(fill, self._ctx(symbol))
                if plan.cancels or plan.proposals:
                    self._execute(plan, symbol)
            events = self.venue.poll()
        for symbol in touched:
            self._follow_up(symbol)

    def _follow_up(self, symbol: str) -> None:
        position = self.portfolio.quantity(symbol)
        for intent in self.orders.next_intents(symbol, position):
            if intent.kind in (IntentKind.STOP_LOSS, IntentKind.TAKE_PROFIT):
                proposal = self.orders.protective_proposal(intent, position)
                self._send(proposal, self.clock.now_ns())
                self._drain()
            else:
                # a target worked again (after a fill, a cancel, a refusal) is priced now, and
                # skipped when the account already sits within the rebalancing band of it
                mark = self.portfolio.marks.get(symbol, intent.reference_price)
                risk, equity = self.risk[symbol], self.portfolio.equity()
                if risk.within_deadband(intent.target_qty, position, mark, equity):
                    continue
                self._act(dataclasses.replace(intent, reference_price=mark))

    def _schedule(self, timer: Timer) -> None:
        self._timer_seq += 1
        heapq.heappush(self._timers, (timer.ts_ns, self._timer_seq, timer))

    def flatten_all(self) -> None:
        """Close every position at the last price (the end of a backtest)."""
        for symbol in self.portfolio.positions:
            price = self.portfolio.marks.get(symbol)
            if price is not None and not math.isclose(self.portfolio.quantity(symbol), 0.0):
                self._act(OrderIntent(symbol, self.clock.now_ns(), 0.0, IntentKind.FLATTEN, price))


__all__ = [
    "BookDrivenVenue",
    "DecisionRecord",
    "Engine",
    "EngineLog",
    "EquityPoint",
    "MarketDrivenVenue",
]
