"""Candle backtest: load the data, build the engine from a ``BacktestConfig``, run, collect.

Invariants: bars are the candles in ``[start - warmup_bars, end)`` on their own grid (outages
stay missing: no bar is invented, and the model's transformer flags the gap itself); a bar's
event time is its close; funding events carry their recorded settlement times (rounded to the
second like the training features) and are settled before the bar that closes at the same
instant. Variants (other sizing modes, twice the costs) replay the main run's decisions through
fresh risk, execution and portfolio objects, so they differ only in what they vary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from gradtrade.backtest.config import BacktestConfig, FillSection
from gradtrade.core import RejectReason, SymbolFilters
from gradtrade.data.importers import read_series_file
from gradtrade.data.market import infer_timeframe
from gradtrade.engine import assembly
from gradtrade.engine.clock import SimulatedClock
from gradtrade.engine.loop import EngineLog
from gradtrade.errors import InvalidInput
from gradtrade.events import Bar, Decision, FundingEvent, MarketEvent
from gradtrade.execution.client import VenueRejectReason
from gradtrade.execution.portfolio import PortfolioTracker
from gradtrade.execution.simulated import SimulatedVenue
from gradtrade.risk.config import RiskConfig
from gradtrade.strategy.protocol import Strategy
from gradtrade.strategy.reference import DecisionReplay
from gradtrade.timeframes import periods_per_year, timeframe_ns


@dataclass(frozen=True)
class MarketData:
    symbol: str
    bars: list[Bar]
    funding: list[FundingEvent]
    funding_frame: pd.DataFrame | None
    timeframe: str
    trade_from_ns: int

    @property
    def periods_per_year(self) -> float:
        return periods_per_year(self.timeframe)


@dataclass
class BacktestRun:
    name: str
    log: EngineLog
    portfolio: PortfolioTracker
    rejections: dict[RejectReason, int]
    venue_rejects: dict[VenueRejectReason, int]
    cost_bps: float
    sizing: str


@dataclass
class BacktestResult:
    config: BacktestConfig
    data: MarketData
    main: BacktestRun
    variants: dict[str, BacktestRun] = field(default_factory=dict)


def _utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def load_market_data(cfg: BacktestConfig) -> MarketData:
    d, symbol = cfg.data, cfg.market.symbol
    path = Path(d.path)
    if not path.exists():
        raise InvalidInput(f"data.path: candle file not found: {path}")
    candles = read_series_file(path, "ohlcv").sort_values("date").reset_index(drop=True)
    dates = pd.DatetimeIndex(candles["date"]).as_unit("ns")
    timeframe = infer_timeframe(dates, path)
    step = timeframe_ns(timeframe)
    opens = dates.asi8
    first = 0 if d.start is None else int(np.searchsorted(opens, _utc(d.start).value))
    stop = len(opens) if d.end is None else int(np.searchsorted(opens, _utc(d.end).value))
    lo = max(0, first - d.warmup_bars) if d.start is not None else 0
    if stop - max(first, lo) < 2:
        raise InvalidInput(f"data: fewer than 2 bars in [{d.start}, {d.end}) of {path}")
    cols = candles.iloc[lo:stop]
    opens_ns = opens[lo:stop]
    bars = Bar.series(
        symbol, opens_ns, opens_ns + step, *(cols[k].to_numpy(dtype=np.float64)
                                            for k in ("open", "high", "low", "close", "volume"))
    )  # fmt: skip
    trade_from = bars[first - lo].ts_ns if d.start is not None else bars[0].ts_ns
    if d.start is None and d.warmup_bars:
        trade_from = bars[min(d.warmup_bars, len(bars) - 1)].ts_ns
    funding: list[FundingEvent] = []
    frame = None
    if d.funding_path:
        fpath = Path(d.funding_path)
        if not fpath.exists():
            raise InvalidInput(f"data.funding_path: funding file not found: {fpath}")
        frame = read_series_file(fpath, "funding")
        times = pd.DatetimeIndex(frame["date"]).as_unit("ns").round("s").asi8
        lo_ns, hi_ns = bars[0].open_time_ns, bars[-1].close_time_ns
        funding = [
            FundingEvent(symbol, int(t), float(r))
            for t, r in zip(times, frame["rate"], strict=True)
            if lo_ns < t <= hi_ns and math.isfinite(r)
        ]
    return MarketData(symbol, bars, funding, frame, timeframe, trade_from)


def build_strategy(cfg: BacktestConfig, data: MarketData) -> Strategy:
    return assembly.build_strategy(cfg.strategy, data.funding_frame)


def symbol_filters(cfg: BacktestConfig) -> SymbolFilters:
    m = cfg.market
    return SymbolFilters(
        m.symbol,
        m.tick_size,
        m.step_size,
        m.min_qty,
        m.min_notional,
        base_asset=m.base_asset,
        quote_asset=m.quote_asset,
    )


fill_model = assembly.fill_model


def simulate(
    cfg: BacktestConfig,
    data: MarketData,
    strategy: Strategy,
    *,
    name: str = "main",
    risk: RiskConfig | None = None,
    fill: FillSection | None = None,
    progress: bool = False,
) -> BacktestRun:
    """One engine run over ``data``; ``risk`` and ``fill`` override the config's."""
    risk_cfg = risk or cfg.risk
    fill = fill or cfg.fill
    cost = fill.cost_bps
    filters = {data.symbol: symbol_filters(cfg)}
    ppy = cfg.periods_per_year or data.periods_per_year
    venue = SimulatedVenue(fill_model(fill, filters), filters, cfg.market.quote_asset)
    spec = assembly.EngineSpec(
        data.symbol, filters[data.symbol], risk_cfg, cfg.execution, cfg.initial_cash,
        cfg.market.quote_asset, ppy, trade_from_ns=data.trade_from_ns,
    )  # fmt: skip
    engine = assembly.assemble_engine(spec, strategy, venue, SimulatedClock())
    manager, orders, portfolio = engine.risk[data.symbol], engine.orders, engine.portfolio
    events: list[MarketEvent] = [*data.funding, *data.bars]
    bar = tqdm(total=len(events), desc=f"backtest {name}", disable=not progress, unit="ev")
    log = engine.run(events, on_event=lambda _: bar.update())
    bar.close()
    if cfg.flatten_at_end:
        engine.flatten_all()
    return BacktestRun(
        name,
        log,
        portfolio,
        dict(manager.rejections),
        dict(orders.venue_rejects),
        cost,
        risk_cfg.sizing,
    )


def run_backtest(cfg: BacktestConfig, *, progress: bool = False) -> BacktestResult:
    data = load_market_data(cfg)
    main = simulate(cfg, data, build_strategy(cfg, data), progress=progress)
    result = BacktestResult(cfg, data, main)
    decisions: list[Decision] = [r.decision for r in main.log.decisions]
    out = cfg.output
    if out.double_costs:
        replay = DecisionReplay(decisions)
        result.variants["double_costs"] = simulate(
            cfg, data, replay, name="double_costs", fill=cfg.fill.doubled()
        )
    if out.compare_sizing:
        has_forecast = any(math.isfinite(d.var) for d in decisions)
        for mode in ("policy", "kelly", "vol_target"):
            if mode == cfg.risk.sizing or (mode != "policy" and not has_forecast):
                continue
            risk = cfg.risk.model_copy(update={"sizing": mode})
            result.variants[f"sizing_{mode}"] = simulate(
                cfg, data, DecisionReplay(decisions), name=f"sizing_{mode}", risk=risk
            )
    return result


__all__ = [
    "BacktestResult",
    "BacktestRun",
    "MarketData",
    "build_strategy",
    "fill_model",
    "load_market_data",
    "run_backtest",
    "simulate",
    "symbol_filters",
]
