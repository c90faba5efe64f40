"""Ticker endpoints and events: 24h and rolling-window statistics, last price, book ticker and
average price, with Binance's ``symbol`` / ``symbols`` parameters.

Invariant: one window's statistics come from one source, the market's 1m candles (closed ones
plus the open one), so ``count == lastId - firstId + 1`` whenever trades happened in the window
(ids are consecutive) and ``firstId == lastId == -1`` with ``count == 0`` otherwise, and the
REST ticker, the rolling ticker and the ``@ticker`` stream agree.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import orjson

from gradtrade.local_exchange.candles import MINUTE_MS
from gradtrade.local_exchange.errors import ILLEGAL_CHARS, ApiError, bad_symbol, mandatory
from gradtrade.local_exchange.market import SymbolMarket
from gradtrade.local_exchange.params import Params
from gradtrade.local_exchange.state import ExchangeState

DAY_MS = 86_400_000
_SYMBOLS = re.compile(r'^\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\]$')
_SYMBOLS_RANGE = '^\\[("[A-Z0-9-_.]{1,20}"(,"[A-Z0-9-_.]{1,20}"){0,}){0,1}\\]$'
_WINDOW = re.compile(r"^([1-9][0-9]?)([mhd])$")
_WINDOW_MAX = {"m": 59, "h": 23, "d": 7}
_UNIT_MS = {"m": MINUTE_MS, "h": 3_600_000, "d": DAY_MS}


def chosen_markets(state: ExchangeState, venue: str, params: Params) -> list[SymbolMarket] | None:
    """The markets named by ``symbol`` or ``symbols`` (None: neither, all markets)."""
    markets = state.markets[venue]
    one, many = params.get("symbol"), params.get("symbols")
    if one is not None and many is not None:
        raise ApiError(-1128, "Combination of optional parameters invalid.")
    if one is not None:
        if not one:
            raise mandatory("symbol")
        found = markets.get(one.upper())
        if found is None:
            raise bad_symbol()
        return [found]
    if many is None:
        return None
    if not _SYMBOLS.match(many):
        raise ApiError(
            ILLEGAL_CHARS,
            f"Illegal characters found in parameter 'symbols'; legal range is '{_SYMBOLS_RANGE}'.",
        )
    names = orjson.loads(many)
    if not names:
        raise mandatory("symbols")
    out = []
    for name in names:
        if name not in markets:
            raise bad_symbol()
        out.append(markets[name])
    return out


def _each(state: ExchangeState, venue: str, params: Params, one: Any) -> Any:
    chosen = chosen_markets(state, venue, params)
    if chosen is not None and "symbol" in params:
        return one(chosen[0])
    return [one(m) for m in (chosen if chosen is not None else state.markets[venue].values())]


def window_stats(state: ExchangeState, m: SymbolMarket, window_ms: int) -> dict[str, Any]:
    """Binance's ticker body for the ``window_ms`` that ends now."""
    n = m.numbers
    now = state.now_ms()
    since = now - window_ms
    live = state.candles.current(m, MINUTE_MS)
    series = m.klines.get("1m")
    if series is None and m.klines:
        series = min(m.klines.values(), key=lambda s: s.interval_ms)
    last = m.last_price or m.reference_price()
    open_, high, low, volume, quote, count = last, last, last, 0.0, 0.0, 0
    if live is not None:
        open_, high, low, last = live.o, live.h, live.l, live.c
        volume, quote, count = live.v, live.q, live.n
    if series is not None and len(series.open_ms):
        # without a live market the window ends with the last candle of history
        end = (
            since + window_ms if live is not None else int(series.open_ms[-1]) + series.interval_ms
        )
        lo = int(np.searchsorted(series.open_ms, end - window_ms, side="left"))
        rows, extra = series.ohlcv[lo:], series.extra()[lo:]
        if len(rows):
            open_ = float(rows[0, 0])
            high, low = max(high, float(rows[:, 1].max())), min(low, float(rows[:, 2].min()))
            volume, quote = volume + float(rows[:, 4].sum()), quote + float(extra[:, 0].sum())
            count += int(extra[:, 1].sum())
            if live is None:
                last = float(rows[-1, 3])
                high, low = float(rows[:, 1].max()), float(rows[:, 2].min())
    first, last_id = -1, -1
    if count:
        first = state.candles.first_trade_since(m, since)
        last_id = m.next_trade_id - 1
        count = last_id - first + 1 if first >= 0 else count
    bid, ask = m.book.best_bid() or (last, 0.0), m.book.best_ask() or (last, 0.0)
    change = last - open_
    return {
        "symbol": m.symbol,
        "priceChange": n.px(change),
        "priceChangePercent": f"{100 * change / open_ if open_ else 0.0:.3f}",
        "weightedAvgPrice": n.px(quote / volume if volume else last),
        "prevClosePrice": n.px(open_),
        "lastPrice": n.px(last),
        "lastQty": n.q(m.trades[-1].qty if m.trades else 0.0),
        "bidPrice": n.px(bid[0]),
        "bidQty": n.q(bid[1]),
        "askPrice": n.px(ask[0]),
        "askQty": n.q(ask[1]),
        "openPrice": n.px(open_),
        "highPrice": n.px(high),
        "lowPrice": n.px(low),
        "volume": n.q(volume),
        "quoteVolume": n.quote_amount(quote),
        "openTime": since,
        "closeTime": now,
        "firstId": first,
        "lastId": last_id,
        "count": count,
    }


