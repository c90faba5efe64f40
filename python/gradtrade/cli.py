"""The ``gradtrade`` command line.

Every layer adds its own command group here; ``gradtrade COMMAND --help`` explains each.
"""

from __future__ import annotations

import importlib
import sys

import click

from gradtrade import __version__

# Commands that live in the layers, imported only when run: the layers pull in torch, ccxt and
# aiohttp, and `gradtrade --help` should not wait for them. name -> (module, attribute, summary).
LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "data": ("gradtrade.data.cli", "data", "The historical store: coverage, gaps, imports."),
    "download": ("gradtrade.data.cli", "download", "Download candles, funding or mark prices."),
    "exchange": (
        "gradtrade.local_exchange.cli",
        "exchange",
        "A local Binance-compatible exchange.",
    ),
    "train": ("gradtrade.optim.cli", "train_command", "Fit the Neural ODE by backpropagation."),
    "evaluate": (
        "gradtrade.evaluation.cli",
        "evaluate_command",
        "Walk-forward evaluation after costs.",
    ),
    "backtest": (
        "gradtrade.backtest.cli",
        "backtest_command",
        "Event-driven backtest over candles.",
    ),
    "trade": ("gradtrade.live.cli", "trade", "Paper or live trading as a service (journaled)."),
    "demo": ("gradtrade.demo", "demo", "The whole system offline, through paper trading."),
}


class LazyGroup(click.Group):
    """A click group whose layer commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS:
            module, attribute, _ = LAZY_COMMANDS[cmd_name]
            command = getattr(importlib.import_module(module), attribute)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, summary) for name, (_, _, summary) in LAZY_COMMANDS.items()]
        for name in super().list_commands(ctx):
            command = super().get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=60)))
        with formatter.section("Commands"):
            formatter.write_dl(sorted(rows))


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gradtrade")
def main() -> None:
    """gradtrade: train a Neural ODE of market dynamics, backtest it honestly, trade it.

    \b
    Typical session:
      gradtrade selfcheck                      check the install (Rust core, versions)
      gradtrade demo                           the whole system offline, in a few minutes
      gradtrade exchange serve --synthetic     a local Binance-compatible exchange
      gradtrade download --symbol BTC/USDT --timeframe 1h --since 2024-01-01
      gradtrade train --config model.yaml      fit the model by backpropagation
      gradtrade evaluate --config model.yaml   walk-forward, out of sample, after fees
      gradtrade backtest --config bt.yaml      the engine over candles: orders, fills, report
      gradtrade trade --config trader.yaml     paper or live trading, journaled, restartable
    """


@main.command()
def selfcheck() -> None:
    """Check that the Rust core loads, matches this Python package and computes correctly."""
    from gradtrade import core

    problems: list[str] = []
    if core.core_version != __version__:
        problems.append(
            f"Rust core is version {core.core_version} but the Python package is {__version__}"
        )
    problems.extend(_check_orderbook())
    for problem in problems:
        click.echo(f"FAIL {problem}", err=True)
    if problems:
        sys.exit(1)
    click.echo(f"gradtrade {__version__}: Rust core {core.core_version} OK")


def _check_orderbook() -> list[str]:
    """A two-level book from a snapshot and one diff frame must show the expected top."""
    from gradtrade.core import GradtradeError, OrderBook

    diff = (
        b'{"e":"depthUpdate","E":0,"s":"BTCUSDT","U":2,"u":2,'
        b'"b":[["61602.01","0.10000000"]],"a":[]}'
    )
    try:
        book = OrderBook("BTCUSDT", "0.01", "0.00001", "spot")
        book.apply_snapshot(1, [("61602.00", "0.5")], [("61602.02", "1.25")])
        applied = book.apply_depth_json(diff)
    except GradtradeError as exc:
        return [f"order book rejected a valid snapshot and diff: {exc}"]
    top = (book.best_bid(), book.best_ask())
    if not applied or top != ((61602.01, 0.1), (61602.02, 1.25)):
        return [f"order book top is {top} after a known diff, expected 61602.01/61602.02"]
    return []


if __name__ == "__main__":
    main()
