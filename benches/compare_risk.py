"""Pre-trade risk check from Python: gradtrade's RiskEngine.check against NautilusTrader's.

Both engines see the same orders: one limit order per bookTicker frame of the hftbacktest spot
recording (BTCUSDT, 2024-08-08), buying at the best bid or selling at the best ask, with sizes
cycling through 0.00123 / 0.01 / 0.05 / 0.2 BTC. gradtrade's BTCUSDT filters come from the
recorded exchangeInfo. Orders (and Nautilus's SubmitOrder commands) are built before timing;
each timed call is one order through the engine, loop included, best of several passes.

What each engine checks on the approved path:
- gradtrade `RiskEngine.check`: trading state, finite inputs, reduce-only, tick and step
  multiples, min/max price and quantity, min notional, price band around the mid, max order
  notional, max position, max leverage, max open orders, orders-per-second window.
- NautilusTrader `RiskEngine.execute(SubmitOrder)`: trading state, price and quantity precision
  and bounds, max notional per order, free cash balance of the account (CASH account), then the
  submit-rate throttler and a message-bus send to the execution engine (a no-op here).
"""

from __future__ import annotations

import gc
import gzip
import json
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

SIZES = (0.00123, 0.01, 0.05, 0.2)
EQUITY = 100_000.0


def _book_tickers(data_dir: Path, limit: int) -> list[tuple[int, float, float]]:
    """(receive time ns, best bid, best ask) of the first `limit` spot bookTicker frames."""
    out: list[tuple[int, float, float]] = []
    path = data_dir / "recordings" / "hftbacktest" / "spot" / "btcusdt_20240808.gz"
    with gzip.open(path, "rt") as lines:
        for line in lines:
            ts, _, raw = line.partition(" ")
            if "bookTicker" not in raw:
                continue
            data = json.loads(raw)["data"]
            out.append((int(ts), float(data["b"]), float(data["a"])))
            if len(out) == limit:
                break
    return out


def _orders(data_dir: Path, n: int) -> list[tuple[bool, float, float, float, int]]:
    """(is_buy, quantity, price, mid, now_ns) per order."""
    orders = []
    for i, (ts, bid, ask) in enumerate(_book_tickers(data_dir, n)):
        buy = i % 2 == 0
        orders.append((buy, SIZES[i % len(SIZES)], bid if buy else ask, (bid + ask) / 2, ts))
    return orders


def _per_call_ns(run_all: Callable[[], Any], calls: int, repeats: int) -> tuple[float, float]:
    """(best, median) ns per call over `repeats` passes of `run_all` (one warm-up pass first)."""
    run_all()
    passes = []
    gc.disable()
    try:
        for _ in range(repeats):
            start = time.perf_counter_ns()
            run_all()
            passes.append((time.perf_counter_ns() - start) / calls)
    finally:
        gc.enable()
    return min(passes), statistics.median(passes)


def _gradtrade(data_dir: Path, orders: list[Any], repeats: int) -> dict[str, tuple[float, float]]:
    from gradtrade.core import RiskEngine, RiskLimits, Side, SymbolFilters

    first_line = (data_dir / "recordings" / "cryptofeed" / "BINANCE.0").read_text().splitlines()[0]
    filters = SymbolFilters.from_exchange_info_json(first_line.split(": ", 1)[1], "BTCUSDT")
    limits = RiskLimits(
        max_order_notional=50_000.0,
        max_position=10.0,
        max_leverage=3.0,
        max_open_orders=200,
        max_orders_per_second=100_000,
        price_band_bps=50.0,
        reduce_drawdown=0.05,
        halt_drawdown=0.10,
    )
    engine = RiskEngine(limits, filters)
    args = [
        (Side.BUY if buy else Side.SELL, qty, px, mid, 0.0, 0, EQUITY, ts)
        for buy, qty, px, mid, ts in orders
    ]
    off_tick = [(s, q, p + 0.003, m, pos, oo, eq, t) for s, q, p, m, pos, oo, eq, t in args]
    check = engine.check
    decisions = [check(*a) for a in args]
    rejected = [d for d in decisions if not d.approved]
    assert not rejected, f"gradtrade rejected {len(rejected)} orders, e.g. {rejected[0]}"
    assert not any(check(*a).approved for a in off_tick[:100])

    def approved() -> None:
        for s, q, p, m, pos, oo, eq, t in args:
            check(s, q, p, m, pos, oo, eq, t)

    def denied() -> None:
        for s, q, p, m, pos, oo, eq, t in off_tick:
            check(s, q, p, m, pos, oo, eq, t)

    results = {
        "approved": _per_call_ns(approved, len(args), repeats),
        "denied": _per_call_ns(denied, len(args), repeats),
    }
    recording = RiskEngine(limits, filters)
    record = recording.check_and_record
    spaced = [(*a[:7], i * 1_000_000) for i, a in enumerate(args)]
    offset = [0]

    def recorded() -> None:
        # Each pass moves on in time so that the one-second window never fills up.
        base = offset[0]
        offset[0] += len(spaced) * 1_000_000
        for s, q, p, m, pos, oo, eq, t in spaced:
            record(s, q, p, m, pos, oo, eq, base + t)

    results["check_and_record"] = _per_call_ns(recorded, len(args), repeats)
    return results


