"""The fill-model protocol of the simulated venue, and the evaluation's close-fill model.

A fill model answers one question per order and bar: at what price, for how much and at what
fee rate does this order execute against this bar? The venue (``execution.simulated``) owns the
orders and their life; the model owns only that arithmetic, so the Rust candle model (next-open
fill plus half-spread plus impact, limits filled when traded through, capped by a share of
the bar's volume) plugs in behind the same protocol.

``CloseFill`` is the accounting convention of ``gradtrade evaluate`` and nothing more: a market
order decided at a bar's close fills at that close and pays a flat ``cost_bps`` of its notional
(fees and spread together), so that a backtest configured with it reproduces the evaluation.
It is optimistic (nobody trades at the close they just observed); use it for parity checks and
cost sweeps, not as an estimate of live results. Its protective orders trigger when the bar
trades through the level and fill at the level, or at the open when the bar gapped past it;
when one bar reaches both levels the stop-loss is assumed to have traded first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from gradtrade.core import Side
from gradtrade.errors import InvalidInput
from gradtrade.events import Bar, Liquidity


@dataclass(frozen=True, slots=True)
class FillQuote:
    price: float
    qty: float
    fee_rate: float  # fraction of notional
    liquidity: Liquidity


@runtime_checkable
class FillModel(Protocol):
    # True: a market order fills against the bar it was decided on (at its close); False: it
    # waits for the next bar
    immediate: bool

    def market(self, side: Side, qty: float, bar: Bar) -> FillQuote | None: ...

    def triggered(
        self, side: Side, qty: float, trigger: float, stop_loss: bool, bar: Bar
    ) -> FillQuote | None:
        """A protective order's fill in ``bar`` (None when the bar does not reach it)."""
        ...


class CloseFill:
    """Fill at the decision bar's close with a flat cost (the evaluation's assumption)."""

    immediate = True

    def __init__(self, cost_bps: float) -> None:
        if not (math.isfinite(cost_bps) and 0 <= cost_bps < 10_000):
            raise InvalidInput(f"cost_bps must lie in [0, 10000), got {cost_bps}")
        self.cost_bps = cost_bps
        self.rate = cost_bps * 1e-4

    def market(self, side: Side, qty: float, bar: Bar) -> FillQuote:
        return FillQuote(bar.close, qty, self.rate, Liquidity.TAKER)

    def triggered(
        self, side: Side, qty: float, trigger: float, stop_loss: bool, bar: Bar
    ) -> FillQuote | None:
        # A sell protects a long: its stop-loss sits below the price, its take-profit above.
        below = (side == Side.SELL) == stop_loss
        if below:
            if bar.low > trigger:
                return None
            price = min(bar.open, trigger)
        else:
            if bar.high < trigger:
                return None
            price = max(bar.open, trigger)
        return FillQuote(price, qty, self.rate, Liquidity.TAKER)


__all__ = ["CloseFill", "FillModel", "FillQuote"]
