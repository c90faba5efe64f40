"""Fixtures of the reconciliation tests: a real local exchange (its own thread and event loop,
fresh per test, or ``gradtrade exchange serve`` in its own process), and a trader's objects
(``OrderManager``, ``PortfolioTracker``) driven by the real ``LiveExecutionClient`` against it.

A module beside the trader tests' ``conftest.py`` (which they import as ``conftest``), loaded by
the reconciliation test modules as a plugin (``pytest_plugins``), so its asserts are rewritten
and it is imported once; they import its classes only for type checking."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gradtrade.core import Side, SymbolFilters
from gradtrade.events import FillEvent, IntentKind, OrderIntent
from gradtrade.execution.client import Ack, ExecutionEvent, VenueReject
from gradtrade.execution.config import ExecutionConfig
from gradtrade.execution.live import LiveClientConfig, LiveExecutionClient
from gradtrade.execution.orders import OrderManager
from gradtrade.execution.portfolio import PortfolioTracker
from gradtrade.live.reconcile import BelievedState, ExchangeState, ReconcileConfig
from gradtrade.live.reconcile_apply import believed_state
from gradtrade.live.reconcile_exchange import fetch_exchange_state
from gradtrade.local_exchange import DEFAULT_KEYS, ExchangeServer, ServerThread
from gradtrade.venue.config import ConnectorConfig
from gradtrade.venue.instruments import symbol_filters
from gradtrade.venue.orders import Answered, OrderGateway
from gradtrade.venue.urls import Market

REPO_ROOT = Path(__file__).resolve().parents[2]
KEY, SECRET = next(iter(DEFAULT_KEYS.items()))
SYMBOL = "BTCUSDT"


@pytest.fixture
def server() -> Iterator[LocalExchange]:
    """A synthetic market frozen in place (one step per ~1000 s): resting orders stay resting;
    taker fee 0.1 % spot, 0.05 % USD-M."""
    server = ExchangeServer(
        synthetic=True,
        seed=11,
        speed=1e-4,
        fees={"spot": ("0.0005", "0.001"), "usdm": ("0.0002", "0.0005")},
    )
    with ServerThread(server) as st:
        yield LocalExchange(st)


class LocalExchange:
    """The in-process exchange of a test, with what only a test can do to it."""

    def __init__(self, st: ServerThread) -> None:
        self.st, self.url = st, st.url

    def out_of_band(self, asset: str, amount: str) -> None:
        """A deposit (or, negative, a withdrawal) of the spot account that no order made."""
        accounts = self.st.server.trading.accounts
        self.st.run(lambda: accounts[KEY].move(asset, free=Decimal(amount)))

    def cross_book(self, venue: str, price: float, tick: float) -> None:
        """Move the synthetic book one tick through ``price`` from above (the best ask below
        it): a resting BUY there is filled by the market, as a falling market fills it."""
        state = self.st.server.state

        def apply() -> None:
            m = state.markets[venue][SYMBOL]
            m.l2.replace(
                [(price - 3 * tick, 1.0)], [(price - tick, 1.0)], m.book.last_update_id + 1
            )
            for listener in state.book_listeners:
                listener(m)

        self.st.run(apply)


class Trader:
    """What the trader holds (manager, portfolio) and the live client it trades through;
    ``drop`` decides which venue events never reach the manager (the trader was down)."""

    def __init__(self, url: str, market: Market, style: str = "market") -> None:
        self.url, self.market = url, market
        self.connector = ConnectorConfig.for_url(
            url, market, api_key=KEY, api_secret=SECRET, timeout_s=2.0
        )
        self.gateway = OrderGateway(self.connector)  # the reconciler's own connection
        self.config = ExecutionConfig(style=style, session=1)  # type: ignore[arg-type]
        self.since_ms = int(time.time() * 1000) - 1000
        self.filters: dict[str, SymbolFilters] = {}
        self.opening: dict[str, float] = {}

    async def start(self) -> None:
        await self.gateway.rest.sync_time()
        info = self.gateway.rest.exchange
        body = await (
            info.fapiPublicGetExchangeInfo()
            if self.market == "usdm"
            else info.publicGetExchangeInfo()
        )
        self.filters = {SYMBOL: symbol_filters(body, SYMBOL)}
        empty = BelievedState(self.market, self.filters, {}, frozenset(), self.since_ms, {})
        state = await fetch_exchange_state(self.gateway, empty)
        f = self.filters[SYMBOL]
        self.opening = {
            a: state.balances[a].total
            for a in (f.base_asset, f.quote_asset)
            if a is not None and a in state.balances
        }
        quote = f.quote_asset or "USDT"
        self.manager = OrderManager("rc", self.filters, self.config)
        self.portfolio = PortfolioTracker(self.opening[quote], self.filters, quote)
        self.client = LiveExecutionClient(
            self.connector, self.filters, LiveClientConfig(poll_interval_s=0.2)
        )
        await self.client.start()

    async def close(self) -> None:
        await self.client.close()
        await self.gateway.close()

    async def best(self) -> tuple[float, float]:
        ex = self.gateway.rest.exchange
        fetch = ex.fapiPublicGetDepth if self.market == "usdm" else ex.publicGetDepth
        book = await fetch({"symbol": SYMBOL, "limit": 5})
        return float(book["bids"][0][0]), float(book["asks"][0][0])

    async def target(
        self, qty: float, drop: Callable[[ExecutionEvent], bool] = lambda e: False
    ) -> str:
        """Work the position toward ``qty``; returns the client id once the venue has filled
        (market style) or acknowledged (post-only) it, every event fed unless dropped."""
        bid, ask = await self.best()
        now = time.time_ns()
        position = self.portfolio.quantity(SYMBOL) if self.market == "usdm" else self.position
        intent = OrderIntent(SYMBOL, now, qty, IntentKind.REBALANCE, ask)
        plan = self.manager.plan(intent, position, now, bid if qty > position else ask)
        (proposal,) = plan.proposals
        request = self.manager.send(proposal, now)
        self.client.submit(request)
        cid = request.client_order_id
        events: list[ExecutionEvent] = []
        deadline = time.monotonic() + 10

        def done() -> bool:
            assert not any(isinstance(e, VenueReject) for e in events), events
            if self.config.style == "post_only":
                return any(isinstance(e, Ack) for e in events)
            got = sum(e.qty for e in events if isinstance(e, FillEvent))
            return abs(got - request.qty) < 1e-12

        while not done():
            assert time.monotonic() < deadline, f"order {cid} did not finish: {events}"
            await asyncio.sleep(0.05)
            events += self.client.poll()
        await asyncio.sleep(0.3)  # the websocket copies of the same reports
        events += self.client.poll()
        for event in events:
            if not drop(event):
                self.feed(event)
        return cid

    @property
    def position(self) -> float:
        """Spot: what the trader traded (the portfolio's base quantity, gross of fees)."""
        return self.portfolio.positions[SYMBOL].quantity

    def feed(self, event: ExecutionEvent) -> None:
        fill, _ = self.manager.on_event(event)
        if fill is not None:
            self.portfolio.apply_fill(fill)

    def believed(self) -> BelievedState:
        return believed_state(
            self.market, self.manager, self.portfolio, self.opening, self.since_ms
        )

    async def exchange_state(self) -> ExchangeState:
        return await fetch_exchange_state(self.gateway, self.believed())

    async def direct(self, cid: str, side: Side, qty: str, price: str | None = None) -> Any:
        """An order placed on the account by someone else (another program, a person)."""
        params: dict[str, Any] = {
            "symbol": SYMBOL,
            "side": "BUY" if side == Side.BUY else "SELL",
            "quantity": qty,
            "newClientOrderId": cid,
        }
        if price is None:
            params["type"] = "MARKET"
        else:
            params.update(type="LIMIT", timeInForce="GTC", price=price)
        outcome = await self.gateway.new_order(params)
        assert isinstance(outcome, Answered), outcome
        return outcome.body


@pytest.fixture
async def spot_trader(server: LocalExchange) -> AsyncIterator[Trader]:
    trader = Trader(server.url, "spot")
    await trader.start()
    yield trader
    await trader.close()


@pytest.fixture
async def resting_trader(server: LocalExchange) -> AsyncIterator[Trader]:
    """A spot trader whose orders rest post-only at the best price of its side."""
    trader = Trader(server.url, "spot", style="post_only")
    await trader.start()
    yield trader
    await trader.close()


@pytest.fixture
async def usdm_trader(server: LocalExchange) -> AsyncIterator[Trader]:
    trader = Trader(server.url, "usdm")
    await trader.start()
    yield trader
    await trader.close()


@pytest.fixture
def exchange_process() -> Iterator[str]:
    """``gradtrade exchange serve`` in its own process (frozen synthetic market, default
    keys); its URL is the first line it prints."""
    cmd = [
        sys.executable,
        "-m",
        "gradtrade",
        "exchange",
        "serve",
        "--synthetic",
        "--seed",
        "11",
        "--speed",
        "0.0001",
        "--port",
        "0",
        "--api-key",
        KEY,
        "--api-secret",
        SECRET,
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "python")}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://"):
        proc.kill()
        pytest.fail(f"exchange did not start: {url!r}")
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture(params=["spot", "usdm"])
async def process_trader(
    exchange_process: str, request: pytest.FixtureRequest
) -> AsyncIterator[Trader]:
    """A trader of each market against the exchange in its own process."""
    trader = Trader(exchange_process, request.param)
    await trader.start()
    yield trader
    await trader.close()


@pytest.fixture
def adopt_config() -> ReconcileConfig:
    return ReconcileConfig(adopt_unknown=True)