def _nautilus(orders: list[Any], repeats: int) -> dict[str, tuple[float, float]]:
    from nautilus_trader.common.component import MessageBus, TestClock
    from nautilus_trader.common.factories import OrderFactory
    from nautilus_trader.config import RiskEngineConfig
    from nautilus_trader.core.uuid import UUID4
    from nautilus_trader.execution.messages import SubmitOrder
    from nautilus_trader.model.currencies import BTC, USDT
    from nautilus_trader.model.enums import AccountType, OrderSide
    from nautilus_trader.model.events import AccountState
    from nautilus_trader.model.identifiers import AccountId, StrategyId, TraderId
    from nautilus_trader.model.objects import AccountBalance, Money, Price, Quantity
    from nautilus_trader.portfolio.portfolio import Portfolio
    from nautilus_trader.risk.engine import RiskEngine
    from nautilus_trader.test_kit.providers import TestInstrumentProvider
    from nautilus_trader.test_kit.stubs.component import TestComponentStubs

    clock = TestClock()
    trader = TraderId("TRADER-001")
    msgbus = MessageBus(trader_id=trader, clock=clock)
    cache = TestComponentStubs.cache()
    portfolio = Portfolio(msgbus=msgbus, cache=cache, clock=clock)
    sent: list[Any] = []
    processed: list[Any] = []
    msgbus.register(endpoint="ExecEngine.execute", handler=sent.append)
    msgbus.register(endpoint="ExecEngine.process", handler=processed.append)
    instrument = TestInstrumentProvider.btcusdt_binance()
    engine = RiskEngine(
        portfolio=portfolio,
        msgbus=msgbus,
        cache=cache,
        clock=clock,
        config=RiskEngineConfig(
            max_order_submit_rate="1000000/00:00:01",
            max_notional_per_order={str(instrument.id): 50_000},
        ),
    )
    cache.add_instrument(instrument)

    def balance(amount: float, currency: Any) -> Any:
        return AccountBalance(Money(amount, currency), Money(0, currency), Money(amount, currency))

    portfolio.update_account(
        AccountState(
            account_id=AccountId("BINANCE-001"),
            account_type=AccountType.CASH,
            base_currency=None,
            reported=True,
            balances=[balance(1_000_000, USDT), balance(10, BTC)],
            margins=[],
            info={},
            event_id=UUID4(),
            ts_event=0,
            ts_init=0,
        )
    )
    engine.start()
    strategy = StrategyId("S-001")
    factory = OrderFactory(trader_id=trader, strategy_id=strategy, clock=clock)

    def commands(tick_offset: float, precision: int) -> list[Any]:
        out = []
        for buy, qty, px, _mid, _ts in orders:
            order = factory.limit(
                instrument.id,
                OrderSide.BUY if buy else OrderSide.SELL,
                Quantity(qty, precision=instrument.size_precision),
                Price(px + tick_offset, precision=precision),
            )
            out.append(
                SubmitOrder(
                    trader_id=trader,
                    strategy_id=strategy,
                    order=order,
                    command_id=UUID4(),
                    ts_init=0,
                )
            )
        return out

    approved_cmds = commands(0.0, instrument.price_precision)
    execute = engine.execute
    for cmd in approved_cmds:
        execute(cmd)
    assert len(sent) == len(approved_cmds) and not processed, "Nautilus denied an order"

    def approved() -> None:
        for cmd in approved_cmds:
            execute(cmd)

    check_order, check_risk = engine._check_order, engine._check_orders_risk
    pairs = [(cmd.order, [cmd.order]) for cmd in approved_cmds]

    def checks_only() -> None:
        for order, as_list in pairs:
            check_order(instrument, order)
            check_risk(instrument, as_list)

    results = {
        "approved": _per_call_ns(approved, len(approved_cmds), repeats),
        "checks_only": _per_call_ns(checks_only, len(pairs), repeats),
    }
    # Denials turn each order DENIED (a fresh batch per pass: a denied order is not re-denied).
    batches: Iterator[list[Any]] = iter([commands(0.003, 3) for _ in range(repeats + 1)])

    def denied() -> None:
        for cmd in next(batches):
            execute(cmd)

    results["denied"] = _per_call_ns(denied, len(orders), repeats)
    assert processed, "Nautilus did not deny off-tick prices"
    return results


