"""The Neural ODE and its GRU baseline: shapes, true-length integration, NFE, penalties, errors."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gradtrade.errors import InvalidInput
from gradtrade.model import DynamicalSystem, RecurrentBaseline, SolverOptions


def constant_field(model: DynamicalSystem, c: torch.Tensor) -> None:
    """Make f(z, t) = c exactly: zero every weight, last bias = c."""
    with torch.no_grad():
        for p in model.field.parameters():
            p.zero_()
        model.field.net[-1].bias.copy_(c)


def test_shapes_positive_variance_and_bounded_position() -> None:
    torch.manual_seed(0)
    model = DynamicalSystem(3, latent=8, hidden=16)
    x = torch.randn(5, 20, 3) * 10
    traj = model(x, torch.tensor([1.0, 2.0, 3.0]))
    assert traj.states.shape == (5, 3, 3) and traj.state_var.shape == (5, 3, 3)
    assert traj.ret_mean.shape == (5, 3) and traj.latent.shape == (5, 3, 8)
    assert bool((traj.state_var >= 1e-3).all()) and bool((traj.ret_var > 0).all())
    u = model.position(traj)
    assert u.shape == (5,) and bool((u.abs() < 1).all())


def test_gap_is_integrated_over_its_true_length() -> None:
    model = DynamicalSystem(2, latent=4, solver=SolverOptions(method="euler", step_size=1.0))
    c = torch.tensor([0.5, -1.0, 2.0, 0.0])
    constant_field(model, c)
    x = torch.randn(2, 10, 2)
    # sample 0 has a regular grid, sample 1 a 3-hour outage before its second target
    t_y = torch.tensor([[1.0, 2.0], [1.0, 4.0]])
    traj = model(x, t_y)
    z0 = model.encoder(x, torch.arange(-9.0, 1.0).expand(2, -1))
    expected = z0.unsqueeze(1) + t_y.unsqueeze(-1) * c
    torch.testing.assert_close(traj.latent, expected)
    # kinetic energy int ||f||^2 dt = ||c||^2 * total time
    torch.testing.assert_close(traj.regularization, c.pow(2).sum() * t_y[:, -1])


def test_latent_does_not_depend_on_intermediate_grid() -> None:
    torch.manual_seed(1)
    model = DynamicalSystem(2, latent=6, solver=SolverOptions(method="rk4", step_size=0.125))
    x = torch.randn(3, 8, 2)
    direct = model(x, torch.tensor([3.0])).latent[:, -1]
    stepped = model(x, torch.tensor([1.0, 2.5, 3.0])).latent[:, -1]
    torch.testing.assert_close(direct, stepped, atol=2e-4, rtol=1e-4)


@pytest.mark.parametrize(("method", "step", "per_interval"), [("rk4", 0.5, 8), ("euler", 1.0, 1)])
def test_nfe_counts_vector_field_calls(method: str, step: float, per_interval: int) -> None:
    model = DynamicalSystem(2, solver=SolverOptions(method=method, step_size=step))
    traj = model(torch.randn(2, 6, 2), torch.tensor([1.0, 2.0, 3.0]))
    assert traj.nfe == 3 * per_interval


def test_jacobian_penalty_of_linear_field() -> None:
    model = DynamicalSystem(2, latent=3, solver=SolverOptions(regularization="jacobian"))
    with torch.no_grad():
        for p in model.field.parameters():
            p.zero_()
    # a constant field has a zero Jacobian
    out = model(torch.randn(4, 5, 2), torch.tensor([1.0, 2.0]))
    assert float(out.regularization.detach().abs().max()) == 0.0
    torch.manual_seed(2)
    fresh = DynamicalSystem(2, latent=3, solver=SolverOptions(regularization="jacobian"))
    assert bool((fresh(torch.randn(4, 5, 2), torch.tensor([1.0])).regularization > 0).all())


def test_adjoint_matches_direct_backprop() -> None:
    torch.manual_seed(3)
    direct = DynamicalSystem(2, latent=4, solver=SolverOptions(method="rk4", step_size=0.25))
    adjoint = DynamicalSystem(
        2, latent=4, solver=SolverOptions(method="rk4", step_size=0.25, adjoint=True)
    )
    adjoint.load_state_dict(direct.state_dict())
    x = torch.randn(3, 6, 2)
    grads = []
    for model in (direct, adjoint):
        model.zero_grad()
        model(x, torch.tensor([1.0, 2.0])).states.pow(2).sum().backward()
        grads.append(model.field.net[0].weight.grad.clone())
    torch.testing.assert_close(grads[0], grads[1], atol=1e-4, rtol=1e-3)


def test_dopri5_runs_with_tolerances() -> None:
    model = DynamicalSystem(2, solver=SolverOptions(method="dopri5", rtol=1e-3, atol=1e-4))
    traj = model(torch.randn(2, 6, 2), torch.tensor([1.0]))
    assert traj.nfe >= 6 and bool(torch.isfinite(traj.states).all())


def test_gru_baseline_same_interface() -> None:
    model = RecurrentBaseline(3, latent=8)
    traj = model(torch.randn(4, 10, 3), torch.tensor([1.0, 3.0]))
    assert traj.states.shape == (4, 2, 3) and traj.nfe == 2
    assert float(traj.regularization.abs().sum()) == 0.0
    decision = model.decide(torch.randn(1, 10, 3))
    assert decision.x_hat.shape == (1, 3) and abs(float(decision.position)) < 1


@pytest.mark.parametrize("kind", [DynamicalSystem, RecurrentBaseline])
def test_bad_inputs_raise(kind: type) -> None:
    model = kind(2)
    x = torch.randn(2, 5, 2)
    bad = x.clone()
    bad[1, 3, 0] = float("nan")
    with pytest.raises(InvalidInput, match="NaN"):
        model(bad, torch.tensor([1.0]))
    with pytest.raises(InvalidInput, match="increasing"):
        model(x, torch.tensor([2.0, 1.0]))
    with pytest.raises(InvalidInput, match="state must be"):
        model(torch.randn(2, 5, 3), torch.tensor([1.0]))


def test_bad_solver_options() -> None:
    with pytest.raises(InvalidInput, match="unknown solver"):
        SolverOptions(method="leapfrog")
    with pytest.raises(InvalidInput, match="adjoint"):
        SolverOptions(adjoint=True, regularization="jacobian")


def test_risk_gradient_reaches_every_part() -> None:
    torch.manual_seed(4)
    model = DynamicalSystem(2, latent=4)
    model.set_scales(0.01, 0.005)
    traj = model(torch.randn(16, 6, 2), torch.tensor([1.0]))
    pnl = model.position(traj) * torch.randn(16) * 0.01
    (-(pnl.mean() / pnl.std())).backward()
    for name in (
        "encoder.out.weight",
        "field.net.0.weight",
        "heads.linear.weight",
        "policy.net.0.weight",
    ):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and float(grad.abs().sum()) > 0, name


@settings(max_examples=25, deadline=None)
@given(
    scale=st.floats(1e-3, 1e3),
    gap=st.floats(0.1, 48.0),
    ret_std=st.floats(1e-4, 0.1),
    seed=st.integers(0, 2**16),
)
def test_invariants_hold_for_any_finite_input(
    scale: float, gap: float, ret_std: float, seed: int
) -> None:
    """Variances never fall below the floor, positions stay strictly inside (-1, 1)."""
    torch.manual_seed(seed)
    model = DynamicalSystem(3, latent=4, hidden=8, field_hidden=8, var_floor=1e-3)
    model.set_scales(ret_std, 0.004)
    x = torch.randn(4, 6, 3) * scale
    traj = model(x, torch.tensor([1.0, 1.0 + gap]))
    assert bool(torch.isfinite(traj.states).all())
    assert bool((traj.state_var >= 1e-3).all())
    assert bool((traj.ret_var >= 1e-3 * ret_std**2 * (1 - 1e-6)).all())
    u = model.position(traj)
    assert bool((u.abs() < 1).all())
