"""The optimization layer: loss = NLL + lambda * risk of a differentiable PnL, the training loop,
checkpoints, and the ``train`` / ``evaluate`` commands."""

from __future__ import annotations

from gradtrade.optim.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from gradtrade.optim.config import TrainConfig, build_model, load_config, parse_config
from gradtrade.optim.loss import LossParts, Objective, block_pnl, gaussian_nll
from gradtrade.optim.trainer import FitResult, fit

__all__ = [
    "Checkpoint",
    "FitResult",
    "LossParts",
    "Objective",
    "TrainConfig",
    "block_pnl",
    "build_model",
    "fit",
    "gaussian_nll",
    "load_checkpoint",
    "load_config",
    "parse_config",
    "save_checkpoint",
]
