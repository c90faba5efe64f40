"""Checkpoints: bit-identical predictions in a fresh process, clear refusals, atomic writes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import gradtrade
from gradtrade.errors import InvalidInput, NumericalError
from gradtrade.optim.checkpoint import load_checkpoint, read_payload, save_checkpoint
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
        save_checkpoint(tmp_path / "best.pt", model, cfg, normalization={}, data_range=("a", "b"),
                        epoch=2, val_loss=0.5)  # fmt: skip
    with pytest.raises(NumericalError):
        save_checkpoint(tmp_path / "best.pt", build_model(cfg.model, 3), cfg, normalization={},
                        data_range=("a", "b"), epoch=2, val_loss=float("nan"))  # fmt: skip
    assert (tmp_path / "best.pt").read_bytes() == good
