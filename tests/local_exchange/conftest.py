"""Fixtures: real exchange servers on free 127.0.0.1 ports (each on its own thread and event
loop), ccxt clients pointed at them by URL, and a bare signed REST client."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import ccxt.pro as ccxtpro
import pytest

from gradtrade.local_exchange import DEFAULT_KEYS, ExchangeServer, ServerThread
from gradtrade.local_exchange.auth import sign
from gradtrade.venue.urls import ccxt_urls

# tests/test_typing.py does `from conftest import REPO_ROOT`; with several conftest.py files the
# module named "conftest" is whichever pytest imported last, so every conftest must define it.
REPO_ROOT = Path(__file__).resolve().parents[2]

KEY, SECRET = next(iter(DEFAULT_KEYS.items()))
SPOT_1M = "klines/spot/BTC_USDT-1m.feather"
FUNDING_8H = "klines/futures/BTC_USDT_USDT-8h-funding_rate.feather"
FUTURES_1H = "klines/futures/BTC_USDT_USDT-1h-futures.feather"


def _templates(data_dir: Path | None) -> Path | None:
    if data_dir is None:
        return None
    return data_dir / "recordings" / "cryptofeed"


def _set_book(st: ServerThread, venue: str, symbol: str, bids: Any, asks: Any) -> None:
    def apply() -> None:
        m = st.server.state.markets[venue][symbol]
        m.l2.replace(bids, asks, m.book.last_update_id + 1)

    st.run(apply)


def _make_ccxt(url: str, market: str = "spot", **config: Any) -> Any:
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


@pytest.fixture(scope="session")
def synthetic_server() -> Iterator[ServerThread]:
    """The built-in synthetic market (no data files), running at 2x speed."""
    with ServerThread(ExchangeServer(synthetic=True, seed=7, speed=2.0)) as st:
        yield st


@pytest.fixture(scope="session")
def replay_server(data_dir: Path) -> Iterator[ServerThread]:
    """Real kline/funding history (feather files) with a synthetic live market on top."""
    server = ExchangeServer(
        replay=[data_dir / SPOT_1M, data_dir / FUNDING_8H, data_dir / FUTURES_1H],
        templates_dir=_templates(data_dir),
        speed=2.0,
    )
    with ServerThread(server) as st:
        yield st


@pytest.fixture
def quiet_server() -> Iterator[ServerThread]:
    """A synthetic market frozen in place (one step per ~1000 s) whose book tests set by hand;
    maker fee 0.05 %, taker fee 0.1 %; the fault endpoint is on."""
    server = ExchangeServer(
        synthetic=True,
        seed=1,
        speed=1e-4,
        fees={"spot": ("0.0005", "0.001"), "usdm": ("0.0002", "0.0005")},
        faults_endpoint=True,
    )
    with ServerThread(server) as st:
        yield st


@pytest.fixture
async def spot(synthetic_server: ServerThread) -> AsyncIterator[Any]:
    ex = _make_ccxt(synthetic_server.url, "spot")
    yield ex
    await ex.close()


@pytest.fixture(scope="session")
def make_ccxt() -> Callable[..., Any]:
    """``make_ccxt(url, market="spot", **config)``: a ccxt.pro client with the default keys."""
    return _make_ccxt


@pytest.fixture(scope="session")
def set_book() -> Callable[..., None]:
    """``set_book(server_thread, venue, symbol, bids, asks)``: replace a synthetic book."""
    return _set_book


@pytest.fixture(scope="session")
def signed() -> type[Signed]:
    """The bare signed REST client class: ``signed(url, key=..., secret=...)``."""
    return Signed


@pytest.fixture(scope="session")
def api_key() -> str:
    return KEY


@pytest.fixture(scope="session")
def api_secret() -> str:
    return SECRET


@pytest.fixture(scope="session")
def templates_dir(data_dir: Path) -> Path | None:
    """The recorded exchangeInfo (cryptofeed recordings) the servers take symbols from."""
    return _templates(data_dir)


@pytest.fixture(scope="session")
def spot_1m_file(data_dir: Path) -> Path:
    return data_dir / SPOT_1M


@pytest.fixture(scope="session")
def funding_8h_file(data_dir: Path) -> Path:
    return data_dir / FUNDING_8H


@pytest.fixture(scope="session")
def exchange_process(templates_dir: Path | None) -> Iterator[Callable[..., str]]:
    """``start(*args)``: ``gradtrade exchange serve --synthetic --faults ...`` in its own
    process (what a third-party client meets); returns its URL. Every process started is
    stopped with SIGTERM when the session ends."""
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> str:
        cmd = [sys.executable, "-m", "gradtrade", "exchange", "serve", "--synthetic"]
        cmd += ["--port", "0", "--faults", *args]
        if templates_dir is not None:
            cmd += ["--templates", str(templates_dir)]
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "python")}
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
        )
        procs.append(proc)
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.stderr else url
        return url

    yield start
    for proc in procs:
        proc.terminate()
        proc.communicate(timeout=20)


@pytest.fixture(scope="module")
def process_server(exchange_process: Callable[..., str]) -> str:
    """One server process (seed 5) shared by a test module."""
    return exchange_process("--seed", "5")
