"""The trader configs compose mounts (configs/trader_compose*.yaml, trader_testnet.yaml) and the
demo's, checked against the image and the stack: where the journal lives, which port and
address the metrics use, where keys come from; and, with the live trader installed, validated by
its own config model (every field, as `gradtrade trade` would at start)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from dockerspec import Dockerfile

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
COMPOSE = ["trader_compose.yaml", "trader_compose_redis.yaml", "trader_testnet.yaml"]


def read(name: str) -> dict[str, Any]:
    raw = yaml.safe_load((CONFIGS / name).read_text())
    assert isinstance(raw, dict)
    return raw


@pytest.mark.parametrize("name", COMPOSE)
def test_compose_configs_fit_the_image(name: str, dockerfile: Dockerfile) -> None:
    raw = read(name)
    runtime = dockerfile.stage("runtime")
    exposed = runtime.last("EXPOSE")
    assert exposed is not None
    # inside the container the metrics must be reachable by the prometheus service; compose
    # publishes the port on the host's loopback only (tests/deploy/test_compose.py)
    assert raw["monitoring"] == {"host": "0.0.0.0", "port": int(exposed.args)}
    volume = runtime.last("VOLUME")
    assert volume is not None
    (data,) = volume.exec_form() or []
    journal = raw["journal"]["url"]
    assert journal.startswith(f"{data}/") or journal.startswith("redis://redis:6379/")
    assert "credentials" not in raw or "file" not in raw["credentials"]


def test_testnet_config_trades_live_on_the_testnet_with_keys_from_the_environment() -> None:
    raw = read("trader_testnet.yaml")
    assert raw["mode"] == "live" and raw["venue"]["url"] == "testnet"
    compose = yaml.safe_load((CONFIGS.parent / "compose.yaml").read_text())
    env = compose["services"]["trader"]["environment"]
    assert {raw["credentials"]["api_key_env"], raw["credentials"]["api_secret_env"]} <= set(env)


def test_paper_configs_read_no_keys() -> None:
    for name in ("trader_compose.yaml", "trader_compose_redis.yaml", "demo_trader.yaml"):
        assert read(name)["mode"] == "paper"


@pytest.mark.parametrize("name", [*COMPOSE, "demo_trader.yaml"])
def test_trader_configs_validate(name: str) -> None:
    config = importlib.import_module("gradtrade.live.config")
    loaded = config.load_trader_config(CONFIGS / name)
    assert loaded.monitoring.port == read(name)["monitoring"]["port"]
