"""Reconciliation: what the trader believes against what the exchange says, as a typed report.

A :class:`BelievedState` (orders with status and filled quantity, the trade ids applied, positions
and balances: what the trader holds after journal recovery) and an :class:`ExchangeState` (open
orders, the trader's live orders as the exchange has them, trades since the last journaled fill,
balances and USD-M positions; fetched by :mod:`gradtrade.live.reconcile_exchange`) are compared
by one pure function, :func:`reconcile`, into a :class:`ReconciliationReport`.

Invariants:

* Pure and fail closed. :func:`reconcile` changes neither state. The verdict is ``OK`` only when
  nothing differs; ``REPAIRED`` when every difference is a repair (a missing acknowledgement,
  a fill the exchange reports for an order the journal knows, a cancel or expiry of such an
  order, an order sent but never placed: unknown to the exchange longer after its send than the
  exchange accepts a request, refused retryably as the live client refuses it) and, with the
  repairs applied, every position and balance agrees (tolerances below);
  ``ADOPTED`` when ``adopt_unknown`` is set and everything else is a difference it takes the
  exchange's word for (unknown orders, fills of unknown orders, positions, balances); ``HALT``
  otherwise, i.e. for anything it cannot explain.
* A fill is proposed only when the exchange's executed quantity of its order equals the
  believed filled quantity plus the fills found, with the order's side: a partial account of an
  order is never applied (the order differs instead, and none of its fills is proposed).
* Positions and balances are compared *after* the repairs (the believed ones plus what each
  repaired trade moves): the verdict describes the state the trader will be in once it applies
  them. :func:`apply_repairs` feeds them to the ``OrderManager`` (which deduplicates by trade id:
  applying a report twice books each fill once) and the ``PortfolioTracker``;
  :func:`apply_and_recheck` then compares the trader's own objects again.
* A negative balance or a malformed exchange answer is never repairable nor adoptable.
* Tolerances: positions, order quantities and balances of an asset that is some symbol's base
  asset agree within half a lot step. They move by whole steps, so one step apart is a lot that
  went missing (the issue's "more than one step" read failing closed: a whole step halts). Any
  other balance agrees within ``balance_resolution`` (Binance reports 8 decimals), widened by a
  relative 1e-12 for the float accumulation of large balances.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from gradtrade.core import OrderStatus, Side
from gradtrade.errors import InvalidInput
from gradtrade.events import FillEvent, Liquidity
from gradtrade.execution.client import Ack, Canceled, VenueReject, VenueRejectReason
from gradtrade.live.reconcile_state import (
    Balance,
    BelievedOrder,
    BelievedState,
    Discrepancy,
    DiscrepancyKind,
    ExchangeOrder,
    ExchangeState,
    ExchangeTrade,
    ReconcileConfig,
    ReconciliationReport,
    Repair,
    Verdict,
)
from gradtrade.venue.urls import Market

NS_PER_MS = 1_000_000
_CLOSED = (OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.EXPIRED_IN_MATCH)


def verdict_of(found: Iterable[Discrepancy], config: ReconcileConfig) -> Verdict:
    found = list(found)
    blocking = [d for d in found if not d.kind.repairable]
    if not found:
        return Verdict.OK
    if not blocking:
        return Verdict.REPAIRED
    if config.adopt_unknown and all(d.kind.adoptable for d in blocking):
        return Verdict.ADOPTED
    return Verdict.HALT


class _Comparison:
    """One pass of :func:`reconcile` (state kept across the order, trade and money checks)."""

    def __init__(
        self, believed: BelievedState, exchange: ExchangeState, config: ReconcileConfig
    ) -> None:
        self.b, self.x, self.config = believed, exchange, config
        self.found: list[Discrepancy] = []
        self.acks: list[Ack] = []
        self.fills: list[tuple[ExchangeTrade, BelievedOrder]] = []
        self.closes: list[Canceled] = []
        self.rejects: list[VenueReject] = []
        # (symbol, exchange order id) -> the believed order it is
        self.owners = {
            (o.symbol, o.exchange_order_id): o
            for o in believed.orders.values()
            if o.exchange_order_id is not None
        }
        self.new_trades: dict[tuple[str, int], list[ExchangeTrade]] = {}
        for t in sorted(exchange.trades, key=lambda t: (t.symbol, t.trade_id)):
            if (t.symbol, t.trade_id) not in believed.trade_ids:
                self.new_trades.setdefault((t.symbol, t.order_id), []).append(t)

    def add(
        self,
        kind: DiscrepancyKind,
        subject: str,
        believed: float | None,
        exchange: float | None,
        detail: str,
        tolerance: float = 0.0,
    ) -> None:
        self.found.append(Discrepancy(kind, subject, believed, exchange, detail, tolerance))

    def run(self) -> None:
        for asset, bal in sorted(self.x.balances.items()):
            if bal.free < 0 or bal.locked < 0:
                self.add(
                    DiscrepancyKind.NEGATIVE_BALANCE,
                    asset,
                    self.b.balances.get(asset),
                    bal.total,
                    f"free {bal.free!r}, locked {bal.locked!r}",
                )
        for xo in self.x.open_orders:
            known = self.b.orders.get(xo.client_order_id)
            text = (
                f"{xo.symbol} order {xo.order_id} {_side(xo.side)} {xo.quantity!r} @ "
                f"{xo.price!r}, {_status(xo.status)}, executed {xo.executed_qty!r}"
            )
            if known is None:
                self.add(DiscrepancyKind.UNKNOWN_ORDER, xo.client_order_id, None, xo.quantity, text)
            elif known.status.is_terminal:  # e.g. believed canceled, still working
                self.add(
                    DiscrepancyKind.ORDER_STATE_DIFFERS,
                    xo.client_order_id,
                    known.filled_qty,
                    xo.executed_qty,
                    f"{_status(known.status)} in the journal, open on the exchange: {text}",
                )
        open_by_cid = {o.client_order_id: o for o in self.x.open_orders}
        for cid in sorted(self.b.orders):
            bo = self.b.orders[cid]
            if bo.status.is_terminal:
                continue
            eo = self.x.orders.get(cid) if cid in self.x.orders else open_by_cid.get(cid)
            if eo is None and self.never_placed(bo):
                continue
            if eo is None:
                self.add(
                    DiscrepancyKind.ORDER_MISSING,
                    cid,
                    bo.filled_qty,
                    None,
                    f"{bo.symbol} {_side(bo.side)} {bo.quantity!r}, {_status(bo.status)} "
                    "in the journal; the exchange has no such order",
                )
            else:
                self.owners[(eo.symbol, eo.order_id)] = bo
                self.live_order(bo, eo)
        for (symbol, oid), trades in sorted(self.new_trades.items()):
            owner = self.owners.get((symbol, oid))
            if owner is None:
                for t in trades:
                    self.add(
                        DiscrepancyKind.FILL_FOR_UNKNOWN_ORDER,
                        f"{symbol}#{t.trade_id}",
                        None,
                        t.qty,
                        f"order {oid} {_trade_text(t)}",
                    )
            elif owner.status.is_terminal:
                for t in trades:
                    self.add(
                        DiscrepancyKind.ORDER_STATE_DIFFERS,
                        owner.client_order_id,
                        owner.filled_qty,
                        owner.filled_qty + t.qty,
                        f"a fill of an order the journal has as {_status(owner.status)}: "
                        f"{_trade_text(t)}",
                    )
        self.money()

    def never_placed(self, bo: BelievedOrder) -> bool:
        """A request the exchange never got and can no longer accept: refused, retryably."""
        window = self.config.placement_window_ms
        if bo.status != OrderStatus.PENDING_NEW or bo.sent_ms is None:
            return False
        if self.x.checked_ms <= bo.sent_ms + window:
            return False  # it may still arrive: the order stays missing (HALT) this pass
        why = (
            f"sent at {bo.sent_ms}, unknown to the exchange at {self.x.checked_ms} "
            f"(more than {window} ms later): never placed"
        )
        self.add(DiscrepancyKind.NEVER_PLACED, bo.client_order_id, bo.quantity, None, why)
        reject = VenueReject(
            bo.client_order_id, VenueRejectReason.UNAVAILABLE, why, self.x.checked_ms * NS_PER_MS
        )
        self.rejects.append(reject)
        return True

    def live_order(self, bo: BelievedOrder, eo: ExchangeOrder) -> None:
        cid, step = bo.client_order_id, self.b.step(bo.symbol)
        D = DiscrepancyKind
        trades = self.new_trades.get((eo.symbol, eo.order_id), [])
        found = sum(t.qty for t in trades)
        total = bo.filled_qty + found
        wrong = (
            eo.symbol != bo.symbol
            or eo.side != bo.side
            or abs(eo.quantity - bo.quantity) > 0.5 * step
            or (bo.exchange_order_id is not None and bo.exchange_order_id != eo.order_id)
            or any(t.side != bo.side for t in trades)
        )
        if wrong:
            self.add(
                D.ORDER_STATE_DIFFERS,
                cid,
                bo.quantity,
                eo.quantity,
                f"journal: {bo.symbol} {_side(bo.side)} {bo.quantity!r} as order "
                f"{bo.exchange_order_id}; exchange: {eo.symbol} {_side(eo.side)} "
                f"{eo.quantity!r} as order {eo.order_id} (trade sides "
                f"{sorted({_side(t.side) for t in trades})})",
                0.5 * step,
            )
            return
        if abs(eo.executed_qty - total) > 0.5 * step or total > bo.quantity + 0.5 * step:
            self.add(
                D.ORDER_STATE_DIFFERS,
                cid,
                total,
                eo.executed_qty,
                f"the exchange executed {eo.executed_qty!r} ({_status(eo.status)}); the "
                f"journal has {bo.filled_qty!r} filled and the exchange's unapplied trades "
                f"add {found!r} (trades {[t.trade_id for t in trades]})",
                0.5 * step,
            )
            return
        if eo.status == OrderStatus.REJECTED:
            self.add(
                D.ORDER_STATE_DIFFERS,
                cid,
                None,
                None,
                f"the exchange has it {_status(eo.status)}, the journal {_status(bo.status)}",
            )
            return
        ts_ns = eo.update_ms * NS_PER_MS
        if bo.exchange_order_id is None:
            self.add(
                D.ACK_MISSING,
                cid,
                None,
                float(eo.order_id),
                f"the exchange accepted it as order {eo.order_id} ({_status(eo.status)})",
            )
            self.acks.append(Ack(cid, eo.order_id, ts_ns))
        for t in trades:
            self.add(D.MISSING_FILL, cid, None, t.qty, _trade_text(t))
            self.fills.append((t, bo))
        if eo.status in _CLOSED:
            self.add(
                D.ORDER_CLOSED,
                cid,
                None,
                None,
                f"{_status(eo.status)} on the exchange with {eo.executed_qty!r} executed; "
                f"{_status(bo.status)} in the journal",
            )
            self.closes.append(Canceled(cid, ts_ns))

    def money(self) -> None:
        """Positions and balances with the repaired trades applied to the believed ones."""
        balances, positions = dict(self.b.balances), dict(self.b.positions)
        for t, _ in self.fills:
            move_money(self.b, t, balances, positions)
        for asset in sorted(balances):
            have = self.x.balances.get(asset, Balance(0.0)).total
            tol = balance_tolerance(self.b, asset, balances[asset], have, self.config)
            if abs(balances[asset] - have) > tol:
                self.add(
                    DiscrepancyKind.BALANCE_DIFFERS,
                    asset,
                    balances[asset],
                    have,
                    f"differs by {have - balances[asset]!r}",
                    tol,
                )
        if self.b.market != "usdm":
            return
        for symbol in sorted(set(positions) | {s for s, q in self.x.positions.items() if q}):
            step = self.b.step(symbol) if symbol in self.b.filters else 0.0
            ours, theirs = positions.get(symbol, 0.0), self.x.positions.get(symbol, 0.0)
            if abs(ours - theirs) > 0.5 * step:
                self.add(
                    DiscrepancyKind.POSITION_DIFFERS,
                    symbol,
                    ours,
                    theirs,
                    f"differs by {theirs - ours!r}",
                    0.5 * step,
                )


def balance_tolerance(
    b: BelievedState, asset: str, ours: float, theirs: float, config: ReconcileConfig
) -> float:
    """Half a lot step for a base asset (a whole step apart is a real difference), else the
    exchange's resolution widened for float accumulation (see the module docstring)."""
    steps = [f.step_size for f in b.filters.values() if f.base_asset == asset]
    if steps:
        return 0.5 * min(steps)
    return max(config.balance_resolution, 1e-12 * max(abs(ours), abs(theirs)))


