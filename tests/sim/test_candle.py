"""Candle fill model and funding through the Python API, checked by hand and on real data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradtrade.core import (
    Bar,
    CandleFillConfig,
    FillAt,
    FillReason,
    InvalidInput,
    Liquidity,
    Side,
    funding_cashflow,
    funding_cashflows,
)

CFG = CandleFillConfig(
    half_spread_bps=2.0, impact_k=0.5, taker_fee_rate=0.001, maker_fee_rate=0.0002
)


def test_market_order_pays_half_spread_impact_and_fee() -> None:
    bar = Bar(100.0, 105.0, 99.0, 104.0, 400.0)
    fill = CFG.market_fill(Side.BUY, 4.0, bar, 0.02)
    # impact 0.5 * 0.02 * sqrt(4 / 400) = 0.001, half spread 0.0002
    assert fill.price == pytest.approx(100.12, rel=1e-12)
    assert fill.fee == pytest.approx(100.12 * 4.0 * 0.001, rel=1e-12)
    assert (fill.liquidity, fill.reason, fill.reference_price) == (
        Liquidity.TAKER,
        FillReason.MARKET,
        100.0,
    )
    close = CandleFillConfig(half_spread_bps=0.0, impact_k=0.0, fill_at=FillAt.DECISION_CLOSE)
    assert close.market_fill(Side.SELL, 1.0, bar, 0.3).price == 104.0


def test_limit_stop_and_protective_rules() -> None:
    bar = Bar(101.0, 102.0, 100.0, 101.5, 50.0)
    assert CFG.limit_fill(Side.BUY, 100.0, 1.0, bar, 0.01) is None, "a touch is not a fill"
    fill = CFG.limit_fill(Side.BUY, 100.01, 10.0, bar, 0.01)
    assert fill is not None
    assert (fill.price, fill.qty, fill.liquidity) == (100.01, 5.0, Liquidity.MAKER)
    gap = Bar(96.0, 97.0, 95.0, 96.5, 10.0)
    stop = CandleFillConfig(half_spread_bps=0.0, impact_k=0.0).stop_fill(
        Side.SELL, 98.5, 1.0, gap, 0.0
    )
    assert stop is not None and (stop.price, stop.at_open) == (96.0, True)
    wide = Bar(100.0, 106.0, 94.0, 101.0, 10.0)
    exit_ = CandleFillConfig(half_spread_bps=0.0, impact_k=0.0).protective_fill(
        Side.BUY, 1.0, wide, 0.0, stop_loss=95.0, take_profit=105.0
    )
    assert exit_ is not None and (exit_.reason, exit_.price) == (FillReason.STOP_LOSS, 95.0)


def test_bad_input_raises_invalid_input() -> None:
    bar = Bar(100.0, 101.0, 99.0, 100.0, 10.0)
    for qty in (math.nan, math.inf, -1.0, 0.0):
        with pytest.raises(InvalidInput, match="quantity"):
            CFG.market_fill(Side.BUY, qty, bar, 0.01)
    with pytest.raises(ValueError, match="low"):
        Bar(100.0, 99.0, 98.0, 100.0, 1.0)
    with pytest.raises(InvalidInput, match="max_volume_share"):
        CandleFillConfig(max_volume_share=1.5)
    with pytest.raises(InvalidInput, match="take_profit"):
        CFG.protective_fill(Side.BUY, 1.0, bar, 0.0, stop_loss=105.0, take_profit=95.0)


def test_batch_market_fills_match_a_numpy_reference_on_real_candles(
    btc_1h: dict[str, np.ndarray],
) -> None:
    n = 20_000
    cols = {k: np.ascontiguousarray(v[:n]) for k, v in btc_1h.items()}
    rng = np.random.default_rng(7)
    qty = np.where(rng.random(n) < 0.3, rng.normal(0.0, 2.0, n), 0.0)
    log_ret = np.diff(np.log(cols["close"]), prepend=np.log(cols["close"][0]))
    sigma = np.sqrt(np.convolve(log_ret**2, np.ones(24) / 24, mode="same"))
    prices, fees = CFG.market_fills(
        cols["open"], cols["high"], cols["low"], cols["close"], cols["volume"], sigma, qty
    )
    # Independent reference: decided at t, filled at t+1's open.
    nxt_open, nxt_vol = cols["open"][1:], cols["volume"][1:]
    q = qty[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        impact = np.minimum(0.5 * sigma[:-1] * np.sqrt(np.abs(q) / nxt_vol), 0.05)
    impact = np.where(nxt_vol > 0, impact, 0.05)
    ref = nxt_open * (1.0 + np.sign(q) * (2e-4 + impact))
    has = q != 0
    np.testing.assert_allclose(prices[:-1][has], ref[has], rtol=1e-12)
    np.testing.assert_allclose(fees[:-1][has], ref[has] * np.abs(q[has]) * 0.001, rtol=1e-12)
    assert np.isnan(prices[:-1][~has]).all() and np.isnan(prices[-1])
    assert has.sum() > 5000
    # And each batch price equals the single-order call.
    for t in np.flatnonzero(has)[:50]:
        bar = Bar(*(float(cols[c][t + 1]) for c in ("open", "high", "low", "close", "volume")))
        side = Side.BUY if qty[t] > 0 else Side.SELL
        assert CFG.market_fill(side, abs(float(qty[t])), bar, float(sigma[t])).price == prices[t]


def test_limit_fills_on_real_candles_only_trade_through(btc_1h: dict[str, np.ndarray]) -> None:
    o, h, lo, c, v = (btc_1h[k][:5000] for k in ("open", "high", "low", "close", "volume"))
    fills = 0
    for t in range(1, 5000):
        bar = Bar(o[t], h[t], lo[t], c[t], v[t])
        price = round(c[t - 1] * 0.995, 2)
        fill = CFG.limit_fill(Side.BUY, price, 1.0, bar, 0.01)
        assert (fill is not None) == (lo[t] < price and v[t] > 0)
        if fill is not None:
            fills += 1
            assert fill.price == price
            assert fill.qty == pytest.approx(min(1.0, 0.1 * v[t]))
    assert fills > 100


def test_funding_on_recorded_events_matches_a_pandas_style_reference(
    btc_funding: dict[str, np.ndarray],
) -> None:
    ts, rate, mark = btc_funding["ts"], btc_funding["rate"], btc_funding["mark"]
    assert len(ts) > 1000
    rng = np.random.default_rng(3)
    hour = 3_600_000_000_000
    # Position changes on hour boundaries, some exactly at funding times (those are after it).
    pos_ts = np.sort(rng.choice(np.arange(ts[0] - 8 * hour, ts[-1], hour), 2000, replace=False))
    positions = rng.normal(0.0, 1.5, len(pos_ts))
    flows = funding_cashflows(pos_ts, positions, ts, rate, mark)
    held_idx = np.searchsorted(pos_ts, ts, side="left") - 1
    held = np.where(held_idx >= 0, positions[np.maximum(held_idx, 0)], 0.0)
    np.testing.assert_allclose(flows, -held * mark * rate, rtol=1e-15, atol=0.0)
    assert funding_cashflow(2.0, 50_000.0, 0.0001) == pytest.approx(-10.0)
    with pytest.raises(InvalidInput, match="ascending"):
        funding_cashflows(pos_ts[::-1].copy(), positions, ts, rate, mark)


@given(
    open_=st.floats(1.0, 1e5),
    up=st.floats(0.0, 0.1),
    down=st.floats(0.0, 0.1),
    volume=st.floats(0.0, 1e4),
    qty=st.floats(1e-6, 1e3),
    sigma=st.floats(0.0, 0.2),
    buy=st.booleans(),
)
def test_a_taker_never_beats_the_reference_price(
    open_: float, up: float, down: float, volume: float, qty: float, sigma: float, buy: bool
) -> None:
    bar = Bar(open_, open_ * (1 + up), open_ * (1 - down), open_, volume)
    side = Side.BUY if buy else Side.SELL
    fill = CFG.market_fill(side, qty, bar, sigma)
    assert side.sign * (fill.price - open_) >= 0
    assert fill.fee >= 0
