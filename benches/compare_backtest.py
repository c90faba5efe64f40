"""Candle backtest: gradtrade's event-driven engine against backtrader, NautilusTrader, vectorbt.

Every tool trades the *same precomputed signal* on the same Binance BTC/USDT candles (1h, the
whole history, and 1m): a 24/168-bar moving-average cross computed once with NumPy (long
``FRACTION`` of equity while the fast mean is above the slow one, flat otherwise). An order is
sent only when the target changes; at the close of bar t the buy quantity is
``floor(FRACTION * equity_t / close_t)`` to the 0.00001 BTC step, a sell closes the position,
and the order fills at bar t+1's open paying the taker fee (10 bps of notional), no spread:

* gradtrade: the real ``Engine`` path (strategy -> risk ``RiskManager`` -> ``OrderManager`` ->
  pre-trade check -> ``SimulatedVenue`` -> ``PortfolioTracker``), the strategy reading the
  precomputed target, the venue's fill model ``CandleModel`` on the Rust ``CandleFillConfig``
  (``NEXT_OPEN``, zero spread and impact); the drawdown breaker is set out of reach
  (0.9/0.95), as no other tool has one;
* backtrader: ``Cerebro`` with a ``PandasData`` feed, market orders (they fill at the next open);
* NautilusTrader: ``BacktestEngine`` with a cash account fed ``Bar`` objects (``BarDataWrangler``),
  market orders from a ``Strategy``. Its bar execution fills a market order at the *decision
  bar's close* (the simulated book sits at the close when ``on_bar`` runs; it has no next-open
  fill for market orders), so its result is checked against that convention;
* vectorbt: ``Portfolio.from_orders`` with the order sizes and fill bars given as arrays (a
  vectorised tool cannot size from an equity it has not computed yet: the sizes come from the
  NumPy reference below, so vectorbt only does the accounting; a floor, not event-driven).

Each tool's trade count and final equity are checked against a plain NumPy/Python reference of
its fill convention (and gradtrade is also run with its ``DECISION_CLOSE`` fill and must
match NautilusTrader). Timed: from the in-memory arrays to the final equity (each tool builds
its own bar objects and engine inside the clock). The tools take turns; the median is reported.

A third table times the full event-driven backtest of a Neural ODE checkpoint over the BTC 1h
test split (model inference included) on one core.
"""

from __future__ import annotations

import gc
import math
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.feather as feather
import yaml

from gradtrade.core import CandleFillConfig, FillAt, SymbolFilters
from gradtrade.engine.clock import SimulatedClock
from gradtrade.engine.loop import Engine
from gradtrade.events import Bar, Decision
from gradtrade.execution.config import ExecutionConfig
from gradtrade.execution.fill_model import CandleModel
from gradtrade.execution.orders import OrderManager
from gradtrade.execution.portfolio import PortfolioTracker
from gradtrade.execution.simulated import SimulatedVenue
from gradtrade.risk.config import RiskConfig
from gradtrade.risk.manager import RiskManager
from gradtrade.strategy.protocol import BarStrategy, StrategyContext

FEE = 0.001  # Binance spot taker, fraction of notional
CASH = 100_000.0  # USDT
FRACTION = 0.5  # of equity while long (cash always covers the next open's gap and the fee)
STEP = 1e-5  # BTCUSDT LOT_SIZE step
FAST, SLOW = 24, 168
SYMBOL = "BTCUSDT"
TOLERANCE = 1e-6  # relative, on the final equity
# Nautilus fills a market order larger than the size its bar-built book shows in several
# parts, the rest a tick worse: a few cents over the whole 1m history
NAUTILUS_TOLERANCE = 1e-5


@dataclass(frozen=True)
class Candles:
    name: str
    open_ns: np.ndarray  # int64 open times
    step_ns: int
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return len(self.close)


@dataclass(frozen=True)
class Outcome:
    trades: int  # orders filled
    equity: float
    fills: int | None = None  # fill events, where a tool splits an order into several


