"""Instruments from Binance's ``exchangeInfo``: the order grids and the depth-feed grids.

Invariant: grids are returned as the exact decimal text Binance publishes (never floats), so a
Rust ``OrderBook`` or filter check built from them is exact; a symbol or field missing from
``exchangeInfo`` raises :class:`gradtrade.errors.InvalidInput` naming it.
"""

from __future__ import annotations

from typing import Any

from gradtrade.errors import InvalidInput


def symbol_filters(exchange_info: dict[str, Any], symbol: str) -> tuple[str, str]:
    """``(tickSize, stepSize)`` of ``symbol`` (PRICE_FILTER, LOT_SIZE) as exact decimal text.

    These are the grids for *orders*. For a depth book use :func:`book_grids`: resting levels
    can be off the current filters (orders placed before a filter change).
    """
    entry = _symbol_entry(exchange_info, symbol)
    try:
        filters = {f["filterType"]: f for f in entry["filters"]}
        return filters["PRICE_FILTER"]["tickSize"], filters["LOT_SIZE"]["stepSize"]
    except KeyError as exc:
        raise InvalidInput(f"{symbol}: exchangeInfo entry lacks {exc}") from None


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


__all__ = ["book_grids", "symbol_filters"]
