"""Spot OCO order lists (``POST /api/v3/orderList/oco``): the request's two legs, and the rules
that pair them.

A list is one quantity on one side in two legs, ``above`` and ``below`` the last price: a SELL
list takes profit above (LIMIT_MAKER, TAKE_PROFIT, TAKE_PROFIT_LIMIT) and stops the loss below
(STOP_LOSS, STOP_LOSS_LIMIT); a BUY list the mirror image. Another pairing is -1158 "Order type
not supported in OCO."; each leg passes the filters of a single order (``orders.validate``),
and a leg that would trigger or take at once is -2010 "The relationship of the prices for the
orders is not correct.". The funds are locked once for the list, on one leg; whichever leg
starts working (its stop triggers, or its limit fills) takes the lock and the other is EXPIRED;
cancelling either leg cancels the list. ``listStatus`` events open and close it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gradtrade.core import Side
from gradtrade.local_exchange.errors import ApiError, mandatory, order_rejected
from gradtrade.local_exchange.market import SymbolMarket
from gradtrade.local_exchange.matching import SIDES, Order
from gradtrade.local_exchange.params import Params

TAKE = ("LIMIT_MAKER", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT")
STOP = ("STOP_LOSS", "STOP_LOSS_LIMIT")
# per list side: (types the above leg may be, types the below leg may be)
PAIRS = {Side.SELL: (TAKE, STOP), Side.BUY: (STOP, TAKE)}
LEG_FIELDS = {"Type": "type", "Price": "price", "StopPrice": "stopPrice",
              "TimeInForce": "timeInForce", "ClientOrderId": "newClientOrderId"}  # fmt: skip


@dataclass
class OrderList:
    list_id: int
    client_id: str
    legs: list[Order] = field(default_factory=list)


def legs(m: SymbolMarket, params: Params) -> tuple[Params, Params]:
    """The ``above`` and ``below`` legs as single-order parameters (validated by the caller)."""
    if not m.entry.get("ocoAllowed", True):
        raise order_rejected("OCO orders are not supported for this symbol")
    side = params.get("side", "").upper()
    if not side:
        raise mandatory("side")
    if side not in SIDES:
        raise ApiError(-1117, "Invalid side.")
    out = []
    for leg, allowed in zip(("above", "below"), PAIRS[SIDES[side]], strict=True):
        one: Params = {"symbol": m.symbol, "side": side}
        if "quantity" in params:
            one["quantity"] = params["quantity"]
        for suffix, name in LEG_FIELDS.items():
            if params.get(leg + suffix):
                one[name] = params[leg + suffix]
        if "type" not in one:
            raise mandatory(f"{leg}Type")
        if one["type"].upper() not in allowed:
            raise ApiError(-1158, "Order type not supported in OCO.")
        out.append(one)
    return out[0], out[1]


def price_relation() -> ApiError:
    return order_rejected("The relationship of the prices for the orders is not correct.")


__all__ = ["PAIRS", "OrderList", "legs", "price_relation"]