def load_candles(data_dir: Path, timeframe: str) -> Candles:
    table = feather.read_table(data_dir / "klines" / "spot" / f"BTC_USDT-{timeframe}.feather")
    dates = table.column("date").to_numpy().astype("datetime64[ns]").astype(np.int64)
    cols = {
        c: np.ascontiguousarray(table.column(c).to_numpy(), dtype=np.float64)
        for c in ("open", "high", "low", "close", "volume")
    }
    step = int(np.median(np.diff(dates[:1000])))
    return Candles(f"BTC/USDT {timeframe}", dates, step, **cols)


def ma_target(close: np.ndarray) -> np.ndarray:
    """1.0 (long) / 0.0 (flat) decided at each bar's close, NaN before ``SLOW`` bars; the last
    bar never changes the target (its order would have no next bar to fill in)."""
    csum = np.concatenate([[0.0], np.cumsum(close)])
    idx = np.arange(len(close))
    fast = (csum[idx + 1] - csum[np.maximum(idx + 1 - FAST, 0)]) / FAST
    slow = (csum[idx + 1] - csum[np.maximum(idx + 1 - SLOW, 0)]) / SLOW
    target = np.where(fast > slow, 1.0, 0.0)
    target[: SLOW - 1] = np.nan
    target[-1] = target[-2]
    return target


def floor_step(qty: float) -> float:
    return math.floor(qty / STEP + 1e-9) * STEP


def reference(c: Candles, target: np.ndarray, at_open: bool) -> tuple[Outcome, np.ndarray]:
    """The convention in plain Python: (outcome, signed quantity filled at each bar)."""
    cash, pos, trades = CASH, 0.0, 0
    filled = np.zeros(len(c))
    pending = 0.0
    last = 0.0
    opens, closes = c.open.tolist(), c.close.tolist()
    for i, t in enumerate(target.tolist()):
        if pending:
            cash -= pending * opens[i] + abs(pending) * opens[i] * FEE
            pos += pending
            filled[i], pending, trades = pending, 0.0, trades + 1
        if t != t or t == last:
            continue
        last = t
        qty = floor_step(FRACTION * (cash + pos * closes[i]) / closes[i]) if t > 0 else -pos
        if qty == 0:
            continue
        if at_open:
            pending = qty
        else:
            cash -= qty * closes[i] + abs(qty) * closes[i] * FEE
            pos += qty
            filled[i], trades = qty, trades + 1
    return Outcome(trades, cash + pos * closes[-1]), filled


# --- gradtrade ---


class TargetReader(BarStrategy):
    """Reads the precomputed target at each bar (bars arrive in order, one per candle)."""

    name = "target"

    def __init__(self, target: np.ndarray) -> None:
        self._target = target.tolist()
        self._i = 0
        self._last = 0.0

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> Decision | None:
        t = self._target[self._i]
        self._i += 1
        if t != t or t == self._last:
            return None
        self._last = t
        return Decision(bar.symbol, bar.ts_ns, t * FRACTION, source=self.name)


def gradtrade_engine(c: Candles, target: np.ndarray, at_open: bool = True) -> Callable[[], Outcome]:
    filters = SymbolFilters(
        SYMBOL, "0.01", "0.00001", "0.00001", "5", base_asset="BTC", quote_asset="USDT"
    )
    risk_cfg = RiskConfig(allow_short=False, reduce_drawdown=0.9, halt_drawdown=0.95)
    ppy = 365 * 86_400e9 / c.step_ns

    def run() -> Outcome:
        start = time.process_time()
        bars = Bar.series(
            SYMBOL, c.open_ns, c.open_ns + c.step_ns, c.open, c.high, c.low, c.close, c.volume
        )
        run.build_s = time.process_time() - start  # type: ignore[attr-defined]
        fmap = {SYMBOL: filters}
        model = CandleModel(
            CandleFillConfig(
                half_spread_bps=0.0,
                impact_k=0.0,
                taker_fee_rate=FEE,
                fill_at=FillAt.NEXT_OPEN if at_open else FillAt.DECISION_CLOSE,
            )
        )
        portfolio = PortfolioTracker(CASH, fmap, "USDT")
        engine = Engine(
            TargetReader(target),
            {SYMBOL: RiskManager(risk_cfg, filters, periods_per_year=ppy)},
            OrderManager("bench", fmap, ExecutionConfig()),
            SimulatedVenue(model, fmap, "USDT"),
            portfolio,
            SimulatedClock(),
        )
        log = engine.run(bars)
        return Outcome(len(log.fills), portfolio.equity())

    return run


