"""Instruments from Binance's ``exchangeInfo``: the order filters and the depth-feed grids.

Invariant: order filters are parsed by the one Rust parser (``core.SymbolFilters``, exact
fixed point, every filter the pre-trade check uses); book grids are returned as the exact
decimal text Binance publishes (never floats), so a Rust ``OrderBook`` built from them is
exact. A symbol or field missing from ``exchangeInfo`` raises
:class:`gradtrade.errors.InvalidInput` naming it.
"""

from __future__ import annotations

from typing import Any

import orjson

from gradtrade.core import SymbolFilters
from gradtrade.errors import InvalidInput


def symbol_filters(exchange_info: bytes | str | dict[str, Any], symbol: str) -> SymbolFilters:
    """The order filters of ``symbol`` (PRICE_FILTER, LOT_SIZE, MIN_NOTIONAL/NOTIONAL, ...).

    ``exchange_info`` is the response body as received (preferred: bytes go to Rust untouched)
    or an already parsed response (ccxt's ``market["info"]`` wrapped as ``{"symbols": [...]}``).
    These are the grids for *orders*; for a depth book use :func:`book_grids`: resting levels
    can be off the current filters (orders placed before a filter change).
    """
    if isinstance(exchange_info, dict):
        # a parsed response: only the one entry is re-encoded, off the hot path
        exchange_info = orjson.dumps({"symbols": [_symbol_entry(exchange_info, symbol)]})
    return SymbolFilters.from_exchange_info_json(exchange_info, symbol)


def order_types(exchange_info: dict[str, Any], symbol: str) -> frozenset[str]:
    """The order types ``symbol`` accepts (``orderTypes``: e.g. real spot BTCUSDT lists
    STOP_LOSS_LIMIT and TAKE_PROFIT_LIMIT but no market STOP_LOSS / TAKE_PROFIT)."""
    entry = _symbol_entry(exchange_info, symbol)
    if "orderTypes" not in entry:
        raise InvalidInput(f"{symbol}: exchangeInfo entry lacks 'orderTypes'")
    return frozenset(str(t) for t in entry["orderTypes"])


def book_grids(exchange_info: dict[str, Any], symbol: str) -> tuple[str, str]:
    """``(tick_size, step_size)`` for an ``OrderBook`` of ``symbol``: the resolution of the feed.

    Binance publishes resting depth at the resolution of the market, not of today's order
    filters: on spot, prices come with ``quotePrecision`` and quantities with ``baseAssetPrecision``
    decimals (NKNUSDT bids at 0.25974 while its tick is 0.0001; BTCUSDT levels of 25.42618900
    while LOT_SIZE is 0.00001); on USD-M, with ``pricePrecision`` / ``quantityPrecision``.
    A book on these grids is still exact and still refuses anything finer.
    """
    entry = _symbol_entry(exchange_info, symbol)
    try:
        if "pricePrecision" in entry:
            return _decimal_unit(entry["pricePrecision"]), _decimal_unit(entry["quantityPrecision"])
        return _decimal_unit(entry["quotePrecision"]), _decimal_unit(entry["baseAssetPrecision"])
    except KeyError as exc:
        raise InvalidInput(f"{symbol}: exchangeInfo entry lacks {exc}") from None


def _decimal_unit(decimals: int) -> str:
    return "1" if decimals == 0 else "0." + "0" * (decimals - 1) + "1"


def _symbol_entry(exchange_info: dict[str, Any], symbol: str) -> dict[str, Any]:
    for entry in exchange_info.get("symbols", ()):
        if entry.get("symbol") == symbol:
            found: dict[str, Any] = entry
            return found
    raise InvalidInput(f"{symbol} is not in exchangeInfo")


__all__ = ["book_grids", "order_types", "symbol_filters"]
