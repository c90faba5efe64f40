"""``gradtrade data`` (what is stored, imports) and ``gradtrade download`` (from an exchange)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

DEFAULT_DATA_DIR = Path.home() / ".gradtrade" / "data"

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=lambda: Path(os.environ.get("GRADTRADE_DATA_DIR", DEFAULT_DATA_DIR)),
    show_default="$GRADTRADE_DATA_DIR or ~/.gradtrade/data",
    help="Root of the Parquet store.",
)


@click.group(invoke_without_command=True)
@data_dir_option
@click.option("--gaps/--no-gaps", default=True, help="List each gap (first 10 per series).")
@click.pass_context
def data(ctx: click.Context, data_dir: Path, gaps: bool) -> None:
    """The historical store: list what is stored (coverage, gaps) and import files.

    \b
    gradtrade data                                   every stored series, coverage and gaps
    gradtrade data import BTC_USDT-1h.feather         a freqtrade file (series from the name)
    gradtrade data import BTCUSDT-1m-2025-01.zip --symbol BTC/USDT --market spot
                                                     a data.binance.vision kline ZIP/CSV
    """
    ctx.ensure_object(dict)
    ctx.obj["data_dir"] = data_dir
    if ctx.invoked_subcommand is None:
        _list(data_dir, gaps)


def _list(data_dir: Path, show_gaps: bool) -> None:
    from gradtrade.data.store import CandleStore

    store = CandleStore(data_dir)
    keys = store.series()
    if not keys:
        click.echo(f"nothing stored under {data_dir}")
        return
    click.echo(f"{'series':<44} {'rows':>9}  {'first':<20} {'last':<20} {'gaps':>5} {'missing':>8}")
    for key in keys:
        cov = store.coverage(key)
        first = f"{cov.first:%Y-%m-%d %H:%M}" if cov.first is not None else "-"
        last = f"{cov.last:%Y-%m-%d %H:%M}" if cov.last is not None else "-"
        click.echo(
            f"{key!s:<44} {cov.rows:>9,}  {first:<20} {last:<20} {len(cov.gaps):>5} "
            f"{cov.missing:>8,}"
        )
        if show_gaps:
            for gap in cov.gaps[:10]:
                click.echo(
                    f"    gap: {gap.missing} bar(s) missing after {gap.after} before {gap.before}"
                )
            if len(cov.gaps) > 10:
                click.echo(f"    ... and {len(cov.gaps) - 10} more gaps")


@data.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--symbol", help="ccxt symbol for Binance ZIP/CSV files, e.g. BTC/USDT.")
@click.option("--market", type=click.Choice(["spot", "usdm"]), default="spot", show_default=True)
@click.option("--timeframe", help="Timeframe when the file name does not say it.")
@click.option("--exchange", default="binance", show_default=True)
@click.pass_context
def import_files(
    ctx: click.Context,
    paths: tuple[Path, ...],
    symbol: str | None,
    market: str,
    timeframe: str | None,
    exchange: str,
) -> None:
    """Import freqtrade .feather files or data.binance.vision kline .zip/.csv files."""
    from gradtrade.data.importers import import_binance_klines, import_freqtrade
    from gradtrade.data.store import CandleStore
    from gradtrade.errors import GradtradeError

    store = CandleStore(ctx.obj["data_dir"])
    failed = False
    for path in paths:
        try:
            if path.suffix == ".feather":
                report = import_freqtrade(store, path, exchange=exchange)
            else:
                if not symbol:
                    raise click.UsageError(f"{path.name}: Binance files need --symbol")
                report = import_binance_klines(
                    store,
                    path,
                    market=market,
                    symbol=symbol,
                    timeframe=timeframe,
                    exchange=exchange,
                )
        except GradtradeError as exc:
            click.echo(f"FAIL {path}: {exc}", err=True)
            failed = True
            continue
        click.echo(report.summary())
    if failed:
        sys.exit(1)
