"""The live trader's reconciliation pass: its journal's belief against the exchange, the report
journaled, repairs applied through the engine, fail closed on anything unexplained.

One pass (``Reconciler.run``, at startup after ``live.resume`` and every ``reconcile.interval_s``;
``check_journal`` alone for ``gradtrade trade reconcile``): the believed state is what the
*journal* knows (``recorder.state``: every order of every session, terminal ones included, with
their trade ids, so trades of earlier sessions are never "unknown") plus the engine's portfolio
for the money, and a :class:`Baseline` (the exchange's balances when the trader first started,
before any of its trades, and the start of the trade window) read from the journal's last
``reconciliation`` record; the exchange's side and the comparison are ``live.reconcile_exchange``
and ``live.reconcile``.

Invariants:

* The baseline is taken once, at the first live pass of a journal that has none: ``opening`` =
  the exchange's balances less what the journal's portfolio already booked (exact for a fresh
  journal, where that is nothing), ``since_ms`` = the exchange's clock then. Every report's
  payload carries the baseline in force after it (``baseline``), so recovery's
  ``TraderState.reconciliation`` is where the next start reads it back.
* The trade window only moves forward: after a pass that may trade, to ``checked_ms -
  WINDOW_LAG_MS`` (a bounded re-read of recent history, so long runs do not read it all), after
  an adoption past the adopted trades.
* Repairs (acknowledgements, fills, cancels, never-placed refusals of this session's orders) go
  through the same path as venue reports: ``JournalingClient.inject`` then
  ``Engine.drain_venue``, so each fill is journaled once (the journal's mirror skips a trade id
  it has), booked once (the order manager drops a duplicate trade id) and the engine acts on
  what follows (OCO cancels, pending targets). A repair of an order the engine does not manage
  (an earlier session's) is never applied: the pass halts instead. After the repairs the
  journal's belief is compared with the same exchange state again; what still differs halts.
* A pass starts on the venue's clock (``sync_time``); a retryable failure to read is tried
  again (``READ_TRIES`` in all) and then raised: the caller decides (the trader stops at
  startup, tries again at the next interval later). A pass that halts is run once more
  after ``confirm_after_s`` (the account moves while it is read) with a fresh belief; the
  second stands.
* HALT: nothing of the report is applied, the breaker goes to HALTED (journaled as a
  ``breaker_transition`` with ``reason: reconciliation``; ``trade reset-breaker`` leaves it) and
  the journaling client takes no new order from then on in this process (not even a
  flattening one: the trader's position is what is in doubt); the report is logged.
* ``ADOPTED`` (``reconcile.adopt_unknown``): the opening balances are rebased so the derived
  balances equal the exchange's and the window moves past the adopted trades
  (``reconcile_apply.adopt``); a USD-M position that differs is taken into the engine's
  portfolio at the exchange's quantity and entry price (``PortfolioTracker.adopt_position``,
  after the repairs, so the engine's next decisions trade from it) and journaled in the
  report's payload (``adopted_positions``), which a restart applies again in journal order
  (``live.resume.restore_portfolio``). A position the portfolio cannot take (a symbol it does
  not trade, off the lot grid, no entry price) or a recheck that still differs halts, with
  the portfolio put back as it was before the adoption.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from gradtrade.core import DrawdownBreaker
from gradtrade.engine.loop import Engine
from gradtrade.errors import InvalidInput, RetryableError
from gradtrade.execution.orders import OrderManager
from gradtrade.execution.portfolio import PortfolioTracker
from gradtrade.live.journaled import JournalingClient
from gradtrade.live.reconcile import (
    BelievedOrder,
    BelievedState,
    Discrepancy,
    DiscrepancyKind,
    ExchangeState,
    ReconcileConfig,
    ReconciliationReport,
    Verdict,
    reconcile,
    with_more,
)
from gradtrade.live.reconcile_apply import adopt, believed_state
from gradtrade.live.reconcile_exchange import check_state, fetch_exchange_state, gateway_market
from gradtrade.live.reconcile_report import (
    ADOPTED_POSITIONS,
    AdoptedPosition,
    render,
    to_payload,
)
from gradtrade.live.recorder import Recorder
from gradtrade.persistence.records import RecordKind
from gradtrade.persistence.recovery import TraderState
from gradtrade.venue.orders import OrderGateway
from gradtrade.venue.urls import Market

log = logging.getLogger("gradtrade.live.reconcile")
WINDOW_LAG_MS = 5 * 60_000  # the trade window keeps this much history behind the last check
BASELINE = "baseline"
READ_TRIES = 3


@dataclass(frozen=True, slots=True)
class _Pass:
    """What one read of the exchange concluded: the report, the baseline in force after it and
    the positions it adopted into the portfolio."""

    report: ReconciliationReport
    baseline: Baseline
    adopted: Mapping[str, AdoptedPosition] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Baseline:
    """The exchange's balances before the trader's first trade, and the trade window's start."""

    opening: Mapping[str, float]
    since_ms: int

    def to_payload(self) -> dict[str, Any]:
        return {"opening": dict(sorted(self.opening.items())), "since_ms": self.since_ms}

    @classmethod
    def from_state(cls, state: TraderState) -> Baseline | None:
        """The baseline of the journal's last reconciliation; None when it has none.
        ``InvalidInput`` naming the field when it is malformed."""
        last = state.reconciliation
        if last is None or BASELINE not in last:
            return None
        raw = last[BASELINE]
        where = f"journal reconciliation record (seq <= {state.seq}): field 'baseline"
        if not isinstance(raw, dict) or not isinstance(raw.get("opening"), dict):
            raise InvalidInput(f"{where}.opening' must be an object of asset -> amount")
        since = raw.get("since_ms")
        if type(since) is not int or since < 0:
            raise InvalidInput(f"{where}.since_ms' must be a non-negative integer, got {since!r}")
        opening: dict[str, float] = {}
        for asset, amount in raw["opening"].items():
            if type(amount) not in (int, float):
                raise InvalidInput(f"{where}.opening.{asset}' must be a number, got {amount!r}")
            opening[asset] = float(amount)
        return cls(opening, since)


