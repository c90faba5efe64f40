"""Metric functions against hand-computed values and against statsmodels / arch / scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from arch import arch_model
from scipy import stats

from gradtrade.evaluation import metrics as m
from gradtrade.evaluation.baselines import (
    ewma_variance,
    garch_variance,
    momentum_positions,
    strategy_pnl,
)


def test_r2_and_hit_rate_by_hand() -> None:
    actual = np.array([0.01, -0.02, 0.03, 0.0])
    pred = np.array([0.01, 0.01, -0.01, 0.02])
    # SSE = 0 + 0.0009 + 0.0016 + 0.0004 = 0.0029; sum a^2 = 0.0014
    assert m.r2_oos(pred, actual) == pytest.approx(1 - 0.0029 / 0.0014)
    assert m.r2_oos(np.zeros(4), actual) == 0.0
    assert m.hit_rate(pred, actual) == pytest.approx(1 / 3)  # the zero actual is skipped


def test_variance_losses() -> None:
    var, r, mean = np.array([1e-4, 4e-4]), np.array([0.01, -0.01]), np.array([0.0, 0.005])
    np.testing.assert_allclose(m.qlike_losses(var, r), np.log(var) + r**2 / var)
    expected = -stats.norm.logpdf(r, loc=mean, scale=np.sqrt(var))
    np.testing.assert_allclose(m.gaussian_nll_losses(mean, var, r), expected)
    # the true variance minimizes expected QLIKE
    rng = np.random.default_rng(0)
    draws = rng.normal(0, 0.02, 200_000)
    losses = [m.qlike_losses(np.full_like(draws, v), draws).mean() for v in (2e-4, 4e-4, 8e-4)]
    assert losses[1] < min(losses[0], losses[2])


def test_sharpe_sortino_drawdown_by_hand() -> None:
    pnl = np.array([0.1, -0.05, 0.02, -0.1, 0.08])
    mean, sd = pnl.mean(), pnl.std(ddof=1)
    assert m.sharpe(pnl, 4) == pytest.approx(mean / sd * 2)
    downside = math.sqrt((0.05**2 + 0.1**2) / 5)
    assert m.sortino(pnl, 4) == pytest.approx(mean / downside * 2)
    # equity 1.1, 1.045, 1.0659, 0.95931, 1.0360548: trough 0.95931 after peak 1.1
    assert m.max_drawdown(pnl) == pytest.approx(1 - 0.95931 / 1.1)
    assert m.max_drawdown(np.array([0.01, 0.02])) == 0.0


def test_turnover_and_break_even() -> None:
    u = np.array([0.5, 0.5, -0.5, 0.0])
    np.testing.assert_allclose(m.turnover(u), [0.5, 0.0, 1.0, 0.5])
    gross = np.array([0.001, 0.0, 0.0, 0.001])
    # mean gross 5e-4 over mean turnover 0.5 = 1e-3 = 10 bps
    assert m.break_even_cost_bps(gross, m.turnover(u)) == pytest.approx(10.0)
    net, g, turn = strategy_pnl(u, np.log1p(np.array([0.01, -0.02, 0.01, 0.03])), cost=0.001)
    np.testing.assert_allclose(g, [0.005, -0.01, -0.005, 0.0])
    np.testing.assert_allclose(net, g - 0.001 * turn)


def test_strategy_pnl_is_exact_fixed_fraction_rebalancing() -> None:
    """An explicit account (cash + units, fees from cash) gives the same per-bar returns."""
    rng = np.random.default_rng(3)
    u = rng.uniform(-1, 1, 50)
    simple = rng.normal(0, 0.02, 50)
    funding = rng.normal(0, 1e-4, 50)
    cost = 0.0011
    prices = 100 * np.cumprod(np.concatenate([[1.0], 1 + simple]))
    cash, units, equity, turns = 1.0, 0.0, [], []
    for t in range(50):
        e = cash + units * prices[t]
        target = u[t] * e / prices[t]
        turns.append(abs(target - units) * prices[t] / e)
        cash -= (target - units) * prices[t] + cost * abs(target - units) * prices[t]
        units = target
        cash -= units * prices[t] * funding[t]  # funding on the value at the bar's start
        equity.append(e)
    equity.append(cash + units * prices[50])
    expected = np.diff(equity) / np.array(equity[:-1])
    net, _, turn = strategy_pnl(u, np.log1p(simple), cost, funding)
    np.testing.assert_allclose(net, expected, rtol=0, atol=1e-14)
    np.testing.assert_allclose(turn, turns, rtol=0, atol=1e-14)
    # a constant target still trades: the weight drifts with the price between bars
    _, _, drift = strategy_pnl(np.full(50, 0.5), np.log1p(simple), cost)
    assert drift[0] == 0.5 and (drift[1:] > 0).all()


def test_sharpe_standard_error_lo() -> None:
    # per-period SR 0.1 over 400 bars: sqrt((1 + 0.005) / 400)
    assert m.sharpe_standard_error(0.1 * math.sqrt(252), 400, 252) == pytest.approx(
        math.sqrt(1.005 / 400) * math.sqrt(252)
    )


def test_deflated_sharpe() -> None:
    rng = np.random.default_rng(1)
    pnl = rng.normal(0.001, 0.01, 2000)
    sr = pnl.mean() / pnl.std(ddof=1)
    g3, g4 = stats.skew(pnl), stats.kurtosis(pnl, fisher=False)
    psr = stats.norm.cdf(sr * math.sqrt(1999) / math.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr**2))
    assert m.deflated_sharpe(pnl, n_trials=1) == pytest.approx(psr)
    values = [m.deflated_sharpe(pnl, n_trials=n) for n in (1, 10, 100, 1000)]
    assert values == sorted(values, reverse=True) and values[-1] < values[0]
    # Bailey & Lopez de Prado: expected max of N=1000 unit-variance trials is ~3.26
    sr0 = (1 - m.EULER_GAMMA) * stats.norm.ppf(1 - 1e-3) + m.EULER_GAMMA * stats.norm.ppf(
        1 - 1e-3 / math.e
    )
    assert sr0 == pytest.approx(3.26, abs=0.01)


def test_diebold_mariano_matches_statsmodels_hac() -> None:
    sm = pytest.importorskip("statsmodels.api")
    rng = np.random.default_rng(2)
    e = rng.normal(size=600)
    d = 0.1 + np.convolve(e, [1.0, 0.6, 0.3], mode="same")  # autocorrelated loss differential
    lags = m.newey_west_lag(len(d))
    fit = sm.OLS(d, np.ones(len(d))).fit(
        cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": False}
    )
    stat, p = m.diebold_mariano(d, np.zeros_like(d), lags)
    assert stat == pytest.approx(float(fit.tvalues[0]), rel=1e-10)
    assert p == pytest.approx(float(fit.pvalues[0]), rel=1e-8)
    same, p_same = m.diebold_mariano(e, e + 0.0 * e)
    assert math.isnan(same) and math.isnan(p_same)


def test_ewma_recursion_by_hand() -> None:
    r = np.array([0.01, -0.02, 0.0])
    v = ewma_variance(r, lam=0.9, init=1e-4)
    v0 = 0.9 * 1e-4 + 0.1 * 1e-4
    v1 = 0.9 * v0 + 0.1 * 4e-4
    np.testing.assert_allclose(v, [v0, v1, 0.9 * v1])


def test_garch_matches_arch_on_training_window() -> None:
    rng = np.random.default_rng(3)
    r = rng.standard_t(6, 1500) * 0.01
    anchors = np.arange(1000, 1400)
    ours = garch_variance(r, 200, 1000, anchors)
    res = arch_model(r[200:1400] * 100, mean="Zero", vol="GARCH", p=1, q=1, rescale=False).fit(
        last_obs=800, disp="off"
    )
    # hand filter with the fitted parameters: sigma2[t+1] = w + a r[t]^2 + b sigma2[t]
    w, a, b = res.params["omega"], res.params["alpha[1]"], res.params["beta[1]"]
    cond = res.conditional_volatility**2
    x = r[200:1400] * 100
    hand = np.empty(len(x))
    s2 = cond[0]
    for t in range(len(x)):
        s2 = s2 if t == 0 else w + a * x[t - 1] ** 2 + b * s2
        hand[t] = w + a * x[t] ** 2 + b * s2
    np.testing.assert_allclose(ours, hand[anchors - 200] / 1e4, rtol=1e-6)


def test_momentum_positions_are_causal() -> None:
    r = np.array([0.01, 0.02, -0.05, 0.01, 0.01, 0.01])
    var = np.full(3, 1e-4)
    u = momentum_positions(r, np.array([2, 3, 5]), 2, var, vol_target=0.02)
    # sums of r[1:3], r[2:4], r[4:6]: -0.03, -0.04, 0.02; vol scale min(1, 0.02/0.01) = 1
    np.testing.assert_allclose(u, [-1.0, -1.0, 1.0])
