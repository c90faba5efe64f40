"""``exchangeInfo`` bodies and the trading rules (filters) the matching engine enforces.

Symbol entries are cloned from a template: the real ``exchangeInfo`` recordings
(``recordings/cryptofeed/BINANCE.0`` and ``BINANCE_FUTURES.0`` in the shared data) read at runtime
when available, otherwise the built-in defaults below, which follow the same schema.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

_SPOT_DEFAULT: dict[str, Any] = {
    "symbol": "BTCUSDT",
    "status": "TRADING",
    "baseAsset": "BTC",
    "baseAssetPrecision": 8,
    "quoteAsset": "USDT",
    "quotePrecision": 8,
    "quoteAssetPrecision": 8,
    "baseCommissionPrecision": 8,
    "quoteCommissionPrecision": 8,
    "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
    "icebergAllowed": True,
    "ocoAllowed": True,
    "quoteOrderQtyMarketAllowed": True,
    "isSpotTradingAllowed": True,
    "isMarginTradingAllowed": False,
    "filters": [
        {
            "filterType": "PRICE_FILTER",
            "minPrice": "0.01000000",
            "maxPrice": "1000000.00000000",
            "tickSize": "0.01000000",
        },
        {
            "filterType": "PERCENT_PRICE",
            "multiplierUp": "5",
            "multiplierDown": "0.2",
            "avgPriceMins": 5,
        },
        {
            "filterType": "LOT_SIZE",
            "minQty": "0.00001000",
            "maxQty": "9000.00000000",
            "stepSize": "0.00001000",
        },
        {
            "filterType": "MIN_NOTIONAL",
            "minNotional": "10.00000000",
            "applyToMarket": True,
            "avgPriceMins": 5,
        },
        {
            "filterType": "MARKET_LOT_SIZE",
            "minQty": "0.00000000",
            "maxQty": "100.00000000",
            "stepSize": "0.00000000",
        },
        {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
    ],
    "permissions": ["SPOT"],
}

_USDM_DEFAULT: dict[str, Any] = {
    "symbol": "BTCUSDT",
    "pair": "BTCUSDT",
    "contractType": "PERPETUAL",
    "deliveryDate": 4133404800000,
    "onboardDate": 1569398400000,
    "status": "TRADING",
    "maintMarginPercent": "2.5000",
    "requiredMarginPercent": "5.0000",
    "baseAsset": "BTC",
    "quoteAsset": "USDT",
    "marginAsset": "USDT",
    "pricePrecision": 2,
    "quantityPrecision": 3,
    "baseAssetPrecision": 8,
    "quotePrecision": 8,
    "underlyingType": "COIN",
    "underlyingSubType": [],
    "settlePlan": 0,
    "triggerProtect": "0.0500",
    "liquidationFee": "0.012000",
    "marketTakeBound": "0.30",
    "filters": [
        {
            "minPrice": "0.10",
            "maxPrice": "1000000",
            "filterType": "PRICE_FILTER",
            "tickSize": "0.10",
        },
        {"stepSize": "0.001", "filterType": "LOT_SIZE", "maxQty": "1000", "minQty": "0.001"},
        {"stepSize": "0.001", "filterType": "MARKET_LOT_SIZE", "maxQty": "120", "minQty": "0.001"},
        {"limit": 200, "filterType": "MAX_NUM_ORDERS"},
        {"notional": "100", "filterType": "MIN_NOTIONAL"},
        {
            "multiplierDown": "0.9500",
            "multiplierUp": "1.0500",
            "multiplierDecimal": "4",
            "filterType": "PERCENT_PRICE",
        },
    ],
    "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET"],
    "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
}

_RATE_LIMITS = {
    "spot": [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 6000},
        {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
        {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
    ],
    "usdm": [
        {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
        {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
    ],
}


def load_templates(recordings_dir: Path | None) -> dict[str, dict[str, dict[str, Any]]]:
    """Per venue, the symbol entries of a recorded ``exchangeInfo`` (empty when not found)."""
    out: dict[str, dict[str, dict[str, Any]]] = {"spot": {}, "usdm": {}}
    if recordings_dir is None:
        return out
    for venue, name in (("spot", "BINANCE.0"), ("usdm", "BINANCE_FUTURES.0")):
        path = recordings_dir / name
        if not path.exists():
            continue
        with path.open() as fh:
            line = fh.readline()
        body = json.loads(line.split(": ", 1)[1])
        out[venue] = {s["symbol"]: s for s in body.get("symbols", [])}
    return out


def symbol_entry(
    venue: str, symbol: str, base: str, quote: str, templates: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """The exchangeInfo entry for a symbol: the recorded one, else a clone of BTCUSDT's."""
    if symbol in templates:
        return copy.deepcopy(templates[symbol])
    template = templates.get("BTCUSDT") or (_SPOT_DEFAULT if venue == "spot" else _USDM_DEFAULT)
    entry = copy.deepcopy(template)
    entry.update(symbol=symbol, baseAsset=base, quoteAsset=quote)
    if venue == "usdm":
        entry.update(pair=symbol, marginAsset=quote)
    return entry


