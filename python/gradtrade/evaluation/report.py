"""Score an out-of-sample series against the baselines: one dict (JSON), one Markdown, one plot."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from gradtrade.evaluation import metrics as m
from gradtrade.evaluation.baselines import annual_to_bar, baseline_positions, strategy_pnl
from gradtrade.evaluation.walkforward import OutOfSample
from gradtrade.optim.config import TrainConfig

MODEL_NAMES = {"ode": "Neural ODE", "gru": "GRU baseline"}


def _clean(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 6)


def score(oos: OutOfSample, cfg: TrainConfig) -> dict[str, Any]:
    ppy, e = cfg.loss.periods_per_year, cfg.evaluate
    r, cost = oos.ret, e.cost_bps * 1e-4
    forecasts: dict[str, Any] = {"zero": {"r2_oos": 0.0, "hit_rate": None}}
    variance: dict[str, dict[str, float | None]] = {}
    var_losses: dict[str, np.ndarray] = {}
    for name, var, mean in [
        ("garch11", oos.garch_var, np.zeros_like(r)),
        ("ewma094", oos.ewma_var, np.zeros_like(r)),
        *[(k, p["var"], p["mean"]) for k, p in oos.models.items()],
    ]:
        var_losses[name] = m.qlike_losses(var, r)
        variance[name] = {
            "qlike": _clean(float(var_losses[name].mean())),
            "nll": _clean(float(m.gaussian_nll_losses(mean, var, r).mean())),
        }
    for k, p in oos.models.items():
        forecasts[k] = {
            "r2_oos": _clean(m.r2_oos(p["mean"], r)),
            "hit_rate": _clean(m.hit_rate(p["mean"], r)),
        }
    dm: dict[str, dict[str, float | None]] = {}
    for k in oos.models:
        for other in ["garch11", "ewma094", *[o for o in oos.models if o > k]]:
            stat, pval = m.diebold_mariano(var_losses[k], var_losses[other])
            dm[f"{k}_vs_{other}"] = {"dm_stat": _clean(stat), "p_value": _clean(pval)}
    vt = annual_to_bar(cfg.loss.vol_target_annual, ppy)
    positions = {k: p["position"] for k, p in oos.models.items()}
    positions.update(
        baseline_positions(oos.returns_all, oos.anchor, oos.ewma_var, vt, e.momentum_lookbacks)
    )
    pnls = {name: strategy_pnl(u, r, cost, oos.funding) for name, u in positions.items()}
    trial_sharpes = np.array([np.mean(p[0]) / np.std(p[0], ddof=1) for p in pnls.values()])
    n_trials = e.configs_tried * max(1, len(oos.models)) + len(pnls) - len(oos.models)
    strategies: dict[str, dict[str, float | None]] = {}
    for name, (net, gross, turn) in pnls.items():
        sr = m.sharpe(net, ppy)
        strategies[name] = {
            "sharpe": _clean(sr),
            "sharpe_se": _clean(m.sharpe_standard_error(sr, len(net), ppy)),
            "sortino": _clean(m.sortino(net, ppy)),
            "max_drawdown": _clean(m.max_drawdown(net)),
            "turnover_per_year": _clean(float(turn.mean() * ppy)),
            "mean_abs_position": _clean(float(np.abs(positions[name]).mean())),
            "break_even_bps": _clean(m.break_even_cost_bps(gross, turn)),
            "total_return": _clean(float(np.prod(1 + net) - 1)),
            "deflated_sharpe": _clean(
                m.deflated_sharpe(net, n_trials=n_trials, trial_sharpes=trial_sharpes)
            ),
        }
    stamps = oos.times_ns[[0, -1]].astype("datetime64[ns]").astype("datetime64[m]")
    span = [str(stamps[0]), str(stamps[1])]
    return {
        "data": cfg.data.path,
        "out_of_sample": {"bars": len(r), "span": span, "folds": len(oos.folds)},
        "cost_bps": e.cost_bps,
        "n_trials_for_deflation": n_trials,
        "returns": forecasts,
        "variance": variance,
        "diebold_mariano_qlike": dm,
        "strategies": strategies,
        "folds": [f.__dict__ for f in oos.folds],
        "_pnl": {k: v[0] for k, v in pnls.items()},
    }


def _fmt(x: Any, pct: bool = False) -> str:
    if x is None:
        return "—"
    return f"{100 * x:.1f}%" if pct else f"{x:.3f}" if abs(x) < 100 else f"{x:.0f}"


def markdown(res: dict[str, Any]) -> str:
    o = res["out_of_sample"]
    lines = [
        f"Out of sample: {o['bars']} bars, {o['span'][0]} → {o['span'][1]}, "
        f"{o['folds']} walk-forward folds; costs {res['cost_bps']} bps per unit turnover; "
        f"deflated Sharpe over {res['n_trials_for_deflation']} trials.",
        "",
        "| next-bar return | R² OOS vs zero | hit rate |",
        "|---|---|---|",
    ]
    for k, v in res["returns"].items():
        lines.append(
            f"| {MODEL_NAMES.get(k, k)} | {_fmt(v['r2_oos'], True)} | {_fmt(v['hit_rate'], True)} |"
        )
    lines += ["", "| variance forecast | QLIKE (lower better) | Gaussian NLL |", "|---|---|---|"]
    for k, v in res["variance"].items():
        lines.append(f"| {MODEL_NAMES.get(k, k)} | {_fmt(v['qlike'])} | {_fmt(v['nll'])} |")
    lines += [
        "",
        "| Diebold-Mariano on QLIKE (HAC) | DM stat (<0: first better) | p-value |",
        "|---|---|---|",
    ]
    for k, v in res["diebold_mariano_qlike"].items():
        lines.append(f"| {k} | {_fmt(v['dm_stat'])} | {_fmt(v['p_value'])} |")
    lines += [
        "",
        "| strategy (after costs) | Sharpe ± SE (Lo) | Sortino | max DD | turnover/yr | mean abs u "
        "| break-even bps | total return | deflated SR |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for k, v in res["strategies"].items():
        cells = [
            f"{_fmt(v['sharpe'])} ± {_fmt(v['sharpe_se'])}",
            _fmt(v["sortino"]),
            _fmt(v["max_drawdown"], True),
            _fmt(v["turnover_per_year"]),
            _fmt(v["mean_abs_position"]),
            _fmt(v["break_even_bps"]),
            _fmt(v["total_return"], True),
            _fmt(v["deflated_sharpe"]),
        ]
        lines.append(f"| {MODEL_NAMES.get(k, k)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def equity_plot(res: dict[str, Any], times_ns: np.ndarray, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 5))
    dates = times_ns.astype("datetime64[ns]")
    for name, pnl in res["_pnl"].items():
        ax.plot(
            dates,
            np.cumprod(1 + pnl),
            label=MODEL_NAMES.get(name, name),
            lw=1.6 if name in MODEL_NAMES else 0.9,
        )
    ax.set_yscale("log")
    ax.set_ylabel("equity (log scale, after costs)")
    ax.set_title(f"Walk-forward out of sample, {res['cost_bps']} bps per unit turnover")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_reports(res: dict[str, Any], oos: OutOfSample, out_dir: Path) -> dict[str, Path]:
    """evaluation.json, evaluation.md, equity.png and the aligned series (oos.npz)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": out_dir / "evaluation.json",
        "markdown": out_dir / "evaluation.md",
        "plot": out_dir / "equity.png",
    }
    public = {k: v for k, v in res.items() if not k.startswith("_")}
    paths["json"].write_text(json.dumps(public, indent=2, default=str))
    paths["markdown"].write_text("# Walk-forward evaluation\n\n" + markdown(res))
    equity_plot(res, oos.times_ns, paths["plot"])
    paths["series"] = out_dir / "oos.npz"
    series: dict[str, Any] = {
        "anchor": oos.anchor, "times_ns": oos.times_ns, "ret": oos.ret, "funding": oos.funding,
        "ewma_var": oos.ewma_var, "garch_var": oos.garch_var,
    }  # fmt: skip
    series.update({f"{k}_{key}": v for k, p in oos.models.items() for key, v in p.items()})
    np.savez_compressed(paths["series"], **series)
    return paths
