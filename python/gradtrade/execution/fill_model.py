"""The fill-model protocol of the simulated venue, and its candle implementation in Rust.

A fill model answers one question per order and bar: at what price, for how much and at what
fee does this order execute against this bar? The venue (``execution.simulated``) owns the
orders and their life; the model owns only that arithmetic, so another model (the L2 venue's)
plugs in behind the same protocol.

``CandleModel`` delegates every rule to ``core.CandleFillConfig`` (``rust/sim/candle.rs``, each
assumption a documented field): market orders decided at a bar's close fill at the next bar's
open (``fill_at="next_open"``) or at that close (``"decision_close"``, the evaluation's
convention, for parity checks), moved by the half spread plus the impact
``impact_k * sigma * sqrt(q / V)``, at the taker fee; resting limits fill only when the bar
trades through them, at most ``max_volume_share`` of its volume, at the maker fee; protective
stops fill at the level or at the open after a gap, stop-loss first when one bar reaches both.
``sigma`` is the per-bar volatility known at the decision: an EWMA (decay 0.94) of the squared
close-to-close log returns of the bars the venue has seen, updated after each bar's orders
were matched (so a bar never informs its own fills).

``WalkBookModel`` ("walk the book" over candles) fills a market order against the ladder book of
the bar it was decided on (``execution.ladder``: the same book the local exchange's bar-stepped
replay shows), level by level, each level its own fill at the taker fee; what the ladder cannot
absorb is left unfilled (the venue expires it, as Binance expires a MARKET order's rest). Limits
and protective stops are the candle model's, at the decision bar's close, with the same fees.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from gradtrade.core import Bar as CoreBar
from gradtrade.core import CandleFill, CandleFillConfig, FillAt, FillReason, Side, SymbolFilters
from gradtrade.core import Liquidity as CoreLiquidity
from gradtrade.errors import InvalidInput
from gradtrade.events import Bar, Liquidity
from gradtrade.execution.ladder import Ladder, LadderConfig, candle_ladder, walk

EWMA_DECAY = 0.94


@dataclass(frozen=True, slots=True)
class FillQuote:
    price: float
    qty: float
    fee: float  # quote asset
    liquidity: Liquidity
    stop_loss: bool = False  # which protective level produced it (protective fills only)
    # (price, qty, fee) per book level when the quote is several fills (a walk of the book):
    # price and qty are then the totals' VWAP and sum, fee the total
    levels: tuple[tuple[float, float, float], ...] = ()


@runtime_checkable
class FillModel(Protocol):
    # True: a market order fills against the bar it was decided on (at its close); False: it
    # waits for the next bar
    immediate: bool

    def market(self, side: Side, qty: float, bar: Bar) -> FillQuote: ...

    def limit(self, side: Side, price: float, qty: float, bar: Bar) -> FillQuote | None:
        """A resting limit's (possibly partial) fill in ``bar``; None when not traded through."""
        ...

    def protective(
        self,
        position_side: Side,
        qty: float,
        bar: Bar,
        stop_loss: float | None,
        take_profit: float | None,
    ) -> FillQuote | None:
        """The exit of a position by its stop-loss or take-profit in ``bar``, if reached."""
        ...

    def observe(self, bar: Bar) -> None:
        """Called after ``bar``'s orders were matched (models with state update it here)."""
        ...


def _bar(bar: Bar) -> CoreBar:
    return CoreBar(bar.open, bar.high, bar.low, bar.close, bar.volume)


_LIQ = {CoreLiquidity.MAKER: Liquidity.MAKER, CoreLiquidity.TAKER: Liquidity.TAKER}


def _quote(fill: CandleFill) -> FillQuote:
    return FillQuote(
        fill.price, fill.qty, fill.fee, _LIQ[fill.liquidity], fill.reason == FillReason.STOP_LOSS
    )


