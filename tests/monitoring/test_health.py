"""/healthz of a running paper session follows its market data: the local exchange process is
killed, the trade stream falls silent and /healthz turns 503 ``market_data_stale`` naming the
stream; the exchange comes back on the same port, the stream reconnects (counted) and /healthz
is 200 again."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest

from .servers import ENV, Session, free_port, wait_for

pytestmark = pytest.mark.timeout(300)


class Exchange:
    """``gradtrade exchange serve --synthetic`` on a fixed port, restartable."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        cmd = [sys.executable, "-m", "gradtrade", "exchange", "serve", "--synthetic",
               "--port", str(self.port)]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, text=True
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == self.url

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=20)


@pytest.fixture
def exchange() -> Iterator[Exchange]:
    ex = Exchange()
    ex.start()
    yield ex
    ex.kill()


def sample(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in the scrape")


def test_stale_market_data_fails_health_until_the_stream_is_back(
    exchange: Exchange, start_session: Callable[..., Session]
) -> None:
    session = start_session(
        exchange.url, "--start", "2024-03-01", "--end", "2024-03-03", "--stale-after", "2"
    )
    messages = 'gradtrade_stream_messages_total{stream="btcusdt@trade"}'
    wait_for(lambda: sample(session.scrape(), messages) > 0, 30, "trade frames")
    assert session.health() == (200, {"status": "ok", "reasons": []})
    exchange.kill()

    def stale() -> dict[str, object] | None:
        status, body = session.health()
        return body if status == 503 else None

    body = wait_for(stale, 30, "/healthz 503 after the exchange died")
    assert body["reasons"] == ["market_data_stale"]
    (problem,) = body["problems"]  # type: ignore[misc]
    assert problem["reason"] == "market_data_stale" and "btcusdt@trade" in problem["detail"]
    age = sample(session.scrape(), 'gradtrade_market_data_age_seconds{stream="btcusdt@trade"}')
    assert age > 2
    reconnects = 'gradtrade_websocket_reconnects_total{stream="btcusdt@trade"}'
    assert sample(session.scrape(), reconnects) == 0

    exchange.start()
    wait_for(lambda: session.health()[0] == 200, 60, "/healthz 200 once the exchange is back")
    assert sample(session.scrape(), reconnects) == 1
