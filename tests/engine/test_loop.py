"""The engine on real BTC candles: time order, NaN skips, the breaker, stops, funding."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from gradtrade.backtest.config import parse_backtest_config
from gradtrade.backtest.runner import load_market_data
from gradtrade.core import Side, TradingState
from gradtrade.errors import InvalidInput
from gradtrade.events import FillEvent, IntentKind, Liquidity
from gradtrade.execution import ExecutionConfig

H = 3_600_000_000_000


def test_events_must_arrive_in_time_order(btc_config, load_data, build_engine, constant) -> None:
    cfg = btc_config("2024-01-01", "2024-01-03")
    data = load_data(cfg)
    engine = build_engine(cfg, data, constant(0.5))
    engine.handle(data.bars[5])
    equity = engine.portfolio.equity()
    with pytest.raises(InvalidInput, match="time order"):
        engine.handle(data.bars[4])
    assert engine.portfolio.equity() == equity and len(engine.log.equity) == 1


def test_nan_and_inf_decisions_are_counted_skips(btc_config, load_data, build_engine,
                                                 constant) -> None:  # fmt: skip
    cfg = btc_config("2024-01-01", "2024-01-05")
    data = load_data(cfg)
    for bad in (math.nan, math.inf):
        engine = build_engine(cfg, data, constant(bad))
        log = engine.run(data.bars)
        assert log.fills == [] and log.skips["non_finite_decision"] == len(data.bars)
        assert engine.portfolio.equity() == cfg.initial_cash


def test_constant_target_rebalances_the_drift_and_books_every_cost(
    btc_config, load_data, build_engine, constant
) -> None:
    cfg = btc_config("2024-01-01", "2024-02-01")
    data = load_data(cfg)
    engine = build_engine(cfg, data, constant(0.5))
    log = engine.run(data.bars)
    p = engine.portfolio
    assert len(log.fills) > 0.9 * len(data.bars)  # a constant fraction trades every bar
    assert p.equity() == pytest.approx(p.pnl_identity(), rel=1e-9)
    assert p.weight("BTCUSDT") == pytest.approx(0.5, abs=1e-3)
    assert p.fee_value == pytest.approx(sum(f.fee for f in log.fills))
    assert engine.strategy.fills == log.fills  # the strategy heard about every fill


def test_breaker_halts_flattens_and_blocks_new_exposure(
    btc_config, load_data, build_engine, constant
) -> None:
    # May 2021: BTC fell from ~58k to ~31k
    cfg = btc_config("2021-05-01", "2021-06-01")
    data = load_data(cfg)
    engine = build_engine(cfg, data, constant(1.0), reduce_drawdown=0.1, halt_drawdown=0.2)
    log = engine.run(data.bars)
    states = [p.state for p in log.equity]
    halted_at = states.index(TradingState.HALTED)
    assert TradingState.REDUCING in states[:halted_at]
    assert all(s == TradingState.HALTED for s in states[halted_at:])  # no silent re-open
    after = [p.position for p in log.equity[halted_at + 1 :]]
    assert after and all(q == 0 for q in after)
    flatten = [c for c, r in engine.orders.requests.items() if r.intent == IntentKind.FLATTEN]
    assert flatten
    assert log.equity[halted_at].drawdown >= 0.2
    # blocked: the strategy kept asking for a long, nothing was bought after the halt
    t_halt = log.equity[halted_at].ts_ns
    assert all(f.signed_qty < 0 for f in log.fills if f.ts_ns >= t_halt)


def test_stop_losses_are_enforced_by_the_engine(btc_config, load_data, build_engine,
                                                constant) -> None:  # fmt: skip
    cfg = btc_config("2021-05-10", "2021-05-25")
    data = load_data(cfg)
    engine = build_engine(
        cfg, data, constant(1.0), stops={"mode": "percent", "stop_loss": 1.0, "take_profit": 50},
        min_rebalance=0.05,
    )  # fmt: skip
    log = engine.run(data.bars)
    stops = {c for c, r in engine.orders.requests.items() if r.intent == IntentKind.STOP_LOSS}
    stop_fills = [f for f in log.fills if f.client_order_id in stops]
    assert stop_fills, "a 1% stop must trigger in a crash"
    for f in stop_fills:
        level = engine.orders.requests[f.client_order_id].price
        assert level is not None and f.price <= level  # at the level, or the open after a gap
    assert engine.portfolio.equity() == pytest.approx(engine.portfolio.pnl_identity(), rel=1e-9)


def test_perpetual_funding_is_paid_at_the_recorded_times(data_dir: Path, build_engine,
                                                         constant) -> None:  # fmt: skip
    fut = data_dir / "klines/futures"
    cfg = parse_backtest_config({
        "data": {"path": str(fut / "BTC_USDT_USDT-1h-futures.feather"),
                 "funding_path": str(fut / "BTC_USDT_USDT-1h-funding_rate.feather"),
                 "start": "2024-03-01", "end": "2024-03-15", "warmup_bars": 0},
        "strategy": {"kind": "ma_cross"},
    })  # fmt: skip
    data = load_market_data(cfg)
    assert len(data.funding) >= 40  # every 8 h
    engine = build_engine(cfg, data, constant(0.5))
    log = engine.run([*data.funding, *data.bars])
    assert len(log.funding) == len(data.funding)
    closes = {b.ts_ns: b.close for b in data.bars}
    positions = {p.ts_ns: p.position for p in log.equity}
    for (ts, _, paid), ev in zip(log.funding, data.funding, strict=True):
        # settled before the bar closing at ts is decided on: on the position held over it,
        # at the last close before it
        assert paid == pytest.approx(positions[ts] * closes[ts - H] * ev.rate, rel=1e-9)
    assert engine.portfolio.funding == pytest.approx(sum(p for _, _, p in log.funding))
    assert engine.portfolio.funding > 0  # March 2024: longs paid


def test_run_handles_events_in_time_then_priority_order_whatever_their_input_order(
    data_dir: Path, build_engine, constant
) -> None:
    fut = data_dir / "klines/futures"
    cfg = parse_backtest_config({
        "data": {"path": str(fut / "BTC_USDT_USDT-1h-futures.feather"),
                 "funding_path": str(fut / "BTC_USDT_USDT-1h-funding_rate.feather"),
                 "start": "2024-03-01", "end": "2024-03-05", "warmup_bars": 0},
        "strategy": {"kind": "ma_cross"},
    })  # fmt: skip
    data = load_market_data(cfg)
    closes = {b.ts_ns for b in data.bars}
    assert sum(f.ts_ns in closes for f in data.funding) >= 10  # ties for priority to break
    logs = []
    # in order with ties (funding first), bars only (strictly increasing: no sort), reversed,
    # and bars before funding (ties in the wrong priority order)
    for events in ([*data.funding, *data.bars], list(reversed([*data.funding, *data.bars])),
                   [*data.bars, *data.funding]):  # fmt: skip
        engine = build_engine(cfg, data, constant(0.5))
        logs.append(engine.run(events))
    for log in logs[1:]:
        assert log.equity == logs[0].equity and log.fills == logs[0].fills
        assert log.funding == logs[0].funding and len(log.funding) == len(data.funding)
    bars_only = build_engine(cfg, data, constant(0.5)).run(list(reversed(data.bars)))
    assert [p.ts_ns for p in bars_only.equity] == sorted(b.ts_ns for b in data.bars)


def test_run_goes_through_a_handle_set_on_the_instance(
    btc_config, load_data, build_engine, constant
) -> None:
    cfg = btc_config("2024-01-01", "2024-01-03")
    data = load_data(cfg)
    engine = build_engine(cfg, data, constant(0.5))
    seen = []
    inner = engine.handle

    def handle(event) -> None:  # what an instrumentation wrapper does (live.telemetry)
        seen.append(event)
        inner(event)

    engine.handle = handle
    log = engine.run(data.bars)
    assert seen == data.bars and len(log.equity) == len(data.bars)


def test_refused_venue_events_are_counted_and_book_nothing(
    btc_config, load_data, build_engine, constant
) -> None:
    cfg = btc_config("2024-01-01", "2024-01-02")
    data = load_data(cfg)
    engine = build_engine(cfg, data, constant(0.5))
    engine.run(data.bars[:3])
    cid = engine.log.fills[0].client_order_id
    stray = [
        FillEvent("const.0.zz", 999, "BTCUSDT", Side.BUY, 42_000.0, 1.0, 0.0, "USDT",
                  Liquidity.TAKER, data.bars[3].ts_ns),  # never sent
        FillEvent(cid, 998, "BTCUSDT", Side.BUY, 42_000.0, 1.0, 0.0, "USDT",
                  Liquidity.TAKER, data.bars[3].ts_ns),  # the order is already filled
    ]  # fmt: skip
    engine.venue._events.extend(stray)  # what a confused venue could report
    engine.handle(data.bars[3])
    assert engine.log.skips["refused_FillEvent"] == 2
    assert all(f.trade_id < 998 for f in engine.log.fills)  # nothing of them was booked
    p = engine.portfolio
    assert p.equity() == pytest.approx(p.pnl_identity(), rel=1e-9)
    assert p.weight("BTCUSDT") == pytest.approx(0.5, abs=0.01)  # next-open fills: drifted


@pytest.mark.parametrize("on_timeout", ["cross", "reprice"])
def test_post_only_orders_time_out_then_cross_or_reprice(
    btc_config, load_data, build_engine, constant, on_timeout: str
) -> None:
    cfg = btc_config("2024-01-01", "2024-01-20")
    data = load_data(cfg)
    execution = ExecutionConfig(style="post_only", post_only_timeout_s=2 * 3600,
                                on_timeout=on_timeout)  # fmt: skip
    engine = build_engine(cfg, data, constant(0.5), execution, min_rebalance=0.02)
    log = engine.run(data.bars)
    makers = [f for f in log.fills if f.liquidity.value == "maker"]
    takers = [f for f in log.fills if f.liquidity.value == "taker"]
    assert makers, "resting orders must get traded through"
    if on_timeout == "cross":
        assert takers, "an order that timed out (or would have taken) crosses"
    else:
        assert not takers
    assert engine.orders.venue_rejects  # WOULD_TAKE at some opens
    assert engine.portfolio.weight("BTCUSDT") == pytest.approx(0.5, abs=0.05)
    p = engine.portfolio
    assert p.equity() == pytest.approx(p.pnl_identity(), rel=1e-9)
