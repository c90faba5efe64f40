"""A paper trading session with telemetry, run as its own process by the monitoring tests.

It stands in for ``gradtrade trade --config configs/trader_paper.yaml`` until the live trader
lands: the same engine (strategy, risk, order manager, simulated venue, portfolio) a backtest
builds, driven bar by bar in wall time, with the real pieces around it that the metrics come
from: ``Telemetry`` attached to the engine, a journal written through ``telemetry.journal`` (one
DECISION record per traded decision), a ``RestClient`` syncing its clock with the local exchange
every second (request weight) and a websocket trade stream from it (message age, reconnects),
and the metrics server. Recorded BTCUSDT 1h bars are handed to the engine ``--pace`` seconds
apart (warm-up bars at once); after the last bar the session idles, still serving, until
``--run-for`` seconds have passed or SIGTERM. Prints ``{"metrics_url": ...}`` once listening.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import time
from typing import Any

from gradtrade.backtest.config import parse_backtest_config
from gradtrade.backtest.runner import build_strategy, fill_model, load_market_data, symbol_filters
from gradtrade.engine import Engine, SimulatedClock
from gradtrade.errors import GradtradeError, JournalError
from gradtrade.execution import OrderManager, PortfolioTracker, SimulatedVenue
from gradtrade.live.telemetry import Telemetry
from gradtrade.monitoring import MonitoringConfig
from gradtrade.persistence import JournalRecord, RecordKind, open_journal
from gradtrade.risk import RiskManager
from gradtrade.venue.config import ConnectorConfig
from gradtrade.venue.rest import ConnectorMetrics, RestClient
from gradtrade.venue.streams import FrameStream, Reconnected

log = logging.getLogger("paper_session")
STREAM = "btcusdt@trade"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", required=True)
    p.add_argument("--start", required=True)
    p.add_argument("--end", required=True)
    p.add_argument("--warmup-bars", type=int, default=48)
    p.add_argument("--checkpoint", default=None, help="model checkpoint (else ma_cross)")
    p.add_argument("--halt-drawdown", type=float, default=0.35)
    p.add_argument("--pace", type=float, default=0.05)
    p.add_argument("--run-for", type=float, default=600.0)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--stale-after", type=float, default=5.0)
    p.add_argument("--journal", required=True)
    p.add_argument("--exchange-url", required=True)
    return p.parse_args()


def build(args: argparse.Namespace) -> tuple[Engine, list[Any], int]:
    strategy: dict[str, Any] = (
        {"kind": "model", "checkpoint": args.checkpoint}
        if args.checkpoint
        else {"kind": "ma_cross", "params": {"fast": 3, "slow": 8}}
    )
    halt = args.halt_drawdown
    cfg = parse_backtest_config({
        "data": {"path": args.data, "start": args.start, "end": args.end,
                 "warmup_bars": args.warmup_bars},
        "strategy": strategy,
        "risk": {"halt_drawdown": halt, "reduce_drawdown": halt / 2},
    })  # fmt: skip
    data = load_market_data(cfg)
    filters = {data.symbol: symbol_filters(cfg)}
    strat = build_strategy(cfg, data)
    engine = Engine(
        strat,
        {data.symbol: RiskManager(cfg.risk, filters[data.symbol], periods_per_year=8760)},
        OrderManager(strat.name[:10], filters, cfg.execution),
        SimulatedVenue(fill_model(cfg.fill), filters),
        PortfolioTracker(cfg.initial_cash, filters),
        SimulatedClock(),
        trade_from_ns=data.trade_from_ns,
    )
    return engine, [*data.funding, *data.bars], data.trade_from_ns


async def feed(engine: Engine, events: list[Any], trade_from: int, journal: Any, pace: float):
    seq = journal.last_seq()
    for ev in sorted(events, key=lambda e: e.ts_ns):
        if ev.ts_ns >= trade_from:
            await asyncio.sleep(pace)
        before = len(engine.log.decisions)
        engine.fire_timers(ev.ts_ns)
        engine.handle(ev)
        for rec in engine.log.decisions[before:]:
            if rec.target_qty is None:
                continue
            d = rec.decision
            record = JournalRecord.new(
                seq + 1, time.time_ns(), RecordKind.DECISION, d.symbol,
                {"checkpoint": d.source or "ma_cross", "u": d.u_raw, "target": rec.target_qty},
            )  # fmt: skip
            try:
                journal.append(record)
                seq += 1
            except (JournalError, OSError, ConnectionError) as err:
                log.error("journal write failed: %s", type(err).__name__)
    log.info("all bars handled")


async def market(connector: ConnectorConfig, metrics: ConnectorMetrics, tel: Telemetry):
    stats = tel.stream(STREAM)
    async for frame in FrameStream(connector, [STREAM], metrics):
        if isinstance(frame, Reconnected):
            if frame.count > 1:
                stats.reconnected()
        else:
            stats.message()


async def clock_sync(rest: RestClient) -> None:
    while True:
        with contextlib.suppress(GradtradeError):
            await rest.sync_time()
        await asyncio.sleep(1.0)


async def main() -> None:
    args = parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    engine, events, trade_from = build(args)
    tel = Telemetry(MonitoringConfig(port=args.port, stale_after_s=args.stale_after))
    tel.attach(engine)
    journal = tel.journal(open_journal(args.journal))
    # credentials, when the environment has them, sit in the process like a live trader's
    env = {"api_key": "GRADTRADE_API_KEY", "api_secret": "GRADTRADE_API_SECRET"}
    keys = {field: os.environ[name] for field, name in env.items() if name in os.environ}
    connector = ConnectorConfig.for_url(
        args.exchange_url, stale_after_s=2.0, backoff_max_s=1.0, **keys
    )
    metrics = ConnectorMetrics()
    rest = RestClient(connector, metrics)
    tel.watch_connector("spot", rest)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with tel.server() as server:
        print(json.dumps({"metrics_url": server.url}), flush=True)
        tasks = [
            asyncio.create_task(feed(engine, events, trade_from, journal, args.pace)),
            asyncio.create_task(market(connector, metrics, tel)),
            asyncio.create_task(clock_sync(rest)),
        ]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), args.run_for)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    await rest.close()
    with contextlib.suppress(GradtradeError, OSError, ConnectionError):
        journal.close()


if __name__ == "__main__":
    asyncio.run(main())
