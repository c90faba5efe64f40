"""The model layer: a Neural ODE of market dynamics and a recurrent baseline with its interface.

``DynamicalSystem(state, time_horizon, t_context) -> Trajectory`` predicts the state X_hat and
positive variances sigma^2 at each target time; ``model.position(trajectory)`` is the trading
position u_t in [-1, 1]; ``model.decide(window)`` is the live path.
"""

from __future__ import annotations

from gradtrade.model.base import ContextEncoder, Decision, ForecastModel, Policy, Trajectory
from gradtrade.model.dynamics import DynamicalSystem, SolverOptions, VectorField
from gradtrade.model.recurrent import RecurrentBaseline

__all__ = [
    "ContextEncoder",
    "Decision",
    "DynamicalSystem",
    "ForecastModel",
    "Policy",
    "RecurrentBaseline",
    "SolverOptions",
    "Trajectory",
    "VectorField",
]
