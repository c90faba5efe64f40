"""Reconciliation's trade reading (``reconcile_exchange``: 24-hour ``startTime`` windows until
the first trade, then ``fromId`` pages) over many pages, against the local exchange, which
applies ``startTime``/``endTime``/``fromId`` as Binance does.

The account trades in bursts spread over days of exchange time (the ``clock_skew`` fault moves
the exchange clock; the reader's gateway re-syncs to it), the reader's page is a few trades,
and what it returns is compared with a direct full read of the account by id: exactly the
trades at or after ``since_ms``, each once, in id order, for spot and USD-M."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from gradtrade.live.reconcile import BelievedState
from gradtrade.live.reconcile_exchange import fetch_exchange_state
from gradtrade.local_exchange import DEFAULT_KEYS
from gradtrade.venue.config import ConnectorConfig
from gradtrade.venue.instruments import symbol_filters
from gradtrade.venue.orders import Answered, OrderGateway
from gradtrade.venue.urls import Market

if TYPE_CHECKING:
    from .reconcile_harness import LocalExchange

KEY, SECRET = next(iter(DEFAULT_KEYS.items()))
SYMBOL = "BTCUSDT"
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
PAGE = 7  # the reader's page: every burst below is close to one page
LOT = {"spot": 0.001, "usdm": 0.002}  # one level each; USD-M orders are 100 USDT at least


@dataclass(frozen=True)
class Burst:
    """One market BUY filling ``fills`` ask levels (one trade each), ``after_ms`` of exchange
    time after the previous burst."""

    after_ms: int
    fills: int


# 79 trades over ~5 days (118 h): bursts larger and smaller than a page, several in one day, days
# with none (a 24 h window with fewer trades than a page, one with more, empty ones)
BURSTS = [
    Burst(0, 6),
    Burst(2 * HOUR_MS, 9),
    Burst(3 * HOUR_MS, 7),
    Burst(30 * HOUR_MS, 3),
    Burst(HOUR_MS, 1),
    Burst(26 * HOUR_MS, 12),
    Burst(5 * HOUR_MS, 7),
    Burst(50 * HOUR_MS, 20),
    Burst(HOUR_MS, 14),
]


class Account:
    """A signed client of one market on the in-process exchange, following its clock."""

    def __init__(self, server: LocalExchange, market: Market) -> None:
        self.server, self.market = server, market
        self.config = ConnectorConfig.for_url(
            server.url, market, api_key=KEY, api_secret=SECRET, timeout_s=5.0
        )
        self.gateway = OrderGateway(self.config)
        self.orders = 0

    async def move_clock(self, by_ms: int) -> None:
        faults = self.server.st.server.state.faults
        self.server.st.run(lambda: faults.skew_clock(faults.clock_skew_ms + by_ms))
        await self.gateway.rest.sync_time()

    def now_ms(self) -> int:
        return self.server.st.server.state.now_ms()

    async def burst(self, fills: int) -> None:
        venue = self.market

        def book() -> None:
            m = self.server.st.server.state.markets[venue][SYMBOL]
            asks = [(60_000.0 + 10 * i, LOT[venue]) for i in range(fills)]
            m.l2.replace([(59_990.0, 1.0)], asks, m.book.last_update_id + 1)

        self.server.st.run(book)
        self.orders += 1
        outcome = await self.gateway.new_order(
            {
                "symbol": SYMBOL,
                "side": "BUY",
                "type": "MARKET",
                "quantity": f"{fills * LOT[venue]:.3f}",
                "newClientOrderId": f"paging-{self.orders}",
            }
        )
        assert isinstance(outcome, Answered), outcome

    async def play(self, bursts: list[Burst]) -> None:
        for b in bursts:
            await self.move_clock(b.after_ms)
            await self.burst(b.fills)

    async def every_trade(self) -> list[tuple[int, int]]:
        """(id, time) of every trade of the account, read directly by id in one request."""
        ex = self.gateway.rest.exchange
        read = ex.fapiPrivateGetUserTrades if self.market == "usdm" else ex.privateGetMyTrades
        body = await read({"symbol": SYMBOL, "fromId": 0, "limit": 1000})
        return [(int(t["id"]), int(t["time"])) for t in body]

    async def since(self, since_ms: int) -> list[tuple[int, int]]:
        """(id, time) of the trades the reconciler reads from ``since_ms``, with a small page."""
        ex = self.gateway.rest.exchange
        info = await (
            ex.fapiPublicGetExchangeInfo() if self.market == "usdm" else ex.publicGetExchangeInfo()
        )
        filters = {SYMBOL: symbol_filters(info, SYMBOL)}
        believed = BelievedState(self.market, filters, {}, frozenset(), since_ms, {})
        state = await fetch_exchange_state(self.gateway, believed, page_limit=PAGE)
        return [(t.trade_id, t.time_ms) for t in state.trades]


@pytest.fixture(params=["spot", "usdm"])
async def account(server: LocalExchange, request: pytest.FixtureRequest) -> AsyncIterator[Account]:
    acct = Account(server, request.param)
    await acct.gateway.rest.sync_time()
    yield acct
    await acct.gateway.close()


def at_or_after(every: list[tuple[int, int]], since_ms: int) -> list[tuple[int, int]]:
    return [t for t in every if t[1] >= since_ms]


async def test_trades_since_reads_every_page_exactly_once(account: Account) -> None:
    await account.play(BURSTS)
    every = await account.every_trade()
    assert len(every) == sum(b.fills for b in BURSTS) and len(every) > 10 * PAGE
    assert [i for i, _ in every] == sorted({i for i, _ in every})  # the direct read's order
    assert every[-1][1] - every[0][1] > 4 * DAY_MS
    bursts = sorted({t for _, t in every})  # each burst's first time, and those after it
    starts = [every[0][1] - 1, every[0][1], every[3][1] + 1, every[-1][1], every[-1][1] + 1]
    starts += [t + d for t in bursts[::7] for d in (-1, 0, 1)]
    for since_ms in sorted(set(starts)):
        got = await account.since(since_ms)
        want = at_or_after(every, since_ms)
        assert got == want, f"from {since_ms}: {len(got)} trades read, {len(want)} expected"


async def test_trades_since_walks_empty_days_to_the_first_trade(account: Account) -> None:
    await account.play([Burst(0, 5), Burst(HOUR_MS, 4)])  # before since_ms: never read
    since_ms = account.now_ms() + 1
    # the first trade 3.5 days after since_ms (three empty 24 h windows first), then bursts
    # over two more days, more than a page each
    await account.play([Burst(84 * HOUR_MS, 10), Burst(20 * HOUR_MS, 8), Burst(30 * HOUR_MS, 9)])
    every = await account.every_trade()
    want = at_or_after(every, since_ms)
    assert len(want) == 27 and want[0][1] - since_ms > 3 * DAY_MS
    assert await account.since(since_ms) == want
    # from further back (still within the reader's 90 days): the same trades plus the first 9
    assert await account.since(since_ms - 40 * DAY_MS) == every
    assert len(every) == 36


async def test_trades_since_after_the_last_trade_is_empty(account: Account) -> None:
    await account.play([Burst(0, 8), Burst(2 * HOUR_MS, 8)])
    await account.move_clock(3 * DAY_MS)
    assert await account.since(account.now_ms() - DAY_MS) == []