def exchange_info_body(
    venue: str,
    entries: list[dict[str, Any]],
    now_ms: int,
    rate_limits: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "timezone": "UTC",
        "serverTime": now_ms,
        "rateLimits": _RATE_LIMITS[venue] if rate_limits is None else rate_limits,
        "exchangeFilters": [],
        "symbols": entries,
    }
    if venue == "usdm":
        body["futuresType"] = "U_MARGINED"
        quotes = sorted({e["marginAsset"] for e in entries})
        body["assets"] = [
            {"asset": q, "marginAvailable": True, "autoAssetExchange": "0"} for q in quotes
        ]
    return body


@dataclass(frozen=True)
class Rules:
    """The filters of one symbol, as exact decimals."""

    tick: Decimal
    min_price: Decimal
    max_price: Decimal
    step: Decimal
    min_qty: Decimal
    max_qty: Decimal
    market_step: Decimal
    market_min_qty: Decimal
    market_max_qty: Decimal
    min_notional: Decimal
    apply_min_notional_to_market: bool
    percent_up: Decimal
    percent_down: Decimal
    max_num_orders: int
    notional_filter: str

    @staticmethod
    def from_entry(entry: dict[str, Any]) -> Rules:
        f = {flt["filterType"]: flt for flt in entry.get("filters", [])}
        price = f.get("PRICE_FILTER", {})
        lot = f.get("LOT_SIZE", {})
        mlot = f.get("MARKET_LOT_SIZE", lot)
        notional = f.get("MIN_NOTIONAL") or f.get("NOTIONAL") or {}
        pct = f.get("PERCENT_PRICE", {})
        max_orders = f.get("MAX_NUM_ORDERS", {})

        def d(block: dict[str, Any], key: str, default: str = "0") -> Decimal:
            return Decimal(str(block.get(key, default)))

        return Rules(
            tick=d(price, "tickSize"),
            min_price=d(price, "minPrice"),
            max_price=d(price, "maxPrice"),
            step=d(lot, "stepSize"),
            min_qty=d(lot, "minQty"),
            max_qty=d(lot, "maxQty", "1e12"),
            market_step=d(mlot, "stepSize"),
            market_min_qty=d(mlot, "minQty"),
            market_max_qty=d(mlot, "maxQty", "1e12"),
            min_notional=Decimal(str(notional.get("minNotional", notional.get("notional", "0")))),
            apply_min_notional_to_market=bool(notional.get("applyToMarket", True)),
            percent_up=d(pct, "multiplierUp", "1e9"),
            percent_down=d(pct, "multiplierDown", "0"),
            max_num_orders=int(max_orders.get("maxNumOrders", max_orders.get("limit", 200))),
            notional_filter="MIN_NOTIONAL" if "MIN_NOTIONAL" in f else "NOTIONAL",
        )
