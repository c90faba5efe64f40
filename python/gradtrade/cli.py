"""The ``gradtrade`` command line.

Every layer adds its own command group here; ``gradtrade COMMAND --help`` explains each.
"""

from __future__ import annotations

import sys

import click

from gradtrade import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gradtrade")
def main() -> None:
    """gradtrade: train a Neural ODE of market dynamics, backtest it honestly, trade it.

    \b
    Typical session:
      gradtrade selfcheck                      check the install (Rust core, versions)
      gradtrade exchange serve --synthetic     a local Binance-compatible exchange
      gradtrade download --symbol BTC/USDT --timeframe 1h --since 2024-01-01
      gradtrade train --config model.yaml      fit the model by backpropagation
      gradtrade evaluate --config model.yaml   walk-forward, out of sample, after fees
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


# --- command groups: one add_command line per layer ---
main.add_command(__import__("gradtrade.data.cli", fromlist=["data"]).data)
main.add_command(__import__("gradtrade.data.cli", fromlist=["download"]).download)
main.add_command(__import__("gradtrade.exchange.cli", fromlist=["exchange"]).exchange)
main.add_command(__import__("gradtrade.optim.cli", fromlist=["x"]).train_command)
main.add_command(__import__("gradtrade.optim.cli", fromlist=["x"]).evaluate_command)

if __name__ == "__main__":
    main()
