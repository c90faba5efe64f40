"""``gradtrade trade``: run the trader, ask its journal for its status, reset its breaker.

Exit codes: 0 after a clean stop (SIGTERM, SIGINT, ``--run-for``), 2 for a configuration or
credential error (named field, nothing started), 1 for anything that stopped the trader (the
message says what; the journal is left as it was for the next start). ``trade reconcile``: 0
when the trader may trade (OK, REPAIRED, ADOPTED), 1 when it would halt, 2 when it could not
compare (configuration, credentials, journal or venue error).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

import click
import orjson

from gradtrade.errors import GradtradeError, InvalidInput
from gradtrade.live.config import TraderConfig, load_trader_config
from gradtrade.live.credentials import Credentials, load_credentials
from gradtrade.live.logs import configure_logging
from gradtrade.live.reconcile_check import check_trader
from gradtrade.live.reconcile_report import render, to_payload
from gradtrade.live.status import reset_breaker, trader_status
from gradtrade.live.trader import Trader

log = logging.getLogger("gradtrade.live")
CONFIG = click.Path(dir_okay=False, path_type=Path)


def _load(path: Path) -> TraderConfig:
    try:
        return load_trader_config(path)
    except InvalidInput as exc:
        raise click.UsageError(str(exc)) from None


async def _serve(trader: Trader, run_for: float | None) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, trader.request_stop)
    await trader.run(run_for)


@click.group(invoke_without_command=True)
@click.option("--config", "config_path", type=CONFIG, help="trader YAML (see configs/).")
@click.option(
    "--run-for",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="stop cleanly after this many seconds (demos and tests).",
)
@click.pass_context
def trade(ctx: click.Context, config_path: Path | None, run_for: float | None) -> None:
    """Trade a strategy on closed klines: paper (simulated fills) or live (orders on the venue).

    \b
    Examples:
      gradtrade exchange serve --synthetic --port 8765 &      # a local venue
      gradtrade trade --config configs/trader_paper.yaml --run-for 180
      GRADTRADE_API_KEY=... GRADTRADE_API_SECRET=... \\
        gradtrade trade --config configs/trader_live_testnet.yaml
      gradtrade trade status --config configs/trader_paper.yaml
      gradtrade trade status --config configs/trader_paper.yaml --json
      gradtrade trade reset-breaker --config configs/trader_paper.yaml

    \b
    Every order, fill, decision and breaker transition goes to the journal (journal.url)
    before it takes effect; a restart resumes from it and resolves every order the last run
    left open with the venue. SIGTERM/SIGINT: no new orders, open orders cancelled
    (cancel_open_on_exit), journal flushed, exit 0.
    """
    if ctx.invoked_subcommand is not None:
        return
    if config_path is None:
        raise click.UsageError("--config is required (e.g. --config configs/trader_paper.yaml)")
    cfg = _load(config_path)
    configure_logging(cfg.log.format, cfg.log.level)
    creds: Credentials | None = None
    try:
        if cfg.mode == "live":
            creds = load_credentials(cfg.credentials)
    except InvalidInput as exc:
        raise click.UsageError(str(exc)) from None
    trader = Trader(cfg, creds)
    try:
        asyncio.run(_serve(trader, run_for))
    except GradtradeError as exc:
        log.error("trader stopped: %s: %s", type(exc).__name__, exc)
        click.echo(f"Error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)


@trade.command()
@click.option("--config", "config_path", type=CONFIG, required=True, help="trader YAML.")
@click.option("--json", "as_json", is_flag=True, help="one JSON object instead of text.")
def status(config_path: Path, as_json: bool) -> None:
    """Positions, open orders, breaker state and the last decision, from the journal (works
    while the trader runs: the journal is opened read-only).

    \b
    Example:
      gradtrade trade status --config configs/trader_paper.yaml
    """
    cfg = _load(config_path)
    try:
        st = trader_status(cfg)
    except GradtradeError as exc:
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from None
    click.echo(orjson.dumps(st.as_dict()).decode() if as_json else st.text())


@trade.command("reset-breaker")
@click.option("--config", "config_path", type=CONFIG, required=True, help="trader YAML.")
def reset_breaker_command(config_path: Path) -> None:
    """Put a HALTED or REDUCING drawdown breaker back to ACTIVE (journaled). Stop the trader
    first: the next start resumes with the breaker active.

    \b
    Example:
      gradtrade trade reset-breaker --config configs/trader_paper.yaml
    """
    cfg = _load(config_path)
    try:
        before = reset_breaker(cfg)
    except GradtradeError as exc:
        raise click.ClickException(f"{type(exc).__name__}: {exc}") from None
    click.echo(f"breaker {before} -> ACTIVE (journaled)")


@trade.command("reconcile")
@click.option("--config", "config_path", type=CONFIG, required=True, help="trader YAML.")
@click.option("--json", "as_json", is_flag=True, help="the report as one JSON object.")
def reconcile_command(config_path: Path, as_json: bool) -> None:
    """Compare the journal's orders, trades, balances and positions with the exchange and print
    what differs, without trading: no order is sent or cancelled and the journal is opened
    read-only (works while the trader runs). Live mode only; credentials as for trading.

    \b
    Exit codes: 0 the trader may trade (OK, or every difference repairable/adopted),
    1 it would start HALTED, 2 the comparison could not be made.

    \b
    Examples:
      GRADTRADE_API_KEY=... GRADTRADE_API_SECRET=... \\
        gradtrade trade reconcile --config configs/trader_live_testnet.yaml
      gradtrade trade reconcile --config configs/trader_live_testnet.yaml --json | jq .verdict
    """
    cfg = _load(config_path)
    try:
        creds = load_credentials(cfg.credentials)
        result = asyncio.run(check_trader(cfg, creds))
    except GradtradeError as exc:
        click.echo(f"Error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(2)
    report = result.report
    if as_json:
        out = {**to_payload(report), "baseline": result.baseline.to_payload(),
               "baseline_taken_now": result.baseline_taken_now,
               "journal_seq": result.journal_seq}  # fmt: skip
        click.echo(orjson.dumps(out).decode())
    else:
        if result.baseline_taken_now:
            click.echo("(the journal holds no reconciliation baseline: balances taken now)")
        click.echo(f"trader {cfg.trader_id}, journal at record {result.journal_seq}")
        click.echo(render(report))
    sys.exit(0 if report.may_trade else 1)


__all__ = ["trade"]
