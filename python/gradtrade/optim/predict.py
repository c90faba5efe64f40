"""Predictions of a fitted model: one window batch (``predict_windows``) and a whole dataset.

``predict_windows`` is the one function that turns context windows into X_hat, sigma^2 and the
position u_t; ``gradtrade evaluate`` (through ``predict_dataset``) and the trading strategy
(``gradtrade.strategy.model.ModelStrategy``, one window at a time) both compute with it, so a
backtest and the evaluation cannot compute positions differently. The strategy's fastest path,
``optim.native.NativePredictor``, is the same arithmetic in Rust, held to this function within
1e-12 (by its tests and by its own check when built).

Predictions run in float64 (``as_predictor``): float32 CPU kernels block their reductions by
batch size, so one window alone and the same window inside a batch of 200 differed by 3e-8 in
u_t; in float64 the difference is 6e-17, far below the 1e-9 the parity test holds them to.

``TracedPredictor`` is ``predict_windows`` for one window shape, recorded once with
``torch.jit.trace``: the same operators on the same inputs, so the same floats (checked on its
example when built, and by ``tests/optim/test_predict.py`` on random irregular windows), without
the few hundred Python-level module calls of the eager forward, which dominate a live decision
(one window, caches cold after the pause between bars: 2.7 ms eager, 1.6 ms traced, measured in
``benches/RESULTS.md``'s trader section). The graph records the path the example took: the
model's input checks are not in it, so its caller passes windows it has checked itself (finite
rows, increasing times), as ``ModelStrategy`` does.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

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


class FirstStep(nn.Module):
    """The one computation both paths run: X_hat, the return mean and variance of the first
    target step, and u_t."""

    def __init__(self, model: ForecastModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: Tensor, t_y: Tensor, t_x: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        traj = self.model(x, t_y, t_x)
        u = self.model.position(traj)
        return traj.states[:, 0], traj.ret_mean[:, 0], traj.ret_var[:, 0], u


def _prediction(x_hat: Tensor, mean: Tensor, var: Tensor, u: Tensor) -> WindowPrediction:
    return WindowPrediction(
        x_hat=x_hat.double().cpu().numpy(),
        mean=mean.double().cpu().numpy(),
        var=var.double().cpu().numpy(),
        position=u.double().cpu().numpy(),
    )


def _device(model: ForecastModel, who: str) -> torch.device:
    param = next(model.parameters())
    if param.dtype != torch.float64 or model.training:
        raise InvalidInput(f"{who} needs a model from as_predictor (float64, eval)")
    return param.device


@torch.no_grad()
def predict_windows(
    model: ForecastModel, x: torch.Tensor, t_y: torch.Tensor, t_x: torch.Tensor
) -> WindowPrediction:
    """``model(x, t_y, t_x)`` then ``model.position``: x (B, C, N), t_y (B, H), t_x (B, C).

    ``model`` must come from ``as_predictor`` (float64, eval mode); inputs are cast to it."""
    dev, f64 = _device(model, "predict_windows"), torch.float64
    return _prediction(*FirstStep(model)(x.to(dev, f64), t_y.to(dev, f64), t_x.to(dev, f64)))


class TracedPredictor:
    """``predict_windows`` traced for the shape of its example (module docstring)."""

    def __init__(self, model: ForecastModel, x: Tensor, t_y: Tensor, t_x: Tensor) -> None:
        dev, f64 = _device(model, "TracedPredictor"), torch.float64
        if not model.traceable:
            raise InvalidInput(f"{type(model).__name__} is not traceable (an adaptive solver)")
        self.device = dev
        example = (x.to(dev, f64), t_y.to(dev, f64), t_x.to(dev, f64))
        step = FirstStep(model)
        with warnings.catch_warnings(), torch.inference_mode():
            # TracerWarning: the input checks' Python booleans are recorded as the path taken
            # (the caller checks its windows); FutureWarning: torch.jit's deprecation notice
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            warnings.simplefilter("ignore", FutureWarning)
            self._graph = torch.jit.trace(step, example, check_trace=False)
            want, got = step(*example), self._graph(*example)
        if not all(torch.equal(a, b) for a, b in zip(want, got, strict=True)):
            raise InvalidInput("the traced model does not reproduce the eager forward exactly")

    def __call__(self, x: Tensor, t_y: Tensor, t_x: Tensor) -> WindowPrediction:
        dev, f64 = self.device, torch.float64
        with torch.inference_mode():
            return _prediction(*self._graph(x.to(dev, f64), t_y.to(dev, f64), t_x.to(dev, f64)))


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
