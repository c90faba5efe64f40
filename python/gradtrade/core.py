"""The public API of gradtrade's Rust extension.

Import from here, never from ``gradtrade._core``. Everything listed is implemented in Rust
(``rust/``) and typed in ``_core.pyi``; errors are the classes of ``gradtrade.errors``.

- Order book: ``OrderBook``, ``Market``.
- Filtering and features: ``KalmanFilter``, ``KalmanFit``, ``StreamingFeatures``, ``Ewma``,
  ``RollingVolatility``.
- Risk: ``RiskEngine``, ``RiskLimits``, ``SymbolFilters``, ``Decision``, ``RejectReason``,
  ``TradingState``, ``DrawdownBreaker``, ``PositionSizer``, ``kelly_leverage``,
  ``vol_target_leverage``.
- Orders: ``Order``, ``OrderStatus``, ``OrderType``, ``Side``, ``TimeInForce``, ``Position``,
  ``client_order_id``, ``parse_client_order_id``, ``transition_allowed``.
"""

from __future__ import annotations

from gradtrade._core import (
    Decision,
    DrawdownBreaker,
    Ewma,
    KalmanFilter,
    KalmanFit,
    Market,
    Order,
    OrderBook,
    OrderStatus,
    OrderType,
    Position,
    PositionSizer,
    RejectReason,
    RiskEngine,
    RiskLimits,
    RollingVolatility,
    Side,
    StreamingFeatures,
    SymbolFilters,
    TimeInForce,
    TradingState,
    client_order_id,
    kelly_leverage,
    parse_client_order_id,
    transition_allowed,
    vol_target_leverage,
)
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

__all__ = [
    "BookNotSynced",
    "Decision",
    "DrawdownBreaker",
    "Ewma",
    "GradtradeError",
    "InvalidInput",
    "InvalidTransition",
    "KalmanFilter",
    "KalmanFit",
    "Market",
    "NumericalError",
    "Order",
    "OrderBook",
    "OrderStatus",
    "OrderType",
    "Overfill",
    "Position",
    "PositionSizer",
    "RejectReason",
    "RiskEngine",
    "RiskLimits",
    "RollingVolatility",
    "SequenceGap",
    "Side",
    "StreamingFeatures",
    "SymbolFilters",
    "TimeInForce",
    "TradingState",
    "client_order_id",
    "core_version",
    "kelly_leverage",
    "parse_client_order_id",
    "transition_allowed",
    "vol_target_leverage",
]
