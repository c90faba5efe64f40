"""Fixtures of the trader tests: the local exchange in its own process (synthetic market, fault
endpoint on) and a durable redis-server; the trader process helpers live in
``tests/trader_process.py`` (shared with tests/monitoring) and are re-exported here."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest

from trader_process import (
    CLI,
    KEY,
    REPO_ROOT,
    SECRET,
    SYMBOL,
    BarPump,
    Exchange,
    exchange_process,
    run_cli,
    server_ms,
    start_trader,
    trader_config,
    trader_env,
)


def _exchange_process() -> Iterator[Exchange]:
    for url in exchange_process():
        yield Exchange(url)


@pytest.fixture(scope="module")
def exchange() -> Iterator[Exchange]:
    """A local exchange process per test module: an order or position one file leaves never
    meets another file's startup reconciliation (which rightly halts on what it cannot
    explain)."""
    yield from _exchange_process()


@pytest.fixture
def fresh_exchange() -> Iterator[Exchange]:
    """An exchange of its own for one test (crash tests that leave USD-M positions behind)."""
    yield from _exchange_process()


@pytest.fixture(scope="session")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A durable redis-server (AOF, fsync on every write) on loopback for this session."""
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (scripts/test.sh installs it with apt-get)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--dir", str(tmp_path_factory.mktemp("redis")), "--appendonly", "yes",
         "--appendfsync", "always"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("redis-server did not start")
            time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(10)


__all__ = [
    "CLI", "KEY", "REPO_ROOT", "SECRET", "SYMBOL", "BarPump", "Exchange", "exchange", "redis_port",
    "run_cli", "server_ms", "start_trader", "trader_config", "trader_env",
]  # fmt: skip
