"""Public market-data endpoints of the spot (``/api/v3``) and USD-M (``/fapi/v1``) REST APIs.

Each handler takes the venue and the request parameters and returns the JSON body; refusals are
:class:`ApiError` with Binance's codes. Kline and funding selection follow Binance's rules: with
``startTime`` the first ``limit`` items from there (up to ``endTime``), otherwise the last
``limit`` items up to ``endTime`` or now; ``limit`` is capped at the venue's maximum.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import orjson

from gradtrade.local_exchange.errors import ApiError, bad_symbol, invalid_param
from gradtrade.local_exchange.exchange_info import exchange_info_body
from gradtrade.local_exchange.market import SymbolMarket
from gradtrade.local_exchange.params import Params, opt_int, req
from gradtrade.local_exchange.series import KlineSeries, fmt
from gradtrade.local_exchange.state import ExchangeState
from gradtrade.timeframes import INTERVAL_MS

KLINE_MAX = {"spot": 1000, "usdm": 1500}
DEPTH_MAX = {"spot": 5000, "usdm": 1000}
Handler = Callable[[ExchangeState, str, Params], Any]


def find_market(state: ExchangeState, venue: str, params: Params) -> SymbolMarket:
    symbol = req(params, "symbol").upper()
    m = state.markets[venue].get(symbol)
    if m is None:
        raise bad_symbol()
    return m


def ping(state: ExchangeState, venue: str, params: Params) -> Any:
    return {}


def server_time(state: ExchangeState, venue: str, params: Params) -> Any:
    return {"serverTime": state.now_ms()}


def exchange_info(state: ExchangeState, venue: str, params: Params) -> Any:
    markets = state.markets.get(venue, {})
    wanted = params.get("symbol")
    entries = [m.entry for m in markets.values() if wanted is None or m.symbol == wanted.upper()]
    if wanted is not None and not entries:
        raise bad_symbol()
    return exchange_info_body(venue, entries, state.now_ms(), state.limits.rate_limits(venue))


def empty_exchange_info(state: ExchangeState, venue: str, params: Params) -> Any:
    return {
        "timezone": "UTC",
        "serverTime": state.now_ms(),
        "rateLimits": [],
        "exchangeFilters": [],
        "symbols": [],
    }


def depth(state: ExchangeState, venue: str, params: Params) -> Any:
    m = find_market(state, venue, params)
    limit = opt_int(params, "limit", 100) or 100
    if limit <= 0:
        raise invalid_param("limit")
    limit = min(limit, DEPTH_MAX[venue])
    book = m.book
    cached = m.depth_cache.get(limit)
    if venue == "spot" and cached is not None and cached[0] == book.last_update_id:
        return cached[1]  # the book has not changed since this answer was built
    body: dict[str, Any] = {"lastUpdateId": book.last_update_id}
    if venue == "usdm":
        now = state.now_ms()
        body.update(E=now, T=now)
    body["bids"] = [[fmt(p), fmt(q)] for p, q in book.top_bids(limit)]
    body["asks"] = [[fmt(p), fmt(q)] for p, q in book.top_asks(limit)]
    data = orjson.dumps(body)
    if venue == "spot":
        m.depth_cache[limit] = (book.last_update_id, data)
    return data


def series_for(m: SymbolMarket, interval: str, mark: bool = False) -> KlineSeries:
    store = m.mark_klines if mark else m.klines
    if interval not in INTERVAL_MS:
        raise ApiError(-1120, "Invalid interval.")
    found = store.get(interval)
    if found is not None:
        return found
    step = INTERVAL_MS[interval]
    finer = [s for s in store.values() if step % s.interval_ms == 0 and len(s.open_ms)]
    if not finer:
        raise ApiError(-1120, "Invalid interval.")
    built = max(finer, key=lambda s: s.interval_ms).resample(step)
    store[interval] = built
    return built


def klines(state: ExchangeState, venue: str, params: Params, mark: bool = False) -> Any:
    m = find_market(state, venue, params)
    series = series_for(m, req(params, "interval"), mark)
    limit = opt_int(params, "limit", 500) or 500
    if limit <= 0:
        raise invalid_param("limit")
    start, end = opt_int(params, "startTime"), opt_int(params, "endTime")
    if start is not None and end is not None and start > end:
        raise ApiError(-1023, "Start time is greater than end time.")
    lo, hi = series.window(start, end, min(limit, KLINE_MAX[venue]))
    return series.rows_json(lo, hi)


def mark_klines(state: ExchangeState, venue: str, params: Params) -> Any:
    return klines(state, venue, params, mark=True)


def agg_trades(state: ExchangeState, venue: str, params: Params) -> Any:
    m = find_market(state, venue, params)
    limit = min(opt_int(params, "limit", 500) or 500, 1000)
    from_id, start = opt_int(params, "fromId"), opt_int(params, "startTime")
    end = opt_int(params, "endTime")
    trades = list(m.trades)
    if from_id is not None:
        trades = [t for t in trades if t.id >= from_id][:limit]
    elif start is not None or end is not None:
        lo, hi = start or 0, end if end is not None else 2**62
        trades = [t for t in trades if lo <= t.time_ms <= hi][:limit]
    else:
        trades = trades[-limit:]
    return [
        {
            "a": t.id,
            "p": fmt(t.price),
            "q": fmt(t.qty),
            "f": t.id,
            "l": t.id,
            "T": t.time_ms,
            "m": t.buyer_maker,
            "M": True,
        }
        for t in trades
    ]


def recent_trades(state: ExchangeState, venue: str, params: Params) -> Any:
    m = find_market(state, venue, params)
    limit = min(opt_int(params, "limit", 500) or 500, 1000)
    return [
        {
            "id": t.id,
            "price": fmt(t.price),
            "qty": fmt(t.qty),
            "quoteQty": fmt(t.price * t.qty),
            "time": t.time_ms,
            "isBuyerMaker": t.buyer_maker,
            "isBestMatch": True,
        }
        for t in list(m.trades)[-limit:]
    ]


def ticker_event(state: ExchangeState, m: SymbolMarket) -> dict[str, Any]:
    """The ``<symbol>@ticker`` stream's 24hrTicker event (the REST ticker's numbers)."""
    t = _ticker(state, m)
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


def _ticker(state: ExchangeState, m: SymbolMarket) -> dict[str, Any]:
    last = m.last_price or m.reference_price()
    now = state.now_ms()
    open_, high, low, volume = last, last, last, 0.0
    if m.klines:
        s = min(m.klines.values(), key=lambda k: k.interval_ms)
        if len(s.open_ms):
            lo = int(np.searchsorted(s.open_ms, s.open_ms[-1] - 86_400_000, side="right"))
            window = s.ohlcv[lo:]
            open_, high, low = (
                float(window[0, 0]),
                float(window[:, 1].max()),
                float(window[:, 2].min()),
            )
            volume = float(window[:, 4].sum())
            last = m.last_price or float(window[-1, 3])
    high, low = max(high, last), min(low, last)
    bid, ask = m.book.best_bid() or (last, 0.0), m.book.best_ask() or (last, 0.0)
    change = last - open_
    return {
        "symbol": m.symbol,
        "priceChange": fmt(change),
        "priceChangePercent": fmt(round(100 * change / open_, 3) if open_ else 0.0),
        "weightedAvgPrice": fmt((open_ + last) / 2),
        "prevClosePrice": fmt(open_),
        "lastPrice": fmt(last),
        "lastQty": fmt(m.trades[-1].qty if m.trades else 0.0),
        "bidPrice": fmt(bid[0]),
        "bidQty": fmt(bid[1]),
        "askPrice": fmt(ask[0]),
        "askQty": fmt(ask[1]),
        "openPrice": fmt(open_),
        "highPrice": fmt(high),
        "lowPrice": fmt(low),
        "volume": fmt(volume),
        "quoteVolume": fmt(volume * last),
        "openTime": now - 86_400_000,
        "closeTime": now,
        "firstId": 1,
        "lastId": m.next_trade_id - 1,
        "count": len(m.trades),
    }


def ticker_24hr(state: ExchangeState, venue: str, params: Params) -> Any:
    if "symbol" in params:
        return _ticker(state, find_market(state, venue, params))
    return [_ticker(state, m) for m in state.markets[venue].values()]


def ticker_price(state: ExchangeState, venue: str, params: Params) -> Any:
    def one(m: SymbolMarket) -> dict[str, Any]:
        return {"symbol": m.symbol, "price": fmt(m.last_price or m.reference_price())}

    if "symbol" in params:
        return one(find_market(state, venue, params))
    return [one(m) for m in state.markets[venue].values()]


def book_ticker(state: ExchangeState, venue: str, params: Params) -> Any:
    def one(m: SymbolMarket) -> dict[str, Any]:
        bid, ask = m.book.best_bid() or (0.0, 0.0), m.book.best_ask() or (0.0, 0.0)
        return {
            "symbol": m.symbol,
            "bidPrice": fmt(bid[0]),
            "bidQty": fmt(bid[1]),
            "askPrice": fmt(ask[0]),
            "askQty": fmt(ask[1]),
        }

    if "symbol" in params:
        return one(find_market(state, venue, params))
    return [one(m) for m in state.markets[venue].values()]


def avg_price(state: ExchangeState, venue: str, params: Params) -> Any:
    m = find_market(state, venue, params)
    return {"mins": 5, "price": fmt(m.reference_price()), "closeTime": state.now_ms()}


def funding_rate(state: ExchangeState, venue: str, params: Params) -> Any:
    limit = min(opt_int(params, "limit", 100) or 100, 1000)
    start, end = opt_int(params, "startTime"), opt_int(params, "endTime")
    markets = (
        [find_market(state, venue, params)]
        if "symbol" in params
        else [m for m in state.markets[venue].values() if m.funding is not None]
    )
    out: list[dict[str, Any]] = []
    for m in markets:
        if m.funding is None:
            continue
        f = m.funding
        hi = len(f.time_ms) if end is None else int(np.searchsorted(f.time_ms, end, "right"))
        if start is not None:
            lo = int(np.searchsorted(f.time_ms, start, "left"))
            hi = max(lo, min(hi, lo + limit))
        else:
            lo = max(0, hi - limit)
        out += [
            {
                "symbol": m.symbol,
                "fundingTime": int(f.time_ms[i]),
                "fundingRate": fmt(float(f.rate[i])),
                "markPrice": "",
            }
            for i in range(lo, hi)
        ]
    return out


def _premium(state: ExchangeState, m: SymbolMarket) -> dict[str, Any]:
    now = state.now_ms()
    mark = m.mark_price or m.reference_price()
    next_funding = (now // 28_800_000 + 1) * 28_800_000
    rate = m.funding_rate if m.funding is None or m.live else float(m.funding.rate[-1])
    return {
        "symbol": m.symbol,
        "markPrice": fmt(mark),
        "indexPrice": fmt(mark),
        "estimatedSettlePrice": fmt(mark),
        "lastFundingRate": fmt(rate),
        "interestRate": "0.00010000",
        "nextFundingTime": next_funding,
        "time": now,
    }


def premium_index(state: ExchangeState, venue: str, params: Params) -> Any:
    if "symbol" in params:
        return _premium(state, find_market(state, venue, params))
    return [_premium(state, m) for m in state.markets[venue].values()]


SPOT: dict[str, Handler] = {
    "ping": ping,
    "time": server_time,
    "exchangeInfo": exchange_info,
    "depth": depth,
    "klines": klines,
    "uiKlines": klines,
    "aggTrades": agg_trades,
    "trades": recent_trades,
    "ticker/24hr": ticker_24hr,
    "ticker/price": ticker_price,
    "ticker/bookTicker": book_ticker,
    "avgPrice": avg_price,
}
USDM: dict[str, Handler] = {
    "ping": ping,
    "time": server_time,
    "exchangeInfo": exchange_info,
    "depth": depth,
    "klines": klines,
    "markPriceKlines": mark_klines,
    "aggTrades": agg_trades,
    "trades": recent_trades,
    "ticker/24hr": ticker_24hr,
    "ticker/price": ticker_price,
    "ticker/bookTicker": book_ticker,
    "fundingRate": funding_rate,
    "premiumIndex": premium_index,
}
