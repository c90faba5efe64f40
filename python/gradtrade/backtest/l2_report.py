"""The L2 backtest's report: the candle report's metrics, figure and files over book ticks.

Invariants: returns are the ratios of consecutive equity marks at the mid, taken every
``output.equity_every_s`` at a book tick before the strategy decides, so they include every fee
and the spread paid or earned (slippage against the mid the decision saw); the buy-and-hold
benchmark is accounted at the taker fee on the same marks. There is no forecast, hence no
calibration, and no funding (spot). Files as for candles: ``report.html``, ``summary.json``,
``fills.csv``, ``equity.csv``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from gradtrade.backtest.l2 import L2Result
from gradtrade.backtest.report import (
    benchmarks,
    equity_frame,
    figure,
    fills_frame,
    html_table,
    public_summary,
    run_metrics,
)

SECONDS_PER_YEAR = 365.0 * 86_400
METRIC_KEYS = [
    "cost_bps", "total_return", "sharpe", "max_drawdown", "fills", "turnover_per_year",
    "fees", "slippage", "funding", "skipped_decisions",
]  # fmt: skip


def summarize_l2(result: L2Result) -> dict[str, Any]:
    cfg = result.config
    ppy = SECONDS_PER_YEAR / cfg.output.equity_every_s
    t0 = result.data.trade_from_ns
    eq = equity_frame(result.main, t0)
    vt = cfg.risk.vol_target_per_bar(ppy)
    span = (
        [str(pd.Timestamp(int(eq["ts_ns"].iloc[i]), tz="UTC")) for i in (0, -1)] if len(eq) else []
    )
    return {
        "data": cfg.recording.paths,
        "symbol": result.data.symbol,
        "timeframe": f"L2 every {cfg.strategy.interval_ms:g} ms",
        "span": span,
        "frames": result.frames,
        "sequence_gaps": result.gaps,
        "fill_model": f"L2 {cfg.venue.queue} queue",
        "venue": cfg.venue.model_dump(),
        "strategy": cfg.strategy.kind,
        "main": run_metrics(result.main, t0, ppy),
        "variants": {k: run_metrics(v, t0, ppy) for k, v in result.variants.items()},
        "benchmarks": benchmarks(eq, cfg.venue.taker_fee_bps * 1e-4, vt, ppy),
        "calibration": None,
    }


def write_l2_report(result: L2Result, out_dir: Path, *, html: bool = True) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = summarize_l2(result)
    paths = {
        "json": out_dir / "summary.json",
        "fills": out_dir / "fills.csv",
        "equity": out_dir / "equity.csv",
    }
    paths["json"].write_text(json.dumps(public_summary(summary), indent=2, default=str))
    fills = fills_frame(result.main)
    fills.to_csv(paths["fills"], index=False)
    equity_frame(result.main, result.data.trade_from_ns).to_csv(paths["equity"], index=False)
    if html:
        runs = {"main": summary["main"], **summary["variants"]}
        bench = {
            k: {kk: vv for kk, vv in v.items() if kk != "returns"}
            for k, v in summary["benchmarks"].items()
        }
        body = figure(result, summary).to_html(include_plotlyjs=True, full_html=False)
        paths["html"] = out_dir / "report.html"
        paths["html"].write_text(
            "<html><head><meta charset='utf-8'><title>gradtrade L2 backtest</title></head><body>"
            f"<h1>L2 backtest {summary['symbol']} ({summary['strategy']})</h1>"
            f"<p>{' → '.join(summary['span'])}; {summary['frames']} frames, "
            f"{summary['sequence_gaps']} sequence gaps; venue: "
            + json.dumps(summary["venue"])
            + "</p><h2>Metrics (main run, twice the fees)</h2>"
            + html_table(runs, METRIC_KEYS)
            + "<h2>Benchmarks</h2>"
            + html_table(bench, ["total_return", "sharpe", "max_drawdown"])
            + body
            + "<h2>Trades (last 500 fills)</h2>"
            + fills.tail(500).to_html(index=False)
            + "</body></html>"
        )
    return paths


__all__ = ["summarize_l2", "write_l2_report"]