# --- backtrader ---


def backtrader_engine(c: Candles, target: np.ndarray) -> Callable[[], Outcome]:
    import backtrader as bt
    import pandas as pd

    frame = pd.DataFrame(
        {"open": c.open, "high": c.high, "low": c.low, "close": c.close, "volume": c.volume},
        index=pd.DatetimeIndex(c.open_ns),
    )
    signal = target.tolist()

    class Target(bt.Strategy):  # type: ignore[misc]
        def __init__(self) -> None:
            self.i, self.last, self.fills = 0, 0.0, 0

        def next(self) -> None:
            t = signal[self.i]
            self.i += 1
            if t != t or t == self.last:
                return
            self.last = t
            if t > 0:
                close = self.data.close[0]
                self.buy(size=floor_step(FRACTION * self.broker.getvalue() / close))
            else:
                self.close()

        def notify_order(self, order: bt.Order) -> None:
            if order.status == order.Completed:
                self.fills += 1

    def run() -> Outcome:
        cerebro = bt.Cerebro(stdstats=False)
        cerebro.adddata(bt.feeds.PandasData(dataname=frame, openinterest=None))
        cerebro.broker.setcash(CASH)
        cerebro.broker.setcommission(commission=FEE)
        cerebro.addstrategy(Target)
        strategy = cerebro.run()[0]
        return Outcome(strategy.fills, cerebro.broker.getvalue())

    return run


# --- NautilusTrader ---


def nautilus_engine(c: Candles, target: np.ndarray) -> Callable[[], Outcome]:
    from decimal import Decimal

    import pandas as pd
    from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
    from nautilus_trader.config import LoggingConfig
    from nautilus_trader.model.currencies import BTC, USDT
    from nautilus_trader.model.data import BarType
    from nautilus_trader.model.enums import AccountType, OmsType, OrderSide
    from nautilus_trader.model.identifiers import InstrumentId, Symbol, TraderId, Venue
    from nautilus_trader.model.instruments import CurrencyPair
    from nautilus_trader.model.objects import Money, Price, Quantity
    from nautilus_trader.persistence.wranglers import BarDataWrangler
    from nautilus_trader.trading.strategy import Strategy

    venue = Venue("BINANCE")
    instrument = CurrencyPair(
        instrument_id=InstrumentId(Symbol(SYMBOL), venue),
        raw_symbol=Symbol(SYMBOL),
        base_currency=BTC,
        quote_currency=USDT,
        price_precision=2,
        size_precision=5,
        price_increment=Price(0.01, precision=2),
        size_increment=Quantity(STEP, precision=5),
        lot_size=None,
        max_quantity=Quantity(100_000, precision=5),
        min_quantity=Quantity(STEP, precision=5),
        max_notional=None,
        min_notional=Money(5, USDT),
        max_price=Price(10_000_000, precision=2),
        min_price=Price(0.01, precision=2),
        margin_init=Decimal(0),
        margin_maint=Decimal(0),
        maker_fee=Decimal(str(FEE)),
        taker_fee=Decimal(str(FEE)),
        ts_event=0,
        ts_init=0,
    )
    minutes = c.step_ns // 60_000_000_000
    spec = f"{minutes // 60}-HOUR" if minutes % 60 == 0 else f"{minutes}-MINUTE"
    bar_type = BarType.from_str(f"{SYMBOL}.BINANCE-{spec}-LAST-EXTERNAL")
    # a bar is known at its close: its event time is the close time
    frame = pd.DataFrame(
        {"open": c.open, "high": c.high, "low": c.low, "close": c.close, "volume": c.volume},
        index=pd.DatetimeIndex(c.open_ns + c.step_ns, tz="UTC"),
    )
    signal = target.tolist()

    class Target(Strategy):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.i, self.last, self.fills = 0, 0.0, 0
            self.filled: set[object] = set()

        def on_start(self) -> None:
            self.subscribe_bars(bar_type)

        def on_bar(self, bar: object) -> None:
            t = signal[self.i]
            self.i += 1
            if t != t or t == self.last:
                return
            self.last = t
            account = self.portfolio.account(venue)
            base = account.balance_total(BTC).as_double()
            if t > 0:
                close = bar.close.as_double()  # type: ignore[attr-defined]
                equity = account.balance_total(USDT).as_double() + base * close
                side, qty = OrderSide.BUY, floor_step(FRACTION * equity / close)
            else:
                side, qty = OrderSide.SELL, base
            order = self.order_factory.market(instrument.id, side, instrument.make_qty(qty))
            self.submit_order(order)

        def on_order_filled(self, event: object) -> None:
            # an order larger than the bar's top-of-book size fills in parts: count orders
            self.filled.add(event.client_order_id)  # type: ignore[attr-defined]
            self.fills += 1

    def run() -> Outcome:
        start = time.process_time()
        bars = BarDataWrangler(bar_type, instrument).process(frame)
        run.build_s = time.process_time() - start  # type: ignore[attr-defined]
        engine = BacktestEngine(
            BacktestEngineConfig(
                trader_id=TraderId("BENCH-001"), logging=LoggingConfig(bypass_logging=True)
            )
        )
        engine.add_venue(
            venue,
            OmsType.NETTING,
            AccountType.CASH,
            starting_balances=[Money(CASH, USDT), Money(0, BTC)],
        )
        engine.add_instrument(instrument)
        engine.add_data(bars)
        strategy = Target()
        engine.add_strategy(strategy)
        engine.run()
        account = engine.portfolio.account(venue)
        equity = (
            account.balance_total(USDT).as_double()
            + account.balance_total(BTC).as_double() * c.close[-1]
        )
        orders, fills = len(strategy.filled), strategy.fills
        engine.dispose()
        return Outcome(orders, equity, fills)

    return run