class CandleModel:
    """``FillModel`` over the Rust candle model, with the causal sigma it needs."""

    def __init__(self, config: CandleFillConfig) -> None:
        self.config = config
        self.immediate = config.fill_at == FillAt.DECISION_CLOSE
        self._last_close: float | None = None
        self._var: float | None = None

    @property
    def sigma(self) -> float:
        return math.sqrt(self._var) if self._var is not None else 0.0

    def observe(self, bar: Bar) -> None:
        if self._last_close is not None:
            r2 = math.log(bar.close / self._last_close) ** 2
            self._var = r2 if self._var is None else EWMA_DECAY * self._var + (1 - EWMA_DECAY) * r2
        self._last_close = bar.close

    def market(self, side: Side, qty: float, bar: Bar) -> FillQuote:
        return _quote(self.config.market_fill(side, qty, _bar(bar), self.sigma))

    def limit(self, side: Side, price: float, qty: float, bar: Bar) -> FillQuote | None:
        fill = self.config.limit_fill(side, price, qty, _bar(bar), self.sigma)
        return None if fill is None else _quote(fill)

    def protective(
        self,
        position_side: Side,
        qty: float,
        bar: Bar,
        stop_loss: float | None,
        take_profit: float | None,
    ) -> FillQuote | None:
        fill = self.config.protective_fill(
            position_side, qty, _bar(bar), self.sigma, stop_loss=stop_loss,
            take_profit=take_profit,
        )  # fmt: skip
        return None if fill is None else _quote(fill)


def walk_quote(
    book: Ladder, side: Side, qty: float, step: float, taker_fee_rate: float, close: float
) -> FillQuote:
    """A market order walking ``book`` level by level (``ladder.walk``): one taker fill per
    level; nothing fillable quotes zero quantity at ``close``."""
    fills = walk(book, side, qty, step)
    levels = tuple((p, q, p * q * taker_fee_rate) for p, q in fills)
    total = sum(q for _, q, _ in levels)
    if total <= 0:
        return FillQuote(close, 0.0, 0.0, Liquidity.TAKER)
    vwap = sum(p * q for p, q, _ in levels) / total
    fee = sum(fee for _, _, fee in levels)
    return FillQuote(vwap, total, fee, Liquidity.TAKER, levels=levels)


class WalkBookModel:
    """``FillModel``: market orders walk the decision bar's ladder (see the module docstring)."""

    immediate = True

    def __init__(
        self,
        ladder: LadderConfig,
        filters: dict[str, SymbolFilters],
        taker_fee_rate: float,
        maker_fee_rate: float,
    ) -> None:
        for name, rate in (("taker_fee_rate", taker_fee_rate), ("maker_fee_rate", maker_fee_rate)):
            if not (math.isfinite(rate) and -0.01 <= rate <= 0.1):
                raise InvalidInput(f"walk-the-book {name} must be in [-0.01, 0.1], got {rate}")
        self.ladder, self.filters = ladder, filters
        self.taker_fee_rate = taker_fee_rate
        self.candle = CandleModel(
            CandleFillConfig(half_spread_bps=0.0, impact_k=0.0, taker_fee_rate=taker_fee_rate,
                             maker_fee_rate=maker_fee_rate, fill_at=FillAt.DECISION_CLOSE)
        )  # fmt: skip

    def observe(self, bar: Bar) -> None:
        self.candle.observe(bar)

    def market(self, side: Side, qty: float, bar: Bar) -> FillQuote:
        f = self.filters.get(bar.symbol)
        if f is None:
            raise InvalidInput(f"walk-the-book model has no filters for {bar.symbol}")
        book = candle_ladder(
            bar.high, bar.low, bar.close, bar.volume, f.tick_size, f.step_size, self.ladder
        )
        return walk_quote(book, side, qty, f.step_size, self.taker_fee_rate, bar.close)

    def limit(self, side: Side, price: float, qty: float, bar: Bar) -> FillQuote | None:
        return self.candle.limit(side, price, qty, bar)

    def protective(
        self,
        position_side: Side,
        qty: float,
        bar: Bar,
        stop_loss: float | None,
        take_profit: float | None,
    ) -> FillQuote | None:
        return self.candle.protective(position_side, qty, bar, stop_loss, take_profit)


__all__ = ["CandleModel", "FillModel", "FillQuote", "WalkBookModel", "walk_quote"]
