"""The training objective J(theta) = prediction NLL + lambda * Risk + stiffness penalty.

Risk choice (documented, configurable): by default Risk = -Sharpe of the strategy's per-bar PnL
over the batch, annualized (Lim, Zohren & Roberts 2019, "Enhancing time series momentum
strategies using deep neural networks"; Moody & Saffell 2001 optimize the same ratio
incrementally). ``mean_variance`` uses -(E[pnl] - a/2 Var[pnl]) annualized instead.

The PnL is differentiable end to end: u_t = policy(X_hat_t, sigma_t^2) is volatility-scaled inside
the policy, and for consecutive bars t within a contiguous block
    pnl_t = u_t r_{t+1} - c |u_t - u_{t-1}| - u_t f_{t+1}
with c = fee + half-spread and f the perpetual funding rate paid by longs. The risk term sees an
extra turnover penalty kappa |u_t - u_{t-1}| on top of c, so training prices trading more harshly
than the evaluation does (the edge of Sharpe-trained models dies at a few bps unless turnover is
penalised). The first bar of each block has no predecessor and is left out of the PnL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from gradtrade.model import ForecastModel, Trajectory
from gradtrade.optim.config import LossConfig

LOG_2PI = math.log(2 * math.pi)
PART_NAMES = (
    "loss",
    "nll_state",
    "nll_return",
    "risk",
    "reg",
    "turnover",
    "sharpe",
    "pnl_mean",
)


def gaussian_nll(mean: Tensor, var: Tensor, target: Tensor) -> Tensor:
    """Mean Gaussian negative log likelihood (with the constant)."""
    return 0.5 * (LOG_2PI + torch.log(var) + (target - mean) ** 2 / var).mean()


def block_pnl(
    position: Tensor, ret: Tensor, funding: Tensor, *, cost: float, block: int
) -> tuple[Tensor, Tensor]:
    """Per-bar net PnL and turnover |u_t - u_{t-1}| for blocks of consecutive bars."""
    u = position.reshape(-1, block)
    r = ret.reshape(-1, block)
    f = funding.reshape(-1, block)
    turnover = (u[:, 1:] - u[:, :-1]).abs()
    pnl = u[:, 1:] * r[:, 1:] - cost * turnover - u[:, 1:] * f[:, 1:]
    return pnl.reshape(-1), turnover.reshape(-1)


def sharpe(pnl: Tensor, periods_per_year: float) -> Tensor:
    return pnl.mean() / (pnl.std() + 1e-12) * math.sqrt(periods_per_year)


@dataclass
class LossParts:
    loss: Tensor
    nll_state: Tensor
    nll_return: Tensor
    risk: Tensor
    reg: Tensor
    turnover: Tensor
    sharpe: Tensor
    pnl_mean: Tensor

    def floats(self) -> dict[str, float]:
        return {name: float(getattr(self, name).detach()) for name in PART_NAMES}


class Objective(nn.Module):
    """Wraps a model so one forward returns the loss (what DDP wraps and synchronizes)."""

    def __init__(self, model: ForecastModel, cfg: LossConfig, block: int) -> None:
        super().__init__()
        self.model = model
        self.cfg = cfg
        self.block = block

    def forward(self, batch: dict[str, Tensor]) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
        traj = self.model(batch["x"], batch["t_y"], batch["t_x"])
        position = self.model.position(traj)
        return (
            traj.states,
            traj.state_var,
            torch.stack([traj.ret_mean[:, 0], traj.ret_var[:, 0]], dim=-1),
            traj.regularization,
            position,
        )

    def parts(self, batch: dict[str, Tensor], out: tuple[Tensor, ...]) -> LossParts:
        states, state_var, ret_pred, reg, position = out
        cfg = self.cfg
        scale = self.model.heads.ret_scale
        ret = batch["ret"].to(states.dtype)
        funding = batch["funding"].to(states.dtype)
        nll_state = gaussian_nll(states, state_var, batch["y"])
        # In units of the training return std so that the NLL is O(1) whatever the asset.
        nll_return = gaussian_nll(
            ret_pred[:, 0] / scale, ret_pred[:, 1] / scale**2, ret[:, 0] / scale
        )
        cost = (cfg.fee_bps + cfg.half_spread_bps) * 1e-4
        pnl, turnover = block_pnl(position, ret[:, 0], funding[:, 0], cost=cost, block=self.block)
        train_pnl = pnl - cfg.turnover_penalty_bps * 1e-4 * turnover
        ppy = cfg.periods_per_year
        if cfg.risk == "sharpe":
            risk = -sharpe(train_pnl, ppy)
        else:
            risk = -(train_pnl.mean() - 0.5 * cfg.risk_aversion * train_pnl.var()) * ppy
        reg_mean = reg.mean()
        loss = (
            cfg.state_weight * nll_state
            + cfg.return_weight * nll_return
            + cfg.risk_weight * risk
            + cfg.reg_weight * reg_mean
        )
        return LossParts(
            loss,
            nll_state,
            nll_return,
            risk,
            reg_mean,
            turnover.mean(),
            sharpe(pnl, ppy),
            pnl.mean(),
        )


def predict(model: ForecastModel, batch: dict[str, Tensor]) -> tuple[Trajectory, Tensor]:
    traj = model(batch["x"], batch["t_y"], batch["t_x"])
    return traj, model.position(traj)
