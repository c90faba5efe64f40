"""``gradtrade demo``: the whole system offline, in a few minutes on two CPU cores.

1. Start the local Binance-compatible exchange on 127.0.0.1 (the seeded synthetic market, or a
   replay of a freqtrade ``.feather`` candle file); it runs until the demo ends.
2. Download its candles through ccxt into the Parquet store, exactly as from Binance.
3. ``gradtrade train`` on the stored series; the test split scored after fees.
4. ``gradtrade evaluate``: the walk-forward, out-of-sample study on the same config.
5. ``gradtrade backtest`` over the test period: fills, costs, the HTML report.
6. ``gradtrade trade``: a short paper-trading session against the same exchange, with
   ``/metrics`` and ``/healthz`` on a loopback port, journaled to SQLite.

Invariants: steps 3-6 run the user's commands on config files written into ``--out`` from the
copyable templates in ``configs/`` (``demo.templates``); each step prints the command that
reruns it. Nothing leaves 127.0.0.1. Steps run in order and the demo stops at the first failed
one with its error; a build without the live trader skips step 6 and says so.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import click
import pandas as pd

from gradtrade.backtest.cli import backtest_command
from gradtrade.data.store import CandleStore
from gradtrade.demo.paper import (
    PaperOutcome,
    PaperSpec,
    PaperStatus,
    free_port,
    run_paper_session,
)
from gradtrade.demo.pipeline import (
    SYNTHETIC_SEED,
    DemoSource,
    download,
    first_test_bar,
    score_test_split,
    source_of,
)
from gradtrade.demo.templates import (
    BACKTEST,
    TRADER,
    TRAIN,
    load_template,
    with_overrides,
    write_config,
)
from gradtrade.errors import GradtradeError, InvalidCheckpoint
from gradtrade.evaluation.cli import evaluate_command
from gradtrade.local_exchange import ExchangeServer, ServerThread
from gradtrade.optim.cli import train_command
from gradtrade.optim.config import load_config
from gradtrade.timeframes import periods_per_year

STEPS = 6


@dataclass(frozen=True)
class DemoRun:
    """One demo's settings, and where the exchange and the stored candles are."""

    configs: Path
    out: Path
    src: DemoSource
    url: str
    parquet: Path
    epochs: int
    cost_bps: float
    paper_seconds: int


@dataclass(frozen=True)
class Paper:
    spec: PaperSpec | None  # None: the session was not started (see outcome.detail)
    outcome: PaperOutcome


def step(n: int, text: str) -> None:
    click.secho(f"{n}/{STEPS} {text}", bold=True)


