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

from gradtrade.local_exchange import candles
from gradtrade.local_exchange.errors import ApiError, bad_symbol
from gradtrade.local_exchange.exchange_info import exchange_info_body
from gradtrade.local_exchange.market import SymbolMarket
from gradtrade.local_exchange.params import Params, limit_param, opt_int, req
from gradtrade.local_exchange.series import KlineSeries, fixed
from gradtrade.local_exchange.state import ExchangeState
from gradtrade.local_exchange.tickers import (
    avg_price,
    book_ticker,
    rolling_ticker,
    ticker_24hr,
    ticker_price,
)
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
    limit = min(limit_param(params, 100), DEPTH_MAX[venue])
    book = m.book
    cached = m.depth_cache.get(limit)
    if venue == "spot" and cached is not None and cached[0] == book.last_update_id:
        return cached[1]  # the book has not changed since this answer was built
    body: dict[str, Any] = {"lastUpdateId": book.last_update_id}
    if venue == "usdm":
        now = state.now_ms()
        body.update(E=now, T=now)
    n = m.numbers
    body["bids"] = [[n.px(p), n.q(q)] for p, q in book.top_bids(limit)]
    body["asks"] = [[n.px(p), n.q(q)] for p, q in book.top_asks(limit)]
    data = orjson.dumps(body)
    if venue == "spot":
        m.depth_cache[limit] = (book.last_update_id, data)
    return data


def series_for(m: SymbolMarket, interval: str, mark: bool = False) -> KlineSeries | None:
    """The closed candles of ``interval``: a native series, else one resampled from the
    coarsest native series that divides it (rebuilt when that one has grown); None: no data."""
    if interval not in INTERVAL_MS:
        raise ApiError(-1120, "Invalid interval.")
    store = m.mark_klines if mark else m.klines
    found = store.get(interval)
    if found is not None:
        return found
    step = INTERVAL_MS[interval]
    finer = [s for s in store.values() if step % s.interval_ms == 0 and len(s.open_ms)]
    if not finer:
        return None
    base = max(finer, key=lambda s: s.interval_ms)
    key = ("mark:" if mark else "") + interval
    cached = m.derived.get(key)
    if cached is not None and cached[0] == len(base.open_ms):
        return cached[1]
    built = base.resample(step)
    m.derived[key] = (len(base.open_ms), built)
    return built


def klines(state: ExchangeState, venue: str, params: Params, mark: bool = False) -> Any:
    """Closed candles, then the open one (as Binance: the last row of a window that reaches
    now is the candle still in progress, the same numbers the kline stream sends)."""
    m = find_market(state, venue, params)
    interval = req(params, "interval")
    series = series_for(m, interval, mark)
    limit = min(limit_param(params, 500), KLINE_MAX[venue])
    start, end = opt_int(params, "startTime"), opt_int(params, "endTime")
    if start is not None and end is not None and start > end:
        raise ApiError(-1023, "Start time is greater than end time.")
    live = None if mark else state.candles.current(m, INTERVAL_MS[interval])
    if live is not None and not (
        (end is None or end >= live.open_ms)
        and (start is None or start < live.open_ms + live.interval_ms)
    ):
        live = None
    rows: list[bytes] = []
    if series is not None:
        n = len(series.open_ms)
        if live is not None:  # a resampled bucket still in progress is the open candle
            n = int(np.searchsorted(series.open_ms, live.open_ms, side="left"))
        hi = n if end is None else min(n, int(np.searchsorted(series.open_ms, end, "right")))
        if start is not None:
            lo = int(np.searchsorted(series.open_ms, start, side="left"))
            hi = max(lo, min(hi, lo + limit))
        else:
            lo = max(0, hi - (limit - 1 if live is not None else limit))
        rows = series.rows(lo, hi)
    if live is not None and len(rows) < limit:
        rows = [*rows, candles.kline_row(m, live)]
    return b"[" + b",".join(rows) + b"]"


