"""The backtest report: metrics (``evaluation.metrics``), benchmarks, calibration, files.

Every number comes from the engine's records of the trading period: per-bar returns are the
ratios of consecutive equity marks taken at bar closes *before* each decision, so they include
every fee, slippage and funding payment. Benchmarks (buy-and-hold, volatility-targeted
buy-and-hold on the causal EWMA(0.94) variance) are accounted with ``strategy_pnl``, the same
fixed-fraction definition as the engine, at the run's taker cost (half spread plus taker fee,
no impact) per unit of turnover. Calibration compares the predicted
sigma at each decision with the realized next-bar log return (band coverage at 1 and 2 sigma,
QLIKE). Files: ``report.html`` (plotly, self-contained), ``summary.json``, ``fills.csv``,
``equity.csv``.
"""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from gradtrade.backtest.runner import BacktestResult, BacktestRun, MarketData
from gradtrade.evaluation import metrics as m
from gradtrade.evaluation.baselines import ewma_variance, strategy_pnl, vol_scale


def _clean(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), 8)


def equity_frame(run: BacktestRun, trade_from_ns: int) -> pd.DataFrame:
    rows = [p for p in run.log.equity if p.ts_ns >= trade_from_ns]
    return pd.DataFrame(
        {
            "ts_ns": [p.ts_ns for p in rows],
            "price": [p.price for p in rows],
            "equity": [p.equity for p in rows],
            "position": [p.position for p in rows],
            "exposure": [p.exposure for p in rows],
            "drawdown": [p.drawdown for p in rows],
            "state": [str(p.state).rsplit(".", 1)[-1] for p in rows],
        }
    )


def fills_frame(run: BacktestRun) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts_ns": [f.ts_ns for f in run.log.fills],
            "client_order_id": [f.client_order_id for f in run.log.fills],
            "trade_id": [f.trade_id for f in run.log.fills],
            "side": [str(f.side).rsplit(".", 1)[-1] for f in run.log.fills],
            "price": [f.price for f in run.log.fills],
            "qty": [f.qty for f in run.log.fills],
            "fee": [f.fee for f in run.log.fills],
            "fee_asset": [f.fee_asset for f in run.log.fills],
            "liquidity": [f.liquidity.value for f in run.log.fills],
            "slippage": [f.slippage for f in run.log.fills],
        }
    )


def bar_returns(eq: pd.DataFrame) -> np.ndarray:
    e = eq["equity"].to_numpy()
    return e[1:] / e[:-1] - 1.0


def run_metrics(run: BacktestRun, trade_from_ns: int, ppy: float) -> dict[str, Any]:
    eq = equity_frame(run, trade_from_ns)
    r = bar_returns(eq)
    fills = run.log.fills
    traded = sum(f.qty * f.price for f in fills)
    mean_equity = float(eq["equity"].mean()) if len(eq) else math.nan
    costs = run.portfolio.costs()
    sr = m.sharpe(r, ppy) if len(r) > 2 else math.nan
    return {
        "sizing": run.sizing,
        "cost_bps": run.cost_bps,
        "bars": len(r),
        "final_equity": _clean(run.portfolio.equity()),
        "total_return": _clean(float(np.prod(1 + r) - 1)) if len(r) else None,
        "sharpe": _clean(sr),
        "sharpe_se": _clean(m.sharpe_standard_error(sr, len(r), ppy)) if len(r) > 2 else None,
        "sortino": _clean(m.sortino(r, ppy)) if len(r) else None,
        "max_drawdown": _clean(m.max_drawdown(r)),
        "fills": len(fills),
        "turnover_per_year": _clean(traded / mean_equity / max(len(r), 1) * ppy),
        "mean_abs_exposure": _clean(float(eq["exposure"].abs().mean())) if len(eq) else None,
        "fees": _clean(costs.fees),
        "slippage": _clean(costs.slippage),
        "funding": _clean(costs.funding),
        "risk_rejections": {str(k).rsplit(".", 1)[-1]: v for k, v in run.rejections.items()},
        "venue_rejections": {k.value: v for k, v in run.venue_rejects.items()},
        "skipped_decisions": dict(run.log.skips),
    }