def ticker_event(state: ExchangeState, m: SymbolMarket) -> dict[str, Any]:
    """The ``<symbol>@ticker`` stream's 24hrTicker event (the REST ticker's numbers)."""
    t = window_stats(state, m, DAY_MS)
    return {
        "e": "24hrTicker",
        "E": t["closeTime"],
        "s": m.symbol,
        "p": t["priceChange"],
        "P": t["priceChangePercent"],
        "w": t["weightedAvgPrice"],
        "x": t["prevClosePrice"],
        "c": t["lastPrice"],
        "Q": t["lastQty"],
        "b": t["bidPrice"],
        "B": t["bidQty"],
        "a": t["askPrice"],
        "A": t["askQty"],
        "o": t["openPrice"],
        "h": t["highPrice"],
        "l": t["lowPrice"],
        "v": t["volume"],
        "q": t["quoteVolume"],
        "O": t["openTime"],
        "C": t["closeTime"],
        "F": t["firstId"],
        "L": t["lastId"],
        "n": t["count"],
    }


def ticker_24hr(state: ExchangeState, venue: str, params: Params) -> Any:
    return _each(state, venue, params, lambda m: window_stats(state, m, DAY_MS))


def rolling_ticker(state: ExchangeState, venue: str, params: Params) -> Any:
    """``/api/v3/ticker``: the same statistics over ``windowSize`` (1m..59m, 1h..23h, 1d..7d;
    default 1d); Binance requires ``symbol`` or ``symbols`` here."""
    raw = params.get("windowSize", "1d")
    match = _WINDOW.match(raw)
    if match is None or int(match.group(1)) > _WINDOW_MAX[match.group(2)]:
        raise ApiError(-1100, f"Invalid windowSize {raw!r}.")
    window = int(match.group(1)) * _UNIT_MS[match.group(2)]
    if "symbol" not in params and "symbols" not in params:
        raise ApiError(-1102, "Param 'symbol' or 'symbols' must be sent, but both were empty/null!")

    def one(m: SymbolMarket) -> dict[str, Any]:
        body = window_stats(state, m, window)
        for name in ("prevClosePrice", "lastQty", "bidPrice", "bidQty", "askPrice", "askQty"):
            del body[name]
        return body

    return _each(state, venue, params, one)


def ticker_price(state: ExchangeState, venue: str, params: Params) -> Any:
    def one(m: SymbolMarket) -> dict[str, Any]:
        return {"symbol": m.symbol, "price": m.numbers.px(m.last_price or m.reference_price())}

    return _each(state, venue, params, one)


def book_ticker(state: ExchangeState, venue: str, params: Params) -> Any:
    def one(m: SymbolMarket) -> dict[str, Any]:
        n = m.numbers
        bid, ask = m.book.best_bid() or (0.0, 0.0), m.book.best_ask() or (0.0, 0.0)
        return {
            "symbol": m.symbol,
            "bidPrice": n.px(bid[0]),
            "bidQty": n.q(bid[1]),
            "askPrice": n.px(ask[0]),
            "askQty": n.q(ask[1]),
        }

    return _each(state, venue, params, one)


def avg_price(state: ExchangeState, venue: str, params: Params) -> Any:
    chosen = chosen_markets(state, venue, {"symbol": params.get("symbol", "")})
    assert chosen is not None
    m = chosen[0]
    return {"mins": 5, "price": m.numbers.px(m.reference_price()), "closeTime": state.now_ms()}
