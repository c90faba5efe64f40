"""The metrics server on its own: what /metrics and /healthz answer over real HTTP, a taken port
as a typed error naming it, a failing collector as a 500 that does not stop the server, config
validation naming the field, and the health rules with a controlled clock."""

from __future__ import annotations

import socket

import aiohttp
import pytest

from gradtrade.config import validate
from gradtrade.core import TradingState
from gradtrade.errors import ConfigError, InvalidInput
from gradtrade.live.telemetry import Telemetry
from gradtrade.monitoring import (
    AccountSnapshot,
    HealthReason,
    JournalStatus,
    MetricsServer,
    MonitoringConfig,
    StreamRegistry,
    SymbolSnapshot,
    assess,
)


class FakeClock:
    """A wall clock the test moves (the stream ages are what is under test)."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def account(breaker: TradingState) -> AccountSnapshot:
    sym = SymbolSnapshot("BTCUSDT", 0.1, 4000.0, 0.4, 0.0, 0.0, breaker, 0.0, 0)
    return AccountSnapshot("USDT", 10_000.0, 6_000.0, 1.0, 0.0, 0.0, 0.0, (sym,))


def test_health_rules_with_a_controlled_clock() -> None:
    clock = FakeClock()
    streams = StreamRegistry(clock)
    kline, user = streams.stream("btcusdt@kline_1m"), streams.stream("user_data")
    journal = JournalStatus()

    def check() -> list[HealthReason]:
        active = account(TradingState.ACTIVE)
        return list(assess(active, streams, journal, stale_after_s=10, now_s=clock.now).reasons)

    assert check() == []
    clock.now += 9
    kline.message(clock.now)
    clock.now += 2  # user_data: nothing for 11 s since it was opened
    health = assess(None, streams, journal, stale_after_s=10, now_s=clock.now)
    assert [p.detail for p in health.problems] == [
        "stream user_data: no message yet for 11.0 s (limit 10 s)"
    ]
    user.message(clock.now)
    assert check() == []
    journal.failed(OSError("No space left on device: /data/journal.db"), clock.now)
    halted = assess(
        account(TradingState.HALTED), streams, journal, stale_after_s=10, now_s=clock.now + 30
    )
    assert [r.value for r in halted.reasons] == [
        "market_data_stale", "journal_unwritable", "halted",
    ]  # fmt: skip
    assert "/data" not in str(halted.as_json())  # the error is named by its class only
    reducing = assess(account(TradingState.REDUCING), streams, JournalStatus(), stale_after_s=10,
                      now_s=clock.now)  # fmt: skip
    assert reducing.ok


async def test_metrics_and_healthz_over_http() -> None:
    clock = FakeClock()
    t = Telemetry(MonitoringConfig(port=0, stale_after_s=5), clock=clock)
    stream = t.stream("btcusdt@trade")
    stream.message(clock.now)
    async with t.server() as server, aiohttp.ClientSession() as http:
        assert server.url.startswith("http://127.0.0.1:")
        async with http.get(f"{server.url}/metrics") as r:
            assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
            text = await r.text()
        assert 'gradtrade_market_data_age_seconds{stream="btcusdt@trade"} 0.0' in text
        assert "gradtrade_equity" not in text  # no engine attached: no account metrics
        async with http.get(f"{server.url}/healthz") as r:
            assert r.status == 200 and await r.json() == {"status": "ok", "reasons": []}
        clock.now += 6
        async with http.get(f"{server.url}/healthz") as r:
            body = await r.json()
            assert r.status == 503 and body["reasons"] == ["market_data_stale"]
        async with http.get(f"{server.url}/metrics") as r:
            assert 'gradtrade_market_data_age_seconds{stream="btcusdt@trade"} 6.0' in await r.text()


async def test_a_failing_collector_answers_500_and_the_server_goes_on() -> None:
    t = Telemetry(MonitoringConfig(port=0))

    def broken() -> None:
        raise InvalidInput("BTCUSDT has a position but no mark price")

    t.collector.snapshot = broken  # type: ignore[assignment]
    async with t.server() as server, aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/metrics") as r:
            assert r.status == 500
        async with http.get(f"{server.url}/healthz") as r:
            assert r.status == 200


async def test_a_taken_port_is_a_config_error_naming_it() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        t = Telemetry()
        server = MetricsServer(MonitoringConfig(port=port), t.registry, t.health)
        with pytest.raises(ConfigError, match=f"monitoring.port: 127.0.0.1:{port} is in use"):
            await server.start()


def test_config_refuses_a_host_name_and_bad_numbers_naming_the_field() -> None:
    with pytest.raises(InvalidInput, match="host: Value error, must be an IP address"):
        validate(MonitoringConfig, {"host": "example.com"})
    with pytest.raises(InvalidInput, match="stale_after_s"):
        validate(MonitoringConfig, {"stale_after_s": 0})
    with pytest.raises(InvalidInput, match="port"):
        validate(MonitoringConfig, {"port": 70_000})
    assert validate(MonitoringConfig, {"host": "0.0.0.0"}).host == "0.0.0.0"
    assert MonitoringConfig().host == "127.0.0.1"
