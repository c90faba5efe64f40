"""How protective orders reach a Binance venue: the order type each stop is sent as, the limit
of a spot stop-limit, and the pairing of a stop-loss and a take-profit into one spot OCO list.

Invariants (``LiveExecutionClient`` sends what these functions return):

* USD-M stops are STOP_MARKET / TAKE_PROFIT_MARKET (reduce-only, added by the client).
* A spot stop is a market STOP_LOSS / TAKE_PROFIT only where the symbol's exchangeInfo
  ``orderTypes`` list it (``ProtectiveConfig.spot_market_stops`` when they are unknown); else a
  STOP_LOSS_LIMIT / TAKE_PROFIT_LIMIT whose limit is ``limit_offset`` beyond the stop, on the
  side that still fills when the market gaps (a sell below it, a buy above it), on the tick grid
  and never below one tick.
* A spot OCO list pairs one stop-loss and one take-profit of the same side and quantity; the
  take-profit is the ``above`` leg of a SELL list and the ``below`` leg of a BUY list; each leg
  keeps its own client id (it is tracked, resolved and cancelled as an order).
"""

from __future__ import annotations

import math
from typing import Any

from gradtrade.core import OrderType, Side
from gradtrade.errors import InvalidInput
from gradtrade.events import IntentKind, OrderStyle
from gradtrade.execution.client import OrderRequest
from gradtrade.execution.config import ProtectiveConfig

PROTECTIVE_STYLES = (OrderStyle.STOP_MARKET, OrderStyle.TAKE_PROFIT_MARKET)
# A spot market stop that the symbol does not list goes out as this stop-limit.
STOP_LIMIT = {
    OrderType.STOP_LOSS: OrderType.STOP_LOSS_LIMIT,
    OrderType.TAKE_PROFIT: OrderType.TAKE_PROFIT_LIMIT,
}


def spot_stop(
    kind: OrderType,
    req: OrderRequest,
    listed: frozenset[str] | None,
    cfg: ProtectiveConfig,
    tick: float,
) -> tuple[OrderType, float | None]:
    """A spot market stop ``kind`` as sent: itself if listed (no limit), else its stop-limit
    and the limit price."""
    names = listed if listed is not None else _assumed_listed(cfg)
    if str(kind).rpartition(".")[2] in names:
        return kind, None
    if req.price is None:
        raise InvalidInput(f"protective order {req.client_order_id!r} has no stop price")
    return STOP_LIMIT[kind], stop_limit(req.side, req.price, tick, cfg)


def stop_limit(side: Side, stop: float, tick: float, cfg: ProtectiveConfig) -> float:
    """The limit of a spot stop-limit (see the module invariants)."""
    offset = cfg.limit_offset * (tick if cfg.limit_offset_unit == "ticks" else stop * 1e-4)
    if side == Side.SELL:
        return max(tick, math.floor((stop - offset) / tick + 1e-9) * tick)
    return math.ceil((stop + offset) / tick - 1e-9) * tick


def oco_pair(requests: list[OrderRequest]) -> tuple[OrderRequest, OrderRequest] | None:
    """(stop-loss, take-profit) when ``requests`` are exactly such a pair, else None."""
    if len(requests) != 2 or {r.intent for r in requests} != {
        IntentKind.STOP_LOSS,
        IntentKind.TAKE_PROFIT,
    }:
        return None
    a, b = requests
    if a.side != b.side or a.qty != b.qty or a.symbol != b.symbol:
        return None
    return (a, b) if a.intent == IntentKind.STOP_LOSS else (b, a)


def oco_params(sl: dict[str, Any], tp: dict[str, Any], side: Side) -> dict[str, Any]:
    """``orderList/oco`` parameters from the two legs' single-order parameters."""
    legs = {"above": tp, "below": sl} if side == Side.SELL else {"above": sl, "below": tp}
    out = {k: sl[k] for k in ("symbol", "side", "quantity")}
    for name, one in legs.items():
        out[f"{name}Type"], out[f"{name}StopPrice"] = one["type"], one["stopPrice"]
        out[f"{name}ClientOrderId"] = one["newClientOrderId"]
        if "price" in one:
            out[f"{name}Price"], out[f"{name}TimeInForce"] = one["price"], one["timeInForce"]
    return out


def _assumed_listed(cfg: ProtectiveConfig) -> frozenset[str]:
    """The spot market stops assumed listed when a symbol's ``orderTypes`` are unknown."""
    return frozenset({"STOP_LOSS", "TAKE_PROFIT"}) if cfg.spot_market_stops else frozenset()


__all__ = ["PROTECTIVE_STYLES", "STOP_LIMIT", "oco_pair", "oco_params", "spot_stop", "stop_limit"]
