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

# --- kalman ---
# isort: split
from gradtrade._core import KalmanFilter, KalmanFit

# --- features ---
# isort: split
from gradtrade._core import Ewma, RollingVolatility, StreamingFeatures

# --- risk ---
# isort: split
from gradtrade._core import (
    Decision,
    DrawdownBreaker,
    PositionSizer,
    RejectReason,
    RiskEngine,
    RiskLimits,
    SymbolFilters,
    TradingState,
    kelly_leverage,
    vol_target_leverage,
)

# --- orders ---
# isort: split
from gradtrade._core import (
    Order,
    OrderStatus,
    OrderType,
    Position,
    Side,
    TimeInForce,
    client_order_id,
    parse_client_order_id,
    transition_allowed,
)

__all__ = [  # noqa: RUF022 (grouped by section, see the markers)
    "BookNotSynced",
    "GradtradeError",
    "InvalidInput",
    "InvalidTransition",
    "NumericalError",
    "Overfill",
    "SequenceGap",
    "core_version",
    # --- orderbook ---
    # --- kalman ---
    "KalmanFilter",
    "KalmanFit",
    # --- features ---
    "Ewma",
    "RollingVolatility",
    "StreamingFeatures",
    # --- risk ---
    "Decision",
    "DrawdownBreaker",
    "PositionSizer",
    "RejectReason",
    "RiskEngine",
    "RiskLimits",
    "SymbolFilters",
    "TradingState",
    "kelly_leverage",
    "vol_target_leverage",
    # --- orders ---
    "Order",
    "OrderStatus",
    "OrderType",
    "Position",
    "Side",
    "TimeInForce",
    "client_order_id",
    "parse_client_order_id",
    "transition_allowed",
]
