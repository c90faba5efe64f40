"""``gradtrade evaluate``: walk-forward, out-of-sample evaluation of a config's model."""

from __future__ import annotations

from pathlib import Path

import click

from gradtrade.errors import GradtradeError
from gradtrade.evaluation.report import markdown, score, write_reports
from gradtrade.evaluation.walkforward import walk_forward
from gradtrade.optim.cli import load_or_exit, setup_logging


@click.command("evaluate")
@click.option(
    "--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), required=True,
    help="YAML config; its `evaluate` section sets the walk-forward windows and costs.",
)  # fmt: skip
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Output folder (default evaluate.out_dir).",
)
def evaluate_command(config_path: Path, out: Path | None) -> None:
    """Walk-forward, out-of-sample evaluation after costs, against baselines.

    \b
    Trains the Neural ODE and the GRU baseline on each past window, tests on the following
    period, rolls; scores next-bar return (R² vs zero, hit rate), variance (QLIKE, NLL vs
    GARCH(1,1) and EWMA(0.94), Diebold-Mariano) and the strategy (Sharpe ± SE, Sortino, max
    drawdown, turnover, break-even cost, deflated Sharpe) against buy-and-hold, vol-targeted
    buy-and-hold and time-series momentum. Writes evaluation.md, evaluation.json, equity.png.
    """
    cfg = load_or_exit(config_path)
    out_dir = out or Path(cfg.evaluate.out_dir)
    setup_logging(out_dir, "evaluate")
    try:
        oos = walk_forward(cfg, progress=cfg.run.progress)
    except GradtradeError as err:
        raise click.ClickException(str(err)) from None
    result = score(oos, cfg)
    paths = write_reports(result, oos, out_dir)
    click.echo(markdown(result))
    click.echo("wrote " + ", ".join(str(p) for p in paths.values()))
