"""``gradtrade data`` (what is stored, imports) and ``gradtrade download`` (from an exchange)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import click
import pandas as pd

from gradtrade.data.connector import ExchangeConnector
from gradtrade.data.importers import import_binance_klines, import_freqtrade
from gradtrade.data.store import CandleStore, Health, error_text
from gradtrade.errors import GradtradeError
from gradtrade.venue.config import ConnectorConfig

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
    """The historical store: list what is stored (coverage, gaps, integrity) and import files.

    \b
    gradtrade data                                   every stored series, coverage and gaps
    gradtrade data import BTC_USDT-1h.feather         a freqtrade file (series from the name)
    gradtrade data import BTCUSDT-1m-2025-01.zip --symbol BTC/USDT --market spot
                                                     a data.binance.vision kline ZIP/CSV
    gradtrade data seal                              record checksums of files written by a
                                                     gradtrade without them, after checking them

    Every file is verified against its checksum when listed: the status column says OK,
    CORRUPT (bytes or rows do not match; the file is left as it is: restore it, or delete it
    and download again) or UNVERIFIED (no checksum yet: see `gradtrade data seal`). The exit
    code is 1 when any file is not OK.
    """
    ctx.ensure_object(dict)
    ctx.obj["data_dir"] = data_dir
    if ctx.invoked_subcommand is None:
        _list(data_dir, gaps)


def _list(data_dir: Path, show_gaps: bool) -> None:

    store = CandleStore(data_dir)
    keys = store.series()
    if not keys:
        click.echo(f"nothing stored under {data_dir}")
        return
    click.echo(
        f"{'series':<44} {'rows':>9}  {'first':<20} {'last':<20} {'gaps':>5} {'missing':>8}  status"
    )
    bad = {Health.CORRUPT: 0, Health.UNVERIFIED: 0}
    unreadable = 0
    for key in keys:
        try:
            found = store.inspect(key)
        except OSError as exc:  # unreadable (permissions, a folder in the file's place)
            unreadable += 1
            click.echo(f"{key!s:<44} cannot be read: {error_text(exc)}")
            continue
        cov = found.coverage
        if cov is None:
            bad[found.health] += 1
            click.echo(
                f"{key!s:<44} {'-':>9}  {'-':<20} {'-':<20} {'-':>5} {'-':>8}  {found.health.name}"
            )
            click.echo(f"    {found.health.name.lower()}: {found.problem}")
            continue
        first = f"{cov.first:%Y-%m-%d %H:%M}" if cov.first is not None else "-"
        last = f"{cov.last:%Y-%m-%d %H:%M}" if cov.last is not None else "-"
        click.echo(
            f"{key!s:<44} {cov.rows:>9,}  {first:<20} {last:<20} {len(cov.gaps):>5} "
            f"{cov.missing:>8,}  {found.health.name}"
        )
        if show_gaps:
            for gap in cov.gaps[:10]:
                click.echo(
                    f"    gap: {gap.missing} bar(s) missing after {gap.after} before {gap.before}"
                )
            if len(cov.gaps) > 10:
                click.echo(f"    ... and {len(cov.gaps) - 10} more gaps")
    if any(bad.values()) or unreadable:
        more = f", {unreadable} unreadable" if unreadable else ""
        click.echo(
            f"FAIL {bad[Health.CORRUPT]} corrupt, {bad[Health.UNVERIFIED]} unverified{more} "
            f"of {len(keys)} series under {data_dir}",
            err=True,
        )
        sys.exit(1)


@data.command("seal")
@click.pass_context
def seal(ctx: click.Context) -> None:
    """Record the checksum of every stored file that has none (written before checksums).

    \b
    Each such file is checked first: it must decode, have strictly increasing unique dates and
    pass the store's validation unchanged. A file that fails is left as it is and reported
    (exit code 1); files that already have a checksum are verified, never re-sealed.
    """
    store = CandleStore(ctx.obj["data_dir"])
    failed = False
    for key in store.series():
        try:
            outcome = store.seal(key)
        except GradtradeError as exc:
            click.echo(f"FAIL {key}: {exc}", err=True)
            failed = True
            continue
        click.echo(f"{key}: {outcome.value}")
    if failed:
        sys.exit(1)


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
        except (GradtradeError, OSError) as exc:  # OSError: the store's disk, not the input
            message = str(exc) if isinstance(exc, GradtradeError) else error_text(exc)
            named = message if str(path) in message else f"{path}: {message}"
            click.echo(f"FAIL {named}", err=True)
            failed = True
            continue
        click.echo(report.summary())
    if failed:
        sys.exit(1)


@click.command()
@click.option("--symbol", required=True, help="ccxt symbol: BTC/USDT (spot), BTC/USDT:USDT (usdm).")
@click.option("--timeframe", default="1h", show_default=True, help="1m, 5m, 1h, 4h, 1d ...")
@click.option("--since", required=True, help="UTC start, e.g. 2024-01-01 or 2024-01-01T12:00.")
@click.option("--until", default=None, help="UTC end, exclusive (default: now).")
@click.option("--market", type=click.Choice(["spot", "usdm"]), default="spot", show_default=True)
@click.option(
    "--kind",
    type=click.Choice(["ohlcv", "funding", "mark"]),
    default="ohlcv",
    show_default=True,
    help="candles, funding-rate history (usdm), or mark-price candles (usdm)",
)
@click.option(
    "--exchange-url",
    default=None,
    help="Any Binance-compatible server, e.g. http://127.0.0.1:8080 (the local exchange).",
)
@click.option(
    "--preset",
    type=click.Choice(["binance", "testnet"]),
    default="binance",
    show_default=True,
    help="Which real endpoints to use when --exchange-url is not given.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, path_type=Path),
    help="YAML connector settings.",
)
@click.option("--progress/--no-progress", default=True, show_default=True)
@data_dir_option
def download(
    symbol: str,
    timeframe: str,
    since: str,
    until: str | None,
    market: str,
    kind: str,
    exchange_url: str | None,
    preset: str,
    config_file: Path | None,
    progress: bool,
    data_dir: Path,
) -> None:
    """Download candles, funding rates or mark prices into the store, resuming what is there.

    \b
    gradtrade download --symbol BTC/USDT --timeframe 1h --since 2024-01-01
    gradtrade download --symbol BTC/USDT:USDT --market usdm --kind funding --since 2024-01-01
    gradtrade download --symbol BTC/USDT --timeframe 1m --since 2025-05-20 \\
        --exchange-url http://127.0.0.1:8080

    Only missing bars are fetched: run it again after an interruption and it continues.
    Candles still open are not stored. Gaps the exchange itself has are listed at the end.
    """

    def timestamp(value: str, name: str) -> pd.Timestamp:
        try:
            return (
                pd.Timestamp(value, tz="UTC")
                if pd.Timestamp(value).tzinfo is None
                else pd.Timestamp(value)
            )
        except ValueError as exc:
            raise click.BadParameter(f"{value!r} is not a date ({exc})", param_hint=name) from None

    start = timestamp(since, "--since")
    end = timestamp(until, "--until") if until else None
    try:
        if config_file is not None:
            config = ConnectorConfig.from_file(config_file)
        elif exchange_url:
            config = ConnectorConfig.for_url(exchange_url, market)  # type: ignore[arg-type]
        else:
            config = ConnectorConfig.preset(preset, market)  # type: ignore[arg-type]

        async def run() -> str:
            async with ExchangeConnector(config) as connector:
                result = await connector.download(
                    CandleStore(data_dir),
                    symbol,
                    timeframe,
                    since=start,
                    until=end,
                    kind=kind,
                    progress=progress,
                )
            lines = [result.summary()]
            lines += [
                f"    gap: {g.missing} bar(s) after {g.after} before {g.before}"
                for g in result.gaps[:20]
            ]
            return "\n".join(lines)

        click.echo(asyncio.run(run()))
    except GradtradeError as exc:
        click.echo(f"FAIL {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
