"""Processes the monitoring tests talk to over HTTP: Prometheus, traders (``gradtrade trade``),
the local exchange (restartable on its port), redis-server."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from trader_process import CLI, KEY, SECRET, Exchange

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
ENV = {**os.environ, "PYTHONPATH": str(REPO_ROOT / "python")}
SYMBOL = "BTCUSDT"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.25) -> Any:
    """Polls ``check`` until it returns something truthy; fails naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


def need(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        pytest.fail(f"{binary} is not installed (scripts/test.sh installs it with apt-get)")
    return path


@dataclass
class Prometheus:
    """A prometheus server of this test module on loopback."""

    url: str
    process: subprocess.Popen[bytes]

    def api(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        status, body = http_get(f"{self.url}/api/v1/{path}{query}")
        answer = json.loads(body)
        assert status == 200 and answer["status"] == "success", (path, params, answer)
        return answer["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        data = self.api("query", query=expr)
        assert data["resultType"] in ("vector", "scalar"), data
        return data["result"] if data["resultType"] == "vector" else [{"value": data["result"]}]

    def alerts(self) -> list[dict[str, Any]]:
        return list(self.api("alerts")["alerts"])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)


def start_prometheus(directory: Path, targets: list[str], interval: str = "1s") -> Prometheus:
    """``prometheus`` scraping ``targets`` every ``interval`` with deploy/prometheus/alerts.yml
    evaluated at the same interval (the deployed scrape config, faster)."""
    need("prometheus")
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "prometheus.yml"
    config.write_text(
        json.dumps(  # JSON is YAML
            {
                "global": {"scrape_interval": interval, "evaluation_interval": interval,
                           "scrape_timeout": interval},
                "rule_files": [str(DEPLOY / "prometheus" / "alerts.yml")],
                "scrape_configs": [{"job_name": "gradtrade", "metrics_path": "/metrics",
                                    "static_configs": [{"targets": targets}]}],
            }
        )
    )  # fmt: skip
    port = free_port()
    process = subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={directory / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=open(directory / "prometheus.log", "wb"),
    )  # fmt: skip
    server = Prometheus(f"http://127.0.0.1:{port}", process)

    def ready() -> bool:
        if process.poll() is not None:
            pytest.fail((directory / "prometheus.log").read_text())
        try:
            return http_get(f"{server.url}/-/ready", timeout=1)[0] == 200
        except OSError:
            return False

    wait_for(ready, 30, "prometheus to be ready")
    return server


@dataclass
class Trader:
    """A ``gradtrade trade`` process serving its metrics on ``port``."""

    name: str
    config: Path
    process: subprocess.Popen[str]
    port: int
    log: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def scrape(self) -> str:
        status, body = http_get(f"{self.url}/metrics")
        assert status == 200
        return body.decode()

    def health(self) -> tuple[int, dict[str, Any]]:
        status, body = http_get(f"{self.url}/healthz")
        return status, json.loads(body)

    def serving(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(
                f"trader {self.name} exited {self.process.returncode}: {self.stop()[-3000:]}"
            )
        try:
            return http_get(f"{self.url}/healthz", timeout=1)[0] in (200, 503)
        except OSError:
            return False

    def stop(self) -> str:
        """SIGTERM, then the trader's log (stderr); stopping again returns the same log."""
        if self.log is None:
            if self.process.poll() is None:
                self.process.terminate()
            self.log = self.process.communicate(timeout=60)[1]
        return self.log


class ExchangeProcess:
    """``gradtrade exchange serve --synthetic --faults`` in its own process on a fixed port, so
    a test can kill it and start it again where the traders reconnect."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.control = Exchange(self.url)  # faults and the clock
        self.proc: subprocess.Popen[str] | None = None

    def start(self) -> None:
        cmd = [*CLI, "exchange", "serve", "--synthetic", "--seed", "11", "--port",
               str(self.port), "--api-key", KEY, "--api-secret", SECRET, "--faults"]  # fmt: skip
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, text=True
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if line != self.url:
            self.kill()
            pytest.fail(f"exchange did not start on {self.url}: {line!r}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=20)


@dataclass
class Redis:
    port: int
    process: subprocess.Popen[bytes]

    def url(self, trader: str) -> str:
        return f"redis://127.0.0.1:{self.port}/0?trader={trader}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
