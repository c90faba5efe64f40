"""Helpers of the exchange tests (a uniquely named module: every test folder has a conftest)."""

from __future__ import annotations

import time
import urllib.parse
from pathlib import Path
from typing import Any

import aiohttp
import ccxt.pro as ccxtpro

from gradtrade.local_exchange import DEFAULT_KEYS, ServerThread
from gradtrade.local_exchange.auth import sign
from gradtrade.venue.urls import ccxt_urls

KEY, SECRET = next(iter(DEFAULT_KEYS.items()))
SPOT_1M = "klines/spot/BTC_USDT-1m.feather"
FUNDING_8H = "klines/futures/BTC_USDT_USDT-8h-funding_rate.feather"
FUTURES_1H = "klines/futures/BTC_USDT_USDT-1h-futures.feather"


def templates(data_dir: Path | None) -> Path | None:
    if data_dir is None:
        return None
    return data_dir / "recordings" / "cryptofeed"


def set_book(st: ServerThread, venue: str, symbol: str, bids: Any, asks: Any) -> None:
    def apply() -> None:
        m = st.server.state.markets[venue][symbol]
        m.l2.replace(bids, asks, m.book.last_update_id + 1)

    st.run(apply)


def make_ccxt(url: str, market: str = "spot", **config: Any) -> Any:
    cls = ccxtpro.binance if market == "spot" else ccxtpro.binanceusdm
    return cls({"urls": ccxt_urls(url, market), "apiKey": KEY, "secret": SECRET, **config})


class Signed:
    """A bare signed REST client (what any Binance client does), for exact request control."""

    def __init__(self, url: str, key: str = KEY, secret: str = SECRET) -> None:
        self.url, self.key, self.secret = url, key, secret

    async def request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        signed: bool = True,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        query = dict(params or {})
        if signed:
            query["timestamp"] = timestamp if timestamp is not None else int(time.time() * 1000)
        text = urllib.parse.urlencode(query)
        if signed:
            text += "&signature=" + (signature or sign(self.secret, text))
        hdrs = {"X-MBX-APIKEY": self.key} if self.key else {}
        hdrs.update(headers or {})
        async with aiohttp.ClientSession() as session:
            if method in ("GET", "DELETE"):
                resp = await session.request(method, f"{self.url}{path}?{text}", headers=hdrs)
            else:
                hdrs["Content-Type"] = "application/x-www-form-urlencoded"
                resp = await session.request(method, f"{self.url}{path}", data=text, headers=hdrs)
            async with resp:
                return resp.status, await resp.json(content_type=None), dict(resp.headers)
