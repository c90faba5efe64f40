"""Forecast and strategy metrics, each a small pure function on NumPy arrays.

Conventions: ``pnl`` is the per-bar simple return of a strategy after costs; Sharpe and Sortino are
annualized with ``periods_per_year``; variance forecasts ``var`` target the squared next-bar return.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

EULER_GAMMA = 0.5772156649015329


def r2_oos(pred: np.ndarray, actual: np.ndarray) -> float:
    """Out-of-sample R^2 against the zero (random-walk) forecast (Campbell & Thompson 2008)."""
    return float(1.0 - np.sum((actual - pred) ** 2) / np.sum(actual**2))


def hit_rate(pred: np.ndarray, actual: np.ndarray) -> float:
    """Share of bars where the predicted sign is right (bars with a zero on either side skipped)."""
    mask = (pred != 0) & (actual != 0)
    return float(np.mean(np.sign(pred[mask]) == np.sign(actual[mask]))) if mask.any() else math.nan


def qlike_losses(var: np.ndarray, actual: np.ndarray) -> np.ndarray:
    """QLIKE per bar, log(var) + r^2 / var (Patton 2011): robust to noisy variance proxies.

    It differs from r^2/var - log(r^2/var) - 1 only by a term in r alone, so it ranks forecasts
    identically and stays finite when r = 0.
    """
    return np.log(var) + actual**2 / var


def gaussian_nll_losses(mean: np.ndarray, var: np.ndarray, actual: np.ndarray) -> np.ndarray:
    return 0.5 * (np.log(2 * np.pi) + np.log(var) + (actual - mean) ** 2 / var)


def sharpe(pnl: np.ndarray, periods_per_year: float) -> float:
    sd = np.std(pnl, ddof=1)
    return float(np.mean(pnl) / sd * math.sqrt(periods_per_year)) if sd > 0 else math.nan


def sortino(pnl: np.ndarray, periods_per_year: float) -> float:
    """Mean over downside deviation (root mean square of the negative part, target 0)."""
    downside = math.sqrt(float(np.mean(np.minimum(pnl, 0.0) ** 2)))
    return (
        float(np.mean(pnl) / downside * math.sqrt(periods_per_year)) if downside > 0 else math.nan
    )


def max_drawdown(pnl: np.ndarray) -> float:
    """Largest peak-to-trough loss of the compounded equity curve, as a positive fraction."""
    equity = np.cumprod(1.0 + pnl)
    peak = np.maximum.accumulate(np.concatenate([[1.0], equity]))[1:]
    return float(np.max(1.0 - equity / peak)) if len(pnl) else 0.0


def turnover(position: np.ndarray, start: float = 0.0) -> np.ndarray:
    """|u_t - u_{t-1}| per bar, the first against ``start`` (flat before trading)."""
    return np.abs(np.diff(position, prepend=start))


def break_even_cost_bps(gross_pnl: np.ndarray, turnover_per_bar: np.ndarray) -> float:
    """Cost per unit turnover (bps) at which the mean net PnL is zero; inf if it never trades."""
    traded = float(np.mean(turnover_per_bar))
    return float(np.mean(gross_pnl) / traded * 1e4) if traded > 0 else math.inf


def sharpe_standard_error(sharpe_annual: float, n: int, periods_per_year: float) -> float:
    """Lo (2002) standard error under IID returns: sqrt((1 + SR^2 / 2) / n) per period,
    then annualized."""
    sr = sharpe_annual / math.sqrt(periods_per_year)
    return math.sqrt((1.0 + 0.5 * sr**2) / n) * math.sqrt(periods_per_year)


def deflated_sharpe(
    pnl: np.ndarray, *, n_trials: int, trial_sharpes: np.ndarray | None = None
) -> float:
    """Deflated Sharpe ratio (Bailey & Lopez de Prado 2014): P(true SR > 0) after selection.

    The benchmark SR0 is the expected maximum of ``n_trials`` unskilled Sharpe ratios with the
    variance of the tried ones (per period; Lo's IID variance when no trials are given). With one
    trial SR0 = 0 and this is the probabilistic Sharpe ratio.
    """
    n = len(pnl)
    sd = np.std(pnl, ddof=1)
    if n < 3 or sd == 0:
        return math.nan
    sr = float(np.mean(pnl) / sd)
    skew = float(stats.skew(pnl))
    kurt = float(stats.kurtosis(pnl, fisher=False))
    if n_trials > 1:
        if trial_sharpes is not None and len(trial_sharpes) > 1:
            var_sr = float(np.var(trial_sharpes, ddof=1))
        else:
            var_sr = (1.0 + 0.5 * sr**2) / n
        sr0 = math.sqrt(var_sr) * (
            (1 - EULER_GAMMA) * stats.norm.ppf(1 - 1.0 / n_trials)
            + EULER_GAMMA * stats.norm.ppf(1 - 1.0 / (n_trials * math.e))
        )
    else:
        sr0 = 0.0
    denom = math.sqrt(max(1e-12, 1 - skew * sr + (kurt - 1) / 4 * sr**2))
    return float(stats.norm.cdf((sr - sr0) * math.sqrt(n - 1) / denom))


def newey_west_lag(n: int) -> int:
    return math.floor(4 * (n / 100.0) ** (2.0 / 9.0))


def long_run_variance(d: np.ndarray, lags: int) -> float:
    """Newey-West (Bartlett kernel) long-run variance of a series (autocovariances over n)."""
    x = d - d.mean()
    n = len(x)
    lrv = float(x @ x) / n
    for k in range(1, lags + 1):
        lrv += 2 * (1 - k / (lags + 1)) * float(x[k:] @ x[:-k]) / n
    return lrv


def diebold_mariano(
    loss_a: np.ndarray, loss_b: np.ndarray, lags: int | None = None
) -> tuple[float, float]:
    """DM statistic and two-sided p-value for equal expected loss, HAC (Newey-West) variance.

    Negative statistics mean forecast A has the smaller loss.
    """
    d = np.asarray(loss_a, dtype=np.float64) - np.asarray(loss_b, dtype=np.float64)
    n = len(d)
    lags = newey_west_lag(n) if lags is None else lags
    lrv = long_run_variance(d, lags)
    if lrv <= 0:
        return math.nan, math.nan
    stat = float(d.mean() / math.sqrt(lrv / n))
    return stat, float(2 * stats.norm.sf(abs(stat)))
