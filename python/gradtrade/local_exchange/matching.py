"""The matching engine: orders against the current book, with balances, fees and order states.

Incoming orders take liquidity from the public book as it stands (market orders walk it; a
marketable limit fills what crosses and rests the remainder). The public book is the market's
(synthetic or replayed) and is not depleted by our fills: each order sees the book as published,
which keeps the public diff stream consistent with the REST snapshot. Resting orders fill as
maker when the market trades or quotes through their price. All amounts are exact decimals;
fees are charged on the asset received (spot) or in the margin asset (USD-M).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal

from gradtrade.core import OrderStatus, Side
from gradtrade.errors import InvalidTransition, Overfill
from gradtrade.local_exchange.market import SymbolMarket
from gradtrade.local_exchange.series import fmt

ZERO = Decimal(0)
S = OrderStatus
OPEN = (S.NEW, S.PARTIALLY_FILLED)
# The order state table: status -> statuses it may move to. Kept apart from the Rust order state
# on purpose: the local exchange is the independent oracle the client side is tested against.
TRANSITIONS: dict[OrderStatus, set[OrderStatus]] = {
    S.NEW: {S.PARTIALLY_FILLED, S.FILLED, S.CANCELED, S.EXPIRED},
    S.PARTIALLY_FILLED: {S.PARTIALLY_FILLED, S.FILLED, S.CANCELED, S.EXPIRED},
    S.FILLED: set(),
    S.CANCELED: set(),
    S.EXPIRED: set(),
}
# Binance's wire text of each status and side.
STATUS_TEXT = {
    S.NEW: "NEW",
    S.PARTIALLY_FILLED: "PARTIALLY_FILLED",
    S.FILLED: "FILLED",
    S.CANCELED: "CANCELED",
    S.EXPIRED: "EXPIRED",
}
SIDES = {"BUY": Side.BUY, "SELL": Side.SELL}
# Types that trade at market once they work (conditional ones once triggered), and the
# conditional types (held untriggered until their stopPrice trades: conditional.py).
MARKET_TYPES = frozenset(
    {"MARKET", "STOP_LOSS", "TAKE_PROFIT", "STOP_MARKET", "TAKE_PROFIT_MARKET"}
)
CONDITIONAL_TYPES = frozenset(
    {"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"}  # spot
    | {"STOP_MARKET", "TAKE_PROFIT_MARKET"}  # USD-M
)
SIDE_TEXT = {side: text for text, side in SIDES.items()}


def dec(x: float) -> Decimal:
    return Decimal(fmt(x))


@dataclass
class Fill:
    trade_id: int
    price: Decimal
    qty: Decimal
    commission: Decimal
    commission_asset: str
    maker: bool
    time_ms: int
    realized_pnl: Decimal = ZERO


@dataclass
class Order:
    api_key: str
    venue: str
    symbol: str
    order_id: int
    client_order_id: str
    side: Side
    type: str  # LIMIT, MARKET, LIMIT_MAKER, or a conditional type (the original type)
    time_in_force: str
    price: Decimal
    qty: Decimal
    time_ms: int
    status: OrderStatus = OrderStatus.NEW
    executed: Decimal = ZERO
    cum_quote: Decimal = ZERO
    update_ms: int = 0
    locked: Decimal = ZERO  # spot: funds reserved for the unfilled part
    fills: list[Fill] = field(default_factory=list)
    reduce_only: bool = False
    quote_qty: Decimal = ZERO  # spot MARKET by quoteOrderQty: the amount asked for
    stop_price: Decimal = ZERO  # conditional orders: the trigger price
    triggered: bool = False  # a conditional order whose stopPrice traded (it works now)
    close_position: bool = False  # USD-M closePosition: closes the whole position at trigger
    working_type: str = "CONTRACT_PRICE"  # USD-M: the price a trigger compares (or MARK_PRICE)
    order_list_id: int = -1  # spot OCO: the list both legs belong to (-1: none)

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.executed

    @property
    def is_market(self) -> bool:
        return self.type in MARKET_TYPES

    @property
    def conditional(self) -> bool:
        return self.type in CONDITIONAL_TYPES

    @property
    def working(self) -> bool:
        """On the book (or trading): every open order but an untriggered conditional one."""
        return self.status in OPEN and (self.triggered or not self.conditional)

    @property
    def wire_type(self) -> str:
        """The type Binance reports now: a triggered USD-M conditional order is the MARKET
        order it became, its own type going to ``ot``/``origType``; spot stops keep theirs."""
        return "MARKET" if self.venue == "usdm" and self.triggered else self.type

    def move(self, status: OrderStatus) -> None:
        if status not in TRANSITIONS[self.status]:
            raise InvalidTransition(f"order {self.order_id}: {self.status} -> {status}")
        self.status = status

    def add_fill(self, fill: Fill) -> None:
        if self.executed + fill.qty > self.qty:
            raise Overfill(
                f"order {self.order_id}: fill {fill.qty} over remaining {self.remaining}"
            )
        self.fills.append(fill)
        self.executed += fill.qty
        self.cum_quote += fill.price * fill.qty
        self.move(S.FILLED if self.executed == self.qty else S.PARTIALLY_FILLED)


def walk(
    m: SymbolMarket, side: Side, qty: Decimal, limit: Decimal | None
) -> list[tuple[Decimal, Decimal]]:
    """Fills (price, qty) an aggressive order of ``qty`` gets from the book, best price first,
    stopping at ``limit`` (None: walk as deep as the book goes)."""
    levels = m.book.top_asks(1000) if side == Side.BUY else m.book.top_bids(1000)
    out: list[tuple[Decimal, Decimal]] = []
    left = qty
    for price_f, size_f in levels:
        price = dec(price_f)
        if limit is not None and (
            (side == Side.BUY and price > limit) or (side == Side.SELL and price < limit)
        ):
            break
        take = min(left, dec(size_f))
        if take > 0:
            out.append((price, take))
            left -= take
        if left <= 0:
            break
    return out


def round_step(x: Decimal, step: Decimal) -> Decimal:
    if step <= 0:
        return x
    return (x / step).to_integral_value(rounding=ROUND_DOWN) * step


@dataclass
class Position:
    """A USD-M one-way position: signed size and average entry price."""

    amount: Decimal = ZERO
    entry: Decimal = ZERO

    def trade(self, signed_qty: Decimal, price: Decimal) -> Decimal:
        """Apply a fill; returns the realized PnL of the part that reduced the position."""
        realized = ZERO
        if self.amount == 0 or (self.amount > 0) == (signed_qty > 0):
            total = self.amount + signed_qty
            self.entry = (self.entry * abs(self.amount) + price * abs(signed_qty)) / abs(total)
            self.amount = total
            return realized
        closing = min(abs(signed_qty), abs(self.amount))
        direction = Decimal(1) if self.amount > 0 else Decimal(-1)
        realized = (price - self.entry) * closing * direction
        rest = abs(signed_qty) - closing
        self.amount += signed_qty
        if self.amount == 0:
            self.entry = ZERO
        elif rest > 0:
            self.entry = price
        return realized


@dataclass
class Account:
    """One API key's money: spot balances (free, locked) and USD-M wallet and positions."""

    balances: dict[str, list[Decimal]]
    usdm_wallet: Decimal = Decimal(10_000)
    positions: dict[str, Position] = field(default_factory=dict)
    leverage: dict[str, int] = field(default_factory=dict)

    def free(self, asset: str) -> Decimal:
        return self.balances.setdefault(asset, [ZERO, ZERO])[0]

    def move(self, asset: str, free: Decimal = ZERO, locked: Decimal = ZERO) -> None:
        entry = self.balances.setdefault(asset, [ZERO, ZERO])
        entry[0] += free
        entry[1] += locked