def move_money(
    b: BelievedState, t: ExchangeTrade, balances: dict[str, float], positions: dict[str, float]
) -> None:
    """What one trade moves: spot, the base and quote balances and the commission asset;
    USD-M, the position, the realized PnL into the margin asset and the commission."""
    f = b.filters[t.symbol]
    signed = t.side.sign * t.qty
    quote = f.quote_asset or ""
    if b.market == "spot":
        base = f.base_asset or ""
        balances[base] = balances.get(base, 0.0) + signed
        balances[quote] = balances.get(quote, 0.0) - signed * t.price
    else:
        positions[t.symbol] = positions.get(t.symbol, 0.0) + signed
        balances[quote] = balances.get(quote, 0.0) + t.realized_pnl
    balances[t.commission_asset] = balances.get(t.commission_asset, 0.0) - t.commission


def reconcile(
    believed: BelievedState, exchange: ExchangeState, config: ReconcileConfig | None = None
) -> ReconciliationReport:
    """Compare; see the module docstring for the verdict and the tolerances."""
    config = config or ReconcileConfig()
    if believed.market != exchange.market:
        raise InvalidInput(f"believed {believed.market} state against a {exchange.market} account")
    c = _Comparison(believed, exchange, config)
    c.run()
    fills = [fill_event(t, o) for t, o in sorted(c.fills, key=lambda p: p[0].trade_id)]
    repairs: tuple[Repair, ...] = (*c.acks, *fills, *c.closes, *c.rejects)
    return ReconciliationReport(
        verdict_of(c.found, config), exchange.market, exchange.checked_ms, tuple(c.found), repairs
    )


