"""``gradtrade exchange``: run the local Binance-compatible exchange."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click
import numpy as np

from gradtrade.errors import GradtradeError
from gradtrade.execution.ladder import LadderConfig
from gradtrade.local_exchange.server import ExchangeServer
from gradtrade.local_exchange.stepped import StepConfig
from gradtrade.timeframes import INTERVAL_MS

VENUES = ("spot", "usdm")


def parse_fees(values: tuple[str, ...]) -> dict[str, tuple[str, str]]:
    """``MAKER,TAKER`` (every venue) or ``VENUE=MAKER,TAKER``, as fractions (0.001 = 0.1 %)."""
    out: dict[str, tuple[str, str]] = {}
    for value in values:
        venue, _, rates = value.rpartition("=")
        parts = rates.split(",")
        try:
            ok = len(parts) == 2 and all(-0.01 <= Decimal(x) <= 0.1 for x in parts)
        except InvalidOperation:
            ok = False
        if not ok or venue not in ("", *VENUES):
            raise click.BadParameter(
                f"{value!r}: expected MAKER,TAKER or spot=/usdm=MAKER,TAKER, each rate a "
                "fraction in [-0.01, 0.1] (e.g. 0.0002,0.0005)",
                param_hint="--fees",
            )
        for v in (venue,) if venue else VENUES:
            out[v] = (parts[0].strip(), parts[1].strip())
    return out


def parse_time_ms(value: str | None) -> int | None:
    """Epoch milliseconds, or an ISO date/time (UTC)."""
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    try:
        return int(np.datetime64(value.rstrip("Z"), "ms").astype(np.int64))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is neither epoch ms nor an ISO date", param_hint="--step-from"
        ) from None


@click.group()
def exchange() -> None:
    """A local Binance-compatible exchange (REST + websockets on 127.0.0.1).

    \b
    Point ccxt at it by URL alone:
      from gradtrade.venue.urls import ccxt_urls
      ccxt.pro.binance({"urls": ccxt_urls("http://127.0.0.1:PORT", "spot"),
                        "apiKey": KEY, "secret": SECRET})
    """


@exchange.command()
@click.option(
    "--replay",
    "replay",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="freqtrade .feather klines/funding file or folder to serve (repeatable).",
)
@click.option(
    "--recording",
    "recordings",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="raw websocket recording to replay: hftbacktest .gz file/folder or a "
    "cryptofeed BINANCE.0 / BINANCE_FUTURES.0 file (repeatable).",
)
@click.option(
    "--synthetic",
    is_flag=True,
    help="also run the built-in synthetic market (the default with no data given).",
)
@click.option("--seed", default=0, show_default=True, help="seed of the synthetic market.")
@click.option(
    "--speed",
    default=1.0,
    show_default=True,
    help="replay/synthetic speed factor (10 = ten times faster than recorded).",
)
@click.option("--port", default=8765, show_default=True, help="TCP port; 0 picks a free one.")
@click.option(
    "--api-key",
    default="gradtrade-test-key",
    show_default=True,
    help="the API key clients sign with.",
)
@click.option(
    "--api-secret",
    envvar="GRADTRADE_EXCHANGE_SECRET",
    default="gradtrade-test-secret",
    show_default=False,
    help="its secret (or env GRADTRADE_EXCHANGE_SECRET); never printed.",
)
@click.option(
    "--templates",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="folder with recorded exchangeInfo (BINANCE.0, "
    "BINANCE_FUTURES.0) to copy symbol rules from; default: shared test data if found.",
)
@click.option(
    "--weight-limit-spot",
    default=6000,
    show_default=True,
    type=click.IntRange(min=1),
    help="spot (/api) request weight per IP per minute, as Binance; lower it to test pacing.",
)
@click.option(
    "--weight-limit-usdm",
    default=2400,
    show_default=True,
    type=click.IntRange(min=1),
    help="USD-M (/fapi) request weight per IP per minute.",
)
@click.option(
    "--ban-after",
    default=10,
    show_default=True,
    type=click.IntRange(min=1),
    help="429s an IP may ignore within one minute before it gets a 418 ban (2 min, doubling).",
)
@click.option(
    "--fees",
    "fees",
    multiple=True,
    metavar="[VENUE=]MAKER,TAKER",
    help="commission rates as fractions, for every venue or one (repeatable); default "
    "spot 0.001,0.001 and usdm 0.0002,0.0005.",
)
@click.option(
    "--stepped",
    type=click.Choice([k for k, v in INTERVAL_MS.items() if v >= 60_000]),
    default=None,
    help="bar-stepped replay of the --replay klines of this interval: one closed bar per "
    "POST /_gradtrade/step (or per --step-every seconds), each with its ladder book.",
)
@click.option(
    "--step-from",
    default=None,
    help="first bar stepped (epoch ms or ISO date, UTC); earlier bars are REST history. "
    "Default: the file's first bar.",
)
@click.option(
    "--step-every",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0, 86_400),
    help="seconds between bars when paced; 0: only on POST /_gradtrade/step.",
)
@click.option(
    "--ladder-levels",
    default=LadderConfig().levels,
    show_default=True,
    type=click.IntRange(1, 1000),
    help="levels per side of each stepped bar's ladder book.",
)
@click.option(
    "--ladder-share",
    default=LadderConfig().level_share,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="the ladder's size unit as a share of the bar's volume (level k holds k+1 units).",
)
@click.option(
    "--faults",
    "faults_endpoint",
    is_flag=True,
    help="turn on POST /_gradtrade/faults (fault injection for tests; off by default).",
)
def serve(
    replay: tuple[Path, ...],
    recordings: tuple[Path, ...],
    synthetic: bool,
    seed: int,
    speed: float,
    port: int,
    api_key: str,
    api_secret: str,
    templates: Path | None,
    weight_limit_spot: int,
    weight_limit_usdm: int,
    ban_after: int,
    faults_endpoint: bool,
    fees: tuple[str, ...],
    stepped: str | None,
    step_from: str | None,
    step_every: float,
    ladder_levels: int,
    ladder_share: float,
) -> None:
    """Serve market data and trading until interrupted; prints the bound URL first.

    \b
    Examples:
      gradtrade exchange serve --synthetic --seed 7 --port 0
      gradtrade exchange serve --replay ../shared/data/klines/spot
      gradtrade exchange serve --recording ../shared/data/recordings/hftbacktest/spot --speed 10
      gradtrade exchange serve --weight-limit-spot 200     # hit 429 after 200 weight a minute
      gradtrade exchange serve --faults    # tests may POST /_gradtrade/faults {"kind": ...}
      gradtrade exchange serve --fees 0,0.0005            # maker 0, taker 5 bps everywhere
      gradtrade exchange serve --replay BTC_USDT_USDT-5m-futures.feather --stepped 5m \
          --step-from 2024-03-01 --fees usdm=0.0002,0.0004
          # then: curl -X POST localhost:8765/_gradtrade/step -d '{"bars": 1}'

    \b
    A stepped replay publishes one closed bar per step (kline frame "x": true, REST klines
    grow) and holds a ladder book around its close (gradtrade.execution.ladder: the book the
    backtest's walk-the-book fill model uses), so a market order decided on a bar meets it.

    \b
    Every REST answer carries X-MBX-USED-WEIGHT-1M (Binance's weights, per client IP, per
    minute of the server clock); over the limit: 429 with Retry-After, then 418 bans.
    """

    if templates is None:
        guess = Path(os.environ.get("GRADTRADE_TEST_DATA", "../shared/data"))
        guess = guess / "recordings" / "cryptofeed"
        templates = guess if (guess / "BINANCE.0").exists() else None
    try:
        step = None
        if stepped is not None:
            ladder = LadderConfig(levels=ladder_levels, level_share=ladder_share)
            step = StepConfig(stepped, parse_time_ms(step_from), step_every, ladder)
        server = ExchangeServer(
            replay=list(replay),
            recordings=list(recordings),
            synthetic=synthetic,
            seed=seed,
            speed=speed,
            api_keys={api_key: api_secret},
            templates_dir=templates,
            weight_limits={"spot": weight_limit_spot, "usdm": weight_limit_usdm},
            ban_after=ban_after,
            faults_endpoint=faults_endpoint,
            fees=parse_fees(fees),
            stepped=step,
        )
    except (GradtradeError, OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    for line in server.loaded:
        click.echo(f"serving {line}", err=True)

    async def main() -> None:
        url = await server.start(port=port)
        click.echo(url, nl=True)
        click.echo(
            f"API key {api_key}; markets: "
            + ", ".join(f"{v}:{s}" for v, ms in server.state.markets.items() for s in ms),
            err=True,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await server.stop()

    asyncio.run(main())
