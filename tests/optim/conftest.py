"""Fixtures of the training tests: a tiny config on two months of real BTC 1h."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from gradtrade.optim.config import TrainConfig, parse_config

# tests/test_typing.py does `from conftest import REPO_ROOT`; with several conftest.py files the
# module named "conftest" is whichever pytest imported last, so every conftest must define it.
REPO_ROOT = Path(__file__).resolve().parents[2]


def _tiny_raw(data_dir: Path, out: Path, **overrides: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "data": {
            "path": str(data_dir / "klines/spot/BTC_USDT-1h.feather"),
            "start": "2024-01-01",
            "end": "2024-03-01",
            "context": 12,
            "horizon": 2,
        },
        "model": {"latent": 8, "hidden": 16, "field_hidden": 16, "policy_hidden": 8},
        "optim": {"epochs": 2, "batch_size": 64, "block": 32, "max_batches_per_epoch": 3},
        "run": {"out_dir": str(out), "progress": False, "num_threads": 1},
        "evaluate": {
            "train_bars": 700,
            "test_bars": 200,
            "max_folds": 1,
            "out_dir": str(out / "eval"),
            "momentum_lookbacks": [24, 168],
        },
    }
    for section, values in overrides.items():
        raw[section] = {**raw.get(section, {}), **values}
    return raw


@pytest.fixture
def tiny_config(data_dir: Path, tmp_path: Path) -> TrainConfig:
    """Two months of real BTC 1h, a small model, two short epochs."""
    torch.set_num_threads(1)
    return parse_config(_tiny_raw(data_dir, tmp_path / "run"))


@pytest.fixture
def tiny_raw(data_dir: Path) -> Callable[..., dict[str, Any]]:
    """``tiny_raw(out, section={...})``: the tiny config as a raw mapping writing to ``out``,
    with any section's values overridden."""

    def make(out: Path, **overrides: Any) -> dict[str, Any]:
        return _tiny_raw(data_dir, out, **overrides)

    return make
