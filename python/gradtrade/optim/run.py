"""``gradtrade train``: data -> train/val/test split -> fit -> best checkpoint.

Normalization statistics and the return scale come from the training rows only. Under torchrun
the process group is set up here (gloo on CPU, NCCL on CUDA); only rank 0 writes files.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist

from gradtrade.data.market import Market, load_market, time_splits
from gradtrade.errors import InvalidInput
from gradtrade.model import ForecastModel
from gradtrade.optim.checkpoint import load_checkpoint, read_payload, save_checkpoint
from gradtrade.optim.config import TrainConfig, build_model
from gradtrade.optim.predict import predict_dataset
from gradtrade.optim.trainer import FitResult, fit, seed_everything

log = logging.getLogger("gradtrade.train")
CHECKPOINT = "best.pt"
BASELINE_FEATURE = "ret_ewma_var_hl12"


@dataclass
class TrainOutcome:
    fit: FitResult
    checkpoint: Path | None
    market: Market
    out_dir: Path


def market_for(cfg: TrainConfig) -> Market:
    d = cfg.data
    return load_market(d.path, funding_path=d.funding_path, start=d.start, end=d.end)


def scaled_model(cfg: TrainConfig, market: Market, start: int, stop: int) -> ForecastModel:
    """A fresh model whose return scale and vol target come from the training rows [start, stop)."""
    model = build_model(cfg.model, market.n_features)
    ret_std = float(np.nanstd(market.returns[start:stop]))
    model.set_scales(ret_std, cfg.loss.vol_target_annual / math.sqrt(cfg.loss.periods_per_year))
    if cfg.model.variance_head == "residual":
        set_market_baseline(model, market)
    return model


def set_market_baseline(model: ForecastModel, market: Market) -> None:
    """Point the residual variance head at the EWMA variance column of the state (halflife 12
    bars, i.e. decay 0.944: the EWMA(0.94) forecast), with the market's fitted normalization."""
    t = market.transformer
    if BASELINE_FEATURE not in market.names or t.center is None or t.scale is None:
        raise InvalidInput(f"the residual variance head needs the {BASELINE_FEATURE} state column")
    col = market.names.index(BASELINE_FEATURE)
    model.set_variance_baseline(col, float(t.center[col]), float(t.scale[col]))


def _init_distributed(cfg: TrainConfig) -> bool:
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or dist.is_initialized():
        return False
    cuda = cfg.run.device == "cuda" or (cfg.run.device == "auto" and torch.cuda.is_available())
    if cuda:  # before anything touches CUDA, so each rank's context lives on its own GPU
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group("nccl" if cuda else "gloo")
    return True


def _prepare_slot(path: Path, cfg: TrainConfig) -> float:
    """Best validation loss on disk for this config; another config's file is moved aside."""
    if not path.exists():
        return math.inf
    try:
        payload = read_payload(path)
    except Exception:
        path.replace(path.with_name(path.name + ".unreadable"))
        return math.inf
    if payload.get("config_hash") == cfg.digest() and payload.get("version"):
        return float(payload.get("val_loss", math.inf))
    aside = path.with_name(f"best-{payload.get('config_hash', 'unknown')}.pt")
    path.replace(aside)
    log.warning("moved checkpoint of another config to %s", aside)
    return math.inf


def train(cfg: TrainConfig, out_dir: Path | None = None) -> TrainOutcome:
    started_dist = _init_distributed(cfg)
    try:
        torch.set_num_threads(cfg.run.num_threads)
        seed_everything(cfg.optim.seed)
        out = Path(out_dir or cfg.run.out_dir)
        market = market_for(cfg)
        d = cfg.data
        splits = time_splits(
            len(market), train=d.train, val=d.val, context=d.context, horizon=d.horizon
        )
        train_rows = int(len(market) * d.train)
        market.normalize(train_rows)
        train_ds = market.dataset(splits.train, context=d.context, horizon=d.horizon)
        val_ds = market.dataset(splits.val, context=d.context, horizon=d.horizon)
        model = scaled_model(cfg, market, 0, train_rows)
        rank = dist.get_rank() if dist.is_initialized() else 0
        ckpt_path = out / CHECKPOINT
        best_on_disk = _prepare_slot(ckpt_path, cfg) if rank == 0 else math.inf
        written: list[Path] = []
        # data_range: the bars the weights and statistics were fitted on (the training rows)
        normalization = {**market.stats, "train_rows": train_rows, "source": market.source}

        def on_improve(m: ForecastModel, epoch: int, val_loss: float) -> None:
            if val_loss >= best_on_disk:  # an earlier run of this config did better: keep it
                return
            written.append(
                save_checkpoint(
                    ckpt_path,
                    m,
                    cfg,
                    normalization=normalization,
                    data_range=market.date_range(0, train_rows),
                    epoch=epoch,
                    val_loss=val_loss,
                )
            )

        result = fit(model, cfg, train_ds, val_ds, out_dir=out, on_improve=on_improve)
        if rank == 0:
            log.info(
                "stopped: %s; best epoch %d val %.4f",
                result.stopped_reason,
                result.best_epoch,
                result.best_val,
            )
        return TrainOutcome(result, written[-1] if written else None, market, out)
    finally:
        if started_dist:
            dist.destroy_process_group()


def predict_positions(checkpoint: Path, cfg: TrainConfig | None = None) -> dict[str, np.ndarray]:
    """Test-split predictions of a checkpoint, normalized with its stored statistics."""
    ck = load_checkpoint(checkpoint, cfg)
    c = ck.config
    market = market_for(c)
    market.apply_stats(ck.normalization)
    d = c.data
    splits = time_splits(
        len(market), train=d.train, val=d.val, context=d.context, horizon=d.horizon
    )
    ds = market.dataset(splits.test, context=d.context, horizon=d.horizon)
    return predict_dataset(ck.model, ds)