def journal_belief(
    market: Market,
    state: TraderState,
    manager: OrderManager,
    portfolio: PortfolioTracker,
    baseline: Baseline,
    only: frozenset[str] | None = None,
) -> BelievedState:
    """The journal's orders and trade ids (of the portfolio's symbols; ``only``: these client
    ids; their send times from ``manager``, which sent this session's) with the portfolio's
    money on ``baseline``."""
    money = believed_state(market, manager, portfolio, baseline.opening, baseline.since_ms)
    orders = {
        cid: BelievedOrder.of(o, _sent_ms(manager, cid))
        for cid, o in state.orders.items()
        if o.symbol in portfolio.filters and (only is None or cid in only)
    }
    trade_ids = frozenset(
        (o.symbol, t) for o in state.orders.values() if o.symbol in portfolio.filters
        for t in o.trade_ids
    )  # fmt: skip
    return dataclasses.replace(money, orders=orders, trade_ids=trade_ids)


def _sent_ms(manager: OrderManager, cid: str) -> int | None:
    request = manager.requests.get(cid)
    return None if request is None else request.ts_ns // 1_000_000


async def check_journal(
    gateway: OrderGateway,
    state: TraderState,
    manager: OrderManager,
    portfolio: PortfolioTracker,
    baseline: Baseline | None,
    config: ReconcileConfig,
    confirm_after_s: float = 0.0,
) -> tuple[ReconciliationReport, ExchangeState | None, BelievedState, Baseline]:
    """Compare the journal's belief with the exchange (nothing is changed); takes the baseline
    first when ``baseline`` is None (module docstring). Returns the report, the exchange state
    it judged (None for a malformed answer), the belief and the baseline used."""
    market = gateway_market(gateway)
    if baseline is None:
        now_ms = int(gateway.rest.now_ms())
        bare = journal_belief(market, state, manager, portfolio, Baseline({}, now_ms))
        exchange = await fetch_exchange_state(gateway, bare)
        f = portfolio.filters
        assets = {a for s in f.values() for a in (s.base_asset, s.quote_asset) if a}
        opening = {
            a: exchange.balances[a].total - bare.balances.get(a, 0.0)
            for a in sorted(assets | set(bare.balances))
            if a in exchange.balances
        }
        baseline = Baseline(opening, now_ms)
        log.info("reconciliation baseline taken: opening balances %s, trades from %d",
                 opening, now_ms)  # fmt: skip
    believed = journal_belief(market, state, manager, portfolio, baseline)
    report, exchange_state = await check_state(gateway, believed, config, confirm_after_s)
    return report, exchange_state, believed, baseline


