"""Backtest/evaluation parity: the engine reproduces `gradtrade evaluate`'s positions and PnL.

A tiny model is trained on real BTC 1h candles; the candle backtest of its checkpoint, filling
at the decision bar's close with the evaluation's flat cost, must give the positions of
``predict_positions`` (the evaluation's prediction path) and the per-bar net returns of
``strategy_pnl`` on the test split to 1e-9. Both go through the full engine: strategy, risk
(policy sizing, rounding to a 1e-8 step), order manager, simulated venue, portfolio. The
strategy decides with the native forward (``NativePredictor``, the Rust second implementation of
the same arithmetic), the evaluation eagerly.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from gradtrade.backtest.config import parse_backtest_config
from gradtrade.backtest.runner import build_strategy, load_market_data, simulate
from gradtrade.data.market import load_market
from gradtrade.evaluation.baselines import strategy_pnl
from gradtrade.optim.config import TrainConfig
from gradtrade.optim.run import predict_positions
from gradtrade.strategy.model import DecisionPath, ModelStrategy

NS_PER_HOUR = 3_600_000_000_000


def test_backtest_reproduces_evaluation(trained: tuple[TrainConfig, Path]) -> None:
    cfg, checkpoint = trained
    d = cfg.data
    market = load_market(d.path, start=d.start, end=d.end)
    assert not market.frame.missing.any(), "the parity slice must have no outage"
    ev = predict_positions(checkpoint)
    anchors = ev["anchor"]
    assert len(anchors) > 100 and np.all(np.diff(anchors) == 1)
    # (the fill model is the Rust candle model at the decision close, costs as the evaluation)
    close_ns = market.times_ns
    first_open = pd.Timestamp(int(close_ns[anchors[0]]) - NS_PER_HOUR, tz="UTC")
    end_open = pd.Timestamp(int(close_ns[anchors[-1] + 1]), tz="UTC")  # keeps bar a_last + 1
    bt = parse_backtest_config(
        {
            "data": {"path": d.path, "start": str(first_open), "end": str(end_open),
                     "warmup_bars": int(anchors[0])},
            "strategy": {"kind": "model", "checkpoint": str(checkpoint)},
            "market": {"step_size": "0.00000001", "tick_size": "0.01"},
            "risk": {"sizing": "policy", "max_leverage": 1.0, "allow_short": True,
                     "reduce_drawdown": 0.98, "halt_drawdown": 0.99},
            "fill": {"fill_at": "decision_close", "half_spread_bps": 0.0, "impact_k": 0.0,
                     "taker_fee_bps": cfg.evaluate.cost_bps},
            "initial_cash": 1_000_000.0,
            "output": {"compare_sizing": False, "double_costs": False},
        }
    )  # fmt: skip
    data = load_market_data(bt)
    assert data.bars[0].open_time_ns == pd.Timestamp(d.start, tz="UTC").value
    strategy = build_strategy(bt, data)
    run = simulate(bt, data, strategy)
    assert isinstance(strategy, ModelStrategy)
    assert strategy.path is DecisionPath.NATIVE  # the live decision path

    traded = [r for r in run.log.decisions if r.target_qty is not None]
    times = np.array([r.decision.ts_ns for r in traded])
    np.testing.assert_array_equal(times[: len(anchors)], close_ns[anchors])
    u_engine = np.array([r.decision.u_raw for r in traded])[: len(anchors)]
    np.testing.assert_allclose(u_engine, ev["position"], rtol=0, atol=1e-9)
    assert np.abs(ev["position"]).max() > 0.05, "a flat model would prove nothing"

    marks = {p.ts_ns: p.equity for p in run.log.equity}
    equity = np.array([marks[t] for t in close_ns[anchors[0] : anchors[-1] + 2]])
    r_engine = equity[1:] / equity[:-1] - 1.0
    net, _, turn = strategy_pnl(ev["position"], ev["ret"], cfg.evaluate.cost_bps * 1e-4)
    np.testing.assert_allclose(r_engine, net, rtol=0, atol=1e-9)
    assert turn.sum() > 0 and len(run.log.fills) > 10
    fees = sum(f.fee for f in run.log.fills if f.ts_ns <= close_ns[anchors[-1]])
    expected = cfg.evaluate.cost_bps * 1e-4 * (turn * equity[:-1]).sum()
    assert abs(fees - expected) < 1e-9 * 1e6