def fill_event(t: ExchangeTrade, order: BelievedOrder) -> FillEvent:
    return FillEvent(
        order.client_order_id,
        t.trade_id,
        t.symbol,
        t.side,
        t.price,
        t.qty,
        t.commission,
        t.commission_asset,
        Liquidity.MAKER if t.maker else Liquidity.TAKER,
        t.time_ms * NS_PER_MS,
    )


def malformed(market: Market, checked_ms: int, what: str) -> ReconciliationReport:
    """The HALT report of an exchange answer that does not parse (``what`` names it)."""
    d = Discrepancy(DiscrepancyKind.MALFORMED_RESPONSE, "exchange", None, None, what)
    return ReconciliationReport(Verdict.HALT, market, checked_ms, (d,), ())


def with_more(report: ReconciliationReport, extra: Iterable[Discrepancy]) -> ReconciliationReport:
    """``report`` halted by ``extra`` (what still differs after its repairs were applied)."""
    found = report.discrepancies + tuple(extra)
    return dataclasses.replace(report, verdict=Verdict.HALT, discrepancies=found)


def _side(side: Side) -> str:
    return "BUY" if side == Side.BUY else "SELL"


def _status(status: OrderStatus) -> str:
    return str(status).rpartition(".")[2]


def _trade_text(t: ExchangeTrade) -> str:
    return (
        f"trade {t.trade_id}: {_side(t.side)} {t.qty!r} @ {t.price!r}, fee {t.commission!r} "
        f"{t.commission_asset} at {t.time_ms}"
    )


__all__ = [
    "Balance",
    "BelievedOrder",
    "BelievedState",
    "Discrepancy",
    "DiscrepancyKind",
    "ExchangeOrder",
    "ExchangeState",
    "ExchangeTrade",
    "ReconcileConfig",
    "ReconciliationReport",
    "Repair",
    "Verdict",
    "balance_tolerance",
    "fill_event",
    "malformed",
    "move_money",
    "reconcile",
    "verdict_of",
    "with_more",
]
