"""The recurrent baseline: the Neural ODE with its vector field replaced by a GRU cell.

Same encoder, heads, policy and interface as ``DynamicalSystem``; between target times the latent
state takes one discrete GRU step fed with the target time and the true gap length, so gaps are
seen as inputs rather than integrated.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gradtrade.model.base import TIME_SCALE_HOURS, ForecastModel


class RecurrentBaseline(ForecastModel):
    kind = "gru"

    def __init__(
        self,
        n_state: int,
        *,
        latent: int = 16,
        hidden: int = 32,
        var_floor: float = 1e-3,
        policy_hidden: int = 16,
        variance_head: str = "free",
        policy_prior: str = "none",
        policy_tilt: float = 0.5,
        detach_forecast: bool = False,
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
        self.cell = nn.GRUCell(2, latent)

    def evolve(self, z0: Tensor, t_prev: Tensor, delta: Tensor) -> tuple[Tensor, Tensor, int]:
        z = z0
        latents = []
        for k in range(delta.shape[1]):
            t_next = t_prev[:, k] + delta[:, k]
            step_in = torch.stack([t_next / TIME_SCALE_HOURS, torch.log(delta[:, k])], dim=-1)
            z = self.cell(step_in, z)
            latents.append(z)
        reg = torch.zeros(z0.shape[0], dtype=z0.dtype, device=z0.device)
        return torch.stack(latents, dim=1), reg, delta.shape[1]
