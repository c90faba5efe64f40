"""Fixtures of the monitoring tests: a real Prometheus, the local exchange and redis-server in
their own processes, a tiny trained checkpoint, and paper sessions with telemetry
(``paper_session.py``) started as processes Prometheus scrapes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

from gradtrade.optim.config import parse_config
from gradtrade.optim.run import train

from .servers import ENV, SESSION, Redis, Session, free_port, need, wait_for


@pytest.fixture(scope="session")
def exchange_url() -> Iterator[str]:
    """``gradtrade exchange serve --synthetic`` in its own process."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "gradtrade", "exchange", "serve", "--synthetic", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), url
    yield url
    proc.terminate()
    proc.communicate(timeout=20)


@pytest.fixture(scope="session")
def checkpoint(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Neural ODE trained for two short epochs on Jan-Feb 2024 BTC/USDT 1h candles."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("train_ode")
    cfg = parse_config({
        "data": {"path": str(data_dir / "klines/spot/BTC_USDT-1h.feather"),
                 "start": "2024-01-01", "end": "2024-03-01", "context": 12, "horizon": 2},
        "model": {"kind": "ode", "latent": 8, "hidden": 16, "field_hidden": 16,
                  "policy_hidden": 8},
        "optim": {"epochs": 2, "batch_size": 64, "block": 32, "max_batches_per_epoch": 3},
        "run": {"out_dir": str(out), "progress": False, "num_threads": 1, "tensorboard": False},
        "evaluate": {"cost_bps": 11.0},
    })  # fmt: skip
    outcome = train(cfg, out)
    assert outcome.checkpoint is not None
    return outcome.checkpoint


@pytest.fixture(scope="module")
def start_session(
    data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Session]]:
    """``start(exchange_url, *args)``: a paper session over recorded BTC/USDT 1h bars; every
    session started is stopped (SIGTERM) after the module."""
    sessions: list[Session] = []

    def start(exchange_url: str, *args: str, journal: str | None = None, **env: str) -> Session:
        port = free_port()
        if journal is None:
            journal = f"sqlite:///{tmp_path_factory.mktemp('journal') / 'journal.db'}"
        cmd = [sys.executable, str(SESSION), "--data",
               str(data_dir / "klines/spot/BTC_USDT-1h.feather"), "--journal", journal,
               "--exchange-url", exchange_url, "--port", str(port), *args]  # fmt: skip
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**ENV, **env}, text=True
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            pytest.fail(f"paper session did not start: {proc.communicate(timeout=30)[1]}")
        session = Session(json.loads(line)["metrics_url"], proc, port)
        sessions.append(session)
        return session

    yield start
    for s in sessions:
        s.stop()


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    """A redis-server with the journal's durability settings (AOF, fsync on every write)."""
    need("redis-server")
    tmp_path = tmp_path_factory.mktemp("redis")
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp_path),
         "--save", "", "--appendonly", "yes", "--appendfsync", "always"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    server = Redis(port, proc)

    def up() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    wait_for(up, 10, "redis-server")
    yield server
    server.stop()
