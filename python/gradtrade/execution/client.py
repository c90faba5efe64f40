"""The execution-client protocol: order requests out, acks, rejections, cancels and fills back.

Invariants every implementation keeps (the simulated venue here, the live client next):
``submit`` and ``cancel`` never block on the venue and never raise for a venue refusal; what the
venue says comes back from ``poll`` as typed events, in the order it happened, each at most once
(a fill may be reported twice by a live venue: the ``OrderManager`` deduplicates by trade id).
A refusal is a ``VenueReject`` whose ``VenueRejectReason`` tells the caller whether retrying the
same request later is safe.

A live venue can also leave an order's fate open (a timeout, a 5xx, Binance's "execution status
unknown"). That is never a refusal: the client resolves it by querying the order by its client id
(and its trades) and reports what it finds as the events above. Only while those queries cannot
tell either does it report ``StatusUnknown`` (once per order): the order stays in flight, its slot
busy, and a later Ack, fill, Canceled or VenueReject settles it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol, runtime_checkable

from gradtrade.core import OrderStatus, Side
from gradtrade.events import FillEvent, IntentKind, OrderStyle, fast_frozen_init


class VenueRejectReason(Enum):
    INSUFFICIENT_BALANCE = "insufficient_balance"
    INVALID_ORDER = "invalid_order"  # off-grid, below minimums, unknown symbol: never retry
    WOULD_TAKE = "would_take"  # a post-only order that would cross: reprice, do not resend
    UNSUPPORTED = "unsupported"  # the venue or its fill model cannot work this order type
    RATE_LIMITED = "rate_limited"
    BANNED = "banned"  # HTTP 418: the IP is banned until Retry-After; retry after it only
    UNAVAILABLE = "unavailable"  # disconnected or overloaded
    UNKNOWN_ORDER = "unknown_order"  # a cancel for an order the venue does not have
    # refused before it left: this process takes no new order (reconciliation halted it, or
    # it is stopping); never retried, a retry could only be refused the same way
    HALTED = "halted"

    @property
    def retryable(self) -> bool:
        """Resending the identical request after a backoff cannot double an exposure."""
        return self in (
            VenueRejectReason.RATE_LIMITED,
            VenueRejectReason.BANNED,
            VenueRejectReason.UNAVAILABLE,
        )


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class OrderRequest:
    """One order as the OrderManager wants it sent."""

    client_order_id: str
    symbol: str
    side: Side
    qty: float
    style: OrderStyle
    intent: IntentKind
    ts_ns: int
    reference_price: float  # the price the decision saw (slippage is measured against it)
    price: float | None = None  # limit price (post-only) or trigger price (stops)
    reduce_only: bool = False


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class Ack:
    client_order_id: str
    exchange_order_id: int
    ts_ns: int


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class VenueReject:
    client_order_id: str
    reason: VenueRejectReason
    message: str
    ts_ns: int


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class Canceled:
    """The venue removed the order (our cancel, an expiry, or an OCO sibling that filled);
    ``final`` is the venue's status for it where the venue says (CANCELED, EXPIRED or
    EXPIRED_IN_MATCH), so the journal records what the exchange has."""

    client_order_id: str
    ts_ns: int
    final: OrderStatus = OrderStatus.CANCELED


@dataclass(frozen=True, slots=True)
class StatusUnknown:
    """The venue has not said whether this order (or its cancel) took effect, and queries could
    not tell yet: not a rejection, not a cancel. Informational; the order stays in flight."""

    client_order_id: str
    message: str
    ts_ns: int


ExecutionEvent = Ack | VenueReject | Canceled | FillEvent | StatusUnknown


@runtime_checkable
class ExecutionClient(Protocol):
    def submit(self, request: OrderRequest) -> None: ...

    def cancel(self, client_order_id: str, ts_ns: int) -> None: ...

    def poll(self) -> list[ExecutionEvent]:
        """Everything the venue reported since the last call, in time order."""
        ...


__all__ = [
    "Ack",
    "Canceled",
    "ExecutionClient",
    "ExecutionEvent",
    "OrderRequest",
    "StatusUnknown",
    "VenueReject",
    "VenueRejectReason",
]
