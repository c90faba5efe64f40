"""`gradtrade train` / `gradtrade evaluate` end to end on a tiny real slice, and config errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import yaml
from click.testing import CliRunner

from gradtrade.cli import main
from gradtrade.optim.config import load_config

REPO = Path(__file__).resolve().parents[2]


def test_shipped_configs_are_valid() -> None:
    cfg = load_config(REPO / "configs/btc_1h.yaml")
    assert cfg.model.kind == "ode" and cfg.model.solver.method == "rk4"
    usdm = load_config(REPO / "configs/btc_usdm_1h.yaml")
    assert usdm.data.funding_path is not None and usdm.model == cfg.model


def test_config_errors_point_at_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"loss": {"risk_weight": -1}, "optim": {"optimiser": "adam"}}))
    result = CliRunner().invoke(main, ["train", "--config", str(bad)])
    assert result.exit_code != 0
    assert "loss.risk_weight: Input should be greater than or equal to 0 (got -1)" in result.output
    assert "optim.optimiser: Extra inputs are not permitted" in result.output


def test_help_teaches() -> None:
    for cmd in ("train", "evaluate"):
        result = CliRunner().invoke(main, [cmd, "--help"])
        assert result.exit_code == 0 and "--config" in result.output


def test_train_then_evaluate(tiny_raw: Callable[..., dict[str, Any]], tmp_path: Path) -> None:
    raw = tiny_raw(tmp_path / "run", optim={"epochs": 1, "max_batches_per_epoch": 2})
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(raw))
    result = CliRunner().invoke(main, ["train", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run/best.pt").exists() and (tmp_path / "run/train.log").exists()
    result = CliRunner().invoke(main, ["evaluate", "--config", str(path)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "run/eval"
    report = json.loads((out / "evaluation.json").read_text())
    assert set(report["strategies"]) >= {"ode", "gru", "buy_and_hold", "vol_target_bh", "tsmom_1d"}
    assert report["variance"]["garch11"]["qlike"] is not None
    assert "ode_vs_garch11" in report["diebold_mariano_qlike"]
    assert "| Neural ODE |" in (out / "evaluation.md").read_text()
    assert (out / "equity.png").stat().st_size > 1000
    import numpy as np

    series = np.load(out / "oos.npz")
    assert len(series["ode_position"]) == len(series["ret"]) == report["out_of_sample"]["bars"]
    assert report["strategies"]["buy_and_hold"]["mean_abs_position"] == 1.0


def _train(raw: dict[str, Any], tmp_path: Path) -> Any:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(raw))
    return CliRunner().invoke(main, ["train", "--config", str(path)])


def test_train_says_what_happened_to_the_checkpoint(
    tiny_raw: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    raw = tiny_raw(tmp_path / "run", optim={"epochs": 1, "max_batches_per_epoch": 2})
    best = tmp_path / "run" / "best.pt"
    first = _train(raw, tmp_path)
    assert first.exit_code == 0, first.output
    assert f"checkpoint: {best}\n" in first.output and "unchanged" not in first.output
    good = best.read_bytes()
    again = _train(raw, tmp_path)  # same config and seed: the same loss, which does not beat it
    assert again.exit_code == 0, again.output
    assert f"checkpoint: unchanged: {best} (val loss" in again.output
    assert "is at least as good as this run's best" in again.output
    assert best.read_bytes() == good
    best.write_bytes(good[: len(good) // 2])  # truncated, as by a full disk
    broken = _train(raw, tmp_path)
    assert broken.exit_code == 0, broken.output
    aside = tmp_path / "run" / "best.pt.unreadable"
    assert f"moved the unreadable best.pt to {aside}: {best} is not a readable" in broken.output
    assert f"checkpoint: {best}\n" in broken.output
    assert len(aside.read_bytes()) == len(good) // 2 and best.read_bytes() != aside.read_bytes()
    payload = torch.load(best, weights_only=True)  # NaN weights: loading would refuse it
    payload["state_dict"]["heads.ret_scale"] = torch.tensor(float("nan"))
    torch.save(payload, best)
    nan = _train(raw, tmp_path)
    assert nan.exit_code == 0, nan.output
    reason = f"{best}: state_dict.heads.ret_scale has 1 non-finite value(s)"
    assert f"moved the unreadable best.pt to {aside}.1: {reason}" in nan.output
    other = _train({**raw, "model": {**raw["model"], "latent": 4}}, tmp_path)
    assert other.exit_code == 0, other.output
    moved = tmp_path / "run" / f"best-{payload['config_hash']}.pt"
    assert f"moved the previous best.pt to {moved}: it was trained with another config" in (
        other.output
    )
    assert moved.exists() and f"checkpoint: {best}\n" in other.output


def test_train_says_when_no_checkpoint_was_written(
    tiny_raw: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    # any growth of the loss past the first batch's counts as exploding: stopped before any
    # validation, so nothing is written and nothing was on disk
    raw = tiny_raw(tmp_path / "run", optim={"epochs": 1, "max_batches_per_epoch": 3,
                                            "explode_factor": 1.000001, "lr": 10.0,
                                            "optimizer": "sgd", "grad_clip": 1e6})  # fmt: skip
    result = _train(raw, tmp_path)
    assert result.exit_code == 2, result.output
    assert "checkpoint: none written (no epoch reached a finite validation loss)" in result.output
    assert "unchanged" not in result.output and not (tmp_path / "run" / "best.pt").exists()
