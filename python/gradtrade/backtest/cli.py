"""``gradtrade backtest --config FILE``: the candle backtest from the command line."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from gradtrade.backtest.config import load_backtest_config
from gradtrade.backtest.l2 import run_l2_backtest
from gradtrade.backtest.l2_config import is_l2_config, parse_l2_config
from gradtrade.backtest.l2_report import write_l2_report
from gradtrade.backtest.report import write_report
from gradtrade.backtest.runner import run_backtest
from gradtrade.config import read_yaml
from gradtrade.errors import GradtradeError


@click.command("backtest")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Backtest YAML (see configs/backtest_btc_1h.yaml); unknown or invalid fields are errors.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Output folder (default output.dir of the config).",
)
@click.option("--no-progress", is_flag=True, help="No progress bar (for logs and CI).")
def backtest_command(config_path: Path, out: Path | None, no_progress: bool) -> None:
    """Event-driven backtest over candles, with the trained model or a reference strategy.

    \b
    Every bar goes through the same chain as a live session: the strategy decides at the bar's
    close (the model through the same prediction function as `gradtrade evaluate`), the risk
    layer sizes it (sizing: policy | kelly | vol_target), caps leverage, rounds to the lot step
    and applies the drawdown breaker, each order passes the pre-trade check, the simulated
    venue fills it with the configured fill model, and the portfolio books fees, slippage and
    funding (perpetuals, at the recorded settlement times).

    \b
    The fill model (Rust, rust/sim/candle.rs) fills market orders at the next bar's open plus
    the half spread plus the impact k * sigma * sqrt(q / V) plus the taker fee; post-only
    limits only when the bar trades through them, capped at a share of its volume, at the
    maker fee; stops at the level or the open after a gap, stop-loss first within a bar.
    fill.fill_at: decision_close with no spread and impact reproduces `gradtrade evaluate`.
    fill.model: walk_book fills market orders level by level through a ladder book built from
    the decision bar (fill.ladder), the book `gradtrade exchange serve --stepped` shows.

    \b
    Writes to OUT: report.html (equity vs buy-and-hold and vol-targeted buy-and-hold, drawdown,
    exposure, fills on the price, sigma calibration, metrics, trades), summary.json, fills.csv,
    equity.csv. The same decisions are replayed at twice the costs and under the other sizing
    modes, side by side.

    \b
    A config with a `recording` section is an L2 backtest (configs/backtest_l2_btcusdt.yaml):
    the Rust L2 venue replays the recorded depth diffs, trades and snapshots, the strategy
    (quote_at_best or noop) sees the book every strategy.interval_ms, post-only orders get a
    queue position (venue.queue: risk_averse | probabilistic with venue.power) and latencies
    (venue.entry_latency_ms, cancel_latency_ms, or a latency_table CSV); same outputs.

    \b
    Example:
      gradtrade train --config configs/btc_1h.yaml
      gradtrade backtest --config configs/backtest_btc_1h.yaml
      gradtrade backtest --config configs/backtest_l2_btcusdt.yaml
    """
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, force=True)
    try:
        raw = read_yaml(config_path)
        if is_l2_config(raw):
            l2 = parse_l2_config(raw, str(config_path))
            l2_result = run_l2_backtest(l2)
            l2_paths = write_l2_report(l2_result, out or Path(l2.output.dir), html=l2.output.html)
    except GradtradeError as err:
        raise click.ClickException(str(err)) from None
    if is_l2_config(raw):
        m = l2_result.main
        click.echo(
            f"{l2_result.frames} frames, {l2_result.gaps} sequence gaps; {len(m.log.fills)} "
            f"fills; equity {l2.initial_cash:.2f} -> {m.portfolio.equity():.2f}; "
            f"fees {m.portfolio.fee_value:.2f}"
        )
        for name, run in l2_result.variants.items():
            click.echo(f"  {name}: equity {run.portfolio.equity():.2f}, {len(run.log.fills)} fills")
        click.echo("wrote " + ", ".join(str(p) for p in l2_paths.values()))
        return
    try:
        cfg = load_backtest_config(config_path)
        result = run_backtest(cfg, progress=not no_progress)
        paths = write_report(result, out or Path(cfg.output.dir), html=cfg.output.html)
    except GradtradeError as err:
        raise click.ClickException(str(err)) from None
    main = result.main
    r0 = cfg.initial_cash
    click.echo(
        f"{len(main.log.fills)} fills; equity {r0:.2f} -> {main.portfolio.equity():.2f}; "
        f"fees {main.portfolio.fee_value:.2f}, funding {main.portfolio.funding:.2f}"
    )
    for name, run in result.variants.items():
        click.echo(f"  {name}: equity {run.portfolio.equity():.2f}, {len(run.log.fills)} fills")
    click.echo("wrote " + ", ".join(str(p) for p in paths.values()))
