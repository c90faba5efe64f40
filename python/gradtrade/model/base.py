"""Pieces shared by the Neural ODE and its recurrent baseline: encoder, heads, policy, interface.

Both models map a context window (B, C, N) with its hours ``t_context`` (<= 0) and the hours of
the targets ``time_horizon`` (B, H) (> 0, strictly increasing; real gaps are larger steps) to a
``Trajectory``; they differ only in how the latent state evolves between target times, so every
comparison between them is like for like.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from gradtrade.errors import InvalidInput

TIME_SCALE_HOURS = 24.0


@dataclass
class Trajectory:
    """Predictions at each target time. Variances are strictly positive (softplus + floor)."""

    states: Tensor  # (B, H, N) predicted X_hat
    state_var: Tensor  # (B, H, N)
    ret_mean: Tensor  # (B, H) raw log return of each future bar
    ret_var: Tensor  # (B, H)
    latent: Tensor  # (B, H, D)
    regularization: Tensor  # (B,) stiffness penalty accumulated along the path (0 for the GRU)
    nfe: int  # vector-field evaluations in this forward (GRU: decoder steps)


@dataclass
class Decision:
    """One live decision: next state, next-bar return variance and the position in [-1, 1]."""

    x_hat: Tensor  # (B, N)
    ret_mean: Tensor  # (B,)
    ret_var: Tensor  # (B,)
    position: Tensor  # (B,)


class ContextEncoder(nn.Module):
    """GRU over the window; each step also sees its time and the gap to the previous bar."""

    def __init__(self, n_state: int, hidden: int, latent: int) -> None:
        super().__init__()
        self.gru = nn.GRU(n_state + 2, hidden, batch_first=True)
        self.out = nn.Linear(hidden, latent)

    def forward(self, x: Tensor, t_x: Tensor) -> Tensor:
        gaps = torch.diff(t_x, dim=1, prepend=t_x[:, :1] - 1.0)
        feats = torch.cat(
            [
                x,
                (t_x / TIME_SCALE_HOURS).unsqueeze(-1),
                torch.log(gaps.clamp_min(1e-3)).unsqueeze(-1),
            ],
            dim=-1,
        )
        _, h = self.gru(feats)
        return torch.tanh(self.out(h[-1]))


class Heads(nn.Module):
    """Latent -> state mean/variance and raw next-bar return mean/variance."""

    ret_scale: Tensor

    def __init__(self, latent: int, n_state: int, var_floor: float) -> None:
        super().__init__()
        self.n_state = n_state
        self.var_floor = var_floor
        self.linear = nn.Linear(latent, 2 * n_state + 2)
        # Raw returns are ~1e-2; the heads work in units of the training-set return std.
        self.register_buffer("ret_scale", torch.tensor(1.0))

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        out = self.linear(z)
        n = self.n_state
        mean, raw_var = out[..., :n], out[..., n : 2 * n]
        scale = self.ret_scale
        r_mean = out[..., 2 * n] * scale
        r_var = (F.softplus(out[..., 2 * n + 1]) + self.var_floor) * scale**2
        return mean, F.softplus(raw_var) + self.var_floor, r_mean, r_var


class Policy(nn.Module):
    """u = tanh(g(X_hat, mu/sigma, log sigma^2)) * s(sigma), s = v / sqrt(sigma^2 + v^2).

    The volatility scaling s in (0, 1) is ~ v / sigma when sigma >> v (volatility targeting, as in
    Lim, Zohren & Roberts) and saturates at 1 when the market is calm, so |u| < 1 always.
    """

    vol_target: Tensor

    def __init__(self, n_state: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_state + 2, hidden), nn.Tanh(), nn.Linear(hidden, 1))
        self.register_buffer("vol_target", torch.tensor(0.01))

    def forward(self, x_hat: Tensor, ret_mean: Tensor, ret_var: Tensor) -> Tensor:
        sigma = ret_var.sqrt()
        vt = self.vol_target
        feats = torch.cat(
            [x_hat, (ret_mean / sigma).unsqueeze(-1), torch.log(ret_var / vt**2).unsqueeze(-1)],
            dim=-1,
        )
        signal = torch.tanh(self.net(feats).squeeze(-1))
        return signal * vt / torch.sqrt(ret_var + vt**2)


class ForecastModel(nn.Module):
    """Encoder -> latent evolution (subclass) -> heads, plus the trading policy."""

    kind = "base"

    def __init__(
        self, n_state: int, *, latent: int, hidden: int, var_floor: float, policy_hidden: int
    ) -> None:
        super().__init__()
        self.n_state = n_state
        self.encoder = ContextEncoder(n_state, hidden, latent)
        self.heads = Heads(latent, n_state, var_floor)
        self.policy = Policy(n_state, policy_hidden)
        self.last_nfe = 0

    def set_scales(self, ret_std: float, vol_target: float) -> None:
        """Fix the return scale and volatility target (training-set statistics, per bar)."""
        if not (math.isfinite(ret_std) and ret_std > 0 and vol_target > 0):
            raise InvalidInput(f"bad scales ret_std={ret_std}, vol_target={vol_target}")
        self.heads.ret_scale.fill_(ret_std)
        self.policy.vol_target.fill_(vol_target)

    def evolve(self, z0: Tensor, t_prev: Tensor, delta: Tensor) -> tuple[Tensor, Tensor, int]:
        """Latent states at each target time, the stiffness penalty (B,), and the NFE."""
        raise NotImplementedError

    def forward(
        self, state: Tensor, time_horizon: Tensor, t_context: Tensor | None = None
    ) -> Trajectory:
        if state.dim() != 3 or state.shape[-1] != self.n_state:
            raise InvalidInput(
                f"state must be (batch, context, {self.n_state}), got {tuple(state.shape)}"
            )
        batch, context = state.shape[:2]
        if t_context is None:  # a regular grid of 1-hour bars
            t_context = torch.arange(1 - context, 1, device=state.device, dtype=state.dtype)
        if t_context.dim() == 1:
            t_context = t_context.expand(batch, -1)
        if time_horizon.dim() == 1:
            time_horizon = time_horizon.expand(batch, -1)
        if not bool(torch.isfinite(state).all()):
            raise InvalidInput("state contains NaN or infinite values")
        if not (bool(torch.isfinite(time_horizon).all()) and bool(torch.isfinite(t_context).all())):
            raise InvalidInput("time stamps contain NaN or infinite values")
        t_prev = torch.cat([torch.zeros_like(time_horizon[:, :1]), time_horizon[:, :-1]], dim=1)
        delta = time_horizon - t_prev
        if bool((delta <= 0).any()):
            raise InvalidInput("time_horizon must be positive and strictly increasing")
        z0 = self.encoder(state, t_context.to(state.dtype))
        latent, reg, nfe = self.evolve(z0, t_prev.to(z0.dtype), delta.to(z0.dtype))
        self.last_nfe = nfe
        mean, var, r_mean, r_var = self.heads(latent)
        return Trajectory(mean, var, r_mean, r_var, latent, reg, nfe)

    def position(self, traj: Trajectory) -> Tensor:
        """u_t from the first predicted step."""
        return self.policy(traj.states[:, 0], traj.ret_mean[:, 0], traj.ret_var[:, 0])

    @torch.inference_mode()
    def decide(
        self, state: Tensor, t_context: Tensor | None = None, bar_hours: float = 1.0
    ) -> Decision:
        """The live path: a context window in, X_hat, sigma^2 and u_t out."""
        horizon = torch.full((1,), bar_hours, dtype=state.dtype, device=state.device)
        traj = self(state, horizon, t_context)
        u = self.position(traj)
        return Decision(traj.states[:, 0], traj.ret_mean[:, 0], traj.ret_var[:, 0], u)
