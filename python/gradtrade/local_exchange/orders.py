"""Validation of a new order's parameters against the symbol's filters, with Binance's errors.

Conditional orders (spot STOP_LOSS, STOP_LOSS_LIMIT, TAKE_PROFIT, TAKE_PROFIT_LIMIT; USD-M
STOP_MARKET, TAKE_PROFIT_MARKET) need ``stopPrice`` on the price grid, and the symbol's
``orderTypes`` must list the type (spot: -2010 "... orders are not supported for this symbol.",
as Binance's matching engine answers). USD-M ``closePosition=true`` takes neither ``quantity``
nor ``reduceOnly``; a reduce-only USD-M order is exempt from MIN_NOTIONAL, as on Binance.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from gradtrade.core import Side
from gradtrade.local_exchange.errors import (
    ApiError,
    filter_failure,
    invalid_param,
    mandatory,
    order_rejected,
)
from gradtrade.local_exchange.market import SymbolMarket
from gradtrade.local_exchange.matching import CONDITIONAL_TYPES, MARKET_TYPES, SIDES, ZERO, dec
from gradtrade.local_exchange.params import Params, opt_decimal

ORDER_TYPES = {
    "spot": (
        *("LIMIT", "MARKET", "LIMIT_MAKER"),
        *("STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"),
    ),
    "usdm": ("LIMIT", "MARKET", "STOP_MARKET", "TAKE_PROFIT_MARKET"),
}
TIFS = {"spot": ("GTC", "IOC", "FOK"), "usdm": ("GTC", "IOC", "FOK", "GTX")}
LIMIT_TYPES = ("LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT")  # need timeInForce and price
WORKING_TYPES = ("CONTRACT_PRICE", "MARK_PRICE")
# Binance spot's refusal of a type the symbol does not enable (binance-spot-errors.md).
UNSUPPORTED = {
    "MARKET": "Market orders are not supported for this symbol.",
    "STOP_LOSS": "Stop loss orders are not supported for this symbol.",
    "STOP_LOSS_LIMIT": "Stop loss limit orders are not supported for this symbol.",
    "TAKE_PROFIT": "Take profit orders are not supported for this symbol.",
    "TAKE_PROFIT_LIMIT": "Take profit limit orders are not supported for this symbol.",
}


@dataclass(frozen=True)
class OrderSpec:
    side: Side
    type: str
    tif: str
    price: Decimal
    qty: Decimal
    quote_qty: Decimal = ZERO  # quoteOrderQty of a spot MARKET order (qty derived from it)
    stop_price: Decimal = ZERO  # conditional orders: the trigger price
    reduce_only: bool = False  # USD-M only
    close_position: bool = False  # USD-M STOP_MARKET / TAKE_PROFIT_MARKET only (qty is 0)
    working_type: str = "CONTRACT_PRICE"


def _on_step(x: Decimal, origin: Decimal, step: Decimal) -> bool:
    return step <= 0 or (x - origin) % step == 0


def validate(m: SymbolMarket, venue: str, params: Params) -> OrderSpec:
    side = params.get("side", "").upper()
    if not side:
        raise mandatory("side")
    if side not in SIDES:
        raise ApiError(-1117, "Invalid side.")
    kind = params.get("type", "").upper()
    if not kind:
        raise mandatory("type")
    if kind not in ORDER_TYPES[venue]:
        raise ApiError(-1116, "Invalid orderType.")
    if kind not in m.entry.get("orderTypes", ORDER_TYPES[venue]):
        if venue == "usdm":
            raise ApiError(-1116, "Invalid orderType.")
        raise order_rejected(UNSUPPORTED.get(kind, "Unsupported order combination"))
    qty = opt_decimal(params, "quantity")
    price = opt_decimal(params, "price")
    r = m.rules
    tif = params.get("timeInForce", "").upper()
    conditional_usdm = venue == "usdm" and kind in CONDITIONAL_TYPES
    if kind in LIMIT_TYPES:
        if not tif:
            raise mandatory("timeInForce")
        if tif not in TIFS[venue]:
            raise ApiError(-1115, "Invalid timeInForce.")
    elif kind == "LIMIT_MAKER":
        tif = "GTC"
    elif tif and not conditional_usdm:
        raise ApiError(-1106, "Parameter 'timeInForce' sent when not required.")
    elif tif and tif not in TIFS[venue]:
        raise ApiError(-1115, "Invalid timeInForce.")
    else:
        tif = tif or "GTC"
    stop = _stop_price(m, venue, kind, params)
    reduce_only = venue == "usdm" and _flag(params, "reduceOnly")
    close_position = conditional_usdm and _flag(params, "closePosition")
    if close_position:
        if qty is not None:
            raise ApiError(-1106, "Parameter 'quantity' sent when not required.")
        if reduce_only:
            raise ApiError(-1106, "Parameter 'reduceOnly' sent when not required.")
    working_type = params.get("workingType", "CONTRACT_PRICE").upper() if venue == "usdm" else ""
    if venue == "usdm" and working_type not in WORKING_TYPES:
        raise invalid_param("workingType")
    base = OrderSpec(SIDES[side], kind, tif, ZERO, ZERO, ZERO, stop, reduce_only,
                     close_position, working_type or "CONTRACT_PRICE")  # fmt: skip
    if close_position:  # the quantity is the position's, known at the trigger
        if price is not None:
            raise ApiError(-1106, "Parameter 'price' sent when not required.")
        return base
    quote_qty = opt_decimal(params, "quoteOrderQty")
    if quote_qty is not None and (kind != "MARKET" or venue != "spot" or qty is not None):
        raise ApiError(-1106, "Parameter 'quoteOrderQty' sent when not required.")
    if quote_qty is not None:
        if quote_qty <= 0:
            raise ApiError(-1013, "Invalid quantity.")
        qty = qty_for_quote(m, SIDES[side], quote_qty)
        if qty <= 0:
            raise filter_failure("MARKET_LOT_SIZE")
    if qty is None:
        if kind == "MARKET" and venue == "spot":
            raise ApiError(
                -1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!"
            )
        raise mandatory("quantity")
    if qty <= 0:
        raise ApiError(-1013, "Invalid quantity.")
    if kind in MARKET_TYPES:
        if price is not None:
            raise ApiError(-1106, "Parameter 'price' sent when not required.")
        if not (r.market_min_qty <= qty <= r.market_max_qty) or not _on_step(
            qty, r.market_min_qty, r.market_step
        ):
            raise filter_failure("MARKET_LOT_SIZE")
        notional_price = stop if kind != "MARKET" else dec(m.reference_price())
        price = ZERO
    else:
        if price is None:
            raise mandatory("price")
        if price <= 0:
            raise ApiError(-1013, "Invalid price.")
        if (r.min_price and price < r.min_price) or (r.max_price and price > r.max_price):
            raise filter_failure("PRICE_FILTER")
        if not _on_step(price, r.min_price, r.tick):
            if venue == "usdm":
                raise ApiError(-4014, "Price not increased by tick size.")
            raise filter_failure("PRICE_FILTER")
        ref = dec(m.reference_price())
        if ref > 0 and not (ref * r.percent_down <= price <= ref * r.percent_up):
            raise filter_failure("PERCENT_PRICE")
        notional_price = price
    if not (r.min_qty <= qty <= r.max_qty) or not _on_step(qty, r.min_qty, r.step):
        raise filter_failure("LOT_SIZE")
    applies = (kind not in MARKET_TYPES or r.apply_min_notional_to_market) and not reduce_only
    if applies and notional_price * qty < r.min_notional:
        if venue == "usdm":
            raise ApiError(
                -4164,
                f"Order's notional must be no smaller than {r.min_notional} "
                "(unless you choose reduce only).",
            )
        raise filter_failure(r.notional_filter)
    return replace(base, price=price, qty=qty, quote_qty=quote_qty or ZERO)


def _flag(params: Params, name: str) -> bool:
    value = params.get(name, "").lower()
    if value not in ("", "true", "false"):
        raise invalid_param(name)
    return value == "true"


def _stop_price(m: SymbolMarket, venue: str, kind: str, params: Params) -> Decimal:
    """``stopPrice``: mandatory for a conditional type, on the price grid; refused elsewhere."""
    stop = opt_decimal(params, "stopPrice")
    if kind not in CONDITIONAL_TYPES:
        if stop is not None and stop != 0:
            raise ApiError(-1106, "Parameter 'stopPrice' sent when not required.")
        return ZERO
    if stop is None:
        raise mandatory("stopPrice")
    r = m.rules
    if stop <= 0:
        raise ApiError(-1013, "Invalid stopPrice.")
    if (r.min_price and stop < r.min_price) or (r.max_price and stop > r.max_price):
        raise filter_failure("PRICE_FILTER")
    if not _on_step(stop, r.min_price, r.tick):
        if venue == "usdm":
            raise ApiError(-4014, "Price not increased by tick size.")
        raise filter_failure("PRICE_FILTER")
    return stop


def qty_for_quote(m: SymbolMarket, side: Side, quote: Decimal) -> Decimal:
    """The base quantity a MARKET order with ``quoteOrderQty`` trades: as much as ``quote``
    buys (or, selling, fetches) walking the book from the touch, rounded down to the lot
    step; the order then fills like a MARKET order of that quantity."""
    levels = m.book.top_asks(1000) if side == Side.BUY else m.book.top_bids(1000)
    left, qty = quote, ZERO
    for price, size in levels:
        p, q = dec(price), dec(size)
        take = min(q, left / p)
        qty += take
        left -= take * p
        if left <= 0:
            break
    step = m.rules.market_step or m.rules.step
    return (qty // step) * step if step > 0 else qty