def mark_klines(state: ExchangeState, venue: str, params: Params) -> Any:
    return klines(state, venue, params, mark=True)


def _trade_window(m: SymbolMarket, params: Params, default: int) -> list[Any]:
    limit = min(limit_param(params, default), 1000)
    from_id, start = opt_int(params, "fromId"), opt_int(params, "startTime")
    end = opt_int(params, "endTime")
    if start is not None and end is not None and start > end:
        raise ApiError(-1023, "Start time is greater than end time.")
    trades = list(m.trades)
    if from_id is not None:
        return [t for t in trades if t.id >= from_id][:limit]
    if start is not None or end is not None:
        lo, hi = start or 0, end if end is not None else 2**62
        return [t for t in trades if lo <= t.time_ms <= hi][:limit]
    return trades[-limit:]


def agg_trades(state: ExchangeState, venue: str, params: Params) -> Any:
    m = find_market(state, venue, params)
    n = m.numbers
    return [
        {
            "a": t.id,
            "p": n.px(t.price),
            "q": n.q(t.qty),
            "f": t.id,
            "l": t.id,
            "T": t.time_ms,
            "m": t.buyer_maker,
            "M": True,
        }
        for t in _trade_window(m, params, 500)
    ]


def recent_trades(state: ExchangeState, venue: str, params: Params) -> Any:
    """``trades`` (the last ``limit``) and ``historicalTrades`` (from ``fromId``; only the
    last 1000 trades are kept, older ids answer from the oldest kept)."""
    m = find_market(state, venue, params)
    n = m.numbers
    limit = min(limit_param(params, 500), 1000)
    from_id = opt_int(params, "fromId")
    trades = list(m.trades)
    chosen = [t for t in trades if t.id >= from_id][:limit] if from_id else trades[-limit:]
    return [
        {
            "id": t.id,
            "price": n.px(t.price),
            "qty": n.q(t.qty),
            "quoteQty": n.quote_amount(t.price * t.qty),
            "time": t.time_ms,
            "isBuyerMaker": t.buyer_maker,
            "isBestMatch": True,
        }
        for t in chosen
    ]


def funding_rate(state: ExchangeState, venue: str, params: Params) -> Any:
    limit = min(limit_param(params, 100), 1000)
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
                "fundingRate": fixed(float(f.rate[i]), 8),
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
        "markPrice": fixed(mark, 8),
        "indexPrice": fixed(mark, 8),
        "estimatedSettlePrice": fixed(mark, 8),
        "lastFundingRate": fixed(rate, 8),
        "interestRate": "0.00010000",
        "nextFundingTime": next_funding,
        "time": now,
    }


def premium_index(state: ExchangeState, venue: str, params: Params) -> Any:
    if "symbol" in params:
        return _premium(state, find_market(state, venue, params))
    return [_premium(state, m) for m in state.markets[venue].values()]


def open_interest(state: ExchangeState, venue: str, params: Params) -> Any:
    """Open interest: the long positions the server's accounts hold (the simulated market is
    the other side of each)."""
    m = find_market(state, venue, params)
    total = state.open_interest.get(m.symbol, 0.0)
    return {"openInterest": m.numbers.q(total), "symbol": m.symbol, "time": state.now_ms()}


SPOT: dict[str, Handler] = {
    "ping": ping,
    "time": server_time,
    "exchangeInfo": exchange_info,
    "depth": depth,
    "klines": klines,
    "uiKlines": klines,
    "aggTrades": agg_trades,
    "trades": recent_trades,
    "historicalTrades": recent_trades,
    "ticker": rolling_ticker,
    "ticker/24hr": ticker_24hr,
    "ticker/tradingDay": ticker_24hr,
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
    "historicalTrades": recent_trades,
    "ticker/24hr": ticker_24hr,
    "ticker/price": ticker_price,
    "ticker/bookTicker": book_ticker,
    "openInterest": open_interest,
    "fundingRate": funding_rate,
    "premiumIndex": premium_index,
}
