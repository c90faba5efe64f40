"""Data-parallel training with torchrun: 2 CPU processes (gloo) whose replicas stay identical."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]


def test_two_process_ddp_replicas_stay_in_sync(
    tiny_raw: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    raw = tiny_raw(tmp_path / "ddp", optim={"epochs": 2, "max_batches_per_epoch": 2})
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


def _spread_worker(rank: int, world: int, init: str, out: str) -> None:
    import torch
    import torch.distributed as dist

    from gradtrade.optim.trainer import replica_spread

    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    torch.manual_seed(0)
    layer = torch.nn.Linear(3, 2)
    same = replica_spread(layer)
    with torch.no_grad():
        layer.bias[1] += 0.25 * rank  # rank 1 drifts
    drifted = replica_spread(layer)
    if rank == 0:
        Path(out).write_text(f"{same} {drifted}")
    dist.destroy_process_group()


def test_replica_spread_detects_a_drifting_replica(tmp_path: Path) -> None:
    import torch.multiprocessing as mp

    init = f"file://{tmp_path / 'store'}"
    out = tmp_path / "spread.txt"
    mp.spawn(_spread_worker, args=(2, init, str(out)), nprocs=2, join=True)
    same, drifted = map(float, out.read_text().split())
    assert same == 0.0
    assert drifted == 0.25
