"""Benchmarks every model must beat: variance forecasts and simple strategies.

Everything here is causal: a forecast or position for bar t+1 uses returns up to bar t only, and
GARCH parameters are fitted on the training window alone (``arch``'s ``last_obs``), then filtered
forward through the test period with those fixed parameters.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from arch import arch_model

PCT = 100.0  # arch is fitted on percent returns for numerical conditioning


def ewma_variance(returns: np.ndarray, lam: float = 0.94, init: float | None = None) -> np.ndarray:
    """RiskMetrics: v[t] = forecast of r[t+1]^2 made at t = lam v[t-1] + (1 - lam) r[t]^2."""
    r = np.asarray(returns, dtype=np.float64)
    v = np.empty(len(r))
    prev = float(np.var(r[: min(len(r), 500)])) if init is None else init
    for t, x in enumerate(r):
        prev = lam * prev + (1.0 - lam) * x * x
        v[t] = prev
    return v


def garch_variance(
    returns: np.ndarray, fit_lo: int, fit_hi: int, anchors: np.ndarray
) -> np.ndarray:
    """GARCH(1,1), zero mean, fitted on returns[fit_lo:fit_hi]; forecasts of r[a+1]^2 at a."""
    r = np.asarray(returns[fit_lo : int(anchors.max()) + 1], dtype=np.float64) * PCT
    model = arch_model(r, mean="Zero", vol="GARCH", p=1, q=1, rescale=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = model.fit(last_obs=fit_hi - fit_lo, disp="off")
        fc = res.forecast(horizon=1, start=int(anchors.min()) - fit_lo, reindex=False)
    var = np.asarray(fc.variance.iloc[:, 0].to_numpy(), dtype=np.float64)
    return var[anchors - anchors.min()] / PCT**2


def vol_scale(var: np.ndarray, vol_target: float) -> np.ndarray:
    """min(1, target / sigma): the position size that targets ``vol_target`` per bar."""
    return np.minimum(1.0, vol_target / np.sqrt(var))


def momentum_positions(
    returns: np.ndarray, anchors: np.ndarray, lookback: int, var: np.ndarray, vol_target: float
) -> np.ndarray:
    """Time-series momentum: sign of the past ``lookback`` bars' return, volatility targeted."""
    csum = np.concatenate([[0.0], np.cumsum(returns)])
    past = csum[anchors + 1] - csum[np.maximum(anchors + 1 - lookback, 0)]
    return np.sign(past) * vol_scale(var, vol_target)


def strategy_pnl(
    position: np.ndarray,
    next_log_return: np.ndarray,
    cost: float,
    funding: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Net and gross per-bar simple returns and turnover of exact fixed-fraction rebalancing.

    The one accounting definition, shared with the engine's ``PortfolioTracker`` (the backtest
    parity test holds them to 1e-9). At each anchor t the account, worth E_t, holds the weight
    w_t it drifted to and trades to the target fraction u_t of E_t, paying ``cost`` per unit of
    notional traded; over the next bar the holding earns the simple return R and pays funding
    ``f`` on its value at the start of the bar::

        turn_t = |u_t - w_t|,   r_t = u_t R_{t+1} - u_t f_{t+1} - cost * turn_t
        w_{t+1} = u_t (1 + R_{t+1}) / (1 + r_t),   w_0 = 0 (flat before trading)

    Equity compounds as prod(1 + r_t). Until 2026-12 this charged ``cost * |u_t - u_{t-1}|``,
    ignoring the drift of the weight over the bar; the drift term makes the turnover (and the
    costs) of a constant target non-zero. Gross is before costs, after funding.
    """
    u = np.asarray(position, dtype=np.float64)
    simple = np.expm1(np.asarray(next_log_return, dtype=np.float64))
    paid = np.zeros_like(u) if funding is None else u * np.asarray(funding, dtype=np.float64)
    gross = u * simple - paid
    turn = np.empty_like(u)
    net = np.empty_like(u)
    held = 0.0
    # The recursion runs through the cost only (w_{t+1} needs r_t), so it is a loop over bars;
    # plain floats keep it at ~0.3 us per bar.
    for t, (ut, gt, st) in enumerate(zip(u.tolist(), gross.tolist(), simple.tolist(), strict=True)):
        tr = abs(ut - held)
        rt = gt - cost * tr
        turn[t], net[t] = tr, rt
        held = ut * (1.0 + st) / (1.0 + rt) if rt != -1.0 else 0.0
    return net, gross, turn


def baseline_positions(
    returns: np.ndarray,
    anchors: np.ndarray,
    ewma_var: np.ndarray,
    vol_target: float,
    lookbacks: list[int],
) -> dict[str, np.ndarray]:
    """Positions at each anchor for buy-and-hold, vol-targeted B&H and momentum lookbacks."""
    out = {
        "buy_and_hold": np.ones(len(anchors)),
        "vol_target_bh": vol_scale(ewma_var, vol_target),
    }
    for lb in lookbacks:
        label = f"{lb // 24}d" if lb % 24 == 0 else f"{lb}b"
        out[f"tsmom_{label}"] = momentum_positions(returns, anchors, lb, ewma_var, vol_target)
    return out


def annual_to_bar(vol_annual: float, periods_per_year: float) -> float:
    return vol_annual / math.sqrt(periods_per_year)