# --- vectorbt ---


def vectorbt_engine(c: Candles, filled: np.ndarray) -> Callable[[], Outcome]:
    import vectorbt as vbt

    size = np.where(filled != 0, filled, np.nan)

    def run() -> Outcome:
        pf = vbt.Portfolio.from_orders(
            c.close, size, size_type="amount", price=c.open, fees=FEE, init_cash=CASH
        )
        return Outcome(int(pf.orders.count()), float(pf.final_value()))

    return run


# --- measurement ---


@dataclass(frozen=True)
class Timing:
    cpu: float  # median CPU seconds of the process, arrays in -> final equity
    wall: float  # median wall-clock seconds of the same runs
    build: float | None  # CPU seconds of it building the tool's bar objects (None: inseparable)
    outcome: Outcome

    @property
    def run(self) -> float:
        return self.cpu - (self.build or 0.0)


def measure(engines: dict[str, Callable[[], Outcome]], repeats: int) -> dict[str, Timing]:
    """Median CPU and wall seconds of each engine and its outcome; round robin, GC off while
    timing. CPU time (``time.process_time``, every thread of the process) is the measure of
    the work on this shared 2-core machine: wall time also counts the waits for a core that
    other processes hold, which hit a short run harder than a long one."""
    cpu: dict[str, list[float]] = {name: [] for name in engines}
    wall: dict[str, list[float]] = {name: [] for name in engines}
    builds: dict[str, list[float]] = {name: [] for name in engines}
    outcomes: dict[str, Outcome] = {}
    for _ in range(repeats):
        for name, engine in engines.items():
            gc.collect()
            gc.disable()
            try:
                start, start_cpu = time.perf_counter(), time.process_time()
                outcomes[name] = engine()
                cpu[name].append(time.process_time() - start_cpu)
                wall[name].append(time.perf_counter() - start)
            finally:
                gc.enable()
            if hasattr(engine, "build_s"):
                builds[name].append(engine.build_s)
    return {
        name: Timing(
            statistics.median(cpu[name]),
            statistics.median(wall[name]),
            statistics.median(builds[name]) if builds[name] else None,
            outcomes[name],
        )
        for name in engines
    }


def _ratio(value: float) -> str:
    return f"{value:.1f}x" if value >= 1 else f"{value:.3f}x"


def _head(c: Candles, n: int) -> Candles:
    return Candles(
        c.name,
        c.open_ns[:n],
        c.step_ns,
        c.open[:n],
        c.high[:n],
        c.low[:n],
        c.close[:n],
        c.volume[:n],
    )


