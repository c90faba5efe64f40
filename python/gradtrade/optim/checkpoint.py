"""Checkpoints: one ``torch.save`` dict with weights, config, normalization, data range, version.

Writes go to a temporary file that replaces the target with ``os.replace`` (atomic on POSIX), so a
crash mid-write never leaves a truncated checkpoint; the trainer calls this only when the
validation loss improves and every weight is finite, so the last good checkpoint is never
overwritten by a worse or broken one. Loading refuses checkpoints from another gradtrade version
or another configuration with an error that says which. A loaded model reproduces the saved one's
predictions bit for bit on the same device with the same number of torch threads (CPU kernels split
reductions by thread, so another thread count may differ in the last bits).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

import gradtrade
from gradtrade.errors import InvalidInput, NumericalError
from gradtrade.model import ForecastModel
from gradtrade.optim.config import TrainConfig, build_model, parse_config

FORMAT = 1
REQUIRED = ("format", "version", "config", "config_hash", "kind", "n_state", "state_dict")


@dataclass
class Checkpoint:
    model: ForecastModel
    config: TrainConfig
    normalization: dict[str, Any]
    data_range: tuple[str, str]
    epoch: int
    val_loss: float
    payload: dict[str, Any]


def save_checkpoint(
    path: str | Path,
    model: ForecastModel,
    config: TrainConfig,
    *,
    normalization: dict[str, Any],
    data_range: tuple[str, str],
    epoch: int,
    val_loss: float,
) -> Path:
    path = Path(path)
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    if not math.isfinite(val_loss) or not all(
        bool(torch.isfinite(v).all()) for v in state.values()
    ):
        raise NumericalError(f"refusing to checkpoint non-finite weights or loss ({val_loss})")
    payload = {
        "format": FORMAT,
        "version": gradtrade.__version__,
        "config": config.model_dump(mode="json"),
        "config_hash": config.digest(),
        "kind": model.kind,
        "n_state": model.n_state,
        "state_dict": state,
        "normalization": normalization,
        "data_range": list(data_range),
        "epoch": epoch,
        "val_loss": float(val_loss),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def read_payload(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise InvalidInput(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a corrupt file
        raise InvalidInput(f"{path} is not a readable gradtrade checkpoint: {err}") from None
    if not isinstance(payload, dict) or any(k not in payload for k in REQUIRED):
        raise InvalidInput(f"{path} is not a gradtrade checkpoint (missing keys)")
    return payload


def _config_diff(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[str]:
    out: list[str] = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key), b.get(key)
        if isinstance(va, dict) and isinstance(vb, dict):
            out += _config_diff(va, vb, f"{prefix}{key}.")
        elif va != vb:
            out.append(f"{prefix}{key}: checkpoint {va!r} vs expected {vb!r}")
    return out


def load_checkpoint(
    path: str | Path, expected: TrainConfig | None = None, *, map_location: str = "cpu"
) -> Checkpoint:
    """Rebuild the model in eval mode; errors on another version or (if given) another config."""
    payload = read_payload(path)
    if payload["format"] != FORMAT:
        raise InvalidInput(
            f"{path}: checkpoint format {payload['format']}, this code reads {FORMAT}"
        )
    if payload["version"] != gradtrade.__version__:
        raise InvalidInput(
            f"{path} was written by gradtrade {payload['version']}, this is "
            f"{gradtrade.__version__}; retrain or use the matching version"
        )
    config = parse_config(payload["config"], f"{path} (stored config)")
    if config.digest() != payload["config_hash"]:
        raise InvalidInput(f"{path}: stored config does not match its hash (file edited?)")
    if expected is not None and expected.digest() != config.digest():
        diff = _config_diff(
            config.model_dump(mode="json", exclude={"run", "evaluate"}),
            expected.model_dump(mode="json", exclude={"run", "evaluate"}),
        )
        raise InvalidInput(
            f"{path} was trained with another config (hash {payload['config_hash']} vs "
            f"{expected.digest()}): " + "; ".join(diff)
        )
    model = build_model(config.model, int(payload["n_state"]))
    if model.kind != payload["kind"]:
        raise InvalidInput(f"{path}: model kind {payload['kind']} vs config {model.kind}")
    model.load_state_dict(payload["state_dict"], strict=True)
    model.to(map_location).eval()
    return Checkpoint(
        model=model,
        config=config,
        normalization=payload.get("normalization", {}),
        data_range=(payload["data_range"][0], payload["data_range"][1]),
        epoch=int(payload.get("epoch", -1)),
        val_loss=float(payload.get("val_loss", math.nan)),
        payload=payload,
    )
