"""The demo's data and model steps: what the exchange serves, the download, the split scores.

Invariants: the download goes through ``ExchangeConnector`` (ccxt) exactly as from Binance, only
the URL differs; the backtest trades only the test period, which training and early stopping
never saw (its first bar is the first row after ``train + val`` of the same split
``gradtrade train`` uses); scores are after costs and next to buy-and-hold.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from gradtrade.data.connector import ExchangeConnector
from gradtrade.data.dataset import time_splits
from gradtrade.data.importers import parse_freqtrade_name, read_freqtrade_feather
from gradtrade.data.store import CandleStore
from gradtrade.errors import InvalidInput
from gradtrade.evaluation.baselines import strategy_pnl
from gradtrade.evaluation.metrics import sharpe
from gradtrade.optim.config import TrainConfig
from gradtrade.optim.run import market_for, predict_positions
from gradtrade.venue.config import ConnectorConfig

SYNTHETIC_SEED = 7


@dataclass(frozen=True)
class DemoSource:
    """What the demo downloads: a symbol, a timeframe and the span the exchange serves."""

    symbol: str
    timeframe: str
    since: pd.Timestamp
    until: pd.Timestamp
    synthetic: bool


def source_of(replay: Path | None) -> tuple[dict[str, Any], DemoSource]:
    """Exchange arguments and the series to download (a replayed file, or the synthetic market)."""
    if replay is None:
        # The synthetic market serves three days of 1m history ending now.
        now = pd.Timestamp.now(tz="UTC").floor("min")
        span = DemoSource("BTC/USDT", "1m", now - pd.Timedelta(days=3), now, synthetic=True)
        return {"synthetic": True, "seed": SYNTHETIC_SEED}, span

    key = parse_freqtrade_name(replay)
    if key.market != "spot" or key.kind != "ohlcv":
        raise InvalidInput(f"the demo replays spot candle files, not {replay.name}")
    dates = pd.DatetimeIndex(read_freqtrade_feather(replay, "ohlcv")["date"])
    step = pd.Timedelta(key.timeframe)
    source = DemoSource(key.symbol, key.timeframe, dates[0], dates[-1] + step, synthetic=False)
    return {"replay": [replay]}, source


def download(url: str, store: CandleStore, src: DemoSource) -> Path:
    """Download the source's candles from the exchange at ``url``; the stored Parquet file."""

    async def run() -> None:
        async with ExchangeConnector(ConnectorConfig.for_url(url, "spot")) as connector:
            await connector.download(
                store, src.symbol, src.timeframe, since=src.since, until=src.until
            )

    asyncio.run(run())
    (key,) = [k for k in store.series() if k.timeframe == src.timeframe]
    return store.path(key)


def first_test_bar(cfg: TrainConfig) -> pd.Timestamp:
    """Open time of the first test row of ``gradtrade train``'s split of the config's data."""
    market = market_for(cfg)
    d = cfg.data
    splits = time_splits(
        len(market), train=d.train, val=d.val, context=d.context, horizon=d.horizon
    )
    return pd.Timestamp(int(market.times_ns[splits.boundaries[1]]), tz="UTC")


@dataclass(frozen=True)
class SplitScore:
    bars: int
    model_return: float
    model_sharpe: float
    mean_abs_position: float
    turnover: float
    hold_return: float
    hold_sharpe: float

    def lines(self, cost_bps: float) -> list[str]:
        # A short test split annualizes to extreme Sharpe ratios; the total return says it plainly.
        return [
            f"    test split ({self.bars} bars, never seen in training), after {cost_bps} bps:",
            f"    model         return {self.model_return:+.2%}  annualized Sharpe "
            f"{self.model_sharpe:+.2f}  mean |u| {self.mean_abs_position:.2f}  "
            f"turnover/bar {self.turnover:.3f}",
            f"    buy-and-hold  return {self.hold_return:+.2%}  annualized Sharpe "
            f"{self.hold_sharpe:+.2f}",
        ]


def score_test_split(checkpoint: Path, cfg: TrainConfig, cost_bps: float) -> SplitScore:
    """The checkpoint's test-split positions scored after ``cost_bps`` per unit turnover."""
    pred = predict_positions(checkpoint)
    ppy = cfg.loss.periods_per_year
    simple = np.expm1(pred["ret"])
    net, _, turnover = strategy_pnl(pred["position"], pred["ret"], cost_bps / 1e4)
    return SplitScore(
        bars=len(net),
        model_return=float(np.prod(1 + net) - 1),
        model_sharpe=float(sharpe(net, ppy)),
        mean_abs_position=float(np.mean(np.abs(pred["position"]))),
        turnover=float(np.mean(turnover)),
        hold_return=float(np.prod(1 + simple) - 1),
        hold_sharpe=float(sharpe(simple, ppy)),
    )


__all__ = [
    "DemoSource",
    "SplitScore",
    "download",
    "first_test_bar",
    "score_test_split",
    "source_of",
]
