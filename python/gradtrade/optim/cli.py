"""``gradtrade train``: fit a model from a YAML config (``gradtrade evaluate`` is in
:mod:`gradtrade.evaluation.cli`)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from gradtrade.errors import GradtradeError
from gradtrade.optim.config import TrainConfig, load_config
from gradtrade.optim.run import train


def setup_logging(out_dir: Path, name: str) -> None:
    """Log to ``out_dir/name.log`` and stderr."""
    out_dir.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
        handlers=[logging.FileHandler(out_dir / f"{name}.log"), logging.StreamHandler(sys.stderr)],
        force=True,
    )


def load_or_exit(config: Path) -> TrainConfig:
    """The validated config, or a click error naming the bad field."""
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
    cfg = load_or_exit(config_path)
    out_dir = out or Path(cfg.run.out_dir)
    setup_logging(out_dir, "train")
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
