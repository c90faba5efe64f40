"""The trader's side of reconciliation: its belief from its objects, and the repairs applied.

:func:`believed_state` reads what the trader holds (the ``OrderManager``'s orders and the trade
ids they applied, the ``PortfolioTracker``'s positions and cash) into a ``BelievedState``;
:func:`apply_repairs` feeds a report's repairs through the same entry points a venue event
takes (``OrderManager.on_event``, then ``PortfolioTracker.apply_fill`` for a fill the manager
accepted); :func:`apply_and_recheck` applies and compares the trader's objects again;
:func:`adopt` says what an ``ADOPTED`` report asks the trader to take as the truth;
:func:`reconcile_trader` is the whole pass the trader runs at startup and periodically.

Invariants:

* Idempotent: the manager drops a trade id it has applied (``on_event`` returns no fill), so
  applying the same report twice books each fill once; an acknowledgement the order already
  has, or an end (cancel, never placed) of an order already done, is not applied again.
* Balances are derived, not kept: from the balances the exchange held when the portfolio
  started (``opening``) plus what the portfolio booked since. Spot: the quote asset moves with
  the portfolio's cash, each base asset with its position net of base-asset fees, any other
  fee asset (BNB) by the fees the positions recorded in it. USD-M: the margin asset moves by
  the positions' realized PnL net of quote fees, less funding paid.
* The recheck compares against the same ``ExchangeState``; anything that still differs turns
  the verdict into ``HALT`` with those differences appended to the report (fail closed).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from gradtrade.errors import InvalidInput
from gradtrade.events import FillEvent
from gradtrade.execution.client import Ack
from gradtrade.execution.orders import OrderManager, Plan
from gradtrade.execution.portfolio import PortfolioTracker
from gradtrade.live.reconcile import (
    BelievedOrder,
    BelievedState,
    DiscrepancyKind,
    ExchangeState,
    ReconcileConfig,
    ReconciliationReport,
    Verdict,
    reconcile,
    with_more,
)
from gradtrade.live.reconcile_exchange import check_state, gateway_market
from gradtrade.venue.orders import OrderGateway
from gradtrade.venue.urls import Market


def believed_state(
    market: Market,
    manager: OrderManager,
    portfolio: PortfolioTracker,
    opening: Mapping[str, float],
    since_ms: int,
) -> BelievedState:
    """The trader's belief; ``opening``: the exchange's balances (spot: free + locked; USD-M:
    wallet) when ``portfolio`` started with ``initial_cash``."""
    orders = {cid: BelievedOrder.of(o, _sent_ms(manager, cid)) for cid, o in manager.orders.items()}
    trade_ids = frozenset((o.symbol, t) for o in manager.orders.values() for t in o.trade_ids)
    balances = dict(opening)
    quote = portfolio.quote_asset

    def add(asset: str | None, amount: float) -> None:
        if asset:
            balances[asset] = balances.get(asset, 0.0) + amount

    positions: dict[str, float] = {}
    if market == "spot":
        add(quote, portfolio.cash - portfolio.initial_cash)
        for symbol, f in portfolio.filters.items():
            add(f.base_asset, portfolio.quantity(symbol))
            for asset, fee in portfolio.positions[symbol].fees.items():
                if asset not in (quote, f.base_asset):
                    add(asset, -fee)
    else:
        realized = sum(p.net_realized_pnl for p in portfolio.positions.values())
        add(quote, realized - portfolio.funding)
        positions = {s: portfolio.quantity(s) for s in portfolio.filters}
    return BelievedState(
        market, portfolio.filters, orders, trade_ids, since_ms, balances, positions
    )


def _sent_ms(manager: OrderManager, cid: str) -> int | None:
    request = manager.requests.get(cid)
    return None if request is None else request.ts_ns // 1_000_000


@dataclass(frozen=True, slots=True)
class Applied:
    """What :func:`apply_repairs` did: fills booked, fills already known, acks and ends
    (cancels, never-placed refusals) that changed an order, and the manager's plan (OCO
    cancels, pending targets) to act on."""

    fills: int
    duplicates: int
    acks: int
    ended: int
    plan: Plan


def apply_repairs(
    report: ReconciliationReport, manager: OrderManager, portfolio: PortfolioTracker
) -> Applied:
    """Apply ``report.repairs`` in order (acks, fills by trade id, cancels). An error from the
    manager (an overfill the report could not foresee) propagates with that repair unapplied;
    the ones before it stay applied, as they would from the venue."""
    fills = duplicates = acks = ended = 0
    plan = Plan()
    for repair in report.repairs:
        if isinstance(repair, FillEvent):
            request = manager.requests.get(repair.client_order_id)
            if request is not None:  # slippage against the price the decision saw
                slip = repair.side.sign * (repair.price - request.reference_price) * repair.qty
                repair = dataclasses.replace(repair, slippage=slip)
            booked, more = manager.on_event(repair)
            plan.extend(more)
            if booked is None:
                duplicates += 1
            else:
                portfolio.apply_fill(booked)
                fills += 1
        else:
            # An order that already has this ack, or is already done, is left alone (not even
            # counted by the manager): applying a report twice changes nothing the second time.
            order = manager.orders.get(repair.client_order_id)
            if isinstance(repair, Ack):
                if order is not None and order.exchange_order_id == repair.exchange_order_id:
                    continue
                acks += 1
            else:  # Canceled or VenueReject (never placed): both end an order
                if order is not None and order.is_terminal:
                    continue
                ended += 1
            plan.extend(manager.on_event(repair)[1])  # UnknownOrder for an order never sent
    return Applied(fills, duplicates, acks, ended, plan)


def apply_and_recheck(
    report: ReconciliationReport,
    exchange: ExchangeState,
    manager: OrderManager,
    portfolio: PortfolioTracker,
    opening: Mapping[str, float],
    since_ms: int,
    config: ReconcileConfig | None = None,
) -> tuple[ReconciliationReport, Applied]:
    """Apply the repairs, then compare the trader's objects with ``exchange`` again: the
    report stands when they agree, else it is ``HALT`` with what still differs."""
    applied = apply_repairs(report, manager, portfolio)
    after = reconcile(
        believed_state(report.market, manager, portfolio, opening, since_ms), exchange, config
    )
    if after.verdict is Verdict.OK or after.verdict is report.verdict is Verdict.ADOPTED:
        return report, applied
    return with_more(report, after.discrepancies), applied


async def reconcile_trader(
    gateway: OrderGateway,
    manager: OrderManager,
    portfolio: PortfolioTracker,
    opening: Mapping[str, float],
    since_ms: int,
    config: ReconcileConfig | None = None,
    confirm_after_s: float = 1.0,
) -> tuple[ReconciliationReport, Applied | None]:
    """One reconciliation of the trader (at startup, then periodically): check, and apply the
    repairs of a report that does not halt, rechecked. A ``HALT`` report changes nothing the
    trader holds (something is unexplained: no fill of it is trusted), nor does a malformed
    answer; the report is what to journal and, when it halts, what to print."""
    believed = believed_state(gateway_market(gateway), manager, portfolio, opening, since_ms)
    report, exchange = await check_state(gateway, believed, config, confirm_after_s)
    if exchange is None or report.verdict is Verdict.HALT or not report.repairs:
        return report, None
    return apply_and_recheck(report, exchange, manager, portfolio, opening, since_ms, config)


@dataclass(frozen=True, slots=True)
class Adoption:
    """What taking the exchange's word means for the trader (an ``ADOPTED`` report): the
    opening balances rebased so that the derived balances equal the exchange's, the trade
    window moved past the adopted trades, and (USD-M) the positions the trader must hold."""

    opening: dict[str, float]
    since_ms: int
    positions: dict[str, float]
    foreign_orders: tuple[str, ...]  # open orders that are not the trader's to manage


def adopt(report: ReconciliationReport, opening: Mapping[str, float]) -> Adoption:
    """The :class:`Adoption` of an ``ADOPTED`` report; ``InvalidInput`` for any other verdict
    (nothing is adopted from a report that halts or has nothing to adopt)."""
    if report.verdict is not Verdict.ADOPTED:
        raise InvalidInput(f"only an adopted report can be adopted, not {report.verdict.value}")
    rebased = dict(opening)
    positions: dict[str, float] = {}
    foreign: list[str] = []
    for d in report.discrepancies:
        if d.kind is DiscrepancyKind.BALANCE_DIFFERS:
            gap = (d.exchange or 0.0) - (d.believed or 0.0)  # both are set for this kind
            rebased[d.subject] = rebased.get(d.subject, 0.0) + gap
        elif d.kind is DiscrepancyKind.POSITION_DIFFERS:
            positions[d.subject] = d.exchange or 0.0
        elif d.kind is DiscrepancyKind.UNKNOWN_ORDER:
            foreign.append(d.subject)
    return Adoption(rebased, report.checked_ms + 1, positions, tuple(foreign))


__all__ = [
    "Adoption",
    "Applied",
    "adopt",
    "apply_and_recheck",
    "apply_repairs",
    "believed_state",
    "reconcile_trader",
]
