"""`gradtrade train` / `gradtrade evaluate` end to end on a tiny real slice, and config errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