def benchmarks(eq: pd.DataFrame, cost: float, vol_target: float, ppy: float) -> dict[str, Any]:
    """Buy-and-hold and vol-targeted B&H over the same bars, fixed-fraction accounting."""
    logret = np.diff(np.log(eq["price"].to_numpy()))
    if len(logret) < 3:
        return {}
    var = ewma_variance(logret, init=float(np.var(logret[: min(len(logret), 500)])))
    # decision at bar i uses returns up to i: the variance forecast made after return i-1
    var_at = np.concatenate([[var[0]], var[:-1]])
    out = {}
    for name, u in (
        ("buy_and_hold", np.ones(len(logret))),
        ("vol_target_bh", vol_scale(var_at, vol_target)),
    ):
        net, _, _ = strategy_pnl(u, logret, cost)
        out[name] = {
            "returns": net,
            "total_return": _clean(float(np.prod(1 + net) - 1)),
            "sharpe": _clean(m.sharpe(net, ppy)),
            "max_drawdown": _clean(m.max_drawdown(net)),
        }
    return out


def calibration(result: BacktestResult) -> dict[str, Any] | None:
    """Predicted sigma against the realized next-bar log return, at each traded decision."""
    closes = {b.ts_ns: b.close for b in result.data.bars}
    times = [b.ts_ns for b in result.data.bars]
    nxt = dict(itertools.pairwise(times))
    rows = [
        (d.decision.var, math.log(closes[nxt[d.decision.ts_ns]] / closes[d.decision.ts_ns]))
        for d in result.main.log.decisions
        if d.target_qty is not None and d.decision.ts_ns in nxt and math.isfinite(d.decision.var)
    ]
    if len(rows) < 10:
        return None
    var, ret = (np.array(c) for c in zip(*rows, strict=True))
    z = np.abs(ret) / np.sqrt(var)
    return {
        "decisions": len(rows),
        "coverage_1sigma": _clean(float(np.mean(z <= 1))),  # Gaussian: 0.683
        "coverage_2sigma": _clean(float(np.mean(z <= 2))),  # Gaussian: 0.954
        "qlike": _clean(float(m.qlike_losses(var, ret).mean())),
        "corr_sigma_abs_return": _clean(float(np.corrcoef(np.sqrt(var), np.abs(ret))[0, 1])),
        "_sigma": np.sqrt(var),
        "_abs_return": np.abs(ret),
    }


def summarize(result: BacktestResult) -> dict[str, Any]:
    cfg, data = result.config, result.data
    ppy = cfg.periods_per_year or data.periods_per_year
    t0 = data.trade_from_ns
    eq = equity_frame(result.main, t0)
    vt = cfg.risk.vol_target_per_bar(ppy)
    cal = calibration(result)
    return {
        "data": cfg.data.path,
        "symbol": data.symbol,
        "timeframe": data.timeframe,
        "span": [
            str(pd.Timestamp(int(eq["ts_ns"].iloc[0]), tz="UTC")),
            str(pd.Timestamp(int(eq["ts_ns"].iloc[-1]), tz="UTC")),
        ]
        if len(eq)
        else [],
        "fill_model": cfg.fill.fill_at if cfg.fill.model == "candle" else cfg.fill.model,
        "strategy": cfg.strategy.kind,
        "main": run_metrics(result.main, t0, ppy),
        "variants": {k: run_metrics(v, t0, ppy) for k, v in result.variants.items()},
        "benchmarks": benchmarks(eq, cfg.fill.cost_bps * 1e-4, vt, ppy),
        "calibration": cal,
    }


def public_summary(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: public_summary(v) for k, v in obj.items() if not str(k).startswith("_")}
    if isinstance(obj, np.ndarray):
        return None
    return obj


def html_table(rows: dict[str, dict[str, Any]], keys: list[str]) -> str:
    head = "".join(f"<th>{k}</th>" for k in ["run", *keys])
    body = "".join(
        "<tr>" + f"<td>{name}</td>" + "".join(f"<td>{row.get(k)}</td>" for k in keys) + "</tr>"
        for name, row in rows.items()
    )
    return f"<table border=1 cellpadding=4><tr>{head}</tr>{body}</table>"


class ReportRuns(Protocol):
    """What the figure reads: a candle ``BacktestResult`` or an L2 ``L2Result``."""

    data: MarketData
    main: BacktestRun
    variants: dict[str, BacktestRun]