def train_config(run: DemoRun) -> Path:
    out = run.out
    raw = with_overrides(
        load_template(run.configs, TRAIN),
        {
            "data.path": str(run.parquet),
            "loss.periods_per_year": periods_per_year(run.src.timeframe),
            "optim.epochs": run.epochs,
            "optim.patience": max(2, run.epochs // 3),
            "run.out_dir": str(out),
            "evaluate.out_dir": str(out / "evaluate"),
        },
    )
    path = out / "train.yaml"
    rerun = f"gradtrade train --config {path}; gradtrade evaluate --config {path}"
    return write_config(raw, path, source=run.configs / TRAIN, rerun=rerun)


def backtest_config(run: DemoRun, start: pd.Timestamp) -> Path:
    out = run.out
    raw = with_overrides(
        load_template(run.configs, BACKTEST),
        {
            "data.path": str(run.parquet),
            "data.start": start.isoformat(),
            "strategy.checkpoint": str(out / "best.pt"),
            "output.dir": str(out / "backtest"),
        },
    )
    path = out / "backtest.yaml"
    rerun = f"gradtrade backtest --config {path}"
    return write_config(raw, path, source=run.configs / BACKTEST, rerun=rerun)


def trader_config(run: DemoRun) -> PaperSpec:
    """The paper session's config: this exchange, this checkpoint, a new journal per run (a
    journal restores the state it holds, and this exchange's account starts empty)."""
    folder = run.out / "paper"
    journal = folder / f"journal-{pd.Timestamp.now(tz='UTC'):%Y%m%dT%H%M%S}.db"
    port = free_port()
    raw = with_overrides(
        load_template(run.configs, TRADER),
        {
            "venue.url": run.url,
            "symbol": run.src.symbol.replace("/", ""),
            "timeframe": run.src.timeframe,
            "strategy.checkpoint": str(run.out / "best.pt"),
            "journal.url": str(journal),
            "monitoring.port": port,
        },
    )
    path = run.out / "trader.yaml"
    rerun = (
        f"gradtrade exchange serve --synthetic --seed {SYNTHETIC_SEED}, set venue.url in "
        f"{path} to the URL it prints, then gradtrade trade --config {path}"
    )
    write_config(raw, path, source=run.configs / TRADER, rerun=rerun)
    return PaperSpec(path, run.paper_seconds, port, folder, journal)


def model_steps(run: DemoRun) -> None:
    """Steps 3-5: train, walk-forward, backtest over the test period."""
    ctx = click.get_current_context()
    train_yaml = train_config(run)
    step(3, f"gradtrade train --config {train_yaml}")
    ctx.invoke(train_command, config_path=train_yaml, out=None)
    checkpoint = run.out / "best.pt"
    if not checkpoint.exists():
        raise InvalidCheckpoint(f"no checkpoint at {checkpoint}: training never improved")
    cfg = load_config(train_yaml)
    for line in score_test_split(checkpoint, cfg, run.cost_bps).lines(run.cost_bps):
        click.echo(line)
    step(4, f"gradtrade evaluate --config {train_yaml}  (walk-forward, out of sample)")
    ctx.invoke(evaluate_command, config_path=train_yaml, out=None)
    start = first_test_bar(cfg)
    backtest_yaml = backtest_config(run, start)
    step(5, f"gradtrade backtest --config {backtest_yaml}  (the test period, from {start})")
    ctx.invoke(backtest_command, config_path=backtest_yaml, out=None, no_progress=False)


def paper_step(run: DemoRun) -> Paper:
    """Step 6: the paper session, or why it did not run."""
    if not run.src.synthetic:
        why = "a replayed file has no live candles to paper-trade on"
        return Paper(None, PaperOutcome(PaperStatus.UNAVAILABLE, why))
    spec = trader_config(run)
    step(6, f"gradtrade trade --config {spec.config} --run-for {spec.seconds}  (paper)")
    click.echo(f"    metrics and health on http://127.0.0.1:{spec.port}/metrics and /healthz")
    outcome = run_paper_session(spec)
    click.echo(f"    {outcome.detail}")
    if outcome.health is not None:
        click.echo(f"    last /healthz: {outcome.health[:200]}")
    if outcome.journal:
        click.echo("    journal: " + ", ".join(f"{k} {v}" for k, v in outcome.journal.items()))
    return Paper(spec, outcome)


def where(out: Path, paper: Paper | None) -> list[str]:
    lines = [
        "Where everything is:",
        f"  backtest report  {out / 'backtest' / 'report.html'}",
        f"  walk-forward     {out / 'evaluate' / 'evaluation.md'}",
        f"  checkpoint       {out / 'best.pt'}  (training log {out / 'train.log'})",
    ]
    if paper is None:
        return [*lines, "  paper session    not run (--paper-seconds 0)"]
    spec, outcome = paper.spec, paper.outcome
    if spec is None or outcome.status is PaperStatus.UNAVAILABLE:
        return [*lines, f"  paper session    not run: {outcome.detail}"]
    scrape = f"last scrape in {outcome.metrics}" if outcome.metrics else "it never answered"
    return [
        *lines,
        f"  journal          {spec.journal}",
        f"  trader log       {outcome.log}",
        f"  metrics          http://127.0.0.1:{spec.port}/metrics during the session; {scrape}",
        f"  trader status    gradtrade trade status --config {spec.config}",
    ]


@click.command()
@click.option(
    "--replay",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="freqtrade spot .feather candles to replay (default: the synthetic market).",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("runs/demo"),
    show_default=True,
    help="folder for the store, the configs written, the checkpoint, reports and the journal.",
)
@click.option(
    "--configs",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("configs"),
    show_default=True,
    help="folder with demo_train.yaml, demo_backtest.yaml and demo_trader.yaml.",
)
@click.option("--epochs", type=click.IntRange(1, 200), default=5, show_default=True)
@click.option(
    "--cost-bps",
    type=click.FloatRange(0, 1000),
    default=11.0,
    show_default=True,
    help="cost per unit turnover for the test-split score.",
)
@click.option(
    "--paper-seconds",
    type=click.IntRange(0, 3600),
    default=150,
    show_default=True,
    help="length of the paper-trading session (0: skip it); a market order decided at a 1m "
    "close fills at the next bar's open, so under two minutes may show orders but no fill.",
)
def demo(
    replay: Path | None,
    out: Path,
    configs: Path,
    epochs: int,
    cost_bps: float,
    paper_seconds: int,
) -> None:
    """The whole system end to end, offline: exchange, download, train, walk-forward,
    backtest with its report, paper trading with metrics.

    \b
    gradtrade demo                          synthetic market, 1m bars, a few minutes
    gradtrade demo --paper-seconds 0        stop after the backtest
    gradtrade demo --replay ../shared/data/klines/spot/BTC_USDT-1h.feather --epochs 10

    Run it from the project root (the templates are in configs/). Every step is a gradtrade
    command on a config written into --out; the demo prints each command so you can rerun it.
    Nothing leaves 127.0.0.1. A short demo is no evidence of an edge.
    """
    paper: Paper | None = None
    try:
        kwargs, src = source_of(replay)
        for name in (TRAIN, BACKTEST, TRADER):
            load_template(configs, name)  # fail before the exchange starts, not after training
        store = CandleStore(out / "store")
        with ServerThread(ExchangeServer(**kwargs)) as server:
            what = f"synthetic, seed {SYNTHETIC_SEED}" if src.synthetic else str(replay)
            step(1, f"local exchange at {server.url} serving {src.symbol} {src.timeframe} ({what})")
            parquet = download(server.url, store, src)
            step(2, f"downloaded through ccxt into {parquet}")
            run = DemoRun(configs, out, src, server.url, parquet, epochs, cost_bps, paper_seconds)
            model_steps(run)
            if paper_seconds > 0:
                paper = paper_step(run)
    except GradtradeError as exc:
        click.echo(f"FAIL {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    for line in where(out, paper):
        click.echo(line)
    if paper is not None and paper.outcome.status is PaperStatus.FAILED:
        sys.exit(1)
