"""``gradtrade train`` and ``gradtrade evaluate``: the model's command line."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from gradtrade.errors import GradtradeError


def _setup_logging(out_dir: Path, name: str) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        handlers=[logging.FileHandler(out_dir / f"{name}.log"), logging.StreamHandler(sys.stderr)],
        force=True,
    )


def _load(config: Path) -> object:
    from gradtrade.optim.config import load_config

    try:
        return load_config(config)
    except GradtradeError as err:
        raise click.ClickException(str(err)) from None


@click.command("train")
@click.option(
    "--config", "config_path", type=click.Path(path_type=Path, dir_okay=False), required=True,
    help="YAML config (see configs/btc_1h.yaml); unknown or invalid fields are errors.",
)  # fmt: skip
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Output folder (default run.out_dir).",
)
def train_command(config_path: Path, out: Path | None) -> None:
    """Fit the Neural ODE (or GRU baseline) by backpropagation on the config's data.

    \b
    Splits the data in time (train / validation / test, with an embargo), normalizes on the
    training rows, trains with early stopping on validation, and keeps the best checkpoint in
    OUT/best.pt; per-epoch metrics go to OUT/metrics.csv and OUT/tensorboard/.
    Data-parallel: torchrun --nproc_per_node 2 -m gradtrade train --config FILE
    """
    from gradtrade.optim.config import TrainConfig
    from gradtrade.optim.run import train

    cfg = _load(config_path)
    assert isinstance(cfg, TrainConfig)
    out_dir = out or Path(cfg.run.out_dir)
    _setup_logging(out_dir, "train")
    try:
        outcome = train(cfg, out_dir)
    except GradtradeError as err:
        raise click.ClickException(str(err)) from None
    fit = outcome.fit
    click.echo(
        f"{fit.stopped_reason}; best epoch {fit.best_epoch} (val loss {fit.best_val:.4f}); "
        f"checkpoint: {outcome.checkpoint or 'unchanged (no improvement over the one on disk)'}"
    )
    if fit.stopped_reason.startswith(("non-finite", "exploding")):
        sys.exit(2)


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
    from gradtrade.evaluation.report import markdown, score, write_reports
    from gradtrade.evaluation.walkforward import walk_forward
    from gradtrade.optim.config import TrainConfig

    cfg = _load(config_path)
    assert isinstance(cfg, TrainConfig)
    out_dir = out or Path(cfg.evaluate.out_dir)
    _setup_logging(out_dir, "evaluate")
    try:
        oos = walk_forward(cfg, progress=cfg.run.progress)
    except GradtradeError as err:
        raise click.ClickException(str(err)) from None
    result = score(oos, cfg)
    paths = write_reports(result, oos, out_dir)
    click.echo(markdown(result))
    click.echo("wrote " + ", ".join(str(p) for p in paths.values()))
