"""``NativePredictor``: ``predict_windows`` for one window as one Rust call (``rust/model``).

Invariant: for a batch of one window and one target time it computes what the eager
``FirstStep`` (``predict_windows``) computes, to ``TOLERANCE``: every output within 1e-12 of
the eager one, absolute for values of magnitude up to 1 and relative beyond. The Rust forward is
a second implementation of the same arithmetic in float64, like ``model/fixed_grid.py``: the
same operations in the same order (GRU gates as aten's CPU cell, torchdiffeq's grid and
stages, torch's softplus and clamps), so the two differ only by the summation order of the dot
products and by the libm. ``tests/optim/test_native.py`` holds it to the eager forward on random
models and irregular windows and on a trained checkpoint; a predictor checks itself when built,
on a synthetic irregular window and on the caller's example, and refuses (``InvalidInput``) a
model it would compute differently, so a model whose math the native code does not cover is
never used silently.

Covered: ``DynamicalSystem`` with a fixed-grid solver (euler, midpoint, rk4) and
``RecurrentBaseline`` (exactly these classes, not subclasses), both variance heads, both
policy priors. An adaptive solver is refused (its steps depend on the values).

Why: the live decision is one small forward (~200k multiply-adds) whose cost in torch is the
per-operator dispatch, not the arithmetic: 1.4 ms median traced when each call follows a
pause between bars, against 0.25 ms cold and 0.1 ms hot here, 80 us of it the Rust forward
(``benches/compare_decision.py``, ``cargo bench --bench model``).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from gradtrade.core import NativeModel, NativeModelConfig
from gradtrade.errors import InvalidInput
from gradtrade.model import DynamicalSystem, ForecastModel, RecurrentBaseline
from gradtrade.optim.predict import WindowPrediction, _device, predict_windows

TOLERANCE = 1e-12
# the synthetic self-check window: irregular gaps (outages of 1 and 4 bars), 16 rows
_CHECK_GAPS = np.array([1.0, 1.0, 2.0, 1.0, 5.0, 1.0, 1.0, 1.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])

Window = tuple[Tensor, Tensor, Tensor]


def native_config(model: ForecastModel) -> NativeModelConfig:
    """The hyperparameters of ``model`` that its state dict does not carry."""
    if type(model) is DynamicalSystem:
        kind, method, step_size = "ode", model.solver.method, model.solver.step_size
    elif type(model) is RecurrentBaseline:
        kind, method, step_size = "gru", "rk4", 0.5  # (read for "ode" only)
    else:
        raise InvalidInput(
            f"the native forward computes DynamicalSystem and RecurrentBaseline, not "
            f"{type(model).__name__}"
        )
    return NativeModelConfig(
        n_state=model.n_state,
        kind=kind,
        method=method,
        step_size=step_size,
        variance_head=model.heads.variance,
        baseline_column=int(model.baseline_column),
        policy_prior=model.policy.prior,
        policy_tilt=model.policy.tilt,
        var_floor=model.heads.var_floor,
    )


def native_weights(model: ForecastModel) -> dict[str, np.ndarray]:
    """``model.state_dict()`` as contiguous float64 arrays, less ``baseline_column`` (in the
    config)."""
    return {
        name: t.detach().to("cpu", torch.float64).contiguous().numpy()
        for name, t in model.state_dict().items()
        if name != "baseline_column"
    }


def _check_window(n_state: int) -> Window:
    rng = np.random.default_rng(20240101)
    t_x = np.concatenate([[0.0], np.cumsum(_CHECK_GAPS)])
    x = rng.normal(size=(1, len(t_x), n_state)) * 2.0
    return torch.from_numpy(x), torch.tensor([[1.0]]), torch.from_numpy(t_x - t_x[-1])[None, :]


def _close(want: np.ndarray, got: np.ndarray) -> float:
    """The largest difference in units of the tolerance's scale (<= TOLERANCE: close)."""
    return float(np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want)), initial=0.0))


class NativePredictor:
    """The Rust first-step forward of an ``as_predictor`` model (module docstring)."""

    def __init__(self, model: ForecastModel, example: Window | None = None) -> None:
        _device(model, "NativePredictor")
        self.n_state = model.n_state
        self._native = NativeModel(native_config(model), native_weights(model))
        for window in (_check_window(model.n_state), *((example,) if example else ())):
            self._check(model, window)

    def _check(self, model: ForecastModel, window: Window) -> None:
        want, got = predict_windows(model, *window), self(*window)
        for name in ("x_hat", "mean", "var", "position"):
            a, b = getattr(want, name), getattr(got, name)
            if a.shape != b.shape or not _close(a, b) <= TOLERANCE:
                raise InvalidInput(
                    f"the native forward does not reproduce the eager one: {name} {b} vs {a} "
                    f"(tolerance {TOLERANCE} relative to max(1, |value|))"
                )

    def __call__(self, x: Tensor, t_y: Tensor, t_x: Tensor) -> WindowPrediction:
        """``predict_windows`` for x (1, C, N), t_y (1, 1), t_x (1, C); other shapes are refused."""
        c = x.shape[1] if x.dim() == 3 else -1
        if x.shape != (1, c, self.n_state) or t_y.shape != (1, 1) or t_x.shape != (1, c):
            raise InvalidInput(
                f"NativePredictor takes one window and one target time: x (1, C, "
                f"{self.n_state}), t_y (1, 1), t_x (1, C); got {tuple(x.shape)}, "
                f"{tuple(t_y.shape)}, {tuple(t_x.shape)}"
            )
        f64 = torch.float64
        return self.predict(
            x[0].detach().to("cpu", f64).numpy(),
            float(t_y[0, 0]),
            t_x[0].detach().to("cpu", f64).numpy(),
        )

    def predict(self, x: np.ndarray, t_y: float, t_x: np.ndarray) -> WindowPrediction:
        """The same on NumPy: x (C, N) rows, t_y the target's hours, t_x (C,) (float64 values
        as the torch path would cast them)."""
        x_hat, mean, var, u = self._native.forward(x, t_x, t_y)
        return WindowPrediction(
            x_hat=x_hat[None, :],
            mean=np.array([mean]),
            var=np.array([var]),
            position=np.array([u]),
        )

    def first_step(self, x: np.ndarray, t_y: float, t_x: np.ndarray) -> tuple[float, float, float]:
        """``(ret_mean, ret_var, position)`` of ``predict``, without building its arrays (the
        per-bar decision reads only these)."""
        _, mean, var, u = self._native.forward(x, t_x, t_y)
        return mean, var, u


__all__ = ["TOLERANCE", "NativePredictor", "native_config", "native_weights"]
