"""``RiskManager``: a strategy's decision -> a safe target position, and the pre-trade check.

Invariants:

* One breaker: the manager's ``core.DrawdownBreaker``, fed every equity mark. ACTIVE trades to
  the sized target; REDUCING only lets |position| shrink (the target is clipped toward zero and
  orders go out reduce-only); HALTED targets flat and blocks new exposure until an explicit
  ``reset_breaker``. The ``core.RiskEngine`` inside is used for its pure limit checks only; its
  own breaker is never fed, so a flattening order in HALTED passes (as a reduce-only order).
* Sizing is exactly one of ``RiskConfig.sizing`` (see ``risk.config``): never two scalings.
  Quantities are rounded toward zero to the step, so no cap is ever exceeded by rounding.
* A decision the manager cannot size (NaN/inf u_raw, or a forecast-based mode without a finite
  positive variance) is a ``SizingSkip`` with a typed reason, not an exception.
* ``pre_trade`` never raises for a rejection: the typed ``RejectReason`` is logged and counted,
  and an approved order is recorded against the order-rate window (check, then record).
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass
from enum import Enum

from gradtrade.core import Decision as CheckResult
from gradtrade.core import (
    DrawdownBreaker,
    PositionSizer,
    RejectReason,
    RiskEngine,
    RiskLimits,
    Side,
    SymbolFilters,
    TradingState,
    vol_target_leverage,
)
from gradtrade.errors import InvalidInput
from gradtrade.events import Decision, fast_frozen_init
from gradtrade.risk.config import RiskConfig

log = logging.getLogger("gradtrade.risk")


class SkipReason(Enum):
    NON_FINITE_DECISION = "non_finite_decision"
    NO_FORECAST = "no_forecast"  # kelly / vol_target need a finite positive variance
    BAD_MARKET = "bad_market"  # no positive finite price or equity to size against


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class SizingSkip:
    reason: SkipReason
    message: str


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class Target:
    """The position the account should hold, after sizing, caps, rounding and the breaker."""

    qty: float  # signed base units, a multiple of the step
    leverage: float  # the sized fraction of equity before rounding (signed)
    state: TradingState
    reduce_only: bool
    stop_loss: float | None = None
    take_profit: float | None = None


_target = Target._unchecked  # type: ignore[attr-defined]  # (no checks: sized here)


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class OrderCheck:
    """What the pre-trade check needs to know about one order and the account."""

    side: Side
    qty: float
    price: float
    mid: float
    position: float
    open_orders: int
    equity: float
    now_ns: int
    reduce_only: bool = False


def floor_to_step(value: float, step: float) -> float:
    """|value| rounded down to a multiple of ``step`` (values within 1e-9 step snap up)."""
    steps = math.floor(abs(value) / step + 1e-9)
    return math.copysign(steps * step, value) if steps else 0.0


class RiskManager:
    """Sizing, breaker and pre-trade limits of one symbol."""

    def __init__(
        self, config: RiskConfig, filters: SymbolFilters, *, periods_per_year: float
    ) -> None:
        self.config = config
        self.filters = filters
        self.vol_target = config.vol_target_per_bar(periods_per_year)
        lim = config.limits
        self.engine = RiskEngine(
            RiskLimits(
                max_order_notional=lim.max_order_notional,
                max_position=lim.max_position,
                # the sized leverage is already capped; the check allows fee-sized slack
                max_leverage=config.max_leverage * 1.01,
                max_open_orders=lim.max_open_orders,
                max_orders_per_second=lim.max_orders_per_second,
                price_band_bps=lim.price_band_bps,
                reduce_drawdown=config.reduce_drawdown,
                halt_drawdown=config.halt_drawdown,
            ),
            filters,
        )
        self.breaker = DrawdownBreaker(config.reduce_drawdown, config.halt_drawdown)
        s = config.stops
        self.sizer = PositionSizer(
            filters,
            kelly_fraction=config.kelly_fraction,
            target_vol=self.vol_target,
            max_leverage=config.max_leverage,
            k_sl=s.stop_loss,
            k_tp=s.take_profit,
        )
        self.rejections: Counter[RejectReason] = Counter()
        self.skips: Counter[SkipReason] = Counter()

    @property
    def state(self) -> TradingState:
        return self.breaker.state

    def update_equity(self, equity: float) -> TradingState:
        breaker = self.breaker
        before = breaker.state
        state = breaker.update(equity)
        if state != before:
            log.warning(
                "breaker %s -> %s at drawdown %.2f%% (equity %.2f, high-water mark %.2f)",
                _name(before),
                _name(state),
                100 * self.breaker.drawdown,
                equity,
                self.breaker.high_water_mark,
            )
        return state

    def reset_breaker(self, equity: float | None = None) -> None:
        """Leave REDUCING/HALTED: only ever on purpose, never because equity recovered."""
        self.breaker.reset(equity)
        log.warning("breaker reset to ACTIVE (equity %s)", equity)

    def _leverage(self, decision: Decision) -> float | SizingSkip:
        cfg = self.config
        if not math.isfinite(decision.u_raw):
            return SizingSkip(SkipReason.NON_FINITE_DECISION, f"u_raw is {decision.u_raw}")
        if cfg.sizing == "policy":
            return decision.u_raw
        var = decision.var
        if not (math.isfinite(var) and var > 0 and math.isfinite(decision.mean)):
            return SizingSkip(
                SkipReason.NO_FORECAST,
                f"{cfg.sizing} sizing needs a finite forecast, got mean={decision.mean} var={var}",
            )
        sigma = math.sqrt(var)
        if cfg.sizing == "kelly":
            mu = math.expm1(decision.mean + 0.5 * var)  # E[simple return] under lognormality
            return self.sizer.leverage(mu, sigma)
        return math.copysign(vol_target_leverage(self.vol_target, sigma), decision.u_raw) * (
            decision.u_raw != 0.0
        )

    def target(
        self, decision: Decision, *, equity: float, position: float, price: float
    ) -> Target | SizingSkip:
        """Size ``decision`` for an account of ``equity`` holding ``position`` at ``price``."""
        if not (math.isfinite(price) and price > 0 and math.isfinite(equity)):
            return self._skip(SizingSkip(SkipReason.BAD_MARKET, f"price={price} equity={equity}"))
        lev = self._leverage(decision)
        if isinstance(lev, SizingSkip):
            return self._skip(lev)
        cfg = self.config
        lev = max(-cfg.max_leverage, min(cfg.max_leverage, lev))
        if not cfg.allow_short:
            lev = max(lev, 0.0)
        qty = floor_to_step(lev * max(equity, 0.0) / price, self.filters.step_size)
        state = self.breaker.state
        if state == TradingState.HALTED:
            qty = 0.0
        elif state == TradingState.REDUCING:
            qty = (
                math.copysign(min(abs(qty), abs(position)), position) if qty * position > 0 else 0.0
            )
        if self.within_deadband(qty, position, price, equity):
            qty = position
        sl, tp = self._stops(qty, price, decision.var)
        return _target(qty, lev, state, state != TradingState.ACTIVE, sl, tp)

    def within_deadband(self, target: float, position: float, price: float, equity: float) -> bool:
        """A rebalance smaller than ``min_rebalance`` of equity, not worth its costs (a move to
        flat always goes through)."""
        band = self.config.min_rebalance
        return band > 0 and target != 0 and abs(target - position) * price < band * equity

    def _stops(self, qty: float, entry: float, var: float) -> tuple[float | None, float | None]:
        s = self.config.stops
        if qty == 0 or s.mode == "none":
            return None, None
        side = Side.BUY if qty > 0 else Side.SELL
        if s.mode == "sigma":
            if not (math.isfinite(var) and var > 0):
                return None, None
            sl, tp = self.sizer.stops(side, entry, math.sqrt(var))
            return sl, tp
        tick, sign = self.filters.tick_size, side.sign
        sl = entry * (1 - sign * s.stop_loss / 100)
        tp = entry * (1 + sign * s.take_profit / 100)
        # toward the entry: a smaller loss, a profit taken sooner
        sl_r = (math.ceil(sl / tick - 1e-9) if sign > 0 else math.floor(sl / tick + 1e-9)) * tick
        tp_r = (math.floor(tp / tick + 1e-9) if sign > 0 else math.ceil(tp / tick - 1e-9)) * tick
        return (sl_r if sl_r > 0 else None), tp_r

    def _skip(self, skip: SizingSkip) -> SizingSkip:
        self.skips[skip.reason] += 1
        log.info("decision skipped (%s): %s", skip.reason.value, skip.message)
        return skip

    def check(self, order: OrderCheck) -> CheckResult:
        """The pure pre-trade check (records nothing)."""
        return self.engine.check(
            order.side,
            order.qty,
            order.price,
            order.mid,
            order.position,
            order.open_orders,
            order.equity,
            order.now_ns,
            order.reduce_only,
        )

    def pre_trade(self, order: OrderCheck) -> CheckResult:
        """``check``; a rejection is logged and counted, an approval recorded for the rate."""
        result = self.check(order)
        if result.approved:
            self.engine.record_order(order.now_ns)
        else:
            reason = result.reason
            if reason is None:  # a rejected Decision always has a reason; guard the invariant
                raise InvalidInput("risk engine rejected an order without a reason")
            self.rejections[reason] += 1
            log.warning("order rejected (%s): %s", _name(reason), result.message)
        return result


def _name(value: object) -> str:
    return str(value).rsplit(".", 1)[-1]


__all__ = [
    "OrderCheck",
    "RiskManager",
    "SizingSkip",
    "SkipReason",
    "Target",
    "floor_to_step",
]
