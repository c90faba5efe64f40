"""Account endpoints common clients call besides trading: commission rates, the order-count
view, USD-M income history, the single open order query and position mode.

Each reads :class:`gradtrade.local_exchange.trading.Trading` state and answers Binance's JSON;
position mode is one-way only, so asking for hedge mode is refused with Binance's error rather
than accepted and ignored.
"""

from __future__ import annotations

from typing import Any

from gradtrade.local_exchange import reports
from gradtrade.local_exchange.errors import NO_SUCH_ORDER, ApiError, mandatory
from gradtrade.local_exchange.matching import OPEN
from gradtrade.local_exchange.params import Params, limit_param, opt_int
from gradtrade.local_exchange.trading import Trading

INCOME_TYPES = ("REALIZED_PNL", "COMMISSION")


def spot_commission(t: Trading, key: str, params: Params) -> Any:
    m = t._market("spot", params)
    maker, taker = (f"{x:.8f}" for x in t.fees["spot"])
    none = "0.00000000"
    zero = {"maker": none, "taker": none, "buyer": none, "seller": none}
    return {
        "symbol": m.symbol,
        "standardCommission": {**zero, "maker": maker, "taker": taker},
        "specialCommission": zero,
        "taxCommission": zero,
        "discount": {
            "enabledForAccount": False,
            "enabledForSymbol": False,
            "discountAsset": "BNB",
            "discount": "0.75000000",
        },
    }


def spot_order_count(t: Trading, key: str, params: Params) -> Any:
    """``GET /api/v3/rateLimit/order``: this key's order counts in the current windows."""
    return t.state.limits.order_usage("spot", key, t.state.now_ms())


def usdm_commission(t: Trading, key: str, params: Params) -> Any:
    m = t._market("usdm", params)
    maker, taker = (reports.dp(x) for x in t.fees["usdm"])
    return {"symbol": m.symbol, "makerCommissionRate": maker, "takerCommissionRate": taker}


def usdm_open_order(t: Trading, key: str, params: Params) -> Any:
    """``GET /fapi/v1/openOrder``: one order that is still open (-2013 otherwise)."""
    order = t._find(key, "usdm", params)
    if order is None or order.status not in OPEN:
        raise ApiError(NO_SUCH_ORDER, "Order does not exist.")
    return reports.order_body(order)


def usdm_income(t: Trading, key: str, params: Params) -> Any:
    """``GET /fapi/v1/income``: realized PnL and commission of this key's USD-M fills
    (no funding fees: positions are not charged funding here)."""
    wanted_symbol = params.get("symbol", "").upper()
    wanted_type = params.get("incomeType", "")
    if wanted_type and wanted_type not in (*INCOME_TYPES, "FUNDING_FEE", "TRANSFER"):
        raise ApiError(-1130, "Data sent for parameter 'incomeType' is not valid.")
    start, end = opt_int(params, "startTime"), opt_int(params, "endTime")
    limit = min(limit_param(params, 100), 1000)
    rows: list[dict[str, Any]] = []
    for o, f in t.fills:
        if o.api_key != key or o.venue != "usdm":
            continue
        if wanted_symbol and o.symbol != wanted_symbol:
            continue
        if (start is not None and f.time_ms < start) or (end is not None and f.time_ms > end):
            continue
        for kind, amount, asset in (
            ("REALIZED_PNL", f.realized_pnl, "USDT"),
            ("COMMISSION", -f.commission, f.commission_asset),
        ):
            if amount == 0 or (wanted_type and kind != wanted_type):
                continue
            rows.append(
                {
                    "symbol": o.symbol,
                    "incomeType": kind,
                    "income": reports.dp(amount),
                    "asset": asset,
                    "info": kind,
                    "time": f.time_ms,
                    "tranId": f.trade_id * 10 + (0 if kind == "REALIZED_PNL" else 1),
                    "tradeId": str(f.trade_id),
                }
            )
    return rows[:limit] if start is not None else rows[-limit:]


def position_mode(t: Trading, key: str, params: Params, method: str) -> Any:
    """``positionSide/dual``: always one-way. GET answers it; POST to one-way is Binance's
    "no need to change", POST to hedge mode is refused (this server has no hedge mode)."""
    if method == "GET":
        return {"dualSidePosition": False}
    wanted = params.get("dualSidePosition", "").lower()
    if wanted not in ("true", "false"):
        raise mandatory("dualSidePosition")
    if wanted == "false":
        raise ApiError(-4059, "No need to change position side.")
    raise ApiError(-1020, "This operation is not supported.")
