"""Execution: orders toward a target, the venue protocol, the simulated venue, the portfolio."""

from __future__ import annotations

from gradtrade.execution.client import (
    Ack,
    Canceled,
    ExecutionClient,
    ExecutionEvent,
    OrderRequest,
    VenueReject,
    VenueRejectReason,
)
from gradtrade.execution.config import ExecutionConfig
from gradtrade.execution.fill_model import CandleModel, FillModel, FillQuote, WalkBookModel
from gradtrade.execution.ladder import Ladder, LadderConfig, candle_ladder
from gradtrade.execution.orders import OrderManager, Plan, Proposal
from gradtrade.execution.portfolio import Costs, PortfolioTracker
from gradtrade.execution.simulated import SimulatedVenue

__all__ = [
    "Ack",
    "Canceled",
    "CandleModel",
    "Costs",
    "ExecutionClient",
    "ExecutionConfig",
    "ExecutionEvent",
    "FillModel",
    "FillQuote",
    "Ladder",
    "LadderConfig",
    "OrderManager",
    "OrderRequest",
    "Plan",
    "PortfolioTracker",
    "Proposal",
    "SimulatedVenue",
    "VenueReject",
    "VenueRejectReason",
    "WalkBookModel",
    "candle_ladder",
]
