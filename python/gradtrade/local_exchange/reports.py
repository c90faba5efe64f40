"""JSON shapes of orders, fills and accounts, as Binance's REST and user-data streams send them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from gradtrade.core import Side
from gradtrade.local_exchange.matching import (
    SIDE_TEXT,
    STATUS_TEXT,
    ZERO,
    Account,
    Fill,
    Order,
)


def d8(x: Decimal) -> str:
    """Spot style: fixed 8 decimals."""
    return f"{x:.8f}"


def dp(x: Decimal) -> str:
    """USD-M style: plain decimal text."""
    text = f"{x.normalize():f}"
    return text if text != "-0" else "0"


def _avg(o: Order) -> Decimal:
    return o.cum_quote / o.executed if o.executed else ZERO


def spot_order(o: Order, full: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "symbol": o.symbol,
        "orderId": o.order_id,
        "orderListId": o.order_list_id,
        "clientOrderId": o.client_order_id,
        "price": d8(o.price),
        "origQty": d8(o.qty),
        "executedQty": d8(o.executed),
        "cummulativeQuoteQty": d8(o.cum_quote),
        "status": STATUS_TEXT[o.status],
        "timeInForce": o.time_in_force,
        "type": o.type,
        "side": SIDE_TEXT[o.side],
        "workingTime": _working_time(o),
        "selfTradePreventionMode": "NONE",
    }
    if o.conditional:
        body["stopPrice"] = d8(o.stop_price)
    if full:
        body["transactTime"] = o.update_ms
        body["origQuoteOrderQty"] = d8(o.quote_qty)
        body["fills"] = [
            {
                "price": d8(f.price),
                "qty": d8(f.qty),
                "commission": d8(f.commission),
                "commissionAsset": f.commission_asset,
                "tradeId": f.trade_id,
            }
            for f in o.fills
        ]
    else:
        body.update(
            stopPrice=d8(o.stop_price),
            icebergQty="0.00000000",
            time=o.time_ms,
            updateTime=o.update_ms,
            isWorking=o.triggered or not o.conditional,
            origQuoteOrderQty=d8(o.quote_qty),
        )
    return body


def _working_time(o: Order) -> int:
    """When the order started working: placement, a conditional order's trigger; -1 before."""
    if not o.conditional:
        return o.time_ms
    return o.update_ms if o.triggered else -1


def usdm_order(o: Order) -> dict[str, Any]:
    return {
        "orderId": o.order_id,
        "symbol": o.symbol,
        "status": STATUS_TEXT[o.status],
        "clientOrderId": o.client_order_id,
        "price": dp(o.price),
        "avgPrice": dp(_avg(o)),
        "origQty": dp(o.qty),
        "executedQty": dp(o.executed),
        "cumQty": dp(o.executed),
        "cumQuote": dp(o.cum_quote),
        "timeInForce": o.time_in_force,
        "type": o.wire_type,
        "reduceOnly": o.reduce_only,
        "closePosition": o.close_position,
        "side": SIDE_TEXT[o.side],
        "positionSide": "BOTH",
        "stopPrice": dp(o.stop_price),
        "workingType": o.working_type,
        "priceProtect": False,
        "origType": o.type,
        "priceMatch": "NONE",
        "selfTradePreventionMode": "NONE",
        "goodTillDate": 0,
        "time": o.time_ms,
        "updateTime": o.update_ms,
    }


def order_body(o: Order, full: bool = False) -> dict[str, Any]:
    return spot_order(o, full) if o.venue == "spot" else usdm_order(o)


def spot_trade(o: Order, f: Fill) -> dict[str, Any]:
    return {
        "symbol": o.symbol,
        "id": f.trade_id,
        "orderId": o.order_id,
        "orderListId": o.order_list_id,
        "price": d8(f.price),
        "qty": d8(f.qty),
        "quoteQty": d8(f.price * f.qty),
        "commission": d8(f.commission),
        "commissionAsset": f.commission_asset,
        "time": f.time_ms,
        "isBuyer": o.side == Side.BUY,
        "isMaker": f.maker,
        "isBestMatch": True,
    }


def usdm_trade(o: Order, f: Fill) -> dict[str, Any]:
    return {
        "symbol": o.symbol,
        "id": f.trade_id,
        "orderId": o.order_id,
        "side": SIDE_TEXT[o.side],
        "price": dp(f.price),
        "qty": dp(f.qty),
        "realizedPnl": dp(f.realized_pnl),
        "quoteQty": dp(f.price * f.qty),
        "commission": dp(f.commission),
        "commissionAsset": f.commission_asset,
        "time": f.time_ms,
        "positionSide": "BOTH",
        "buyer": o.side == Side.BUY,
        "maker": f.maker,
    }


