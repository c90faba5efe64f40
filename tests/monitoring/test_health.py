"""/healthz of a running paper trader (``gradtrade trade``) follows its market data: the local
exchange process is killed, the trader's kline stream falls silent and /healthz turns 503
``market_data_stale`` naming the stream; the exchange comes back on the same port, the stream
reconnects (its attempts counted) and /healthz is 200 again; the trader never stopped."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .servers import ExchangeProcess, Trader, wait_for

pytestmark = pytest.mark.timeout(300)
STREAM = "btcusdt@kline_1m"


def sample(text: str, name: str, missing: float | None = None) -> float:
    """The value of series ``name`` in a scrape; ``missing`` (else a failure) when absent."""
    for line in text.splitlines():
        if line.startswith(name):
            return float(line.rsplit(" ", 1)[1])
    if missing is not None:
        return missing
    raise AssertionError(f"{name} not in the scrape")


def test_stale_market_data_fails_health_until_the_stream_is_back(
    exchange: ExchangeProcess, start_trader: Callable[..., Trader]
) -> None:
    trader = start_trader(exchange.url, "stale", monitoring={"stale_after_s": 2})
    messages = f'gradtrade_stream_messages_total{{stream="{STREAM}"}}'
    # the stream's series exist once the trader has warmed up and subscribed
    wait_for(lambda: sample(trader.scrape(), messages, missing=0) > 0, 30, "kline frames")
    assert trader.health() == (200, {"status": "ok", "reasons": []})
    exchange.kill()

    def stale() -> dict[str, object] | None:
        status, body = trader.health()
        return body if status == 503 else None

    body = wait_for(stale, 30, "/healthz 503 after the exchange died")
    assert body["reasons"] == ["market_data_stale"]
    (problem,) = body["problems"]  # type: ignore[misc]
    assert problem["reason"] == "market_data_stale" and STREAM in problem["detail"]
    age = sample(trader.scrape(), f'gradtrade_market_data_age_seconds{{stream="{STREAM}"}}')
    assert age > 2
    reconnects = f'gradtrade_websocket_reconnects_total{{stream="{STREAM}"}}'
    assert sample(trader.scrape(), reconnects) == 0  # the silence is noticed before the drop
    before = sample(trader.scrape(), messages)

    exchange.start()
    wait_for(lambda: trader.health()[0] == 200, 60, "/healthz 200 once the exchange is back")
    # every reconnection attempt counts (the ones refused while the exchange was down too)
    assert sample(trader.scrape(), reconnects) >= 1
    assert sample(trader.scrape(), messages) > before
    assert trader.process.poll() is None, "the trader rode out the outage"
