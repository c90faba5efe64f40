"""The values of reconciliation: the two sides it compares (what the trader believes, what
the exchange says) and what it concludes (typed discrepancies, the verdict, the report).

The two sides are frozen values (their mappings read-only views), built once per pass: the
believed side by :func:`gradtrade.live.reconcile_apply.believed_state` from the trader's
objects, the exchange's by :func:`gradtrade.live.reconcile_exchange.fetch_exchange_state` from
parsed REST bodies.
Numbers are floats as the trader's ``core`` objects hold them; every believed one is finite.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType

from gradtrade.core import Order, OrderStatus, Side, SymbolFilters
from gradtrade.errors import InvalidInput
from gradtrade.events import FillEvent
from gradtrade.execution.client import Ack, Canceled, VenueReject
from gradtrade.venue.urls import Market


def _finite(what: str, value: float) -> None:
    if not math.isfinite(value):
        raise InvalidInput(f"{what} must be finite, got {value}")


@dataclass(frozen=True, slots=True)
class BelievedOrder:
    client_order_id: str
    symbol: str
    side: Side
    quantity: float
    status: OrderStatus
    filled_qty: float
    exchange_order_id: int | None = None
    sent_ms: int | None = None  # when the request was made (None: unknown)

    @classmethod
    def of(cls, order: Order, sent_ms: int | None = None) -> BelievedOrder:
        return cls(
            order.client_order_id,
            order.symbol,
            order.side,
            order.quantity,
            order.status,
            order.filled_qty,
            order.exchange_order_id,
            sent_ms,
        )


@dataclass(frozen=True, slots=True)
class BelievedState:
    """What the trader holds. ``balances``: spot, free + locked per asset; USD-M, the wallet
    balance per margin asset. ``positions``: USD-M signed position per symbol (spot positions
    are the base-asset balances). ``since_ms``: the time of the last journaled fill (or of the
    journal's start): the exchange's trades from then on are compared."""

    market: Market
    filters: Mapping[str, SymbolFilters]
    orders: Mapping[str, BelievedOrder]
    trade_ids: frozenset[tuple[str, int]]
    since_ms: int
    balances: Mapping[str, float]
    positions: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.since_ms < 0:
            raise InvalidInput(f"since_ms must be non-negative, got {self.since_ms}")
        for symbol, f in self.filters.items():
            if symbol != f.symbol or not f.base_asset or not f.quote_asset:
                raise InvalidInput(f"filters of {symbol!r} need the symbol's base and quote asset")
        for cid, o in self.orders.items():
            if cid != o.client_order_id or o.symbol not in self.filters:
                raise InvalidInput(f"believed order {cid!r} is keyed wrong or has no filters")
        for name, values in (("balance", self.balances), ("position", self.positions)):
            for subject, value in values.items():
                _finite(f"believed {name} of {subject}", value)
        for attr in ("filters", "orders", "balances", "positions"):
            object.__setattr__(self, attr, MappingProxyType(dict(getattr(self, attr))))

    def step(self, symbol: str) -> float:
        return self.filters[symbol].step_size


@dataclass(frozen=True, slots=True)
class ExchangeOrder:
    symbol: str
    order_id: int
    client_order_id: str
    side: Side
    status: OrderStatus
    quantity: float
    executed_qty: float
    price: float
    update_ms: int


@dataclass(frozen=True, slots=True)
class ExchangeTrade:
    symbol: str
    trade_id: int
    order_id: int
    side: Side
    price: float
    qty: float
    commission: float
    commission_asset: str
    time_ms: int
    maker: bool
    realized_pnl: float = 0.0  # USD-M only


@dataclass(frozen=True, slots=True)
class Balance:
    free: float
    locked: float = 0.0

    @property
    def total(self) -> float:
        return self.free + self.locked


@dataclass(frozen=True, slots=True)
class ExchangeState:
    """The exchange's account. ``orders``: each believed live order queried by client id
    (None: the exchange has no such order). ``balances``: spot free/locked; USD-M wallet.
    ``entry_prices``: USD-M, the entry price of each open position (what adopting it takes)."""

    market: Market
    checked_ms: int
    open_orders: tuple[ExchangeOrder, ...]
    orders: Mapping[str, ExchangeOrder | None]
    trades: tuple[ExchangeTrade, ...]
    balances: Mapping[str, Balance]
    positions: Mapping[str, float] = field(default_factory=dict)
    entry_prices: Mapping[str, float] = field(default_factory=dict)


class DiscrepancyKind(Enum):
    UNKNOWN_ORDER = "unknown_order"  # open on the exchange, never in the journal
    ORDER_MISSING = "order_missing"  # live in the journal, the exchange has no such order
    NEVER_PLACED = "never_placed"  # sent, not acknowledged, unknown to the exchange past recvWindow
    ORDER_STATE_DIFFERS = "order_state_differs"  # quantities, side, id or status disagree
    ACK_MISSING = "ack_missing"  # the exchange has the order; its acknowledgement was lost
    MISSING_FILL = "missing_fill"  # a trade of a known order the journal never applied
    ORDER_CLOSED = "order_closed"  # canceled or expired on the exchange, live in the journal
    FILL_FOR_UNKNOWN_ORDER = "fill_for_unknown_order"
    POSITION_DIFFERS = "position_differs"
    BALANCE_DIFFERS = "balance_differs"
    NEGATIVE_BALANCE = "negative_balance"
    MALFORMED_RESPONSE = "malformed_response"

    @property
    def repairable(self) -> bool:
        return self in _REPAIRABLE

    @property
    def adoptable(self) -> bool:
        return self in _ADOPTABLE


_REPAIRABLE = frozenset(
    {
        DiscrepancyKind.ACK_MISSING,
        DiscrepancyKind.MISSING_FILL,
        DiscrepancyKind.ORDER_CLOSED,
        DiscrepancyKind.NEVER_PLACED,
    }
)
_ADOPTABLE = frozenset(
    {
        DiscrepancyKind.UNKNOWN_ORDER,
        DiscrepancyKind.FILL_FOR_UNKNOWN_ORDER,
        DiscrepancyKind.POSITION_DIFFERS,
        DiscrepancyKind.BALANCE_DIFFERS,
    }
)


@dataclass(frozen=True, slots=True)
class Discrepancy:
    """One difference. ``subject``: a client order id, ``SYMBOL#trade id``, a symbol or an
    asset; ``believed`` / ``exchange``: the two quantities (None where one side has none)."""

    kind: DiscrepancyKind
    subject: str
    believed: float | None
    exchange: float | None
    detail: str
    tolerance: float = 0.0


class Verdict(Enum):
    OK = "ok"
    REPAIRED = "repaired"
    ADOPTED = "adopted"
    HALT = "halt"


Repair = Ack | FillEvent | Canceled | VenueReject


@dataclass(frozen=True, slots=True)
class ReconciliationReport:
    verdict: Verdict
    market: Market
    checked_ms: int
    discrepancies: tuple[Discrepancy, ...]
    repairs: tuple[Repair, ...]  # in order: acks, fills by trade id, cancels, never placed

    @property
    def missing_fills(self) -> tuple[FillEvent, ...]:
        return tuple(r for r in self.repairs if isinstance(r, FillEvent))

    @property
    def may_trade(self) -> bool:
        return self.verdict is not Verdict.HALT

    def of_kind(self, kind: DiscrepancyKind) -> list[Discrepancy]:
        return [d for d in self.discrepancies if d.kind is kind]


@dataclass(frozen=True, slots=True)
class ReconcileConfig:
    adopt_unknown: bool = False
    balance_resolution: float = 1e-8
    # Binance refuses a request older than its recvWindow: an order sent that long ago (plus
    # the client timeout) and unknown to the exchange can no longer be placed.
    placement_window_ms: int = 5000 + 10_000

    def __post_init__(self) -> None:
        if not (math.isfinite(self.balance_resolution) and self.balance_resolution > 0):
            raise InvalidInput(f"balance_resolution must be positive: {self.balance_resolution}")
        if not 0 < self.placement_window_ms <= 3_600_000:
            raise InvalidInput(
                f"placement_window_ms must be in (0, 3600000]: {self.placement_window_ms}"
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
]
