"""Conditional orders: when a stop price triggers, and what refuses one at placement.

Binance's trigger rules, one table for spot (STOP_LOSS, STOP_LOSS_LIMIT, TAKE_PROFIT,
TAKE_PROFIT_LIMIT) and USD-M (STOP_MARKET, TAKE_PROFIT_MARKET):

* a stop-loss type **buys** when the price rises to or above ``stopPrice`` and **sells** when it
  falls to or below it;
* a take-profit type **sells** when the price rises to or above ``stopPrice`` and **buys** when it
  falls to or below it.

The price compared is the last traded price (spot; USD-M ``workingType=CONTRACT_PRICE``) or the
mark price (USD-M ``MARK_PRICE``). A source advancing the market reports the range of prices that
traded (one trade: low = high; a stepped bar: its low and high), so a stop the bar passes
through triggers even when the bar closes back beyond it. An order whose condition already holds
when it is placed is refused: spot -2010 "Order would trigger immediately.", USD-M -2021 "Order
would immediately trigger.". A USD-M reduce-only order that would open or grow a position is
refused with -2022. Open conditional orders count against MAX_NUM_ALGO_ORDERS (spot -1013
"Filter failure: MAX_NUM_ALGO_ORDERS", USD-M -4045 "Reach max stop order limit.").
"""

from __future__ import annotations

from decimal import Decimal

from gradtrade.core import Side
from gradtrade.local_exchange.errors import ApiError, filter_failure, order_rejected
from gradtrade.local_exchange.market import SymbolMarket
from gradtrade.local_exchange.matching import ZERO, dec

STOP_TYPES = frozenset({"STOP_LOSS", "STOP_LOSS_LIMIT", "STOP_MARKET"})
CONTRACT_PRICE, MARK_PRICE = "CONTRACT_PRICE", "MARK_PRICE"


def fires_on_rise(kind: str, side: Side) -> bool:
    """Whether the order triggers on a price at or above its stop (else at or below it)."""
    return (kind in STOP_TYPES) == (side == Side.BUY)


def triggers(kind: str, side: Side, stop: Decimal, low: Decimal, high: Decimal) -> bool:
    """Whether prices trading over [low, high] trigger a ``kind`` order on ``side`` at ``stop``."""
    return high >= stop if fires_on_rise(kind, side) else low <= stop


def price_now(m: SymbolMarket, working_type: str) -> Decimal:
    """The price a trigger compares now: the last trade (else the book's reference price), or
    the mark price (else the last trade)."""
    last = m.last_price or m.reference_price()
    if working_type == MARK_PRICE and m.mark_price:
        return dec(m.mark_price)
    return dec(last)


def check_placement(
    m: SymbolMarket, kind: str, side: Side, stop: Decimal, working_type: str, open_algo: int
) -> None:
    """Refuse a conditional order that would trigger at once or exceed the algo-order limit."""
    if open_algo >= max_algo_orders(m):
        if m.venue == "usdm":
            raise ApiError(-4045, "Reach max stop order limit.")
        raise filter_failure("MAX_NUM_ALGO_ORDERS")
    now = price_now(m, working_type)
    if now > 0 and triggers(kind, side, stop, now, now):
        if m.venue == "usdm":
            raise ApiError(-2021, "Order would immediately trigger.")
        raise order_rejected("Order would trigger immediately.")


def check_reduce_only(side: Side, position: Decimal) -> None:
    """A reduce-only order must close part of an open position, never open or grow one."""
    if not closes(side, position):
        raise ApiError(-2022, "ReduceOnly Order is rejected.")


def closes(side: Side, position: Decimal) -> bool:
    return (side == Side.SELL and position > ZERO) or (side == Side.BUY and position < ZERO)


def max_algo_orders(m: SymbolMarket) -> int:
    """MAX_NUM_ALGO_ORDERS of the symbol (spot ``maxNumAlgoOrders``, USD-M ``limit``)."""
    for f in m.entry.get("filters", []):
        if f.get("filterType") == "MAX_NUM_ALGO_ORDERS":
            return int(f.get("maxNumAlgoOrders", f.get("limit", 5)))
    return 5 if m.venue == "spot" else 10


__all__ = [
    "CONTRACT_PRICE",
    "MARK_PRICE",
    "check_placement",
    "check_reduce_only",
    "closes",
    "fires_on_rise",
    "max_algo_orders",
    "price_now",
    "triggers",
]
