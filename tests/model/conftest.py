"""Fixtures for the model tests: a tiny training config over a two-month slice of real BTC 1h."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from model_fixtures import tiny_raw

from gradtrade.optim.config import TrainConfig, parse_config


@pytest.fixture
def tiny_config(data_dir: Path, tmp_path: Path) -> TrainConfig:
    return parse_config(tiny_raw(data_dir, tmp_path / "run"))


@pytest.fixture(autouse=True)
def _few_threads() -> None:
    torch.set_num_threads(1)
