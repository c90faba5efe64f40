"""Predictions of a fitted model: one window batch (``predict_windows``) and a whole dataset.

``predict_windows`` is the one function that turns context windows into X_hat, sigma^2 and the
position u_t; ``gradtrade evaluate`` (through ``predict_dataset``) and the trading strategy
(``gradtrade.strategy.model.ModelStrategy``, one window at a time) both call it, so a backtest
and the evaluation cannot compute positions differently.

Predictions run in float64 (``as_predictor``): float32 CPU kernels block their reductions by
batch size, so one window alone and the same window inside a batch of 200 differed by 3e-8 in
u_t; in float64 the difference is 6e-17, far below the 1e-9 the parity test holds them to.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch

from gradtrade.data.dataset import WindowDataset, make_loader
from gradtrade.errors import InvalidInput
from gradtrade.model import ForecastModel


@dataclass(frozen=True)
class WindowPrediction:
    """First-step predictions of a batch of B windows, as float64 NumPy arrays."""

    x_hat: np.ndarray  # (B, N) predicted next normalized state
    mean: np.ndarray  # (B,) next-bar log return
    var: np.ndarray  # (B,) its variance
    position: np.ndarray  # (B,) u_t


def as_predictor(model: ForecastModel) -> ForecastModel:
    """A float64 copy of ``model`` in eval mode (the trained one is left as it is)."""
    return copy.deepcopy(model).double().eval()


@torch.no_grad()
def predict_windows(
    model: ForecastModel, x: torch.Tensor, t_y: torch.Tensor, t_x: torch.Tensor
) -> WindowPrediction:
    """``model(x, t_y, t_x)`` then ``model.position``: x (B, C, N), t_y (B, H), t_x (B, C).

    ``model`` must come from ``as_predictor`` (float64, eval mode); inputs are cast to it."""
    param = next(model.parameters())
    if param.dtype != torch.float64 or model.training:
        raise InvalidInput("predict_windows needs a model from as_predictor (float64, eval)")
    dev, f64 = param.device, torch.float64
    traj = model(x.to(dev, f64), t_y.to(dev, f64), t_x.to(dev, f64))
    u = model.position(traj)
    return WindowPrediction(
        x_hat=traj.states[:, 0].double().cpu().numpy(),
        mean=traj.ret_mean[:, 0].double().cpu().numpy(),
        var=traj.ret_var[:, 0].double().cpu().numpy(),
        position=u.double().cpu().numpy(),
    )


def predict_dataset(
    model: ForecastModel, dataset: WindowDataset, batch_size: int = 1024
) -> dict[str, np.ndarray]:
    """Next-bar return mean/variance, position u_t, realized next-bar return and funding."""
    cols: dict[str, list[np.ndarray]] = {
        k: [] for k in ("mean", "var", "position", "ret", "funding")
    }
    predictor = as_predictor(model)
    for batch in make_loader(dataset, batch_size=batch_size, shuffle=False, seed=0):
        pred = predict_windows(predictor, batch["x"], batch["t_y"], batch["t_x"])
        cols["mean"].append(pred.mean)
        cols["var"].append(pred.var)
        cols["position"].append(pred.position)
        cols["ret"].append(batch["ret"][:, 0].double().numpy())
        cols["funding"].append(batch["funding"][:, 0].double().numpy())
    out = {k: np.concatenate(v) for k, v in cols.items()}
    out["anchor"] = np.asarray(dataset.anchors, dtype=np.int64)
    return out
