"""L2 backtest: a recording, the Rust L2 venue behind ``L2SimulatedVenue``, the same engine.

Invariants: the recording is read once into the replay driver's arrays (``core.Recording``),
every run of it starts from a rewound cursor and a fresh venue; the strategy sees the book only
at its ``BookTick`` cadence (``engine.replay.book_ticks``), the Rust driver applies every frame
in between; fills go through the same ``OrderManager`` and ``PortfolioTracker`` as candles.
The run at twice the costs replays the same recording with every fee doubled (the L2 venue has
no other assumed cost: spread and impact are the book's own). The result has the shape the
candle report reads (``MarketData`` with no bars, ``BacktestRun``s), so one report serves both.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gradtrade.backtest.config import MarketSection
from gradtrade.backtest.l2_config import L2BacktestConfig, VenueSection
from gradtrade.backtest.runner import BacktestRun, MarketData
from gradtrade.core import L2VenueConfig, Latency, QueueModel, Recording, SymbolFilters
from gradtrade.data.recordings import read_hftbacktest
from gradtrade.engine.clock import SimulatedClock
from gradtrade.engine.loop import Engine
from gradtrade.engine.replay import backtest_replay, book_ticks
from gradtrade.errors import InvalidInput
from gradtrade.execution.l2_venue import L2SimulatedVenue
from gradtrade.execution.orders import OrderManager
from gradtrade.execution.portfolio import PortfolioTracker
from gradtrade.risk.manager import RiskManager
from gradtrade.strategy.protocol import Strategy
from gradtrade.strategy.reference import NoOp, QuoteAtBest

NS_PER_MS = 1_000_000
SECONDS_PER_YEAR = 365.0 * 86_400


@dataclass(frozen=True)
class L2Data:
    recording: Recording
    symbol: str
    start_ns: int
    end_ns: int
    frames: int


@dataclass
class L2Result:
    config: L2BacktestConfig
    data: MarketData
    main: BacktestRun
    variants: dict[str, BacktestRun] = field(default_factory=dict)
    frames: int = 0
    gaps: int = 0


def load_recording(cfg: L2BacktestConfig) -> L2Data:
    paths = [Path(p) for p in cfg.recording.paths]
    for i, p in enumerate(paths):
        if not p.exists():
            raise InvalidInput(f"recording.paths[{i}]: recording not found: {p}")
    frames = list(read_hftbacktest(*paths))
    if len(frames) < 2:
        raise InvalidInput(f"recording.paths: fewer than 2 frames in {cfg.recording.paths}")
    recording = Recording.from_frames(frames)
    start, end = frames[0].ts_ns, frames[-1].ts_ns
    if cfg.recording.start is not None:
        start = max(start, pd.Timestamp(cfg.recording.start, tz="UTC").value)
    if cfg.recording.end is not None:
        end = min(end, pd.Timestamp(cfg.recording.end, tz="UTC").value)
    if end <= start:
        raise InvalidInput(
            f"recording: the window [{cfg.recording.start}, {cfg.recording.end}] holds no frame"
        )
    return L2Data(recording, cfg.market.symbol, start, end, len(frames))


def venue_config(venue: VenueSection) -> L2VenueConfig:
    queue = (
        QueueModel.risk_averse()
        if venue.queue == "risk_averse"
        else QueueModel.probabilistic(venue.power)
    )
    entry = Latency.constant(int(venue.entry_latency_ms * NS_PER_MS))
    cancel = Latency.constant(int(venue.cancel_latency_ms * NS_PER_MS))
    if venue.latency_table is not None:
        entry = cancel = read_latency_table(Path(venue.latency_table))
    return L2VenueConfig(
        maker_fee_rate=venue.maker_fee_bps * 1e-4,
        taker_fee_rate=venue.taker_fee_bps * 1e-4,
        queue=queue,
        entry_latency=entry,
        cancel_latency=cancel,
    )


def read_latency_table(path: Path) -> Latency:
    if not path.exists():
        raise InvalidInput(f"venue.latency_table: file not found: {path}")
    with path.open(newline="") as f:
        rows = [r for r in csv.DictReader(f)]
    try:
        ts = np.array([int(r["ts_ns"]) for r in rows], dtype=np.int64)
        delay = np.array([int(r["delay_ns"]) for r in rows], dtype=np.int64)
    except (KeyError, ValueError) as err:
        raise InvalidInput(
            f"venue.latency_table: {path}: needs ts_ns,delay_ns integers: {err}"
        ) from None
    return Latency.table(ts, delay)


def l2_filters(market: MarketSection) -> SymbolFilters:
    return SymbolFilters(
        market.symbol, market.tick_size, market.step_size, market.min_qty, market.min_notional,
        base_asset=market.base_asset, quote_asset=market.quote_asset,
    )  # fmt: skip


def build_l2_strategy(cfg: L2BacktestConfig) -> Strategy:
    s = cfg.strategy
    try:
        if s.kind == "noop":
            return NoOp(**s.params)
        return QuoteAtBest(**s.params)
    except TypeError as err:
        raise InvalidInput(f"strategy.params: {err}") from None


@dataclass(frozen=True)
class L2Session:
    """One engine over one recording, built fresh (a run never reuses a venue)."""

    engine: Engine
    venue: L2SimulatedVenue
    manager: RiskManager
    orders: OrderManager


def build_session(
    cfg: L2BacktestConfig, data: L2Data, strategy: Strategy, venue: VenueSection | None = None
) -> L2Session:
    filters = l2_filters(cfg.market)
    data.recording.rewind()
    v = venue or cfg.venue
    l2 = L2SimulatedVenue(data.recording, filters, venue_config(v), cfg.market.quote_asset)
    every_ns = int(cfg.output.equity_every_s * 1e9)
    manager = RiskManager(
        cfg.risk, filters, periods_per_year=SECONDS_PER_YEAR / cfg.output.equity_every_s
    )
    orders = OrderManager(strategy.name[:10], {data.symbol: filters}, cfg.execution)
    portfolio = PortfolioTracker(cfg.initial_cash, {data.symbol: filters}, cfg.market.quote_asset)
    engine = Engine(
        strategy, {data.symbol: manager}, orders, l2, portfolio, SimulatedClock(),
        book_equity_every_ns=every_ns,
    )  # fmt: skip
    return L2Session(engine, l2, manager, orders)


def simulate_l2(
    cfg: L2BacktestConfig, data: L2Data, *, name: str = "main", venue: VenueSection | None = None
) -> tuple[BacktestRun, L2Session]:
    session = build_session(cfg, data, build_l2_strategy(cfg), venue)
    interval = int(cfg.strategy.interval_ms * NS_PER_MS)
    events = book_ticks(data.symbol, data.start_ns, data.end_ns, interval)
    log = backtest_replay(session.engine, events, data.end_ns)
    v = venue or cfg.venue
    run = BacktestRun(
        name, log, session.engine.portfolio, dict(session.manager.rejections),
        dict(session.orders.venue_rejects), v.taker_fee_bps, cfg.risk.sizing,
    )  # fmt: skip
    return run, session


def run_l2_backtest(cfg: L2BacktestConfig) -> L2Result:
    data = load_recording(cfg)
    main, session = simulate_l2(cfg, data)
    market = MarketData(data.symbol, [], [], None, f"{cfg.strategy.interval_ms:g}ms", data.start_ns)
    result = L2Result(cfg, market, main, frames=session.venue.frames, gaps=session.venue.gaps)
    if cfg.output.double_costs:
        doubled, _ = simulate_l2(cfg, data, name="double_costs", venue=cfg.venue.doubled())
        result.variants["double_costs"] = doubled
    return result


__all__ = [
    "L2Data",
    "L2Result",
    "L2Session",
    "build_l2_strategy",
    "build_session",
    "load_recording",
    "run_l2_backtest",
    "simulate_l2",
    "venue_config",
]
