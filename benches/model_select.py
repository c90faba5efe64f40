"""Choose among a few model variants on the walk-forward VALIDATION windows only.

For every fold of ``gradtrade evaluate`` the variant is fitted on the fold's training rows with
early stopping on its validation rows (the last ``val_fraction`` of the training window), exactly
as the evaluation does; it is then scored on those validation rows: QLIKE of the next-bar
variance (against EWMA(0.94) on the same bars) and the after-cost Sharpe of its positions
(against volatility-targeted buy-and-hold). The test periods are never predicted here.

    PYTHONPATH=python python benches/model_select.py --config configs/btc_1h.yaml \\
        --variant free_none --variant residual_none --variant residual_vol_target
"""

from __future__ import annotations

import argparse
import json
import math
import sys

import numpy as np
import torch

from gradtrade.data.market import walk_forward_folds
from gradtrade.evaluation.baselines import annual_to_bar, ewma_variance, strategy_pnl, vol_scale
from gradtrade.evaluation.metrics import qlike_losses, sharpe
from gradtrade.optim.config import load_config
from gradtrade.optim.predict import predict_dataset
from gradtrade.optim.run import market_for, scaled_model
from gradtrade.optim.trainer import fit, seed_everything


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", required=True)
    ap.add_argument(
        "--variant", action="append", required=True,
        help="VARIANCEHEAD_POLICYPRIOR[_detach], e.g. residual_vol_target_detach",
    )  # fmt: skip
    ap.add_argument("--data", default=None, help="override data.path")
    args = ap.parse_args()
    cfg = load_config(args.config)
    if args.data:
        cfg = cfg.model_copy(update={"data": cfg.data.model_copy(update={"path": args.data})})
    torch.set_num_threads(cfg.run.num_threads)
    market = market_for(cfg)
    d, e, ppy = cfg.data, cfg.evaluate, cfg.loss.periods_per_year
    folds = walk_forward_folds(
        len(market), train_size=e.train_bars, test_size=e.test_bars,
        step=e.step_bars or e.test_bars, val_fraction=e.val_fraction,
        context=d.context, horizon=d.horizon, expanding=e.expanding,
    )  # fmt: skip
    returns = np.nan_to_num(market.returns)
    ewma_all = ewma_variance(returns, init=float(np.var(returns[1:500])))
    vt, cost = annual_to_bar(cfg.loss.vol_target_annual, ppy), e.cost_bps * 1e-4
    for variant in args.variant:
        head, prior = variant.split("_", 1)
        detach = prior.endswith("_detach")
        prior = prior.removesuffix("_detach")
        update = {"variance_head": head, "policy_prior": prior, "detach_forecast": detach}
        mcfg = cfg.model.model_copy(update={"kind": "ode", **update})
        vcfg = cfg.model_copy(update={"model": mcfg})
        cols: dict[str, list[np.ndarray]] = {"var": [], "u": [], "ret": [], "ewma": []}
        fold_sharpe, epochs = [], []
        for i, fold in enumerate(folds):
            lo, fit_end = fold.train_rows[0], fold.val_rows[1]
            market.normalize(fit_end, start=lo)
            train_ds = market.dataset(fold.train, context=d.context, horizon=d.horizon)
            val_ds = market.dataset(fold.val, context=d.context, horizon=d.horizon)
            seed_everything(cfg.optim.seed + i)
            model = scaled_model(vcfg, market, lo, fit_end)
            result = fit(model, vcfg, train_ds, val_ds, out_dir=None, progress=False)
            out = predict_dataset(result.model, val_ds)
            anchors = out["anchor"]
            cols["var"].append(out["var"])
            cols["u"].append(out["position"])
            cols["ret"].append(out["ret"])
            cols["ewma"].append(ewma_all[anchors])
            pnl = strategy_pnl(out["position"], out["ret"], cost)[0]
            fold_sharpe.append(sharpe(pnl, ppy))
            epochs.append(result.best_epoch)
            print(f"{variant} fold {i}: val Sharpe {fold_sharpe[-1]:.2f}", file=sys.stderr)
        c = {k: np.concatenate(v) for k, v in cols.items()}
        res = {
            "variant": variant,
            "val_bars": len(c["ret"]),
            "qlike": float(np.mean(qlike_losses(c["var"], c["ret"]))),
            "qlike_ewma094": float(np.mean(qlike_losses(c["ewma"], c["ret"]))),
            "sharpe": sharpe(strategy_pnl(c["u"], c["ret"], cost)[0], ppy),
            "sharpe_vol_target_bh": sharpe(
                strategy_pnl(vol_scale(c["ewma"], vt), c["ret"], cost)[0], ppy
            ),
            "fold_sharpe": [round(s, 3) for s in fold_sharpe],
            "best_epoch": epochs,
            "mean_abs_u": float(np.mean(np.abs(c["u"]))),
        }
        print(json.dumps({k: (round(v, 4) if isinstance(v, float) and math.isfinite(v) else v)
                          for k, v in res.items()}), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