def execution_report(o: Order, exec_type: str, now: int, fill: Fill | None) -> dict[str, Any]:
    return {
        "e": "executionReport",
        "E": now,
        "s": o.symbol,
        "c": o.client_order_id,
        "S": SIDE_TEXT[o.side],
        "o": o.type,
        "f": o.time_in_force,
        "q": d8(o.qty),
        "p": d8(o.price),
        "P": d8(o.stop_price),
        "F": "0.00000000",
        "g": o.order_list_id,
        "C": o.client_order_id if exec_type == "CANCELED" else "",
        "x": exec_type,
        "X": STATUS_TEXT[o.status],
        "r": "NONE",
        "i": o.order_id,
        "l": d8(fill.qty if fill else ZERO),
        "z": d8(o.executed),
        "L": d8(fill.price if fill else ZERO),
        "n": d8(fill.commission if fill else ZERO),
        "N": fill.commission_asset if fill else None,
        "T": now,
        "t": fill.trade_id if fill else -1,
        "I": 0,
        "w": o.working,
        "m": bool(fill and fill.maker),
        "M": False,
        "O": o.time_ms,
        "Z": d8(o.cum_quote),
        "Y": d8(fill.price * fill.qty if fill else ZERO),
        "Q": "0.00000000",
        "W": _working_time(o),
        "V": "NONE",
    }


def order_trade_update(o: Order, exec_type: str, now: int, fill: Fill | None) -> dict[str, Any]:
    avg = _avg(o)
    return {
        "e": "ORDER_TRADE_UPDATE",
        "E": now,
        "T": now,
        "o": {
            "s": o.symbol,
            "c": o.client_order_id,
            "S": SIDE_TEXT[o.side],
            "o": o.wire_type,
            "f": o.time_in_force,
            "q": dp(o.qty),
            "p": dp(o.price),
            "ap": dp(avg),
            "sp": dp(o.stop_price),
            "x": exec_type,
            "X": STATUS_TEXT[o.status],
            "i": o.order_id,
            "l": dp(fill.qty if fill else ZERO),
            "z": dp(o.executed),
            "L": dp(fill.price if fill else ZERO),
            "N": fill.commission_asset if fill else "USDT",
            "n": dp(fill.commission if fill else ZERO),
            "T": now,
            "t": fill.trade_id if fill else 0,
            "b": "0",
            "a": "0",
            "m": bool(fill and fill.maker),
            "R": o.reduce_only,
            "wt": o.working_type,
            "ot": o.type,
            "ps": "BOTH",
            "cp": o.close_position,
            "rp": dp(fill.realized_pnl if fill else ZERO),
            "pP": False,
            "si": 0,
            "ss": 0,
            "V": "NONE",
            "pm": "NONE",
            "gtd": 0,
        },
    }


def list_status(
    list_id: int, client_id: str, legs: list[Order], now: int, done: bool
) -> dict[str, Any]:
    """Spot ``listStatus`` (user data): an OCO list started, or all done."""
    return {
        "e": "listStatus",
        "E": now,
        "s": legs[0].symbol,
        "g": list_id,
        "c": "OCO",
        "l": "ALL_DONE" if done else "EXEC_STARTED",
        "L": "ALL_DONE" if done else "EXECUTING",
        "r": "NONE",
        "C": client_id,
        "T": now,
        "O": [{"s": o.symbol, "i": o.order_id, "c": o.client_order_id} for o in legs],
    }


def list_body(
    list_id: int, client_id: str, legs: list[Order], now: int, done: bool
) -> dict[str, Any]:
    """The REST answer of an OCO list (place, cancel)."""
    return {
        "orderListId": list_id,
        "contingencyType": "OCO",
        "listStatusType": "ALL_DONE" if done else "EXEC_STARTED",
        "listOrderStatus": "ALL_DONE" if done else "EXECUTING",
        "listClientOrderId": client_id,
        "transactionTime": now,
        "symbol": legs[0].symbol,
        "orders": [
            {"symbol": o.symbol, "orderId": o.order_id, "clientOrderId": o.client_order_id}
            for o in legs
        ],
        "orderReports": [spot_order(o) for o in legs],
    }


def account_position(acct: Account, assets: list[str], now: int) -> dict[str, Any]:
    return {
        "e": "outboundAccountPosition",
        "E": now,
        "u": now,
        "B": [
            {"a": a, "f": d8(acct.balances[a][0]), "l": d8(acct.balances[a][1])}
            for a in assets
            if a in acct.balances
        ],
    }


def spot_account(acct: Account, maker: Decimal, taker: Decimal, now: int) -> dict[str, Any]:
    return {
        "makerCommission": int(maker * 10_000),
        "takerCommission": int(taker * 10_000),
        "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {
            "maker": d8(maker),
            "taker": d8(taker),
            "buyer": "0.00000000",
            "seller": "0.00000000",
        },
        "canTrade": True,
        "canWithdraw": True,
        "canDeposit": True,
        "brokered": False,
        "requireSelfTradePrevention": False,
        "preventSor": False,
        "updateTime": now,
        "accountType": "SPOT",
        "permissions": ["SPOT"],
        "uid": 1,
        "balances": [
            {"asset": a, "free": d8(v[0]), "locked": d8(v[1])}
            for a, v in sorted(acct.balances.items())
        ],
    }