def _fmt(pair: tuple[float, float] | None) -> str:
    if pair is None:
        return "n/a"
    best, median = pair
    return f"{best / 1000:.3f} us (median {median / 1000:.3f})"


def _ratio(anchor: tuple[float, float] | None, ours: tuple[float, float]) -> str:
    return "n/a" if anchor is None else f"{anchor[0] / ours[0]:.1f}x"


def run(data_dir: Path, quick: bool) -> str:
    n, repeats = (2_000, 3) if quick else (20_000, 7)
    orders = _orders(data_dir, n)
    ours = _gradtrade(data_dir, orders, repeats)
    anchor_note = ""
    try:
        import nautilus_trader

        theirs: dict[str, tuple[float, float]] | None = _nautilus(orders, repeats)
        version = nautilus_trader.__version__
    except ImportError as exc:  # the bench extra is not installed
        theirs, version = None, "not installed"
        anchor_note = f"\nNautilusTrader could not be imported ({exc}); anchor: 4-9 us per order.\n"
    t = theirs or {}
    rows = [
        (
            "approved order: `RiskEngine.check` vs Nautilus `RiskEngine.execute(SubmitOrder)`",
            ours["approved"],
            t.get("approved"),
        ),
        (
            "approved order: vs Nautilus checks only (`_check_order` + `_check_orders_risk`)",
            ours["approved"],
            t.get("checks_only"),
        ),
        (
            "denied order (price off the tick grid)",
            ours["denied"],
            t.get("denied"),
        ),
        (
            "`check_and_record` (check + count against the rate limit)",
            ours["check_and_record"],
            None,
        ),
    ]
    target = "met" if ours["approved"][0] < 1000 else "NOT met"
    lines = [
        f"{len(orders):,} limit orders, one per bookTicker frame of the hftbacktest spot recording "
        f"(BTCUSDT 2024-08-08), through each engine from Python; best of {repeats} passes, "
        f"loop included. NautilusTrader {version}. Target: `RiskEngine.check` under 1 us "
        f"per call from Python: **{target}** ({ours['approved'][0]:.0f} ns).",
        anchor_note,
        "| per order, from Python | gradtrade | NautilusTrader | Nautilus / gradtrade |",
        "|---|---|---|---|",
    ]
    for label, g, nt in rows:
        lines.append(f"| {label} | {_fmt(g)} | {_fmt(nt)} | {_ratio(nt, g)} |")
    lines += [
        "",
        "Both engines check price and size against the instrument's grid and bounds, max notional "
        "per order and the trading state. gradtrade also checks the price band, position, "
        "leverage, open orders and the order-rate window on every call; Nautilus also checks "
        "the cash account's free balance and passes approved orders through its throttler and "
        "message bus (a no-op endpoint here). The pure-Rust cost without Python is in the "
        "Criterion bench: `cargo bench --bench risk`.",
    ]
    return "\n".join(line for line in lines if line is not None)


if __name__ == "__main__":
    import os

    print(run(Path(os.environ.get("GRADTRADE_TEST_DATA", "../shared/data")), quick=True))
