"""Fixtures of the monitoring tests: the local exchange and redis-server in their own processes,
a tiny trained checkpoint, and paper traders (``gradtrade trade``, each its own process) whose
/metrics a real Prometheus scrapes (``servers.start_prometheus``)."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from gradtrade.optim.config import parse_config
from gradtrade.optim.run import train
from trader_process import start_trader as start_trader_process
from trader_process import trader_config

from .servers import ExchangeProcess, Redis, Trader, free_port, need, wait_for


@pytest.fixture(scope="module")
def exchange() -> Iterator[ExchangeProcess]:
    """The local exchange (synthetic market, fault endpoint on) in its own process."""
    ex = ExchangeProcess()
    ex.start()
    yield ex
    ex.kill()


@pytest.fixture(scope="session")
def checkpoint(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Neural ODE trained for two short epochs on three days of BTC/USDT 1m candles (the
    traders trade the local exchange's 1m candles)."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("train_ode")
    cfg = parse_config({
        "data": {"path": str(data_dir / "klines/spot/BTC_USDT-1m.feather"),
                 "start": "2025-06-01", "end": "2025-06-04", "context": 12, "horizon": 2},
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
def start_trader(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Trader]]:
    """``start(exchange_url, name, **overrides)``: ``gradtrade trade`` in paper mode with
    ``tests/trader_process.trader_config`` (``overrides`` per section), its metrics on a free
    port, the test API key and secret in its environment; returns once /healthz answers.
    Every trader started is stopped (SIGTERM) after the module."""
    traders: list[Trader] = []

    def start(exchange_url: str, name: str, **overrides: Any) -> Trader:
        port = free_port()
        monitoring = {"port": port, **overrides.pop("monitoring", {})}
        config = trader_config(
            tmp_path_factory.mktemp(name), exchange_url, trader_id=name,
            monitoring=monitoring, **overrides,
        )  # fmt: skip
        trader = Trader(name, config, start_trader_process(config), port)
        traders.append(trader)
        wait_for(trader.serving, 60, f"trader {name} to serve /healthz")
        return trader

    yield start
    for t in traders:
        t.stop()


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
