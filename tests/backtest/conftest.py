"""Fixtures of the backtest tests: a tiny model trained on real BTC 1h candles, once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from gradtrade.optim.config import TrainConfig, parse_config
from gradtrade.optim.run import train


def tiny_train_raw(data_dir: Path, out: Path, kind: str) -> dict[str, Any]:
    return {
        "data": {
            "path": str(data_dir / "klines/spot/BTC_USDT-1h.feather"),
            "start": "2024-01-01",
            "end": "2024-03-01",
            "context": 12,
            "horizon": 2,
        },
        "model": {"kind": kind, "latent": 8, "hidden": 16, "field_hidden": 16,
                  "policy_hidden": 8},
        "optim": {"epochs": 2, "batch_size": 64, "block": 32, "max_batches_per_epoch": 3},
        "run": {"out_dir": str(out), "progress": False, "num_threads": 1, "tensorboard": False},
        "evaluate": {"cost_bps": 11.0},
    }  # fmt: skip


@pytest.fixture(scope="session", params=["ode", "gru"])
def trained(
    request: pytest.FixtureRequest, data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[TrainConfig, Path]:
    """(config, checkpoint) of a model trained for two short epochs on Jan-Feb 2024."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp(f"train_{request.param}")
    cfg = parse_config(tiny_train_raw(data_dir, out, request.param))
    outcome = train(cfg, out)
    assert outcome.checkpoint is not None
    return cfg, outcome.checkpoint
