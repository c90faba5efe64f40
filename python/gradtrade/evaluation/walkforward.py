"""Walk-forward out-of-sample evaluation: train on the past, test on the next period, roll.

Per fold, the normalization statistics, the return scale, the GARCH parameters and the model
weights are fitted on the fold's training window alone; early stopping uses the last
``val_fraction`` of that window; the test period is touched once, for prediction. The test
periods of all folds are then concatenated and scored as one out-of-sample series.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm import tqdm

from gradtrade.data.market import Market, walk_forward_folds
from gradtrade.errors import InvalidInput
from gradtrade.evaluation.baselines import ewma_variance, garch_variance
from gradtrade.optim.config import TrainConfig
from gradtrade.optim.predict import predict_dataset
from gradtrade.optim.run import market_for, scaled_model
from gradtrade.optim.trainer import fit, seed_everything

log = logging.getLogger("gradtrade.evaluate")


@dataclass
class FoldInfo:
    index: int
    train: tuple[str, str]
    test: tuple[str, str]
    best_epoch: dict[str, int]
    stopped: dict[str, str]
    seconds: dict[str, float]


@dataclass
class OutOfSample:
    """Concatenated test-period series, aligned: entry i is the decision at ``anchor[i]``."""

    anchor: np.ndarray
    times_ns: np.ndarray
    ret: np.ndarray  # realized next-bar log return
    funding: np.ndarray
    returns_all: np.ndarray  # every bar's log return (for causal baselines)
    ewma_var: np.ndarray
    garch_var: np.ndarray
    models: dict[str, dict[str, np.ndarray]]  # kind -> mean/var/position
    folds: list[FoldInfo] = field(default_factory=list)


def _date(market: Market, row: int) -> str:
    return str(market.times_ns[row].astype("datetime64[ns]"))[:16]


def _cat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0)


def walk_forward(cfg: TrainConfig, *, progress: bool = True) -> OutOfSample:
    torch.set_num_threads(cfg.run.num_threads)
    market = market_for(cfg)
    d, e = cfg.data, cfg.evaluate
    folds = walk_forward_folds(
        len(market), train_size=e.train_bars, test_size=e.test_bars,
        step=e.step_bars or e.test_bars, val_fraction=e.val_fraction,
        context=d.context, horizon=d.horizon, expanding=e.expanding,
    )  # fmt: skip
    if e.max_folds is not None:
        folds = folds[-e.max_folds :]  # the most recent periods
    if not folds:
        raise InvalidInput(
            f"no walk-forward fold fits in {len(market)} bars with train_bars={e.train_bars}, "
            f"test_bars={e.test_bars}"
        )
    # ewma_all[t] is the forecast of r[t+1]^2 made at t (causal, no fitted parameters)
    returns = np.nan_to_num(market.returns)  # the first bar has no return
    ewma_all = ewma_variance(returns, init=float(np.var(returns[1:500])))
    series: dict[str, list[np.ndarray]] = {"anchor": [], "garch": []}
    preds: dict[str, dict[str, list[np.ndarray]]] = {k: {} for k in e.models}
    infos: list[FoldInfo] = []
    bar = tqdm(folds, desc="walk-forward folds", disable=not progress)
    for i, fold in enumerate(bar):
        lo, fit_end = fold.train_rows[0], fold.val_rows[1]
        market.normalize(fit_end, start=lo)
        train_ds = market.dataset(fold.train, context=d.context, horizon=d.horizon)
        val_ds = market.dataset(fold.val, context=d.context, horizon=d.horizon)
        test_ds = market.dataset(fold.test, context=d.context, horizon=d.horizon)
        test_span = (_date(market, int(fold.test.min())), _date(market, int(fold.test.max()) + 1))
        info = FoldInfo(i, (_date(market, lo), _date(market, fit_end - 1)), test_span, {}, {}, {})
        for kind in e.models:
            mcfg = cfg.model_copy(update={"model": cfg.model.model_copy(update={"kind": kind})})
            seed_everything(cfg.optim.seed + i)
            t0 = time.perf_counter()
            model = scaled_model(mcfg, market, lo, fit_end)
            result = fit(model, mcfg, train_ds, val_ds, out_dir=None, progress=False)
            out = predict_dataset(result.model, test_ds)
            info.best_epoch[kind], info.stopped[kind] = result.best_epoch, result.stopped_reason
            info.seconds[kind] = time.perf_counter() - t0
            for key in ("mean", "var", "position"):
                preds[kind].setdefault(key, []).append(out[key])
            log.info(
                "fold %d %s: best epoch %d (%s)", i, kind, result.best_epoch, result.stopped_reason
            )
        # the dataset may drop anchors whose window holds a non-finite value: align on its own
        series["anchor"].append(test_ds.anchors)
        series["garch"].append(garch_variance(returns, lo, fit_end, test_ds.anchors))
        infos.append(info)
    anchor = _cat(series["anchor"]).astype(np.int64)
    return OutOfSample(
        anchor=anchor,
        times_ns=market.times_ns[anchor],
        ret=returns[anchor + 1],
        funding=market.funding[anchor + 1],
        returns_all=returns,
        ewma_var=ewma_all[anchor],
        garch_var=_cat(series["garch"]),
        models={k: {key: _cat(v) for key, v in p.items()} for k, p in preds.items()},
        folds=infos,
    )
