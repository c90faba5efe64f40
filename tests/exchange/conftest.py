"""Fixtures: real exchange servers on free 127.0.0.1 ports (each on its own thread and event
loop), ccxt clients pointed at them by URL, and a minimal signed REST client."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import ccxt.pro as ccxtpro
import pytest

from gradtrade.exchange import DEFAULT_KEYS, ExchangeServer, ServerThread, ccxt_urls
from gradtrade.exchange.auth import sign

KEY, SECRET = next(iter(DEFAULT_KEYS.items()))
SPOT_1M = "klines/spot/BTC_USDT-1m.feather"
FUNDING_8H = "klines/futures/BTC_USDT_USDT-8h-funding_rate.feather"
FUTURES_1H = "klines/futures/BTC_USDT_USDT-1h-futures.feather"


def templates(data_dir: Path | None) -> Path | None:
    if data_dir is None:
        return None
    return data_dir / "recordings" / "cryptofeed"


@pytest.fixture(scope="session")
def synthetic_server() -> Iterator[ServerThread]:
    """The built-in synthetic market (no data files), running at 5x speed."""
    with ServerThread(ExchangeServer(synthetic=True, seed=7, speed=5.0)) as st:
        yield st


@pytest.fixture(scope="session")
def replay_server(data_dir: Path) -> Iterator[ServerThread]:
    """Real kline/funding history (feather files) with a synthetic live market on top."""
    server = ExchangeServer(
        replay=[data_dir / SPOT_1M, data_dir / FUNDING_8H, data_dir / FUTURES_1H],
        templates_dir=templates(data_dir),
        speed=5.0,
    )
    with ServerThread(server) as st:
        yield st


@pytest.fixture
def quiet_server() -> Iterator[ServerThread]:
    """A synthetic market frozen in place (one step per ~1000 s) whose book tests set by hand;
    maker fee 0.05 %, taker fee 0.1 %."""
    server = ExchangeServer(
        synthetic=True,
        seed=1,
        speed=1e-4,
        fees={"spot": ("0.0005", "0.001"), "usdm": ("0.0002", "0.0005")},
    )
    with ServerThread(server) as st:
        yield st


def set_book(st: ServerThread, venue: str, symbol: str, bids: Any, asks: Any) -> None:
    def apply() -> None:
        m = st.server.state.markets[venue][symbol]
        m.l2.replace(bids, asks, m.book.last_update_id + 1)

    st.run(apply)


def make_ccxt(url: str, market: str = "spot", **config: Any) -> Any:
    cls = ccxtpro.binance if market == "spot" else ccxtpro.binanceusdm
    return cls({"urls": ccxt_urls(url, market), "apiKey": KEY, "secret": SECRET, **config})


@pytest.fixture
async def spot(synthetic_server: ServerThread) -> AsyncIterator[Any]:
    ex = make_ccxt(synthetic_server.url, "spot")
    yield ex
    await ex.close()


@pytest.fixture
async def usdm(synthetic_server: ServerThread) -> AsyncIterator[Any]:
    ex = make_ccxt(synthetic_server.url, "usdm")
    yield ex
    await ex.close()


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
