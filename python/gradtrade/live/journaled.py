"""``JournalingClient``: an ``ExecutionClient`` that journals every order change around the
real client (simulated or live), write-ahead.

Invariants:

* write-ahead: ``order_initialized`` (the ``core.Order`` and the request) and
  ``order_submitted`` are committed in one atomic append *before* the request is handed to the
  client, so after any crash the journal knows every order that may exist on the venue;
  ``order_cancel_requested`` is committed before a cancel leaves;
* what the venue reports is journaled as it is handed to the engine (``poll``): Ack ->
  ``order_accepted``, a fill -> ``fill`` (once per trade id) and ``order_filled`` when complete,
  Canceled -> ``order_canceled`` (``order_expired`` when the venue expired it), a refused
  cancel -> ``order_cancel_rejected``, a refusal -> ``order_rejected`` with its typed reason,
  ``StatusUnknown`` -> ``order_status_unknown`` (the order stays in flight: never journaled as
  rejected);
* reports injected by reconciliation (``inject``) take the same path on the next ``poll``;
* a report the journal's mirror refuses is logged and counted, never written, and still goes to
  the engine (whose order manager refuses it the same way, with its own count);
* a report about an order the journal pruned (``TraderState.was_pruned``: terminal, every
  report of it journaled) is a late duplicate: counted in ``late``, neither journaled nor
  handed to the engine (which forgot the order too), never an unknown order.

Test hook: ``GRADTRADE_CRASH_AT=after_journal`` kills the process (SIGKILL, as ``kill -9``)
right after the write-ahead records are durable and before the request leaves;
``after_send`` right after the venue acknowledged an order and before the acknowledgement is
journaled; ``after_partial_fill`` right after a fill that leaves its order partially filled
is journaled; ``cancel_journaled`` right after ``order_cancel_requested`` is durable and before
the cancel leaves; ``cancel_sent`` when the venue's answer to a cancel (``Canceled``) arrives,
before it is journaled. Only the crash tests set it.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Iterable
from typing import Any

import orjson

from gradtrade.core import Order, OrderStatus
from gradtrade.errors import InvalidInput, SecretInPayload, scrub
from gradtrade.events import FillEvent, MarketEvent
from gradtrade.execution.client import (
    Ack,
    Canceled,
    ExecutionClient,
    ExecutionEvent,
    OrderRequest,
    StatusUnknown,
    VenueReject,
    VenueRejectReason,
)
from gradtrade.live.recorder import Recorder
from gradtrade.persistence.records import RecordKind

log = logging.getLogger("gradtrade.live.journal")
CRASH_ENV = "GRADTRADE_CRASH_AT"
CRASH_POINTS = (
    "after_journal",
    "after_send",
    "after_partial_fill",
    "cancel_journaled",
    "cancel_sent",
)
NS_PER_MS = 1_000_000


def crash_point(name: str) -> None:
    """The test hook of the module docstring: SIGKILL this process at the named point."""
    if os.environ.get(CRASH_ENV) == name:
        log.critical("test hook %s=%s: killing the process", CRASH_ENV, name)
        os.kill(os.getpid(), signal.SIGKILL)


def _request_payload(req: OrderRequest) -> dict[str, Any]:
    return {
        "style": req.style.value,
        "intent": req.intent.value,
        "reference_price": req.reference_price,
        "limit": req.price,
        "reduce_only": req.reduce_only,
        "ts_ns": req.ts_ns,
    }


class JournalingClient:
    """Wraps ``inner``; ``orders`` maps a client id to the engine's ``core.Order``."""

    def __init__(
        self, inner: ExecutionClient, recorder: Recorder, orders: dict[str, Order]
    ) -> None:
        self.inner, self.recorder, self.orders = inner, recorder, orders
        self.refused = 0
        self.late = 0  # reports about pruned orders, dropped
        self.accepting = True
        self.refusal = ""  # why a new order is refused once ``accepting`` is False
        self._held: list[ExecutionEvent] = []  # refusals of orders that never left
        self._injected: list[ExecutionEvent] = []  # reports learned another way

    def stop_new_orders(self, why: str = "trader stopping") -> None:
        """From now on a new order is refused here (``HALTED``, not retryable: the order
        manager does not resend it) and never sent or journaled; cancels and the reports of
        orders already sent still flow."""
        self.accepting = False
        self.refusal = self.refusal or why

    def submit(self, request: OrderRequest) -> None:
        cid = request.client_order_id
        if not self.accepting:
            self._held.append(
                VenueReject(cid, VenueRejectReason.HALTED, self.refusal, request.ts_ns)
            )
            return
        order = orjson.loads(self.orders[cid].to_json())
        self.recorder.record_many(
            [
                (RecordKind.ORDER_INITIALIZED, cid,
                 {"order": order, "request": _request_payload(request)}),
                (RecordKind.ORDER_SUBMITTED, cid, {}),
            ]
        )  # fmt: skip
        crash_point("after_journal")
        self.inner.submit(request)

    def cancel(self, client_order_id: str, ts_ns: int) -> None:
        mirror = self.recorder.state.orders.get(client_order_id)
        if (
            mirror is not None
            and mirror.status not in (OrderStatus.PENDING_CANCEL,)
            and (not mirror.is_terminal)
        ):
            self._record(RecordKind.ORDER_CANCEL_REQUESTED, client_order_id, {})
            crash_point("cancel_journaled")
        self.inner.cancel(client_order_id, ts_ns)

    def inject(self, events: Iterable[ExecutionEvent]) -> None:
        """Venue reports learned another way (reconciliation's repairs): journaled and handed
        to the engine by the next ``poll`` exactly like the venue's own, so a trade id the
        journal already has is not journaled again (and the order manager drops it too)."""
        self._injected.extend(events)

    def poll(self) -> list[ExecutionEvent]:
        events = self.inner.poll()
        if self._injected:
            events, self._injected = [*events, *self._injected], []
        events = [event for event in events if self._journal(event)]
        if self._held:
            events, self._held = [*events, *self._held], []
        return events

    def _journal(self, event: ExecutionEvent) -> bool:
        """Journal what ``event`` changes; False when it is about a pruned order (dropped)."""
        cid = event.client_order_id
        mirror = self.recorder.state.orders.get(cid)
        if mirror is None:
            if self.recorder.state.was_pruned(cid):
                self.late += 1
                log.debug("late report about pruned order %s dropped: %r", cid, event)
                return False
            self.refused += 1
            log.error("venue event for an order the journal does not know: %r", event)
            return True
        if isinstance(event, Ack):
            crash_point("after_send")
            if mirror.exchange_order_id is None:
                self._record(RecordKind.ORDER_ACCEPTED, cid,
                             {"exchange_order_id": event.exchange_order_id})  # fmt: skip
        elif isinstance(event, FillEvent):
            if event.trade_id in mirror.trade_ids:
                return True  # the engine's order manager drops the duplicate too
            self._record(RecordKind.FILL, cid, _fill_payload(event))
            if mirror.status == OrderStatus.PARTIALLY_FILLED:
                crash_point("after_partial_fill")
            if mirror.status == OrderStatus.FILLED:
                self._record(RecordKind.ORDER_FILLED, cid, {})
        elif isinstance(event, Canceled):
            if mirror.status == OrderStatus.PENDING_CANCEL:
                crash_point("cancel_sent")
            if not mirror.is_terminal and event.final == OrderStatus.CANCELED:
                self._record(RecordKind.ORDER_CANCELED, cid, {})
            elif not mirror.is_terminal:  # e.g. a USD-M GTX order that would have taken
                in_match = event.final == OrderStatus.EXPIRED_IN_MATCH
                self._record(RecordKind.ORDER_EXPIRED, cid, {"in_match": in_match})
        elif isinstance(event, VenueReject):
            if mirror.status == OrderStatus.PENDING_CANCEL:
                self._record(RecordKind.ORDER_CANCEL_REJECTED, cid, {})
            elif not mirror.is_terminal:
                self._record(RecordKind.ORDER_REJECTED, cid,
                             {"reason": event.reason.value, "message": event.message})  # fmt: skip
        elif isinstance(event, StatusUnknown):
            self._record(RecordKind.ORDER_STATUS_UNKNOWN, cid, {"message": event.message})
        return True

    def _record(self, kind: RecordKind, key: str, payload: dict[str, Any]) -> None:
        if isinstance(payload.get("message"), str):
            payload = {**payload, "message": scrub(payload["message"])[:300]}
        try:
            self.recorder.record(kind, key, payload)
        except SecretInPayload:
            # a venue message that embeds something like a credential is not kept
            self.recorder.record(kind, key, {**payload, "message": "<withheld>"})
        except InvalidInput as exc:
            self.refused += 1
            log.error("%s of %s not journaled: %s", kind.value, key, exc)


class JournalingMarketClient(JournalingClient):
    """The same around a venue that simulates fills from market events (paper trading): the
    engine feeds it bars through ``on_market``, and what that fills is journaled on ``poll``."""

    def on_market(self, event: MarketEvent) -> None:
        self.inner.on_market(event)  # type: ignore[attr-defined]


def _fill_payload(fill: FillEvent) -> dict[str, Any]:
    return {
        "trade_id": fill.trade_id,
        "quantity": fill.qty,
        "price": fill.price,
        "fee": fill.fee,
        "fee_asset": fill.fee_asset or None,
        "time_ms": fill.ts_ns // NS_PER_MS,
        "side": int(fill.side.sign),
        "symbol": fill.symbol,
        "liquidity": fill.liquidity.value,
        "slippage": fill.slippage,
    }


__all__ = [
    "CRASH_ENV",
    "CRASH_POINTS",
    "JournalingClient",
    "JournalingMarketClient",
    "crash_point",
]
