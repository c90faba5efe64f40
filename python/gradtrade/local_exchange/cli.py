"""``gradtrade exchange``: run the local Binance-compatible exchange."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import click

from gradtrade.errors import GradtradeError
from gradtrade.local_exchange.server import ExchangeServer


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
) -> None:
    """Serve market data and trading until interrupted; prints the bound URL first.

    \b
    Examples:
      gradtrade exchange serve --synthetic --seed 7 --port 0
      gradtrade exchange serve --replay ../shared/data/klines/spot
      gradtrade exchange serve --recording ../shared/data/recordings/hftbacktest/spot --speed 10
      gradtrade exchange serve --weight-limit-spot 200     # hit 429 after 200 weight a minute
      gradtrade exchange serve --faults    # tests may POST /_gradtrade/faults {"kind": ...}

    \b
    Every REST answer carries X-MBX-USED-WEIGHT-1M (Binance's weights, per client IP, per
    minute of the server clock); over the limit: 429 with Retry-After, then 418 bans.
    """

    if templates is None:
        guess = Path(os.environ.get("GRADTRADE_TEST_DATA", "../shared/data"))
        guess = guess / "recordings" / "cryptofeed"
        templates = guess if (guess / "BINANCE.0").exists() else None
    try:
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
