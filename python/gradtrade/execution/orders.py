"""``OrderManager``: target positions -> orders over ``core.Order``, and what the venue answers.

Invariants:

* At most one order in flight per slot: the position slot (rebalance and flatten intents of a
  symbol) and one slot per protective kind (stop-loss, take-profit). While a slot is busy a new
  target only replaces the *pending* target; a resting post-only order whose target changed is
  cancelled first, and the replacement is planned once the venue confirms the cancel.
* Client order ids are ``core.client_order_id(strategy, session, seq)``: deterministic for a
  given run, unique across restarts through the session number.
* A trade id is applied once (``core.Order`` deduplicates per order, the manager across orders).
  A fill for an unknown order raises ``UnknownOrder``; an overfill raises ``Overfill`` and a
  fill after a confirmed cancel ``InvalidTransition``; in every case nothing changes.
* A venue refusal frees the slot. Retryable reasons (rate limit, unavailable) wait an
  exponential backoff before the slot may be used again; the others drop the request (counted
  per reason) until the next target arrives.
* ``forget`` drops terminal orders that no slot holds (their request, target and trade ids
  with them): the journal prunes them, so a long run's table stays bounded. A report about a
  forgotten order is an unknown order here; the live trader's journaling client recognizes
  and drops those before they reach the engine.
* Protective orders (reduce-only) are placed for the whole position (rounded down to the lot
  step: never more than is held) once a rebalance with stop-loss / take-profit levels has
  completely filled, cancelled before the next rebalance, and one filling cancels the other
  (OCO).
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass, field

from gradtrade.core import Order, OrderStatus, OrderType, Side, SymbolFilters, client_order_id
from gradtrade.errors import UnknownOrder
from gradtrade.events import FillEvent, IntentKind, OrderIntent, OrderStyle, fast_frozen_init
from gradtrade.execution.client import (
    Ack,
    Canceled,
    ExecutionEvent,
    OrderRequest,
    VenueReject,
    VenueRejectReason,
)
from gradtrade.execution.config import ExecutionConfig

log = logging.getLogger("gradtrade.execution")

POSITION = "position"
_SLOT = {
    IntentKind.REBALANCE: POSITION,
    IntentKind.FLATTEN: POSITION,
    IntentKind.STOP_LOSS: "stop_loss",
    IntentKind.TAKE_PROFIT: "take_profit",
}
_TYPE = {
    OrderStyle.MARKET: OrderType.MARKET,
    OrderStyle.POST_ONLY: OrderType.LIMIT_MAKER,
    OrderStyle.STOP_MARKET: OrderType.STOP_LOSS,
    OrderStyle.TAKE_PROFIT_MARKET: OrderType.TAKE_PROFIT,
}
_REBALANCE, _FLATTEN = IntentKind.REBALANCE, IntentKind.FLATTEN
NS_PER_S, NS_PER_MS = 1_000_000_000, 1_000_000
FEE_SLACK = 0.005  # a holding this close to its target (a fee paid in the base asset) reached it


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class Proposal:
    """An order the manager would send, before the pre-trade check (no id allocated yet)."""

    symbol: str
    side: Side
    qty: float
    style: OrderStyle
    intent: IntentKind
    reference_price: float
    price: float | None = None
    reduce_only: bool = False


@dataclass(slots=True)
class Plan:
    """What to do now: cancel these ids, check-and-send these proposals, wake at these times."""

    cancels: list[str] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)
    timers_ns: list[int] = field(default_factory=list)

    def extend(self, other: Plan) -> None:
        self.cancels += other.cancels
        self.proposals += other.proposals
        self.timers_ns += other.timers_ns


@dataclass(slots=True)
class _Slot:
    client_order_id: str | None = None
    retry_after_ns: int = 0
    attempts: int = 0


class OrderManager:
    def __init__(
        self, strategy: str, filters: dict[str, SymbolFilters], config: ExecutionConfig
    ) -> None:
        client_order_id(strategy, config.session, 0)  # validates the strategy name up front
        self.strategy, self.filters, self.config = strategy, filters, config
        self.orders: dict[str, Order] = {}
        self.requests: dict[str, OrderRequest] = {}
        self._slots: dict[tuple[str, str], _Slot] = {}
        self._pending: dict[str, OrderIntent] = {}  # latest target per symbol, not yet sent
        self._protect: dict[str, OrderIntent] = {}  # intent whose levels to place once filled
        self._trades: set[tuple[str, int]] = set()
        self._planned: dict[str, OrderIntent] = {}  # the intent of the last position proposal
        self._targets: dict[str, OrderIntent] = {}  # client id -> the intent it works toward
        self._cross: dict[str, bool] = {}  # the next position order of a symbol crosses
        self._seq = 0
        self.venue_rejects: Counter[VenueRejectReason] = Counter()
        # ids of the orders that may still be open, in ``orders`` order: a terminal order never
        # opens again, so the ids are pruned when read; rebuilt from ``orders`` when an entry
        # was added there by another path (its length moved without ``send``)
        self._maybe_open: dict[str, None] = {}
        self._indexed = 0

    # --- queries ---

    def slot(self, symbol: str, kind: IntentKind) -> str | None:
        """The client id in flight in ``kind``'s slot of ``symbol`` (None when free)."""
        # the position slot's kinds by identity (an Enum key hashes in Python)
        name = POSITION if kind is _REBALANCE or kind is _FLATTEN else _SLOT[kind]
        s = self._slots.get((symbol, name))
        return s.client_order_id if s else None

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        orders = self.orders
        if len(orders) != self._indexed:
            self._maybe_open = dict.fromkeys(orders)
            self._indexed = len(orders)
        out, ended = [], []
        for cid in self._maybe_open:
            o = orders.get(cid)
            if o is None or o.is_terminal:
                ended.append(cid)
            elif symbol is None or o.symbol == symbol:
                out.append(o)
        for cid in ended:
            del self._maybe_open[cid]
        return out

    def in_flight_qty(self, symbol: str) -> float:
        """Signed remaining quantity of the position slot's order (for worst-case checks)."""
        cid = self.slot(symbol, IntentKind.REBALANCE)
        if cid is None:
            return 0.0
        o = self.orders[cid]
        return o.side.sign * o.remaining_qty

    # --- planning ---

    def plan(
        self, intent: OrderIntent, position: float, now_ns: int, best_price: float | None = None
    ) -> Plan:
        """Orders (and cancels) that move ``position`` toward ``intent.target_qty``."""
        plan = Plan()
        symbol = intent.symbol
        cid = self.slot(symbol, intent.kind)
        if cid is not None:
            self._pending[symbol] = intent
            o, req = self.orders[cid], self.requests[cid]
            resting = req.style == OrderStyle.POST_ONLY and o.status != OrderStatus.PENDING_CANCEL
            if resting and not math.isclose(
                position + self.in_flight_qty(symbol), intent.target_qty
            ):
                plan.cancels.append(cid)
            return plan
        slot = self._slots.setdefault((symbol, POSITION), _Slot())
        if now_ns < slot.retry_after_ns:
            self._pending[symbol] = intent
            plan.timers_ns.append(slot.retry_after_ns)
            return plan
        self._pending.pop(symbol, None)
        step = self.filters[symbol].step_size
        delta = intent.target_qty - position
        protective = self._protective_ids(symbol)
        if abs(delta) < 0.5 * step:
            return plan
        plan.cancels += protective  # stops sized for the old position must not outlive it
        side = Side.BUY if delta > 0 else Side.SELL
        qty = round(abs(delta) / step) * step
        style = OrderStyle(self.config.style)
        if intent.kind == IntentKind.FLATTEN or self._cross.pop(symbol, False):
            style = OrderStyle.MARKET
        price = None
        if style == OrderStyle.POST_ONLY:
            price = self._passive_price(symbol, side, best_price or intent.reference_price)
            plan.timers_ns.append(now_ns + int(self.config.post_only_timeout_s * NS_PER_S))
        reduce_only = abs(intent.target_qty) < abs(position) and intent.target_qty * position >= 0
        self._planned[symbol] = intent
        plan.proposals.append(
            Proposal(
                symbol, side, qty, style, intent.kind, intent.reference_price, price, reduce_only
            )
        )
        if intent.stop_loss is not None or intent.take_profit is not None:
            self._protect[symbol] = intent
        else:
            self._protect.pop(symbol, None)
        return plan

    def _passive_price(self, symbol: str, side: Side, price: float) -> float:
        tick = self.filters[symbol].tick_size
        ticks = (
            math.floor(price / tick + 1e-9) if side == Side.BUY else math.ceil(price / tick - 1e-9)
        )
        return ticks * tick

    def _protective_ids(self, symbol: str) -> list[str]:
        out = []
        for kind in (IntentKind.STOP_LOSS, IntentKind.TAKE_PROFIT):
            cid = self.slot(symbol, kind)
            if cid is not None and self.orders[cid].status != OrderStatus.PENDING_CANCEL:
                out.append(cid)
        return out

    def send(self, proposal: Proposal, now_ns: int) -> OrderRequest:
        """Allocate the id, create the ``core.Order``, occupy the slot: call after approval."""
        key = (proposal.symbol, _SLOT[proposal.intent])
        slot = self._slots.setdefault(key, _Slot())
        if slot.client_order_id is not None:  # the invariant the whole manager is built on
            raise UnknownOrder(f"slot {key} already holds {slot.client_order_id}")
        self._seq += 1
        cid = client_order_id(self.strategy, self.config.session, self._seq)
        self.orders[cid] = Order(
            cid,
            self.filters[proposal.symbol],
            proposal.side,
            proposal.qty,
            proposal.price if proposal.style == OrderStyle.POST_ONLY else None,
            _TYPE[proposal.style],
        )
        if len(self.orders) == self._indexed + 1:  # the index was whole: keep it so
            self._maybe_open[cid] = None
            self._indexed += 1
        req = OrderRequest(
            cid,
            proposal.symbol,
            proposal.side,
            proposal.qty,
            proposal.style,
            proposal.intent,
            now_ns,
            proposal.reference_price,
            proposal.price,
            proposal.reduce_only,
        )
        self.requests[cid] = req
        if proposal.intent in (IntentKind.REBALANCE, IntentKind.FLATTEN):
            self._targets[cid] = self._planned[proposal.symbol]
        slot.client_order_id = cid
        return req

    def forget(self, ids: list[str]) -> int:
        """Drop these orders if terminal and in no slot (module docstring); returns how many."""
        held = {s.client_order_id for s in self._slots.values()}
        whole = len(self.orders) == self._indexed  # the open-order index stays whole if it was
        dropped = 0
        for cid in ids:
            o = self.orders.get(cid)
            if o is None or not o.is_terminal or cid in held:
                continue
            del self.orders[cid]
            self.requests.pop(cid, None)
            self._targets.pop(cid, None)
            self._maybe_open.pop(cid, None)
            for trade_id in o.trade_ids:
                self._trades.discard((o.symbol, trade_id))
            dropped += 1
        self._indexed = len(self.orders) if whole else -1
        return dropped

    def request_cancel(self, cid: str) -> bool:
        """Mark a cancel as requested; False when the order is already done or cancelling."""
        o = self._order(cid)
        if o.is_terminal or o.status == OrderStatus.PENDING_CANCEL:
            return False
        return o.transition(OrderStatus.PENDING_CANCEL)

    # --- venue events ---

    def on_event(self, event: ExecutionEvent) -> tuple[FillEvent | None, Plan]:
        """Apply one venue event; the fill to account (None if none or a duplicate) and what
        to do next (OCO cancels, protective orders, the pending target)."""
        plan = Plan()
        if isinstance(event, FillEvent):
            return self._on_fill(event, plan), plan
        o = self._order(event.client_order_id)
        req = self.requests[event.client_order_id]
        if isinstance(event, Ack):
            if o.status == OrderStatus.PENDING_NEW:
                o.transition(OrderStatus.NEW)
            o.acknowledge(event.exchange_order_id)
        elif isinstance(event, Canceled):
            if not o.is_terminal:
                o.transition(OrderStatus.CANCELED)
                self._release(req, event.ts_ns, plan)
        elif isinstance(event, VenueReject):
            log.warning(
                "venue rejected %s (%s): %s",
                req.client_order_id,
                event.reason.value,
                event.message,
            )
            if o.status == OrderStatus.PENDING_CANCEL:  # a refused cancel: the order lives on
                o.cancel_rejected()
            elif o.is_terminal:  # a late answer about an order that is already done
                pass
            else:  # refused on entry; an acked order cannot be refused (InvalidTransition)
                o.transition(OrderStatus.REJECTED)
                self._refused(req, event)
            self.venue_rejects[event.reason] += 1
        return None, plan

    def on_timeout(self, cid: str) -> bool:
        """A post-only order's timeout: True when it is still working and must be cancelled.
        Its target is worked again once the cancel is confirmed: at the new best price
        (``on_timeout: reprice``) or crossing the spread (``cross``)."""
        o = self._order(cid)
        req = self.requests[cid]
        if o.is_terminal or o.status == OrderStatus.PENDING_CANCEL:
            return False
        self._retarget_unfilled(req)
        return self.request_cancel(cid)

    def _retarget_unfilled(self, req: OrderRequest) -> None:
        self._pending.setdefault(req.symbol, self._intent_of(req))
        self._cross[req.symbol] = self.config.on_timeout == "cross"

    def _refused(self, req: OrderRequest, event: VenueReject) -> None:
        slot = self._slots[(req.symbol, _SLOT[req.intent])]
        slot.client_order_id = None
        if event.reason == VenueRejectReason.WOULD_TAKE:  # a post-only the market moved through
            slot.attempts, slot.retry_after_ns = 0, 0
            self._retarget_unfilled(req)
        elif event.reason.retryable and slot.attempts < self.config.max_retries:
            backoff = self.config.retry_backoff_ms * 2**slot.attempts
            slot.attempts += 1
            slot.retry_after_ns = event.ts_ns + int(backoff * NS_PER_MS)
            if req.intent in (IntentKind.REBALANCE, IntentKind.FLATTEN):
                self._pending.setdefault(req.symbol, self._intent_of(req))
        else:
            slot.attempts, slot.retry_after_ns = 0, 0

    def _on_fill(self, fill: FillEvent, plan: Plan) -> FillEvent | None:
        o = self._order(fill.client_order_id)
        key = (fill.symbol, fill.trade_id)
        if key in self._trades:
            return None
        applied = o.apply_fill(
            fill.trade_id, fill.qty, fill.price, fill.fee, fill.fee_asset, fill.ts_ns // NS_PER_MS
        )  # raises Overfill / InvalidTransition with the order unchanged
        if not applied:
            return None
        self._trades.add(key)
        req = self.requests[fill.client_order_id]
        if o.status == OrderStatus.FILLED:
            self._release(req, fill.ts_ns, plan)
            if req.intent in (IntentKind.STOP_LOSS, IntentKind.TAKE_PROFIT):
                plan.cancels += self._protective_ids(req.symbol)  # OCO: the other one goes
                self._protect.pop(req.symbol, None)
        return fill

    def _release(self, req: OrderRequest, now_ns: int, plan: Plan) -> None:
        slot = self._slots[(req.symbol, _SLOT[req.intent])]
        slot.client_order_id = None
        slot.attempts, slot.retry_after_ns = 0, 0

    def next_intents(self, symbol: str, position: float) -> list[OrderIntent]:
        """What to plan once a slot is free: the pending target, else protective orders."""
        if self.slot(symbol, IntentKind.REBALANCE) is not None:
            return []
        pending = self._pending.pop(symbol, None)
        if pending is not None:
            return [pending]
        intent = self._protect.get(symbol)
        if intent is None or position == 0:
            return []
        # Reached the target: a spot buy pays its fee in the base asset, so the holding falls
        # short of the target by the fee (0.1 % on Binance); the stops then cover the holding.
        slack = max(0.5 * self.filters[symbol].step_size, FEE_SLACK * abs(intent.target_qty))
        if abs(position - intent.target_qty) > slack:
            return []
        out = []
        for kind, level in (
            (IntentKind.STOP_LOSS, intent.stop_loss),
            (IntentKind.TAKE_PROFIT, intent.take_profit),
        ):
            if level is not None and self.slot(symbol, kind) is None:
                out.append(OrderIntent(symbol, intent.ts_ns, 0.0, kind, level))
        self._protect.pop(symbol, None)
        return out

    def protective_proposal(self, intent: OrderIntent, position: float) -> Proposal:
        """The reduce-only order that closes ``position`` when ``intent``'s level trades."""
        side = Side.SELL if position > 0 else Side.BUY
        style = (
            OrderStyle.STOP_MARKET
            if intent.kind == IntentKind.STOP_LOSS
            else OrderStyle.TAKE_PROFIT_MARKET
        )
        step = self.filters[intent.symbol].step_size
        qty = math.floor(abs(position) / step + 1e-9) * step  # never more than is held
        return Proposal(
            intent.symbol,
            side,
            qty,
            style,
            intent.kind,
            intent.reference_price,
            intent.reference_price,
            True,
        )

    def _order(self, cid: str) -> Order:
        o = self.orders.get(cid)
        if o is None:
            raise UnknownOrder(f"no order with client id {cid!r} was sent by this manager")
        return o

    def _intent_of(self, req: OrderRequest) -> OrderIntent:
        """The target a refused position order was working toward (to retry it)."""
        return self._targets[req.client_order_id]


__all__ = ["POSITION", "OrderManager", "Plan", "Proposal"]
