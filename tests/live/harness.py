"""Fixtures of the trader tests: the local exchange in its own process (synthetic market, fault
endpoint on), its clock moved across minute boundaries to close candles without waiting, trader
configs written per test, and the trader run as ``gradtrade trade`` in its own process.

The exchange's clock only moves forward here (each move targets the next minute of the server's
own time), so tests may share one exchange.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
KEY, SECRET = "trader-test-key", "trader-test-secret-0123456789"
CLI = [sys.executable, "-c", "from gradtrade.cli import main; main()"]
SYMBOL = "BTCUSDT"


def _post(url: str, body: dict[str, Any]) -> None:
    req = urllib.request.Request(
        f"{url}/_gradtrade/faults", data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200


def server_ms(url: str) -> int:
    with urllib.request.urlopen(f"{url}/api/v3/time", timeout=10) as r:
        return int(json.loads(r.read())["serverTime"])


class Exchange:
    """The exchange process's URL and the faults the tests arm on it."""

    _lock = threading.Lock()

    def __init__(self, url: str) -> None:
        self.url = url

    def arm(self, **fault: Any) -> None:
        _post(self.url, fault)

    def next_minute(self) -> int:
        """Move the server clock just past its next minute boundary (closes the open 1m
        candle); returns the closed candle's open time (ms)."""
        with self._lock:
            now = server_ms(self.url)
            target = (now // 60_000 + 1) * 60_000 + 300
            self.arm(kind="clock_skew", ms=target - int(time.time() * 1000))
            return target // 60_000 * 60_000 - 60_000


@pytest.fixture(scope="session")
def exchange() -> Iterator[Exchange]:
    cmd = [*CLI, "exchange", "serve", "--synthetic", "--seed", "11", "--port", "0",
           "--api-key", KEY, "--api-secret", SECRET, "--faults"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://"):
        proc.kill()
        pytest.fail(f"exchange did not start: {url!r}")
    yield Exchange(url)
    proc.terminate()
    proc.wait(10)


class BarPump:
    """Closes one candle every ``every_s`` seconds on a background thread while running."""

    def __init__(self, exchange: Exchange, every_s: float) -> None:
        self.exchange, self.every_s = exchange, every_s
        self.closed: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.closed.append(self.exchange.next_minute())

    def __enter__(self) -> BarPump:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def trader_config(tmp_path: Path, url: str, mode: str = "paper", **overrides: Any) -> Path:
    """A trader YAML for the exchange at ``url`` (a strategy that trades on most bars)."""
    cfg: dict[str, Any] = {
        "mode": mode,
        "trader_id": f"test-{mode}",
        "venue": {"url": url, "timeout_s": 3, "stale_after_s": 10, "recv_window_ms": 2000},
        "symbol": SYMBOL,
        "timeframe": "1m",
        "warmup_bars": 20,
        "strategy": {"kind": "ma_cross", "params": {"fast": 1, "slow": 2, "size": 0.5}},
        "risk": {"allow_short": False, "min_rebalance": 0.05},
        "capital": 10_000,
        "journal": {"url": str(tmp_path / f"{mode}.db"), "snapshot_every": 5},
        "log": {"format": "json", "level": "INFO"},
        "monitoring": {"port": 0},  # a free port: tests never collide on the default 9108
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key] = {**cfg[key], **value}
        else:
            cfg[key] = value
    path = tmp_path / f"{mode}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def trader_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "GRADTRADE_CRASH_AT"}
    env.update(GRADTRADE_API_KEY=KEY, GRADTRADE_API_SECRET=SECRET, **extra)
    env["PYTHONPATH"] = str(REPO_ROOT / "python")
    return env


def start_trader(config: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*CLI, "trade", "--config", str(config), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=trader_env(**env),
    )  # fmt: skip


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, env=trader_env(), timeout=120
    )


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