class Reconciler:
    """The trader's passes; ``on_halt`` is called with the report after the breaker halted."""

    def __init__(
        self,
        gateway: OrderGateway,
        recorder: Recorder,
        engine: Engine,
        venue: JournalingClient,
        symbol: str,
        config: ReconcileConfig,
        confirm_after_s: float = 1.0,
    ) -> None:
        self.gateway, self.recorder, self.engine, self.venue = gateway, recorder, engine, venue
        self.symbol, self.config, self.confirm_after_s = symbol, config, confirm_after_s
        self.baseline = Baseline.from_state(recorder.state)
        self.passes = 0
        self.halted = False

    async def run(self) -> ReconciliationReport:
        """One pass (module docstring); returns the report it journaled."""
        for attempt in range(2):
            done = await self._read_retrying()
            if done.report.may_trade or attempt or self.confirm_after_s <= 0:
                break
            log.warning("reconciliation would halt; reading the exchange once more")
            await asyncio.sleep(self.confirm_after_s)
        report, baseline = done.report, done.baseline
        self.passes += 1
        if report.may_trade:
            since = max(baseline.since_ms, report.checked_ms - WINDOW_LAG_MS)
            baseline = dataclasses.replace(baseline, since_ms=since)
        self.baseline = baseline
        payload = {**to_payload(report), BASELINE: baseline.to_payload()}
        if done.adopted:
            payload[ADOPTED_POSITIONS] = {s: a.to_payload() for s, a in done.adopted.items()}
        self.recorder.record(RecordKind.RECONCILIATION, "account", payload)
        self._log(report)
        if not report.may_trade:
            self._halt()
        return report

    async def _read_retrying(self) -> _Pass:
        """``_attempt`` on the venue's clock, tried ``READ_TRIES`` times while the venue answers
        retryably (a 5xx, a rate limit, ``-1021`` after its clock moved)."""
        for tries in itertools.count(1):
            try:
                await self.gateway.rest.sync_time()
                return await self._attempt()
            except RetryableError as exc:
                if tries >= READ_TRIES:
                    raise
                log.warning("reconciliation: the venue did not answer (%s); again", exc)
                await asyncio.sleep(self.confirm_after_s)
        raise AssertionError("unreachable")

    async def _attempt(self) -> _Pass:
        state, portfolio = self.recorder.state, self.engine.portfolio
        report, exchange, believed, baseline = await check_journal(
            self.gateway, state, self.engine.orders, portfolio, self.baseline, self.config
        )
        if exchange is None or not report.may_trade:
            return _Pass(report, baseline)
        positions: dict[str, float] = {}
        if report.verdict is Verdict.ADOPTED:
            adoption = adopt(report, baseline.opening)
            positions = adoption.positions
            baseline = Baseline(adoption.opening, max(baseline.since_ms, adoption.since_ms))
            log.warning("adopting the exchange's word; foreign open orders left alone: %s",
                        list(adoption.foreign_orders))  # fmt: skip
        foreign = [r.client_order_id for r in report.repairs
                   if r.client_order_id not in self.engine.orders.orders]  # fmt: skip
        if foreign:
            extra = Discrepancy(
                DiscrepancyKind.ORDER_STATE_DIFFERS, ",".join(sorted(set(foreign))), None, None,
                "a repair of an order this session's engine does not manage",
            )  # fmt: skip
            return _Pass(with_more(report, [extra]), baseline)
        if report.repairs:
            self.venue.inject(report.repairs)
            self.engine.drain_venue()  # the consumer is idle: the pass runs between events
        before = portfolio.to_json()  # the repairs stay; a failed adoption is undone
        adopted, refused = self._adopt(positions, exchange)
        if refused is not None:
            portfolio.restore_json(before)
            return _Pass(with_more(report, [refused]), baseline)
        after = reconcile(
            journal_belief(believed.market, state, self.engine.orders, portfolio, baseline,
                           frozenset(believed.orders)),
            exchange, self.config,
        )  # fmt: skip
        if after.verdict is Verdict.OK or (after.verdict is report.verdict is Verdict.ADOPTED):
            return _Pass(report, baseline, adopted)
        portfolio.restore_json(before)
        return _Pass(with_more(report, after.discrepancies), baseline)

    def _adopt(
        self, positions: Mapping[str, float], exchange: ExchangeState
    ) -> tuple[dict[str, AdoptedPosition], Discrepancy | None]:
        """The exchange's positions into the engine's portfolio; the first one it cannot take
        comes back as the discrepancy that halts."""
        adopted: dict[str, AdoptedPosition] = {}
        portfolio = self.engine.portfolio
        for symbol, qty in sorted(positions.items()):
            entry = exchange.entry_prices.get(symbol) if qty else None
            believed = portfolio.quantity(symbol) if symbol in portfolio.positions else None
            try:
                portfolio.adopt_position(symbol, qty, entry)
            except InvalidInput as exc:
                return adopted, Discrepancy(
                    DiscrepancyKind.POSITION_DIFFERS, symbol, believed, qty,
                    f"the exchange's position cannot be adopted: {exc}",
                )  # fmt: skip
            adopted[symbol] = AdoptedPosition(qty, entry)
            log.warning("adopted the exchange's %s position %r at entry %r (was %r)",
                        symbol, qty, entry, believed)  # fmt: skip
        return adopted, None

    def _log(self, report: ReconciliationReport) -> None:
        if report.verdict is Verdict.OK:
            log.info("reconciliation %d: OK (%d orders, trades from %d)", self.passes,
                     len(self.recorder.state.orders), self.baseline.since_ms if self.baseline
                     else 0)  # fmt: skip
        elif report.may_trade:
            log.warning("reconciliation %d: %s\n%s", self.passes, report.verdict.value.upper(),
                        render(report))  # fmt: skip
        else:
            log.error("reconciliation %d: HALT, no new orders\n%s", self.passes, render(report))

    def _halt(self) -> None:
        """Breaker to HALTED (journaled) and no new order from this process."""
        self.venue.stop_new_orders("halted by reconciliation")
        risk = self.engine.risk[self.symbol]
        before = _name(risk.breaker.state)
        if before != "HALTED":
            if orjson.loads(risk.breaker.to_json())["last_equity"] is None:
                # a breaker never marked (a first start) holds no equity to halt at: mark it
                risk.breaker.update(self.engine.portfolio.initial_cash)
            raw = orjson.loads(risk.breaker.to_json())
            raw["state"] = "HALTED"
            risk.breaker = DrawdownBreaker.from_json(orjson.dumps(raw))
            self.recorder.record(RecordKind.BREAKER_TRANSITION, "account", {
                "breaker": raw, "from": before, "to": "HALTED", "reason": "reconciliation",
            })  # fmt: skip
        self.halted = True


def _name(state: object) -> str:
    return str(state).rpartition(".")[2]  # TradingState.HALTED -> HALTED


__all__ = [
    "BASELINE",
    "WINDOW_LAG_MS",
    "Baseline",
    "Reconciler",
    "check_journal",
    "journal_belief",
]