def check(name: str, got: Outcome, want: Outcome, tolerance: float = TOLERANCE) -> str:
    same = got.trades == want.trades and math.isclose(got.equity, want.equity, rel_tol=tolerance)
    if not same:
        raise RuntimeError(f"{name} disagrees with its reference: {got} != {want}")
    split = f" ({got.fills} fills)" if got.fills is not None and got.fills != got.trades else ""
    return f"{got.trades}{split} / {got.equity:,.2f}"


Ratios = dict[str, tuple[float, float, float]]  # tool -> (CPU, wall, CPU with bar objects off)


def candle_table(c: Candles, repeats: int) -> tuple[list[str], Ratios]:
    target = ma_target(c.close)
    want_open, filled = reference(c, target, at_open=True)
    want_close, _ = reference(c, target, at_open=False)
    # the close-fill run of gradtrade is the cross-check of NautilusTrader's convention (untimed)
    check("gradtrade (close fill)", gradtrade_engine(c, target, at_open=False)(), want_close)
    # vectorbt's numba kernels compile on first use: warm them on a short slice, off the clock
    vectorbt_engine(_head(c, 2_000), reference(_head(c, 2_000), target[:2_000], True)[1])()
    engines = {
        "gradtrade `Engine`": gradtrade_engine(c, target),
        "backtrader `Cerebro`": backtrader_engine(c, target),
        "NautilusTrader `BacktestEngine`": nautilus_engine(c, target),
        "vectorbt `Portfolio.from_orders`": vectorbt_engine(c, filled),
    }
    results = measure(engines, repeats)
    ours = results["gradtrade `Engine`"]
    lines = [
        "",
        f"**{c.name}**, {len(c):,} bars, {want_open.trades} orders (median of {repeats}):",
        "",
        "| tool | fill convention | orders filled / final equity (USDT) | CPU s | wall s | of "
        "which bar objects (CPU s) | bars/s (CPU) | gradtrade is faster by (CPU) | (wall) | "
        "(CPU, bar objects off the clock) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    ratios: Ratios = {}
    for name, timing in results.items():
        nautilus = name.startswith("Nautilus")
        convention = "decision close" if nautilus else "next open"
        outcome = timing.outcome
        checked = (
            check(name, outcome, want_close, NAUTILUS_TOLERANCE)
            if nautilus
            else check(name, outcome, want_open)
        )
        r = (timing.cpu / ours.cpu, timing.wall / ours.wall, timing.run / ours.run)
        ratios[name] = r
        build = "—" if timing.build is None else f"{timing.build:.3f}"
        shown = ("—",) * 3 if timing is ours else tuple(_ratio(x) for x in r)
        lines.append(
            f"| {name} | {convention} | {checked} | {timing.cpu:.3f} | {timing.wall:.3f} | "
            f"{build} | {len(c) / timing.cpu:,.0f} | {shown[0]} | {shown[1]} | {shown[2]} |"
        )
    return lines, ratios


def model_backtest(data_dir: Path, quick: bool) -> list[str]:
    """The Neural ODE checkpoint over the 1h test split through ``simulate`` (the main run of
    ``gradtrade backtest``, its replayed variants left out: they do not run the model), one
    thread."""
    import torch

    from gradtrade.backtest.config import parse_backtest_config
    from gradtrade.backtest.runner import load_market_data, simulate
    from gradtrade.strategy.model import ModelStrategy

    ckpt = Path(os.environ.get("GRADTRADE_BENCH_CHECKPOINT", "runs/btc_1h/best.pt"))
    if not ckpt.exists():
        return [
            "",
            f"(Neural ODE backtest skipped: no checkpoint at {ckpt}; train one with "
            "`gradtrade train --config configs/btc_1h.yaml` or set GRADTRADE_BENCH_CHECKPOINT)",
        ]
    torch.set_num_threads(1)
    root = Path(__file__).resolve().parent.parent
    raw = yaml.safe_load((root / "configs" / "backtest_btc_1h.yaml").read_text())
    start = test_start(data_dir)
    raw["data"].update(path=str(data_dir / "klines" / "spot" / "BTC_USDT-1h.feather"), start=start)
    raw["strategy"]["checkpoint"] = str(ckpt)
    raw["output"] = {"dir": "/tmp/gradtrade-bench-backtest", "html": False}
    cfg = parse_backtest_config(raw, "configs/backtest_btc_1h.yaml (bench overrides)")
    t0 = time.perf_counter()
    data = load_market_data(cfg)
    built = ModelStrategy.from_checkpoint(ckpt)
    t1, c1 = time.perf_counter(), time.process_time()
    run = simulate(cfg, data, built)
    t2, c2 = time.perf_counter(), time.process_time()
    decisions = len(run.log.decisions)
    return [
        "",
        f"Neural ODE checkpoint `{ckpt}` over the BTC/USDT 1h test split (from {start}, "
        f"{len(data.bars):,} bars with 500 warm-up, {decisions:,} decisions, "
        f"{len(run.log.fills)} fills), `torch.set_num_threads(1)`: loading the candles and the "
        f"checkpoint {t1 - t0:.2f} s, the event-driven run with model inference "
        f"**{t2 - t1:.2f} s** wall, {c2 - c1:.2f} s CPU (target < 60 s: "
        f"{'met' if t2 - t1 < 60 else 'MISSED'}).",
    ]


def test_start(data_dir: Path) -> str:
    """The first open time of the last 15% of the 1h bars: the test split of
    ``configs/btc_1h.yaml`` (train 0.7, val 0.15)."""
    table = feather.read_table(data_dir / "klines" / "spot" / "BTC_USDT-1h.feather")
    dates = table.column("date").to_numpy().astype("datetime64[s]")
    first = int(len(dates) * (0.7 + 0.15))
    return str(dates[first]).replace("T", " ")


def run(data_dir: Path, quick: bool) -> str:
    repeats = 1 if quick else 3
    lines = [
        "Same precomputed signal (24/168 moving-average cross, long 50% of equity or flat), "
        f"orders only when it changes, {FEE * 1e4:.0f} bps taker fee, 0.00001 BTC step, "
        f"{CASH:,.0f} USDT; timed from the in-memory candle arrays to the final equity, in "
        "CPU seconds of the process (`time.process_time`: the 2 cores are shared, so wall time "
        "also counts waits for a core; wall seconds are shown beside). "
        "Every tool's orders filled and final equity match a plain-Python reference of its fill "
        f"convention (relative {TOLERANCE:g}; {NAUTILUS_TOLERANCE:g} for NautilusTrader, which "
        "splits an order larger than its bar-built book's size into fills a tick apart); "
        "gradtrade with its close-fill model matches NautilusTrader's convention. vectorbt is "
        "given the fill bars and sizes as arrays (a vectorised floor, not an event-driven "
        "engine). Nautilus fills at the decision bar's close: its bar execution has no "
        "next-open fill for market orders.",
    ]
    verdicts = []
    for tf in ("1h", "1m"):
        c = load_candles(data_dir, tf)
        table, ratios = candle_table(c, repeats)
        lines += table
        bt_c, bt_w, bt_r = ratios["backtrader `Cerebro`"]
        nt_c, nt_w, nt_r = ratios["NautilusTrader `BacktestEngine`"]
        vb_c, vb_w, _ = ratios["vectorbt `Portfolio.from_orders`"]
        verdicts.append(
            f"{tf}: {bt_c:.1f}x backtrader ({'met' if bt_c >= 20 else 'MISSED'}; wall "
            f"{bt_w:.1f}x; {bt_r:.1f}x with gradtrade's bar objects off the clock, backtrader's "
            f"feed loading inside its run), {nt_c:.1f}x NautilusTrader "
            f"({'met' if nt_c >= 3 else 'MISSED'}; wall {nt_w:.1f}x; {nt_r:.1f}x with both "
            f"tools' bar objects off the clock), vectorbt {1 / vb_c:.0f}x faster than gradtrade "
            f"(wall {1 / vb_w:.0f}x)"
        )
    lines += [
        "",
        "Targets (issue 9: >= 20x backtrader, >= 3x NautilusTrader), on CPU time: "
        + "; ".join(verdicts),
    ]
    lines += model_backtest(data_dir, quick)
    return "\n".join(lines)


if __name__ == "__main__":
    import sys

    print(run(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("../shared/data"), quick=True))
