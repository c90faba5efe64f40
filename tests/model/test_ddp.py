"""Data-parallel training with torchrun: 2 CPU processes (gloo) whose replicas stay identical."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import yaml
from model_fixtures import tiny_raw

REPO = Path(__file__).resolve().parents[2]


def test_two_process_ddp_replicas_stay_in_sync(data_dir: Path, tmp_path: Path) -> None:
    raw = tiny_raw(data_dir, tmp_path / "ddp", optim={"epochs": 2, "max_batches_per_epoch": 2})
    raw["run"]["tensorboard"] = False
    path = tmp_path / "ddp.yaml"
    path.write_text(yaml.safe_dump(raw))
    env = {**os.environ, "PYTHONPATH": str(REPO / "python"), "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "gradtrade", "train", "--config", str(path),
    ]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = list(csv.DictReader((tmp_path / "ddp/metrics.csv").open()))
    assert len(rows) == 2
    # every epoch all-reduces the parameters' max and min across ranks: identical replicas
    assert all(int(float(r["world_size"])) == 2 for r in rows)
    assert all(float(r["replica_spread"]) == 0.0 for r in rows)
    # the parameters moved, so identical replicas are not just untouched initial weights
    assert float(rows[0]["grad_norm"]) > 0
    assert (tmp_path / "ddp/best.pt").exists()
