"""Batch predictions of a fitted model over a dataset, as NumPy arrays aligned with its anchors."""

from __future__ import annotations

import numpy as np
import torch

from gradtrade.data.dataset import WindowDataset, make_loader
from gradtrade.model import ForecastModel


@torch.no_grad()
def predict_dataset(
    model: ForecastModel, dataset: WindowDataset, batch_size: int = 1024
) -> dict[str, np.ndarray]:
    """Next-bar return mean/variance, position u_t, realized next-bar return and funding."""
    model.eval()
    device = next(model.parameters()).device
    cols: dict[str, list[np.ndarray]] = {
        k: [] for k in ("mean", "var", "position", "ret", "funding")
    }
    for batch in make_loader(dataset, batch_size=batch_size, shuffle=False, seed=0):
        traj = model(batch["x"].to(device), batch["t_y"].to(device), batch["t_x"].to(device))
        u = model.position(traj)
        cols["mean"].append(traj.ret_mean[:, 0].double().cpu().numpy())
        cols["var"].append(traj.ret_var[:, 0].double().cpu().numpy())
        cols["position"].append(u.double().cpu().numpy())
        cols["ret"].append(batch["ret"][:, 0].double().numpy())
        cols["funding"].append(batch["funding"][:, 0].double().numpy())
    out = {k: np.concatenate(v) for k, v in cols.items()}
    out["anchor"] = np.asarray(dataset.anchors, dtype=np.int64)
    return out
