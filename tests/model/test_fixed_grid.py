"""``fixed_grid_solve`` gives torchdiffeq's floats exactly (``torch.equal``), for random vector
fields, states, interval lengths, step sizes and dtypes; and the model's inference path uses it."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torchdiffeq import odeint

from gradtrade.model import DynamicalSystem, dynamics
from gradtrade.model.dynamics import IntervalDynamics, VectorField
from gradtrade.model.fixed_grid import FAST_METHODS, fixed_grid_solve


@settings(max_examples=60, deadline=None)
@given(
    method=st.sampled_from(sorted(FAST_METHODS)),
    step=st.floats(0.05, 1.0),
    batch=st.integers(1, 6),
    latent=st.integers(1, 8),
    seed=st.integers(0, 2**31 - 1),
    double=st.booleans(),
)
def test_bit_identical_to_torchdiffeq(
    method: str, step: float, batch: int, latent: int, seed: int, double: bool
) -> None:
    gen = torch.Generator().manual_seed(seed)
    dtype = torch.float64 if double else torch.float32
    field = VectorField(latent, 16, "none").to(dtype)
    z = torch.randn(batch, latent, generator=gen).to(dtype)
    t_start = torch.rand(batch, generator=gen).to(dtype) * 100
    delta = (torch.rand(batch, generator=gen) * 3 + 0.01).to(dtype)  # gaps of irregular length
    dyn = IntervalDynamics(field, t_start, delta)
    grid = torch.tensor([0.0, 1.0], dtype=dtype)
    with torch.no_grad():
        want = odeint(dyn.state_only, z, grid, method=method, options={"step_size": step})[-1]
        got = fixed_grid_solve(dyn.state_only, z, method, step)
    assert got.dtype == want.dtype and torch.equal(got, want)


def test_other_methods_are_refused() -> None:
    with pytest.raises(ValueError, match="dopri5"):
        fixed_grid_solve(lambda s, z: z, torch.zeros(1, 2), "dopri5", 0.5)


def test_the_models_inference_forward_is_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    """A whole DynamicalSystem forward (irregular targets) with and without the fast path."""
    torch.manual_seed(3)
    model = DynamicalSystem(3, latent=8, hidden=16).double().eval()
    x = torch.randn(4, 12, 3, dtype=torch.float64)
    t_y = torch.tensor([[1.0, 2.0, 5.0]] * 4, dtype=torch.float64)
    with torch.no_grad():
        fast = model(x, t_y)
        monkeypatch.setattr(dynamics, "FAST_METHODS", frozenset())
        slow = model(x, t_y)
    assert torch.equal(fast.states, slow.states) and torch.equal(fast.ret_var, slow.ret_var)
    assert torch.equal(model.position(fast), model.position(slow))
    assert fast.nfe == slow.nfe == 3 * 2 * 4  # 3 intervals, 2 rk4 steps, 4 stages
