"""A clock sync started at a bar (``RestClient.sync_time_soon``) holds the requests made while it
is in flight, REST calls and signed order-gateway requests alike, so a signed order never
carries the offset from before the venue's clock moved; the local exchange (its own process,
its clock moved a day ahead by the ``clock_skew`` fault) is the venue."""

from __future__ import annotations

import asyncio

from gradtrade.venue.config import ConnectorConfig
from gradtrade.venue.orders import Answered, OrderGateway

from .harness import KEY, SECRET, SYMBOL, Exchange

DAY_MS = 86_400_000


async def _held(exchange: Exchange) -> tuple[list[str], float, float]:
    config = ConnectorConfig.for_url(exchange.url, api_key=KEY, api_secret=SECRET)
    gateway = OrderGateway(config)
    rest = gateway.rest
    try:
        before = await rest.sync_time()
        await asyncio.to_thread(exchange.arm, kind="clock_skew", ms=DAY_MS)
        release, order = asyncio.Event(), []

        async def sync() -> None:
            await release.wait()  # a slow round trip
            await rest.sync_time()
            order.append("synced")

        task = rest.sync_time_soon(sync)
        assert rest.sync_time_soon(sync) is task  # one sync at a time

        async def request() -> None:
            await rest.call("fetch_time", rest.exchange.fetch_time)
            order.append(f"request at offset {rest.metrics.clock_offset_ms - before:.0f}")

        async def signed() -> None:  # signed with the last offset it would be -1021
            outcome = await gateway.open_orders(SYMBOL)
            order.append(f"signed {type(outcome).__name__}")
            assert isinstance(outcome, Answered), outcome

        held = [asyncio.create_task(request()), asyncio.create_task(signed())]
        await asyncio.sleep(0.3)
        assert order == []  # both wait for the sync in flight
        abandoned = asyncio.create_task(request())
        await asyncio.sleep(0.05)
        abandoned.cancel()  # a caller giving up does not cancel the sync it waits for
        await asyncio.sleep(0.05)
        assert not task.done()
        release.set()
        await asyncio.gather(*held)
        after = rest.metrics.clock_offset_ms
        assert task.done() and not task.cancelled()
        return order, before, after
    finally:
        await asyncio.to_thread(exchange.arm, kind="clear")
        await rest.close()


def test_requests_made_during_a_clock_sync_wait_for_its_offset(exchange: Exchange) -> None:
    order, before, after = asyncio.run(_held(exchange))
    assert order[0] == "synced" and sorted(order[1:]) == [
        f"request at offset {after - before:.0f}",
        "signed Answered",
    ]  # the cancelled caller never sent
    assert abs(after - before - DAY_MS) < 1_000  # the sync saw the moved clock
