"""The Neural ODE of market dynamics: dz/dt = f(z, t; theta), integrated with torchdiffeq.

Irregular target times are integrated over their true length: between consecutive target times
t_{k-1} < t_k the solver runs on a unit interval s in [0, 1] with t = t_{k-1} + s * delta_k per
sample, so dz/ds = delta_k * f(z, t). A two-hour gap therefore gets twice the integration time of a
one-hour bar, while the whole batch shares one solver grid.

Stiffness regularization (Finlay et al. 2020, "How to train your neural ODE") is integrated along
the path as an extra state: ``kinetic`` = int ||f||^2 dt, ``jacobian`` = int ||J_f||_F^2 dt with
a Hutchinson estimate eps^T J (one Rademacher probe per evaluation). It is only computed when
gradients are on (training); inference integrates z alone and reports a zero penalty, so the
validation loss is the loss without the regularizer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torchdiffeq import odeint, odeint_adjoint

from gradtrade.errors import InvalidInput
from gradtrade.model.base import TIME_SCALE_HOURS, ForecastModel
from gradtrade.model.fixed_grid import FAST_METHODS, fixed_grid_solve

FIXED_STEP = {"euler", "midpoint", "rk4", "explicit_adams", "implicit_adams"}
ADAPTIVE = {"dopri5", "dopri8", "bosh3", "fehlberg2", "adaptive_heun"}
REGULARIZERS = {"none", "kinetic", "jacobian"}


@dataclass(frozen=True)
class SolverOptions:
    method: str = "rk4"
    step_size: float = 0.5  # in units of one target interval (fixed-step solvers)
    rtol: float = 1e-3
    atol: float = 1e-4
    adjoint: bool = False
    regularization: str = "kinetic"

    def __post_init__(self) -> None:
        if self.method not in FIXED_STEP | ADAPTIVE:
            raise InvalidInput(
                f"unknown solver {self.method!r}; choose from {sorted(FIXED_STEP | ADAPTIVE)}"
            )
        if self.regularization not in REGULARIZERS:
            raise InvalidInput(f"unknown regularization {self.regularization!r}")
        if self.adjoint and self.regularization == "jacobian":
            raise InvalidInput("jacobian regularization needs adjoint=false (use kinetic)")
        if not 0 < self.step_size <= 1:
            raise InvalidInput("step_size must be in (0, 1] (a fraction of one target interval)")


class VectorField(nn.Module):
    """f(z, t; theta): an MLP on [z, t / 24h]; counts its evaluations (NFE)."""

    def __init__(self, latent: int, hidden: int, regularization: str) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(latent + 1, hidden),
            nn.Tanh(),
            nn.Linear(hidden, hidden),
            nn.Tanh(),
            nn.Linear(hidden, latent),
        )
        self.regularization = regularization
        self.nfe = 0

    def forward(self, z: Tensor, t: Tensor) -> Tensor:
        return self.net(torch.cat([z, (t / TIME_SCALE_HOURS).unsqueeze(-1)], dim=-1))


class IntervalDynamics(nn.Module):
    """The ODE on one target interval in s in [0, 1]: d(z, penalty)/ds.

    One instance per interval, so the adjoint's backward pass (which runs after the forward
    loop over intervals) still sees the right start time and length.
    """

    def __init__(self, field: VectorField, t_start: Tensor, delta: Tensor) -> None:
        super().__init__()
        self.vf = field
        self.t_start, self.delta = t_start, delta

    def field(self, z: Tensor, t: Tensor) -> Tensor:
        return self.vf(z, t)

    def state_only(self, s: Tensor, z: Tensor) -> Tensor:
        """dz/ds without the penalty: the inference path (no gradients, nothing to penalize)."""
        self.vf.nfe += 1
        return self.delta.unsqueeze(-1) * self.vf(z, self.t_start + s * self.delta)

    def forward(self, s: Tensor, carry: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
        self.vf.nfe += 1
        z = carry[0]
        t = self.t_start + s * self.delta
        scale = self.delta.unsqueeze(-1)
        regularization = self.vf.regularization
        if regularization == "jacobian":
            with torch.enable_grad():
                zr = z if z.requires_grad else z.detach().requires_grad_(True)
                f = self.field(zr, t)
                probe = torch.randint_like(f, 2) * 2 - 1
                (vjp,) = torch.autograd.grad(f, zr, probe, create_graph=True)
            penalty = vjp.pow(2).sum(-1)
        else:
            f = self.field(z, t)
            penalty = f.pow(2).sum(-1) if regularization == "kinetic" else torch.zeros_like(t)
        # d/ds of the penalty integral int (.) dt is delta * (.)
        return scale * f, self.delta * penalty


class DynamicalSystem(ForecastModel):
    """Context window -> z0 -> ODE through the target times -> X_hat, sigma^2 (and u_t)."""

    kind = "ode"

    def __init__(
        self,
        n_state: int,
        *,
        latent: int = 16,
        hidden: int = 32,
        field_hidden: int = 32,
        var_floor: float = 1e-3,
        policy_hidden: int = 16,
        variance_head: str = "free",
        policy_prior: str = "none",
        policy_tilt: float = 0.5,
        detach_forecast: bool = False,
        solver: SolverOptions | None = None,
    ) -> None:
        super().__init__(
            n_state,
            latent=latent,
            hidden=hidden,
            var_floor=var_floor,
            policy_hidden=policy_hidden,
            variance_head=variance_head,
            policy_prior=policy_prior,
            policy_tilt=policy_tilt,
            detach_forecast=detach_forecast,
        )
        self.solver = solver or SolverOptions()
        self.field = VectorField(latent, field_hidden, self.solver.regularization)

    def _integrate(self, dyn: IntervalDynamics, z: Tensor, reg: Tensor) -> tuple[Tensor, Tensor]:
        grid = torch.tensor([0.0, 1.0], dtype=z.dtype, device=z.device)
        opts = self.solver
        kwargs: dict[str, object] = {"method": opts.method}
        if opts.method in FIXED_STEP:
            kwargs["options"] = {"step_size": opts.step_size}
        else:
            kwargs.update(rtol=opts.rtol, atol=opts.atol)
        if not (torch.is_grad_enabled() and self.solver.regularization != "none"):
            if opts.method in FAST_METHODS:  # the same floats as odeint's, less overhead
                return fixed_grid_solve(dyn.state_only, z, opts.method, opts.step_size), reg
            return odeint(dyn.state_only, z, grid, **kwargs)[-1], reg
        if opts.adjoint:
            zs, regs = odeint_adjoint(
                dyn, (z, reg), grid, adjoint_params=tuple(self.field.parameters()), **kwargs
            )
        else:
            zs, regs = odeint(dyn, (z, reg), grid, **kwargs)
        return zs[-1], regs[-1]

    @property
    def traceable(self) -> bool:
        # an adaptive solver's steps depend on the values; the fast fixed grids do not
        return self.solver.method in FAST_METHODS

    def evolve(self, z0: Tensor, t_prev: Tensor, delta: Tensor) -> tuple[Tensor, Tensor, int]:
        self.field.nfe = 0
        z, reg = z0, torch.zeros(z0.shape[0], dtype=z0.dtype, device=z0.device)
        latents = []
        for k in range(delta.shape[1]):
            dyn = IntervalDynamics(self.field, t_prev[:, k], delta[:, k])
            z, reg = self._integrate(dyn, z, reg)
            latents.append(z)
        return torch.stack(latents, dim=1), reg, self.field.nfe
