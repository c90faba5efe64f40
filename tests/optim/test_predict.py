"""``TracedPredictor`` computes exactly what ``predict_windows`` computes: traced on one window,
then run on random windows with irregular gaps, for both model kinds and the policy/solver
variants that change the graph; models whose operators depend on values are refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gradtrade.errors import InvalidInput
from gradtrade.model import DynamicalSystem, RecurrentBaseline, SolverOptions
from gradtrade.model.base import ForecastModel
from gradtrade.optim.predict import TracedPredictor, as_predictor, predict_windows

N_STATE, CONTEXT = 4, 12


def window(rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One window: random rows, times relative to the anchor with random outages."""
    gaps = rng.choice([1.0, 1.0, 1.0, 2.0, 5.0], size=CONTEXT - 1)
    t_x = np.concatenate([[0.0], np.cumsum(gaps)])
    t_x = t_x - t_x[-1]
    x = rng.normal(size=(1, CONTEXT, N_STATE)) * 3
    return torch.from_numpy(x), torch.tensor([[1.0]]), torch.from_numpy(t_x[None, :])


def model_of(kind: str, prior: str, seed: int) -> ForecastModel:
    torch.manual_seed(seed)
    if kind == "gru":
        return RecurrentBaseline(N_STATE, latent=8, hidden=16, policy_prior=prior)
    solver = SolverOptions(method=kind, step_size=0.5)
    return DynamicalSystem(N_STATE, latent=8, hidden=16, policy_prior=prior, solver=solver)


@settings(max_examples=25, deadline=None)
@given(
    kind=st.sampled_from(["rk4", "euler", "midpoint", "gru"]),
    prior=st.sampled_from(["none", "vol_target"]),
    seed=st.integers(0, 2**31 - 1),
)
def test_traced_equals_eager_on_other_windows(kind: str, prior: str, seed: int) -> None:
    model = as_predictor(model_of(kind, prior, seed))
    rng = np.random.default_rng(seed)
    traced = TracedPredictor(model, *window(rng))
    for _ in range(5):
        w = window(rng)
        want, got = predict_windows(model, *w), traced(*w)
        for a, b in ((want.x_hat, got.x_hat), (want.mean, got.mean), (want.var, got.var),
                     (want.position, got.position)):  # fmt: skip
            assert np.array_equal(a, b), (a, b)


def test_an_adaptive_solver_is_not_traced() -> None:
    model = as_predictor(DynamicalSystem(N_STATE, latent=8, solver=SolverOptions("dopri5")))
    assert not model.traceable
    with pytest.raises(InvalidInput, match="not traceable"):
        TracedPredictor(model, *window(np.random.default_rng(0)))


def test_a_model_in_training_mode_is_refused() -> None:
    model = DynamicalSystem(N_STATE, latent=8).double()  # not from as_predictor: training
    with pytest.raises(InvalidInput, match="as_predictor"):
        TracedPredictor(model, *window(np.random.default_rng(0)))
