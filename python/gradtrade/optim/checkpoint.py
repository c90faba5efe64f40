"""Checkpoints: one ``torch.save`` dict with weights, config, normalization, data range, version.

Invariants:

* saving and loading run the same validation, :func:`check_payload`: a payload that would be
  refused when written (NaN or infinite weights, loss or normalization, a missing or unknown
  field, a field of the wrong type, a config that does not validate or match its hash) is refused
  when read, with an :class:`~gradtrade.errors.InvalidCheckpoint` naming the file and the field
  (:class:`~gradtrade.errors.NonFiniteCheckpoint`, also a ``NumericalError``, for non-finite
  values), never a ``KeyError`` or half a model;
* writes go to a temporary file that replaces the target with ``os.replace`` (atomic on POSIX),
  so a crash mid-write never leaves a truncated checkpoint; the trainer calls this only when the
  validation loss improves, so the last good checkpoint is never overwritten by a worse one;
* loading refuses checkpoints from another gradtrade version or another configuration with an
  error that says which. A loaded model reproduces the saved one's predictions bit for bit on the
  same device with the same number of torch threads (CPU kernels split reductions by thread, so
  another thread count may differ in the last bits).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

import gradtrade
from gradtrade.config import utc_timestamp
from gradtrade.errors import InvalidCheckpoint, InvalidInput, NonFiniteCheckpoint
from gradtrade.model import ForecastModel
from gradtrade.optim.config import TrainConfig, build_model, parse_config

FORMAT = 1
# every field of a payload and the type it must have (bool is refused where int is asked)
FIELDS: dict[str, type | tuple[type, ...]] = {
    "format": int,
    "version": str,
    "config": dict,
    "config_hash": str,
    "kind": str,
    "n_state": int,
    "state_dict": dict,
    "normalization": dict,
    "data_range": (list, tuple),
    "epoch": int,
    "val_loss": (float, int),
}
REQUIRED = tuple(FIELDS)
KINDS = ("ode", "gru")
# far above any state the data layer builds; a tampered value must not allocate a huge model
MAX_STATE = 100_000


@dataclass
class Checkpoint:
    model: ForecastModel
    config: TrainConfig
    normalization: dict[str, Any]
    data_range: tuple[str, str]
    epoch: int
    val_loss: float
    payload: dict[str, Any]


def _numbers(value: Any, where: str) -> Iterator[tuple[str, float]]:
    """Every number inside nested dicts and lists, with its dotted path; the transformer's JSON
    text is opened too (Python's json reads NaN and Infinity)."""
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield where, float(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            if k == "state_transformer" and isinstance(v, str):
                try:
                    v = json.loads(v)
                except ValueError:
                    raise InvalidCheckpoint(f"{where}.{k}: not JSON") from None
            yield from _numbers(v, f"{where}.{k}")
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            yield from _numbers(v, f"{where}.{i}")


def check_payload(payload: Any, source: str) -> TrainConfig:
    """The payload's config if the payload is a valid checkpoint of this gradtrade version;
    else :class:`InvalidCheckpoint` (or :class:`NonFiniteCheckpoint`) naming ``source`` and the
    first bad field. Run on every payload before it is written and after it is read."""
    if not isinstance(payload, dict):
        raise InvalidCheckpoint(
            f"{source}: not a gradtrade checkpoint (a {type(payload).__name__})"
        )
    missing = [k for k in FIELDS if k not in payload]
    if missing:
        raise InvalidCheckpoint(f"{source}: missing field(s) {', '.join(missing)}")
    unknown = sorted(str(k) for k in payload if k not in FIELDS)
    if unknown:
        raise InvalidCheckpoint(f"{source}: unknown field(s) {', '.join(unknown)}")
    for key, kind in FIELDS.items():
        value = payload[key]
        if isinstance(value, bool) or not isinstance(value, kind):
            raise InvalidCheckpoint(f"{source}: {key} is a {type(value).__name__}, not {kind}")
    if payload["format"] != FORMAT:
        raise InvalidCheckpoint(
            f"{source}: checkpoint format {payload['format']}, this code reads {FORMAT}"
        )
    if payload["version"] != gradtrade.__version__:
        raise InvalidCheckpoint(
            f"{source} was written by gradtrade {payload['version']}, this is "
            f"{gradtrade.__version__}; retrain or use the matching version"
        )
    if payload["kind"] not in KINDS:
        raise InvalidCheckpoint(f"{source}: kind {payload['kind']!r} is not one of {KINDS}")
    if not 1 <= payload["n_state"] <= MAX_STATE:
        raise InvalidCheckpoint(f"{source}: n_state {payload['n_state']} not in [1, {MAX_STATE}]")
    if payload["epoch"] < 0:
        raise InvalidCheckpoint(f"{source}: epoch {payload['epoch']} is negative")
    if not math.isfinite(payload["val_loss"]):
        raise NonFiniteCheckpoint(f"{source}: val_loss is {payload['val_loss']}")
    _check_data_range(payload["data_range"], source)
    _check_weights(payload["state_dict"], source)
    for where, number in _numbers(payload["normalization"], "normalization"):
        if not math.isfinite(number):
            raise NonFiniteCheckpoint(f"{source}: {where} is {number}")
    try:
        config = parse_config(payload["config"], f"{source} (stored config)")
    except InvalidInput as err:
        raise InvalidCheckpoint(str(err)) from None
    if config.digest() != payload["config_hash"]:
        raise InvalidCheckpoint(f"{source}: stored config does not match its hash (file edited?)")
    if config.model.kind != payload["kind"]:
        raise InvalidCheckpoint(
            f"{source}: kind {payload['kind']} vs config model.kind {config.model.kind}"
        )
    return config


def _check_data_range(value: list[Any] | tuple[Any, ...], source: str) -> None:
    if len(value) != 2 or not all(isinstance(v, str) for v in value):
        raise InvalidCheckpoint(f"{source}: data_range must be two date strings, got {value!r}")
    try:
        first, last = (utc_timestamp(v) for v in value)
    except ValueError as err:
        raise InvalidCheckpoint(f"{source}: data_range: {err}") from None
    if first > last:
        raise InvalidCheckpoint(f"{source}: data_range {value[0]} is after {value[1]}")


def _check_weights(state: dict[Any, Any], source: str) -> None:
    for name, tensor in state.items():
        if not isinstance(name, str) or not isinstance(tensor, torch.Tensor):
            raise InvalidCheckpoint(f"{source}: state_dict.{name} is not a named tensor")
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            bad = int((~torch.isfinite(tensor)).sum())
            raise NonFiniteCheckpoint(
                f"{source}: state_dict.{name} has {bad} non-finite value(s) (NaN or infinity)"
            )


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
    """Write the checkpoint atomically; a payload :func:`check_payload` refuses is never written."""
    path = Path(path)
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
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
    check_payload(payload, f"refusing to write {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def read_payload(path: str | Path) -> dict[str, Any]:
    """The raw payload dict of a checkpoint file (not yet validated: see :func:`check_payload`)."""
    path = Path(path)
    if not path.exists():
        raise InvalidCheckpoint(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a corrupt file
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InvalidCheckpoint(
            f"{path} is not a readable gradtrade checkpoint: {reason}"
        ) from None
    if not isinstance(payload, dict):
        raise InvalidCheckpoint(
            f"{path} is not a gradtrade checkpoint (a {type(payload).__name__})"
        )
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
    config = check_payload(payload, str(path))
    if expected is not None and expected.digest() != config.digest():
        diff = _config_diff(
            config.model_dump(mode="json", exclude={"run", "evaluate"}),
            expected.model_dump(mode="json", exclude={"run", "evaluate"}),
        )
        raise InvalidInput(
            f"{path} was trained with another config (hash {payload['config_hash']} vs "
            f"{expected.digest()}): " + "; ".join(diff)
        )
    model = build_model(config.model, payload["n_state"])
    try:
        model.load_state_dict(payload["state_dict"], strict=True)
    except RuntimeError as err:  # missing, unexpected or misshapen tensors
        detail = " ".join(str(err).split())
        raise InvalidCheckpoint(f"{path}: state_dict does not fit the model: {detail}") from None
    model.to(map_location).eval()
    return Checkpoint(
        model=model,
        config=config,
        normalization=payload["normalization"],
        data_range=(payload["data_range"][0], payload["data_range"][1]),
        epoch=payload["epoch"],
        val_loss=float(payload["val_loss"]),
        payload=payload,
    )
