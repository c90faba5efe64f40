"""Checkpoints: bit-identical predictions in a fresh process, clear refusals, atomic writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gradtrade
from gradtrade.errors import InvalidCheckpoint, InvalidInput, NonFiniteCheckpoint, NumericalError
from gradtrade.optim.checkpoint import FIELDS, load_checkpoint, read_payload, save_checkpoint
from gradtrade.optim.config import TrainConfig, build_model, parse_config

REPO = Path(__file__).resolve().parents[2]

PREDICT = """
import sys, torch
torch.set_num_threads(1)
from gradtrade.optim.checkpoint import load_checkpoint
ck = load_checkpoint(sys.argv[1])
batch = torch.load(sys.argv[2])
with torch.no_grad():
    traj = ck.model(batch["x"], batch["t_y"], batch["t_x"])
    u = ck.model.position(traj)
torch.save({"states": traj.states, "var": traj.ret_var, "u": u}, sys.argv[3])
"""


def _fitted(cfg: TrainConfig, path: Path) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_model(cfg.model, 3)
    model.set_scales(0.01, 0.004)
    save_checkpoint(
        path, model, cfg, normalization={"mean": [0.0] * 3, "std": [1.0] * 3},
        data_range=("2024-01-01", "2024-03-01"), epoch=1, val_loss=1.0,
    )  # fmt: skip
    return model


@pytest.mark.parametrize("kind", ["ode", "gru"])
def test_fresh_process_predictions_are_bit_identical(tmp_path: Path, kind: str) -> None:
    # bit-identity holds for the same device and thread count (CPU reductions split by thread)
    torch.set_num_threads(1)
    cfg = parse_config({"model": {"kind": kind, "latent": 8, "hidden": 16}})
    model = _fitted(cfg, tmp_path / "best.pt")
    model.eval()
    torch.manual_seed(1)
    batch = {"x": torch.randn(7, 12, 3), "t_x": torch.arange(-11.0, 1.0).expand(7, -1),
             "t_y": torch.tensor([[1.0, 3.0]] * 7)}  # fmt: skip
    torch.save(batch, tmp_path / "batch.pt")
    with torch.no_grad():
        traj = model(batch["x"], batch["t_y"], batch["t_x"])
        u = model.position(traj)
    env = {**os.environ, "PYTHONPATH": str(REPO / "python")}
    subprocess.run(
        [sys.executable, "-c", PREDICT, str(tmp_path / "best.pt"), str(tmp_path / "batch.pt"),
         str(tmp_path / "out.pt")],
        check=True, env=env, timeout=120,
    )  # fmt: skip
    out = torch.load(tmp_path / "out.pt")
    assert torch.equal(out["states"], traj.states)
    assert torch.equal(out["var"], traj.ret_var)
    assert torch.equal(out["u"], u)


def test_checkpoint_holds_everything(tmp_path: Path) -> None:
    cfg = parse_config({})
    _fitted(cfg, tmp_path / "best.pt")
    payload = read_payload(tmp_path / "best.pt")
    assert payload["version"] == gradtrade.__version__
    assert payload["config_hash"] == cfg.digest()
    assert payload["normalization"]["std"] == [1.0] * 3
    assert payload["data_range"] == ["2024-01-01", "2024-03-01"]
    assert "heads.ret_scale" in payload["state_dict"]
    assert [p.name for p in tmp_path.iterdir()] == ["best.pt"]  # no temp file left behind
    ck = load_checkpoint(tmp_path / "best.pt", cfg)
    assert ck.config == cfg and float(ck.model.heads.ret_scale) == pytest.approx(0.01)


def test_other_version_is_refused(tmp_path: Path) -> None:
    cfg = parse_config({})
    _fitted(cfg, tmp_path / "best.pt")
    payload = read_payload(tmp_path / "best.pt")
    payload["version"] = "0.0.1"
    torch.save(payload, tmp_path / "old.pt")
    with pytest.raises(InvalidInput, match=r"written by gradtrade 0\.0\.1"):
        load_checkpoint(tmp_path / "old.pt")


def test_other_config_is_refused_naming_the_field(tmp_path: Path) -> None:
    _fitted(parse_config({}), tmp_path / "best.pt")
    other = parse_config({"model": {"latent": 32}})
    with pytest.raises(InvalidInput, match=r"model\.latent: checkpoint 16 vs expected 32"):
        load_checkpoint(tmp_path / "best.pt", other)
    payload = read_payload(tmp_path / "best.pt")
    payload["config"]["model"]["latent"] = 32  # edited without its hash
    torch.save(payload, tmp_path / "edited.pt")
    with pytest.raises(InvalidInput, match="does not match its hash"):
        load_checkpoint(tmp_path / "edited.pt")


def test_garbage_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InvalidInput, match="not a readable"):
        load_checkpoint(tmp_path / "junk.pt")
    with pytest.raises(InvalidInput, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")


def test_broken_weights_never_replace_a_good_checkpoint(tmp_path: Path) -> None:
    cfg = parse_config({})
    model = _fitted(cfg, tmp_path / "best.pt")
    good = (tmp_path / "best.pt").read_bytes()
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    with pytest.raises(NumericalError):
        save_checkpoint(tmp_path / "best.pt", model, cfg, normalization={}, data_range=RANGE,
                        epoch=2, val_loss=0.5)  # fmt: skip
    with pytest.raises(NumericalError):
        save_checkpoint(tmp_path / "best.pt", build_model(cfg.model, 3), cfg, normalization={},
                        data_range=RANGE, epoch=2, val_loss=float("nan"))  # fmt: skip
    with pytest.raises(NumericalError, match=r"normalization\.std\.1 is inf"):
        save_checkpoint(tmp_path / "best.pt", build_model(cfg.model, 3), cfg,
                        normalization={"std": [1.0, float("inf")]}, data_range=RANGE, epoch=2,
                        val_loss=0.5)  # fmt: skip
    assert (tmp_path / "best.pt").read_bytes() == good


RANGE = ("2024-01-01", "2024-03-01")


def _tampered(tmp_path: Path, change: Any) -> Path:
    """A valid checkpoint whose payload ``change(payload)`` edited, written as torch.save does."""
    _fitted(parse_config({}), tmp_path / "best.pt")
    payload = read_payload(tmp_path / "best.pt")
    change(payload)
    torch.save(payload, tmp_path / "tampered.pt")
    return tmp_path / "tampered.pt"


def _nan_weight(p: dict[str, Any]) -> None:
    p["state_dict"]["heads.ret_scale"] = torch.tensor(float("nan"))


def _reshape(p: dict[str, Any]) -> None:
    name = next(k for k, v in p["state_dict"].items() if v.dim() == 2)
    p["state_dict"][name] = torch.zeros(1, 1)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        (_nan_weight, NonFiniteCheckpoint, r"state_dict\.heads\.ret_scale has 1 non-finite"),
        (lambda p: p.update(val_loss=float("inf")), NonFiniteCheckpoint, "val_loss is inf"),
        (lambda p: p["normalization"]["std"].__setitem__(0, float("nan")), NonFiniteCheckpoint,
         r"normalization\.std\.0 is nan"),
        (lambda p: p.update(epoch="3"), InvalidCheckpoint, "epoch is a str"),
        (lambda p: p.update(epoch=True), InvalidCheckpoint, "epoch is a bool"),
        (lambda p: p.update(epoch=-1), InvalidCheckpoint, "epoch -1 is negative"),
        (lambda p: p.update(n_state=10**9), InvalidCheckpoint, r"n_state 1000000000 not in"),
        (lambda p: p.update(kind="lstm"), InvalidCheckpoint, "kind 'lstm' is not one of"),
        (lambda p: p.update(kind="gru"), InvalidCheckpoint, "kind gru vs config model.kind ode"),
        (lambda p: p.update(data_range=["yesterday-ish", "2024-03-01"]), InvalidCheckpoint,
         "data_range: 'yesterday-ish' is not a date"),
        (lambda p: p.update(data_range=["2024-03-01"]), InvalidCheckpoint, "two date strings"),
        (lambda p: p.update(extra=1), InvalidCheckpoint, r"unknown field\(s\) extra"),
        (lambda p: p["config"]["optim"].update(lr=float("inf")), InvalidCheckpoint,
         r"optim\.lr: Input should be a finite number"),
        (lambda p: p["state_dict"].pop("heads.ret_scale"), InvalidCheckpoint,
         r"state_dict does not fit the model: .*Missing key\(s\).*heads\.ret_scale"),
        (_reshape, InvalidCheckpoint, "state_dict does not fit the model: .*size mismatch"),
    ],
)  # fmt: skip
def test_loading_runs_the_checks_of_saving(
    tmp_path: Path, change: Any, error: type[Exception], message: str
) -> None:
    path = _tampered(tmp_path, change)
    with pytest.raises(error, match=message) as err:
        load_checkpoint(path)
    assert str(path) in str(err.value) and isinstance(err.value, InvalidInput)


@pytest.mark.parametrize("field", list(FIELDS))
def test_a_missing_field_is_named_not_a_key_error(tmp_path: Path, field: str) -> None:
    path = _tampered(tmp_path, lambda p: p.pop(field))
    with pytest.raises(InvalidCheckpoint, match=rf"{path}: missing field\(s\) {field}$"):
        load_checkpoint(path)


JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.text(max_size=8),
    st.lists(st.floats(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(field=st.sampled_from(sorted(FIELDS)), junk=JUNK)
def test_any_mutated_field_is_refused_with_a_typed_error(
    tmp_path: Path, field: str, junk: Any
) -> None:
    path = _tampered(tmp_path, lambda p: p.__setitem__(field, junk))
    try:
        ck = load_checkpoint(path)
    except InvalidCheckpoint:
        return
    # the junk was a valid value (e.g. config {} is the default config): what loading accepts,
    # saving accepts too, and the rebuilt model is whole
    assert ck.config.digest() == ck.payload["config_hash"]
    save_checkpoint(tmp_path / "again.pt", ck.model, ck.config, normalization=ck.normalization,
                    data_range=ck.data_range, epoch=ck.epoch, val_loss=ck.val_loss)  # fmt: skip
