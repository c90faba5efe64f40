"""The training loop: Adam/SGD, clipping, LR schedule, early stopping, guards, logging, DDP.

``fit`` trains one model on one train/validation pair and returns the best weights (by
validation loss). It stops early on patience, and stops with the reason logged when the loss or
the gradient turns non-finite or explodes; the best weights and checkpoint so far are kept.
Under ``torchrun`` (``WORLD_SIZE`` > 1) the objective is wrapped in DistributedDataParallel (gloo
on CPU, NCCL on CUDA) and every epoch checks that the replicas' parameters are identical.
"""

from __future__ import annotations

import copy
import csv
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from gradtrade.data.market import WindowDataset
from gradtrade.model import ForecastModel
from gradtrade.optim.batching import BlockBatchSampler, block_loader
from gradtrade.optim.config import OptimConfig, TrainConfig
from gradtrade.optim.loss import PART_NAMES, Objective

log = logging.getLogger("gradtrade.train")


class _Stop(Exception):
    """Internal: leave the epoch loop; the reason is in ``reason``."""


@dataclass
class FitResult:
    model: ForecastModel
    best_epoch: int
    best_val: float
    epochs_run: int
    stopped_reason: str
    history: list[dict[str, float]] = field(default_factory=list)


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def pick_device(choice: str) -> torch.device:
    if choice == "cuda" or (choice == "auto" and torch.cuda.is_available()):
        # the current device: under torchrun each rank has set its own (LOCAL_RANK)
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _optimizer(params: Any, cfg: OptimConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        )
    return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def _scheduler(opt: torch.optim.Optimizer, cfg: OptimConfig) -> Any:
    if cfg.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    if cfg.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(opt, step_size=max(1, cfg.epochs // 3), gamma=0.3)
    if cfg.schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.3, patience=1)
    return None


def _to(batch: dict[str, Tensor], device: torch.device) -> dict[str, Tensor]:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def _world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def replica_spread(model: torch.nn.Module) -> float:
    """Max |difference| between any two replicas' parameters (0.0 when in sync or not DDP)."""
    if _world()[1] == 1:
        return 0.0
    flat = torch.cat([p.detach().reshape(-1).double() for p in model.parameters()])
    hi, lo = flat.clone(), flat.clone()
    dist.all_reduce(hi, op=dist.ReduceOp.MAX)
    dist.all_reduce(lo, op=dist.ReduceOp.MIN)
    return float((hi - lo).abs().max())


def _evaluate(objective: Objective, loader: Any, device: torch.device) -> dict[str, float]:
    objective.eval()
    sums = dict.fromkeys(PART_NAMES, 0.0)
    count = 0
    with torch.no_grad():
        for batch in loader:
            batch = _to(batch, device)
            parts = objective.parts(batch, objective(batch)).floats()
            for k in sums:
                sums[k] += parts[k]
            count += 1
    if _world()[1] > 1:
        vec = torch.tensor([*sums.values(), count], dtype=torch.float64, device=device)
        dist.all_reduce(vec)
        sums, count = dict(zip(sums, vec[:-1].tolist(), strict=True)), int(vec[-1])
    return {k: v / max(count, 1) for k, v in sums.items()}


def fit(
    model: ForecastModel,
    cfg: TrainConfig,
    train_ds: WindowDataset,
    val_ds: WindowDataset,
    *,
    out_dir: Path | None = None,
    on_improve: Callable[[ForecastModel, int, float], None] | None = None,
    progress: bool | None = None,
) -> FitResult:
    oc, device = cfg.optim, pick_device(cfg.run.device)
    rank, world = _world()
    model.to(device)
    objective = Objective(model, cfg.loss, oc.block)
    wrapped: torch.nn.Module = objective
    if world > 1:
        wrapped = DistributedDataParallel(
            objective, device_ids=[device.index] if device.type == "cuda" else None
        )
    sampler = BlockBatchSampler(
        len(train_ds), block=oc.block, batch_size=oc.batch_size, shuffle=True, seed=oc.seed,
        rank=rank, world=world, max_batches=oc.max_batches_per_epoch,
    )  # fmt: skip
    val_block = min(oc.block, len(val_ds) // world)
    val_sampler = BlockBatchSampler(
        len(val_ds), block=val_block, batch_size=val_block * max(1, oc.batch_size // oc.block),
        shuffle=False, seed=0, rank=rank, world=world,
    )  # fmt: skip
    train_loader, val_loader = block_loader(train_ds, sampler), block_loader(val_ds, val_sampler)
    val_objective = Objective(model, cfg.loss, val_block)
    opt = _optimizer(model.parameters(), oc)
    sched = _scheduler(opt, oc)
    show = (cfg.run.progress if progress is None else progress) and rank == 0
    csv_file, tb = None, None
    if out_dir is not None and rank == 0:
        out_dir.mkdir(parents=True, exist_ok=True)
        csv_file = (out_dir / "metrics.csv").open("w", newline="")
        if cfg.run.tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            tb = SummaryWriter(str(out_dir / "tensorboard"))
    best_val, best_epoch, best_state = math.inf, -1, copy.deepcopy(model.state_dict())
    history: list[dict[str, float]] = []
    reason, first_loss, bad_epochs, epoch = "max epochs reached", None, 0, -1
    try:
        for epoch in range(oc.epochs):
            sampler.set_epoch(epoch)
            objective.train()
            sums, nfe, grad_norm, steps, t0 = (
                dict.fromkeys(PART_NAMES, 0.0),
                0,
                0.0,
                0,
                time.perf_counter(),
            )
            bar = tqdm(
                train_loader, desc=f"epoch {epoch + 1}/{oc.epochs}", disable=not show, leave=False
            )
            for batch in bar:
                batch = _to(batch, device)
                parts = objective.parts(batch, wrapped(batch))
                loss = parts.loss
                value = float(loss.detach())
                first_loss = value if first_loss is None else first_loss
                if not math.isfinite(value):
                    reason = f"non-finite loss ({value}) at epoch {epoch + 1} step {steps + 1}"
                    raise _Stop
                if abs(value) > oc.explode_factor * (abs(first_loss) + 1.0):
                    reason = (
                        f"exploding loss {value:.3g} (first {first_loss:.3g}) at epoch {epoch + 1}"
                    )
                    raise _Stop
                opt.zero_grad(set_to_none=True)
                loss.backward()
                norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), oc.grad_clip))
                if not math.isfinite(norm):
                    reason = f"non-finite gradient norm at epoch {epoch + 1} step {steps + 1}"
                    raise _Stop
                opt.step()
                for k, v in parts.floats().items():
                    sums[k] += v
                nfe += model.last_nfe
                grad_norm, steps = grad_norm + norm, steps + 1
                bar.set_postfix(loss=f"{value:.4f}")
            seconds = time.perf_counter() - t0
            val = _evaluate(val_objective, val_loader, device)
            row = {"epoch": epoch + 1, **{f"train_{k}": v / steps for k, v in sums.items()}}
            row.update({f"val_{k}": v for k, v in val.items()})
            row.update(
                nfe=nfe / steps, grad_norm=grad_norm / steps, lr=opt.param_groups[0]["lr"],
                seconds=seconds, samples_per_s=steps * oc.batch_size * world / seconds,
                replica_spread=replica_spread(model),
                world_size=world,
            )  # fmt: skip
            history.append(row)
            _log_row(row, csv_file, tb, rank)
            if sched is not None:
                sched.step(val["loss"]) if oc.schedule == "plateau" else sched.step()
            if not math.isfinite(val["loss"]):
                reason = f"non-finite validation loss at epoch {epoch + 1}"
                break
            if val["loss"] < best_val:
                best_val, best_epoch, bad_epochs = val["loss"], epoch + 1, 0
                best_state = copy.deepcopy(model.state_dict())
                if on_improve is not None and rank == 0:
                    on_improve(model, epoch + 1, best_val)
            else:
                bad_epochs += 1
                if bad_epochs >= oc.patience:
                    reason = f"early stop: no validation improvement for {oc.patience} epochs"
                    break
    except _Stop:
        log.error("training stopped: %s (best epoch %d kept)", reason, best_epoch)
    finally:
        if csv_file is not None:
            csv_file.close()
        if tb is not None:
            tb.close()
    model.load_state_dict(best_state)
    model.eval()
    return FitResult(model, best_epoch, best_val, epoch + 1, reason, history)


def _log_row(row: dict[str, float], csv_file: Any, tb: Any, rank: int) -> None:
    if rank != 0:
        return
    if csv_file is not None:
        w = csv.DictWriter(csv_file, fieldnames=list(row))
        if csv_file.tell() == 0:
            w.writeheader()
        w.writerow(row)
        csv_file.flush()
    if tb is not None:
        for k, v in row.items():
            if k != "epoch":
                tb.add_scalar(k, v, int(row["epoch"]))
    log.info(
        "epoch %d: train %.4f val %.4f val_sharpe %.2f nfe %.0f grad %.3f",
        *(row[k] for k in ("epoch", "train_loss", "val_loss", "val_sharpe", "nfe", "grad_norm")),
    )
