"""Reference strategies and the model strategy's refusals, on real data."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from gradtrade.core import OrderBook
from gradtrade.errors import InvalidInput
from gradtrade.events import Bar
from gradtrade.strategy import (
    DecisionReplay,
    ModelStrategy,
    MovingAverageCross,
    QuoteAtBest,
    Strategy,
    StrategyContext,
)


def _ctx(position: float = 0.0) -> StrategyContext:
    return StrategyContext(0, "BTCUSDT", position, 10_000.0, None)


def test_ma_cross_matches_pandas_rolling_means(btc_bars: list[Bar]) -> None:
    s = MovingAverageCross(fast=12, slow=48, size=0.8)
    assert isinstance(s, Strategy)
    out = [s.on_bar(b, _ctx()) for b in btc_bars]
    closes = pd.Series([b.close for b in btc_bars])
    above = closes.rolling(12).mean() > closes.rolling(48).mean()
    assert all(d is None for d in out[:47])
    got = np.array([d.u_raw for d in out[47:] if d is not None])
    np.testing.assert_array_equal(got, np.where(above[47:], 0.8, 0.0))
    assert 0 < (got > 0).mean() < 1


def test_quote_at_best_alternates_and_refuses_bad_books(book: OrderBook) -> None:
    s = QuoteAtBest(size=0.1)
    d = s.on_book(book, _ctx(0.0))
    assert d is not None and d.u_raw == 0.1
    d = s.on_book(book, _ctx(0.002))
    assert d is not None and d.u_raw == 0.0
    assert s.on_book(OrderBook("BTCUSDT", "0.01", "0.00001", "spot"), _ctx()) is None


def test_decision_replay_returns_the_recorded_decisions(btc_bars: list[Bar]) -> None:
    ma = MovingAverageCross(fast=12, slow=48)
    recorded = [d for b in btc_bars if (d := ma.on_bar(b, _ctx())) is not None]
    replay = DecisionReplay(recorded)
    again = [d for b in btc_bars if (d := replay.on_bar(b, _ctx())) is not None]
    assert again == recorded


@pytest.mark.parametrize(
    "kwargs", [{"fast": 10, "slow": 10}, {"fast": 0, "slow": 5}, {"size": math.nan}]
)
def test_bad_parameters_are_refused(kwargs: dict) -> None:
    with pytest.raises(InvalidInput):
        MovingAverageCross(**kwargs)


def test_model_strategy_refuses_a_missing_or_foreign_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not found"):
        ModelStrategy.from_checkpoint(tmp_path / "none.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(InvalidInput):
        ModelStrategy.from_checkpoint(junk)
