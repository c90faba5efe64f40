"""The trader as a process, for every test package that runs one (tests/live, tests/monitoring):
``gradtrade trade --config`` started with test credentials in the environment, its YAML written
per test, and the local exchange's clock moved across minute boundaries through its fault
endpoint so candles close without waiting.

The exchange's clock only moves forward here (each move targets the next minute of the server's
own time), so tests may share one exchange. Importable from any test package: pytest puts
``tests/`` (the first directory without ``__init__.py``) on ``sys.path``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
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


def serve_exchange(args: list[str], key: str = KEY, secret: str = SECRET) -> Iterator[str]:
    """``gradtrade exchange serve ARGS`` in its own process on a free port; yields its URL (the
    first line it prints) and stops it afterwards. Wrap it in a fixture."""
    cmd = [*CLI, "exchange", "serve", *args, "--port", "0", "--api-key", key,
           "--api-secret", secret]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http://"):
        proc.kill()
        raise AssertionError(f"exchange did not start: {url!r}")
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def exchange_process(seed: int = 11, key: str = KEY, secret: str = SECRET) -> Iterator[str]:
    """The synthetic market with faults armable (``serve_exchange``)."""
    yield from serve_exchange(["--synthetic", "--seed", str(seed), "--faults"], key, secret)


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
