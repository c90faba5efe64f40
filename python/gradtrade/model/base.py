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
VARIANCE_HEADS = ("free", "residual")
POLICY_PRIORS = ("none", "vol_target")


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
    """Latent -> state mean/variance and raw next-bar return mean/variance.

    ``variance="free"`` learns the return variance level from scratch (softplus + floor).
    ``variance="residual"`` predicts log sigma^2 = log(baseline) + c(z), where the baseline is a
    causal EWMA variance read from the context (``ForecastModel.baseline_variance``) and the
    correction c starts at exactly zero, so an untrained model forecasts the EWMA variance.
    """

    ret_scale: Tensor

    def __init__(self, latent: int, n_state: int, var_floor: float, variance: str = "free") -> None:
        super().__init__()
        if variance not in VARIANCE_HEADS:
            raise InvalidInput(f"variance head must be one of {VARIANCE_HEADS}, got {variance!r}")
        self.n_state = n_state
        self.var_floor = var_floor
        self.variance = variance
        self.linear = nn.Linear(latent, 2 * n_state + 2)
        if variance == "residual":
            with torch.no_grad():
                self.linear.weight[2 * n_state + 1].zero_()
                self.linear.bias[2 * n_state + 1].zero_()
        # Raw returns are ~1e-2; the heads work in units of the training-set return std.
        self.register_buffer("ret_scale", torch.tensor(1.0))

    def forward(
        self, z: Tensor, baseline: Tensor | None = None
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        out = self.linear(z)
        n = self.n_state
        mean, raw_var = out[..., :n], out[..., n : 2 * n]
        scale = self.ret_scale
        r_mean = out[..., 2 * n] * scale
        if self.variance == "residual":
            if baseline is None:
                raise InvalidInput("the residual variance head needs a baseline variance")
            base = baseline.clamp_min(self.var_floor * scale**2).unsqueeze(-1)
            # the clamp bounds one step's correction to a factor e^5 either way
            r_var = base * torch.exp(out[..., 2 * n + 1].clamp(-5.0, 5.0))
        else:
            r_var = (F.softplus(out[..., 2 * n + 1]) + self.var_floor) * scale**2
        return mean, F.softplus(raw_var) + self.var_floor, r_mean, r_var


class Policy(nn.Module):
    """u = tanh(g(X_hat, mu/sigma, log sigma^2)) * s(sigma), s = v / sqrt(sigma^2 + v^2).

    The volatility scaling s in (0, 1) is ~ v / sigma when sigma >> v (volatility targeting, as in
    Lim, Zohren & Roberts) and saturates at 1 when the market is calm, so |u| < 1 always.

    ``prior="vol_target"``: u = clip(s * (1 + tilt * tanh(g)), -1, 1) with g's last layer at zero,
    so an untrained policy holds the volatility-targeted long position s and learning can only
    tilt it within [(1 - tilt) s, (1 + tilt) s].
    """

    vol_target: Tensor

    def __init__(self, n_state: int, hidden: int, prior: str = "none", tilt: float = 0.5) -> None:
        super().__init__()
        if prior not in POLICY_PRIORS:
            raise InvalidInput(f"policy prior must be one of {POLICY_PRIORS}, got {prior!r}")
        if not (0.0 <= tilt <= 2.0):
            raise InvalidInput(f"policy tilt must lie in [0, 2], got {tilt}")
        self.prior, self.tilt = prior, tilt
        self.net = nn.Sequential(nn.Linear(n_state + 2, hidden), nn.Tanh(), nn.Linear(hidden, 1))
        if prior == "vol_target":
            last = self.net[-1]
            assert isinstance(last, nn.Linear)
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
        self.register_buffer("vol_target", torch.tensor(0.01))

    def forward(self, x_hat: Tensor, ret_mean: Tensor, ret_var: Tensor) -> Tensor:
        sigma = ret_var.sqrt()
        vt = self.vol_target
        feats = torch.cat(
            [x_hat, (ret_mean / sigma).unsqueeze(-1), torch.log(ret_var / vt**2).unsqueeze(-1)],
            dim=-1,
        )
        signal = torch.tanh(self.net(feats).squeeze(-1))
        scaling = vt / torch.sqrt(ret_var + vt**2)
        if self.prior == "vol_target":
            return (scaling * (1.0 + self.tilt * signal)).clamp(-1.0, 1.0)
        return signal * scaling


class ForecastModel(nn.Module):
    """Encoder -> latent evolution (subclass) -> heads, plus the trading policy."""

    kind = "base"

    baseline_column: Tensor
    baseline_center: Tensor
    baseline_scale: Tensor

    def __init__(
        self,
        n_state: int,
        *,
        latent: int,
        hidden: int,
        var_floor: float,
        policy_hidden: int,
        variance_head: str = "free",
        policy_prior: str = "none",
        policy_tilt: float = 0.5,
        detach_forecast: bool = False,
    ) -> None:
        super().__init__()
        self.n_state = n_state
        self.detach_forecast = detach_forecast
        self.encoder = ContextEncoder(n_state, hidden, latent)
        self.heads = Heads(latent, n_state, var_floor, variance_head)
        self.policy = Policy(n_state, policy_hidden, policy_prior, policy_tilt)
        # Which state column holds a causal variance forecast of the next return, and how to
        # undo its normalization (column -1: none set). Buffers, so checkpoints carry them.
        self.register_buffer("baseline_column", torch.tensor(-1))
        self.register_buffer("baseline_center", torch.tensor(0.0))
        self.register_buffer("baseline_scale", torch.tensor(1.0))
        self.last_nfe = 0

    def set_variance_baseline(self, column: int, center: float, scale: float) -> None:
        """Use state column ``column`` (normalized as (raw - center) / scale) as the baseline."""
        if not (0 <= column < self.n_state and math.isfinite(center) and scale > 0):
            raise InvalidInput(
                f"bad variance baseline column={column} center={center} scale={scale}"
            )
        self.baseline_column.fill_(column)
        self.baseline_center.fill_(center)
        self.baseline_scale.fill_(scale)

    def baseline_variance(self, state: Tensor) -> Tensor:
        """(B,) un-normalized baseline variance at the last context bar (causal: it is X_t)."""
        col = int(self.baseline_column)
        if col < 0:
            raise InvalidInput("no variance baseline set: call set_variance_baseline first")
        return state[:, -1, col] * self.baseline_scale + self.baseline_center

    def set_scales(self, ret_std: float, vol_target: float) -> None:
        """Fix the return scale and volatility target (training-set statistics, per bar)."""
        if not (math.isfinite(ret_std) and ret_std > 0 and vol_target > 0):
            raise InvalidInput(f"bad scales ret_std={ret_std}, vol_target={vol_target}")
        self.heads.ret_scale.fill_(ret_std)
        self.policy.vol_target.fill_(vol_target)

    def evolve(self, z0: Tensor, t_prev: Tensor, delta: Tensor) -> tuple[Tensor, Tensor, int]:
        """Latent states at each target time, the stiffness penalty (B,), and the NFE."""
        raise NotImplementedError

    @property
    def traceable(self) -> bool:
        """True when the inference forward runs the same operators for every input of one
        shape (no control flow on values but the input checks), so that a trace of it
        (``optim.predict.TracedPredictor``) computes what the forward computes."""
        return True

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
        baseline = self.baseline_variance(state) if self.heads.variance == "residual" else None
        mean, var, r_mean, r_var = self.heads(latent, baseline)
        return Trajectory(mean, var, r_mean, r_var, latent, reg, nfe)

    def position(self, traj: Trajectory) -> Tensor:
        """u_t from the first predicted step.

        With ``detach_forecast`` the risk term trains the policy only: its gradient does not
        reach the forecasts, so the variance stays a pure likelihood forecast rather than
        whatever sizes positions best on the training PnL.
        """
        x_hat, mean, var = traj.states[:, 0], traj.ret_mean[:, 0], traj.ret_var[:, 0]
        if self.detach_forecast:
            x_hat, mean, var = x_hat.detach(), mean.detach(), var.detach()
        return self.policy(x_hat, mean, var)

    @torch.inference_mode()
    def decide(
        self, state: Tensor, t_context: Tensor | None = None, bar_hours: float = 1.0
    ) -> Decision:
        """The live path: a context window in, X_hat, sigma^2 and u_t out."""
        horizon = torch.full((1,), bar_hours, dtype=state.dtype, device=state.device)
        traj = self(state, horizon, t_context)
        u = self.position(traj)
        return Decision(traj.states[:, 0], traj.ret_mean[:, 0], traj.ret_var[:, 0], u)
