"""``gradtrade demo``: the whole offline pipeline in one command, no network needed.

1. Start the local Binance-compatible exchange on 127.0.0.1 (the seeded synthetic market, or a
   replay of a freqtrade ``.feather`` candle file).
2. Download its candles through ccxt into the Parquet store, exactly as from Binance.
3. Train the Neural ODE on the stored series (time-ordered train/validation/test split).
4. Score the test split, which training never saw, after fees, against buy-and-hold.

Every step uses the same code as the real thing; only the exchange URL differs.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd

from gradtrade.data.connector import ExchangeConnector
from gradtrade.data.importers import parse_freqtrade_name, read_freqtrade_feather
from gradtrade.data.store import CandleStore
from gradtrade.errors import GradtradeError
from gradtrade.evaluation.baselines import strategy_pnl
from gradtrade.evaluation.metrics import sharpe
from gradtrade.optim.config import parse_config
from gradtrade.optim.run import predict_positions, train
from gradtrade.timeframes import periods_per_year
from gradtrade.venue.config import ConnectorConfig


@dataclass(frozen=True)
class DemoSource:
    """What the demo downloads: a symbol, a timeframe and the span the exchange serves."""

    symbol: str
    timeframe: str
    since: pd.Timestamp
    until: pd.Timestamp


def source_of(replay: Path | None) -> tuple[dict[str, Any], DemoSource]:
    """Exchange arguments and the series to download (a replayed file, or the synthetic market)."""
    if replay is None:
        # The synthetic market serves three days of 1m history ending now.
        now = pd.Timestamp.now(tz="UTC").floor("min")
        span = DemoSource("BTC/USDT", "1m", now - pd.Timedelta(days=3), now)
        return {"synthetic": True, "seed": 7}, span

    key = parse_freqtrade_name(replay)
    if key.market != "spot" or key.kind != "ohlcv":
        raise click.BadParameter("the demo replays spot candle files", param_hint="--replay")
    dates = pd.DatetimeIndex(read_freqtrade_feather(replay, "ohlcv")["date"])
    step = pd.Timedelta(key.timeframe)
    source = DemoSource(key.symbol, key.timeframe, dates[0], dates[-1] + step)
    return {"replay": [replay]}, source


def _train_config(parquet: Path, out: Path, timeframe: str, epochs: int) -> dict[str, Any]:
    return {
        "data": {"path": str(parquet), "context": 32, "horizon": 4},
        "loss": {"periods_per_year": periods_per_year(timeframe)},
        "optim": {"epochs": epochs, "patience": max(2, epochs // 3)},
        "run": {"out_dir": str(out), "num_threads": 1},
    }


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
    help="folder for the store, the checkpoint and the training logs.",
)
@click.option("--epochs", type=click.IntRange(1, 200), default=5, show_default=True)
@click.option("--cost-bps", type=float, default=11.0, show_default=True, help="per unit turnover.")
def demo(replay: Path | None, out: Path, epochs: int, cost_bps: float) -> None:
    """Run the offline pipeline end to end: local exchange -> download -> train -> test.

    \b
    gradtrade demo                                   synthetic market, 1m bars, ~1 minute
    gradtrade demo --replay ../shared/data/klines/spot/BTC_USDT-1h.feather --epochs 10

    Nothing leaves 127.0.0.1. The numbers at the end are on the test split, after costs; a short
    demo is no evidence of an edge (use `gradtrade evaluate` for the walk-forward study).
    """
    from gradtrade.local_exchange import ExchangeServer, ServerThread

    kwargs, src = source_of(replay)
    store = CandleStore(out / "store")
    try:
        with ServerThread(ExchangeServer(**kwargs)) as server:
            click.echo(f"1/4 local exchange at {server.url} serving {src.symbol} {src.timeframe}")
            config = ConnectorConfig.for_url(server.url, "spot")

            async def download() -> str:
                async with ExchangeConnector(config) as connector:
                    result = await connector.download(
                        store, src.symbol, src.timeframe, since=src.since, until=src.until
                    )
                return result.summary()

            click.echo(f"2/4 downloaded through ccxt: {asyncio.run(download())}")
        (key,) = [k for k in store.series() if k.timeframe == src.timeframe]
        cfg = parse_config(_train_config(store.path(key), out, src.timeframe, epochs), "demo")
        click.echo(f"3/4 training the Neural ODE on {store.path(key)}")
        outcome = train(cfg)
        fit = outcome.fit
        click.echo(
            f"    {fit.stopped_reason}; best epoch {fit.best_epoch} (val {fit.best_val:.4f})"
        )
        if outcome.checkpoint is None:
            click.echo("FAIL no checkpoint was written (training never improved)", err=True)
            sys.exit(1)
        pred = predict_positions(outcome.checkpoint)
    except GradtradeError as exc:
        click.echo(f"FAIL {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    ppy = cfg.loss.periods_per_year
    cost = cost_bps / 1e4
    simple = np.expm1(pred["ret"])
    net, _, turnover = strategy_pnl(pred["position"], pred["ret"], cost)
    click.echo(f"4/4 test split ({len(net)} bars, never seen in training), after {cost_bps} bps:")
    # A short test split annualizes to extreme Sharpe ratios; the total return says it plainly.
    click.echo(
        f"    model         return {np.prod(1 + net) - 1:+.2%}  annualized Sharpe "
        f"{sharpe(net, ppy):+.2f}  mean |u| {np.mean(np.abs(pred['position'])):.2f}  "
        f"turnover/bar {np.mean(turnover):.3f}"
    )
    click.echo(
        f"    buy-and-hold  return {np.prod(1 + simple) - 1:+.2%}  annualized Sharpe "
        f"{sharpe(simple, ppy):+.2f}"
    )
    click.echo(f"checkpoint: {outcome.checkpoint}; metrics: {out / 'metrics.csv'}")