def figure(result: ReportRuns, summary: dict[str, Any]) -> go.Figure:
    t0 = result.data.trade_from_ns
    eq = equity_frame(result.main, t0)
    dates = pd.to_datetime(eq["ts_ns"], utc=True)
    fig = make_subplots(
        rows=5,
        cols=1,
        shared_xaxes=False,
        vertical_spacing=0.05,
        subplot_titles=[
            "equity (after every cost) vs benchmarks",
            "drawdown",
            "exposure",
            "price and fills",
            "predicted sigma vs realized |return|",
        ],
    )
    e0 = float(eq["equity"].iloc[0])
    fig.add_trace(go.Scatter(x=dates, y=eq["equity"] / e0, name="strategy"), row=1, col=1)
    for name, b in summary["benchmarks"].items():
        curve = np.concatenate([[1.0], np.cumprod(1 + b["returns"])])
        fig.add_trace(go.Scatter(x=dates, y=curve, name=name), row=1, col=1)
    for name, run in result.variants.items():
        v = equity_frame(run, t0)
        fig.add_trace(
            go.Scatter(
                x=pd.to_datetime(v["ts_ns"], utc=True),
                y=v["equity"] / e0,
                name=name,
                line={"dash": "dot"},
            ),
            row=1,
            col=1,
        )
    fig.add_trace(go.Scatter(x=dates, y=-eq["drawdown"], name="drawdown"), row=2, col=1)
    fig.add_trace(go.Scatter(x=dates, y=eq["exposure"], name="exposure"), row=3, col=1)
    fig.add_trace(go.Scatter(x=dates, y=eq["price"], name="price"), row=4, col=1)
    fills = fills_frame(result.main)
    if len(fills):
        for side, symbol in (("BUY", "triangle-up"), ("SELL", "triangle-down")):
            f = fills[fills["side"] == side]
            fig.add_trace(
                go.Scatter(
                    x=pd.to_datetime(f["ts_ns"], utc=True),
                    y=f["price"],
                    mode="markers",
                    marker={"symbol": symbol, "size": 7},
                    name=f"{side.lower()} fills",
                ),
                row=4,
                col=1,
            )
    cal = summary.get("calibration")
    if cal:
        fig.add_trace(go.Scatter(y=cal["_sigma"], name="predicted sigma"), row=5, col=1)
        fig.add_trace(
            go.Scatter(
                y=cal["_abs_return"], name="|realized return|", mode="markers", marker={"size": 2}
            ),
            row=5,
            col=1,
        )
    title = (
        f"gradtrade backtest: {summary['symbol']} {summary['timeframe']} "
        f"({summary['strategy']}, fill {summary['fill_model']})"
    )
    fig.update_layout(height=1600, title=title)
    return fig


def write_report(result: BacktestResult, out_dir: Path, *, html: bool = True) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summarize(result)
    paths = {
        "json": out_dir / "summary.json",
        "fills": out_dir / "fills.csv",
        "equity": out_dir / "equity.csv",
    }
    paths["json"].write_text(json.dumps(public_summary(summary), indent=2, default=str))
    fills_frame(result.main).to_csv(paths["fills"], index=False)
    equity_frame(result.main, result.data.trade_from_ns).to_csv(paths["equity"], index=False)
    if html:
        keys = [
            "sizing",
            "cost_bps",
            "total_return",
            "sharpe",
            "sharpe_se",
            "sortino",
            "max_drawdown",
            "fills",
            "turnover_per_year",
            "fees",
            "slippage",
            "funding",
        ]
        runs = {"main": summary["main"], **summary["variants"]}
        bench = {
            k: {kk: vv for kk, vv in v.items() if kk != "returns"}
            for k, v in summary["benchmarks"].items()
        }
        cal = public_summary(summary["calibration"]) or {}
        trades = fills_frame(result.main).tail(500).to_html(index=False)
        paths["html"] = out_dir / "report.html"
        body = figure(result, summary).to_html(include_plotlyjs=True, full_html=False)
        paths["html"].write_text(
            "<html><head><meta charset='utf-8'><title>gradtrade backtest</title></head><body>"
            f"<h1>Backtest {summary['symbol']} {summary['timeframe']}</h1>"
            f"<p>{' → '.join(summary['span'])}; candle fill model, market orders at "
            f"{summary['fill_model']}: " + json.dumps(result.config.fill.model_dump()) + "</p>"
            "<h2>Metrics (main run, sizing modes on the same decisions, twice the costs)</h2>"
            + html_table(runs, keys)
            + "<h2>Benchmarks</h2>"
            + html_table(bench, ["total_return", "sharpe", "max_drawdown"])
            + "<h2>Calibration</h2><pre>"
            + json.dumps(cal, indent=2)
            + "</pre>"
            + body
            + "<h2>Trades (last 500 fills)</h2>"
            + trades
            + "</body></html>"
        )
    return paths


__all__ = [
    "ReportRuns",
    "benchmarks",
    "calibration",
    "equity_frame",
    "figure",
    "fills_frame",
    "html_table",
    "public_summary",
    "run_metrics",
    "summarize",
    "write_report",
]
