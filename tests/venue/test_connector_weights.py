"""The connector paces itself by the weight the real local exchange reports: it reads
``X-MBX-USED-WEIGHT-1M`` from every answer, pauses before the budget runs out until the
exchange's next minute, and when the exchange refuses anyway (429) waits ``Retry-After``.

The server clock is moved to a few seconds before a minute boundary (an injected skew the
connector measures like any exchange clock offset), so the waits are seconds, not a minute."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from gradtrade.data.connector import ExchangeConnector
from gradtrade.local_exchange import ExchangeServer
from gradtrade.venue.config import ConnectorConfig

MINUTE = 60_000
DEPTH_500 = 25  # Binance's spot weight of a depth snapshot with limit 101-500


def move_clock_to(server: ExchangeServer, second: float) -> None:
    """Skew the server clock forward to ``second`` into its next minute."""
    state = server.state
    now = state.now_ms()
    target = (now // MINUTE + 1) * MINUTE + int(second * 1000)
    state.faults.skew_clock(state.faults.clock_skew_ms + target - now)


@pytest.fixture
async def tight_server() -> AsyncIterator[ExchangeServer]:
    """A synthetic market whose spot budget is 60 weight a minute."""
    server = ExchangeServer(synthetic=True, seed=4, speed=1e-3, weight_limits={"spot": 60})
    await server.start(0)
    move_clock_to(server, 5.0)
    yield server
    await server.stop()


def server_used(server: ExchangeServer) -> int:
    return server.state.limits.used("spot", "127.0.0.1", server.state.now_ms())


async def test_reads_the_servers_weight_headers(tight_server: ExchangeServer) -> None:
    conn = ExchangeConnector(ConnectorConfig.for_url(tight_server.url, "spot"))
    async with conn:
        assert conn.metrics.used_weight == 1 + 20  # /time + /exchangeInfo
        await conn.order_book_snapshot("BTC/USDT", limit=500)
        assert conn.metrics.used_weight == server_used(tight_server) == 21 + DEPTH_500
    assert conn.rest.weights.limit == 6000  # Binance's spot budget unless configured
    usdm = ConnectorConfig.for_url(tight_server.url, "usdm")
    assert usdm.weight_budget == 2400


async def test_slows_down_before_the_limit(tight_server: ExchangeServer) -> None:
    config = ConnectorConfig.for_url(
        tight_server.url, "spot", weight_limit_per_minute=60, weight_safety=0.75
    )
    async with ExchangeConnector(config) as conn:
        move_clock_to(tight_server, 57.0)  # 3 s before the exchange's minute ends
        await conn.server_time_offset_ms()  # the connector learns the new offset (weight 1)
        started = time.monotonic()
        for _ in range(2):  # 1 + 25 + 25 = 51 >= 45 (75 % of 60): the next call must wait
            await conn.order_book_snapshot("BTC/USDT", limit=500)
        assert conn.metrics.weight_pauses == 0 and conn.metrics.used_weight == 51
        book = await conn.order_book_snapshot("BTC/USDT", limit=500)
        waited = time.monotonic() - started
        assert conn.metrics.weight_pauses == 1
        assert conn.metrics.rate_limited == 0  # it never made the exchange refuse it
        assert conn.metrics.used_weight == DEPTH_500 == server_used(tight_server)  # new window
        assert 2.0 < waited < 10.0
        bid, ask = book.best_bid(), book.best_ask()
        assert bid is not None and ask is not None and bid[0] < ask[0]


async def test_honours_retry_after_when_the_limit_is_hit(tight_server: ExchangeServer) -> None:
    # the connector believes in Binance's 6000, the exchange allows 60: it will be refused
    async with ExchangeConnector(ConnectorConfig.for_url(tight_server.url, "spot")) as conn:
        move_clock_to(tight_server, 57.5)
        await conn.server_time_offset_ms()
        started = time.monotonic()
        for _ in range(2):
            await conn.order_book_snapshot("BTC/USDT", limit=500)  # 26, 51
        book = await conn.order_book_snapshot("BTC/USDT", limit=500)  # 76 > 60: 429, then OK
        waited = time.monotonic() - started
        assert conn.metrics.rate_limited == 1 and conn.metrics.retries == 1
        assert conn.metrics.weight_pauses == 0
        # Retry-After (whole seconds to the minute's end) was honoured: the retry landed in
        # the next window, so the exchange never escalated to a ban
        assert conn.metrics.used_weight == DEPTH_500 == server_used(tight_server)
        assert 2.0 < waited < 10.0
        assert book.best_bid() is not None
