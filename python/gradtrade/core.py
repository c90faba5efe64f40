"""The public API of gradtrade's Rust extension.

Import from here, never from ``gradtrade._core``. Everything listed is implemented in Rust
(``rust/``) and typed in ``_core.pyi``; errors are the classes of ``gradtrade.errors``.
"""

from __future__ import annotations

from gradtrade._core import __version__ as core_version
from gradtrade.errors import (
    BookNotSynced,
    GradtradeError,
    InvalidInput,
    InvalidTransition,
    NumericalError,
    Overfill,
    SequenceGap,
)

# --- orderbook ---
# isort: split
from gradtrade._core import Market, OrderBook

# --- kalman ---
# isort: split
from gradtrade._core import KalmanFilter, KalmanFit

# --- features ---
# isort: split
from gradtrade._core import Ewma, RollingVolatility, StreamingFeatures

# --- risk ---

# --- orders ---

__all__ = [  # noqa: RUF022 (grouped by section, one per engineer)
    "BookNotSynced",
    "GradtradeError",
    "InvalidInput",
    "InvalidTransition",
    "NumericalError",
    "Overfill",
    "SequenceGap",
    "core_version",
    # --- orderbook ---
    "Market",
    "OrderBook",
    # --- kalman ---
    "KalmanFilter",
    "KalmanFit",
    # --- features ---
    "Ewma",
    "RollingVolatility",
    "StreamingFeatures",
    # --- risk ---
    # --- orders ---
]
