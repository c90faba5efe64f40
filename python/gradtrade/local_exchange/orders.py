"""Validation of a new order's parameters against the symbol's filters, with Binance's errors."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from gradtrade.core import Side
from gradtrade.local_exchange.errors import ApiError, filter_failure, mandatory
from gradtrade.local_exchange.market import SymbolMarket
from gradtrade.local_exchange.matching import SIDES, ZERO, dec
from gradtrade.local_exchange.params import Params, opt_decimal

ORDER_TYPES = {"spot": ("LIMIT", "MARKET", "LIMIT_MAKER"), "usdm": ("LIMIT", "MARKET")}
TIFS = {"spot": ("GTC", "IOC", "FOK"), "usdm": ("GTC", "IOC", "FOK", "GTX")}


@dataclass(frozen=True)
class OrderSpec:
    side: Side
    type: str
    tif: str
    price: Decimal
    qty: Decimal
    quote_qty: Decimal = ZERO  # quoteOrderQty of a spot MARKET order (qty derived from it)


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
    qty = opt_decimal(params, "quantity")
    price = opt_decimal(params, "price")
    r = m.rules
    tif = params.get("timeInForce", "").upper()
    if kind == "LIMIT":
        if not tif:
            raise mandatory("timeInForce")
        if tif not in TIFS[venue]:
            raise ApiError(-1115, "Invalid timeInForce.")
    elif kind == "LIMIT_MAKER":
        tif = "GTC"
    elif tif:
        raise ApiError(-1106, "Parameter 'timeInForce' sent when not required.")
    else:
        tif = "GTC"
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
    if kind == "MARKET":
        if price is not None:
            raise ApiError(-1106, "Parameter 'price' sent when not required.")
        if not (r.market_min_qty <= qty <= r.market_max_qty) or not _on_step(
            qty, r.market_min_qty, r.market_step
        ):
            raise filter_failure("MARKET_LOT_SIZE")
        ref = dec(m.reference_price())
        notional_price = ref
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
    applies = kind != "MARKET" or r.apply_min_notional_to_market
    if applies and notional_price * qty < r.min_notional:
        if venue == "usdm":
            raise ApiError(
                -4164,
                f"Order's notional must be no smaller than {r.min_notional} "
                "(unless you choose reduce only).",
            )
        raise filter_failure(r.notional_filter)
    return OrderSpec(SIDES[side], kind, tif, price, qty, quote_qty or ZERO)


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
