"""The training/evaluation configuration: one YAML file, validated by pydantic.

Unknown keys are errors (a typo must not silently fall back to a default), and every error names
the dotted path of the bad field, e.g. ``loss.risk_weight: Input should be >= 0 (got -1)``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from gradtrade.config import StrictModel, load, validate
from gradtrade.model import DynamicalSystem, ForecastModel, RecurrentBaseline, SolverOptions


class DataConfig(StrictModel):
    path: str = "../shared/data/klines/spot/BTC_USDT-1h.feather"
    funding_path: str | None = None
    start: str | None = None
    end: str | None = None
    context: int = Field(default=32, ge=2, le=2048)
    horizon: int = Field(default=4, ge=1, le=256)
    train: float = Field(default=0.7, gt=0, lt=1)
    val: float = Field(default=0.15, gt=0, lt=1)

    @model_validator(mode="after")
    def _fractions(self) -> DataConfig:
        if self.train + self.val >= 1:
            raise ValueError("train + val must leave a test period (sum < 1)")
        return self


class SolverConfig(StrictModel):
    method: Literal["euler", "midpoint", "rk4", "dopri5", "dopri8", "bosh3", "adaptive_heun"] = (
        "rk4"
    )
    step_size: float = Field(default=0.5, gt=0, le=1)
    rtol: float = Field(default=1e-3, gt=0)
    atol: float = Field(default=1e-4, gt=0)
    adjoint: bool = False
    regularization: Literal["none", "kinetic", "jacobian"] = "kinetic"


class ModelConfig(StrictModel):
    kind: Literal["ode", "gru"] = "ode"
    latent: int = Field(default=16, ge=1, le=1024)
    hidden: int = Field(default=32, ge=1, le=4096)
    field_hidden: int = Field(default=32, ge=1, le=4096)
    policy_hidden: int = Field(default=16, ge=1, le=1024)
    var_floor: float = Field(default=1e-3, gt=0)
    # residual: log sigma^2 = log EWMA variance (state column ret_ewma_var_hl12) + a learned
    # correction that starts at zero; free: the level is learned from scratch
    variance_head: Literal["free", "residual"] = "free"
    # vol_target: u = vol-targeted long position times (1 + tilt * tanh(g)), g starting at zero
    policy_prior: Literal["none", "vol_target"] = "none"
    policy_tilt: float = Field(default=0.5, ge=0, le=2)
    # true: the risk term's gradient stops at the policy (forecasts learn from the NLL only)
    detach_forecast: bool = False
    solver: SolverConfig = SolverConfig()


class LossConfig(StrictModel):
    state_weight: float = Field(default=1.0, ge=0)
    return_weight: float = Field(default=1.0, ge=0)
    risk: Literal["sharpe", "mean_variance"] = "sharpe"
    risk_weight: float = Field(default=0.5, ge=0)
    risk_aversion: float = Field(default=1.0, ge=0)
    reg_weight: float = Field(default=1e-3, ge=0)
    fee_bps: float = Field(default=10.0, ge=0)
    half_spread_bps: float = Field(default=1.0, ge=0)
    turnover_penalty_bps: float = Field(default=10.0, ge=0)
    vol_target_annual: float = Field(default=0.4, gt=0)
    periods_per_year: float = Field(default=8760.0, gt=0)


class OptimConfig(StrictModel):
    optimizer: Literal["adam", "sgd"] = "adam"
    lr: float = Field(default=1e-3, gt=0)
    momentum: float = Field(default=0.9, ge=0, lt=1)
    weight_decay: float = Field(default=0.0, ge=0)
    grad_clip: float = Field(default=1.0, gt=0)
    schedule: Literal["none", "cosine", "step", "plateau"] = "cosine"
    epochs: int = Field(default=30, ge=1)
    patience: int = Field(default=4, ge=1)
    batch_size: int = Field(default=256, ge=2)
    block: int = Field(default=64, ge=2)
    max_batches_per_epoch: int | None = Field(default=None, ge=1)
    explode_factor: float = Field(default=1e3, gt=1)
    seed: int = 0

    @model_validator(mode="after")
    def _blocks(self) -> OptimConfig:
        if self.batch_size % self.block:
            raise ValueError("batch_size must be a multiple of block")
        return self


class RunConfig(StrictModel):
    out_dir: str = "runs/btc_1h"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    num_threads: int = Field(default=2, ge=1)
    tensorboard: bool = True
    progress: bool = True


class EvaluateConfig(StrictModel):
    train_bars: int = Field(default=17520, ge=100)
    test_bars: int = Field(default=4380, ge=10)
    step_bars: int | None = Field(default=None, ge=1)
    val_fraction: float = Field(default=0.2, gt=0, lt=1)
    expanding: bool = False
    max_folds: int | None = Field(default=None, ge=1)
    configs_tried: int = Field(default=1, ge=1)
    cost_bps: float = Field(default=11.0, ge=0)
    models: list[Literal["ode", "gru"]] = Field(default=["ode", "gru"])
    momentum_lookbacks: list[int] = Field(default=[168, 720, 2160])
    out_dir: str = "runs/evaluate"


class TrainConfig(StrictModel):
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    loss: LossConfig = LossConfig()
    optim: OptimConfig = OptimConfig()
    run: RunConfig = RunConfig()
    evaluate: EvaluateConfig = EvaluateConfig()

    def digest(self) -> str:
        """Hash of everything that shapes the fitted model (not where outputs go)."""
        payload = self.model_dump(exclude={"run", "evaluate"})
        blob = json.dumps(payload, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


def parse_config(raw: dict[str, Any], source: str = "<dict>") -> TrainConfig:
    """A config from a mapping; errors name ``source`` and each bad field."""
    return validate(TrainConfig, raw, source)


def load_config(path: str | Path) -> TrainConfig:
    """A config from a YAML file; errors name the file and each bad field."""
    return load(TrainConfig, path)


def build_model(cfg: ModelConfig, n_state: int) -> ForecastModel:
    common: dict[str, Any] = {
        "latent": cfg.latent,
        "hidden": cfg.hidden,
        "var_floor": cfg.var_floor,
        "policy_hidden": cfg.policy_hidden,
        "variance_head": cfg.variance_head,
        "policy_prior": cfg.policy_prior,
        "policy_tilt": cfg.policy_tilt,
        "detach_forecast": cfg.detach_forecast,
    }
    if cfg.kind == "gru":
        return RecurrentBaseline(n_state, **common)
    solver = SolverOptions(**cfg.solver.model_dump())
    return DynamicalSystem(n_state, field_hidden=cfg.field_hidden, solver=solver, **common)
