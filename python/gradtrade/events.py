"""What flows through the engine: market events in, decisions, intents and fills out.

The bottom layer of the trading path (it imports only ``core`` and ``errors``), so strategy,
risk, execution and the engine share one vocabulary without importing each other. Every event is
a frozen slotted dataclass validated on construction (``InvalidInput`` names the bad field), and
carries ``ts_ns``, the time it becomes known: the engine orders events by ``(ts_ns, PRIORITY)``,
so at one instant a funding payment is settled before the bar that closes then is decided on,
and timers fire last.

The per-bar objects (``Bar`` here, the engine's ``EquityPoint``, the strategy's
``StrategyContext``) are built once per event, so their constructor is on the hot path:
``fast_frozen_init`` gives such a class an ``__init__`` that sets each slot through its
descriptor (what the dataclass ``__init__`` does through ``object.__setattr__``, at a third of
the cost), then runs ``__post_init__``; the objects are the same, still frozen. Its
``_unchecked`` (no ``__post_init__``: for values checked where they were made, as the engine's
records and ``Bar.series``) fills a mutable twin class of the same slots with plain stores and
then gives the object its class, at about half the cost of that ``__init__``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from itertools import repeat
from typing import Any, TypeVar

import numpy as np

from gradtrade.core import Side
from gradtrade.errors import InvalidInput

_T = TypeVar("_T")
_INF = math.inf


def fast_frozen_init(cls: type[_T]) -> type[_T]:
    """Give a frozen slotted dataclass a faster, equivalent ``__init__``.

    Same signature (positional or keyword), same slots set, then ``__post_init__`` if defined.
    Apply it to the class the ``@dataclass`` decorator returned (slots=True makes a new one).
    The class also gets ``_unchecked``: a builder of an instance from its fields in order that
    skips ``__post_init__``, for bulk constructors that validated the values in one pass.
    """
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    names = [f.name for f in fields]
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or getattr(cls, "__slots__", None) is None:
        raise TypeError(f"{cls.__name__} is not a frozen slotted dataclass")
    if any(f.default_factory is not dataclasses.MISSING or not f.init or f.kw_only for f in fields):
        raise TypeError(f"{cls.__name__}: fast_frozen_init supports plain defaults only")
    if cls.__bases__ != (object,):  # ``_unchecked``'s twin has the layout of a direct subclass
        raise TypeError(f"{cls.__name__}: fast_frozen_init supports classes without a base only")
    scope: dict[str, Any] = {f"_set_{n}": getattr(cls, n).__set__ for n in names}
    scope["_new"], scope["_cls"] = object.__new__, cls
    signature = []
    for f in fields:  # a default is bound once, as the dataclass __init__ binds it
        has_default = f.default is not dataclasses.MISSING
        scope[f"_default_{f.name}"] = f.default
        signature.append(f"{f.name}=_default_{f.name}" if has_default else f.name)
    args, sets = ", ".join(signature), [f"    _set_{n}(self, {n})" for n in names]
    post = ["    self.__post_init__()"] if hasattr(cls, "__post_init__") else []
    # ``_unchecked`` fills a mutable twin of the same slots with plain stores (a third of the
    # descriptor calls' cost), then makes it a ``cls``: ``__class__`` may change between two
    # classes of one layout (same base, same slots in the same order)
    slots = tuple(cls.__slots__)  # type: ignore[attr-defined]
    scope["_twin"] = type(f"_{cls.__name__}Fields", (), {"__slots__": slots})
    source = "\n".join(
        [f"def __init__(self, {args}):", *sets, *post, "",
         f"def _unchecked({args}):", "    self = _new(_twin)",
         *[f"    self.{n} = {n}" for n in names], "    self.__class__ = _cls", "    return self"]
    )  # fmt: skip
    exec(source, scope)  # the dataclass module builds its __init__ the same way
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__doc__ = cls.__init__.__doc__
    cls.__init__ = init  # type: ignore[method-assign]
    cls._unchecked = staticmethod(scope["_unchecked"])  # type: ignore[attr-defined]
    return cls


def _finite(name: str, value: float, *, positive: bool = False, nonneg: bool = False) -> None:
    if not math.isfinite(value) or (positive and value <= 0) or (nonneg and value < 0):
        kind = "positive" if positive else "non-negative" if nonneg else "finite"
        raise InvalidInput(f"{name} must be {kind} and finite, got {value}")


class Liquidity(Enum):
    """Whether our order took liquidity (taker fee) or rested and was hit (maker fee)."""

    MAKER = "maker"
    TAKER = "taker"


class IntentKind(Enum):
    """Why an order exists: to reach a target position, or to protect one."""

    REBALANCE = "rebalance"
    FLATTEN = "flatten"  # the breaker halted trading, or the backtest ends
    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"


class OrderStyle(Enum):
    """How an intent is worked: cross the spread now, or rest post-only at the best price."""

    MARKET = "market"
    POST_ONLY = "post_only"
    STOP_MARKET = "stop_market"  # a protective stop: market order once the trigger trades
    TAKE_PROFIT_MARKET = "take_profit_market"


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class Bar:
    """One closed candle; ``ts_ns`` is its close time (the first instant it is known)."""

    symbol: str
    open_time_ns: int
    close_time_ns: int
    open: float
    high: float
    low: float
    close: float
    volume: float

    def __post_init__(self) -> None:
        low, high = self.low, self.high
        # NaN fails every comparison, so this one chain accepts exactly what the checks below
        # accept (all prices finite and positive, low/high bounding open and close, volume
        # finite and non-negative); only a refused bar pays for the detailed checks
        if (
            self.close_time_ns > self.open_time_ns
            and 0.0 < low <= self.open <= high < _INF
            and low <= self.close <= high
            and 0.0 <= self.volume < _INF
        ):
            return
        self._refuse()

    def _refuse(self) -> None:
        if self.close_time_ns <= self.open_time_ns:
            raise InvalidInput(
                f"bar close time {self.close_time_ns} is not after its open {self.open_time_ns}"
            )
        for name in ("open", "high", "low", "close"):
            _finite(f"bar.{name}", getattr(self, name), positive=True)
        _finite("bar.volume", self.volume, nonneg=True)
        if not (self.low <= min(self.open, self.close) and self.high >= max(self.open, self.close)):
            raise InvalidInput(
                f"bar at {self.open_time_ns}: low {self.low} / high {self.high} do not bound "
                f"open {self.open} and close {self.close}"
            )

    @property
    def ts_ns(self) -> int:
        return self.close_time_ns

    @classmethod
    def series(
        cls,
        symbol: str,
        open_time_ns: Sequence[int] | np.ndarray,
        close_time_ns: Sequence[int] | np.ndarray,
        open: Sequence[float] | np.ndarray,
        high: Sequence[float] | np.ndarray,
        low: Sequence[float] | np.ndarray,
        close: Sequence[float] | np.ndarray,
        volume: Sequence[float] | np.ndarray,
    ) -> list[Bar]:
        """The bars of column arrays: the same bars, and the same error for the first bad row,
        as calling ``Bar`` on each row, with the rule checked once over the arrays."""
        t0 = np.asarray(open_time_ns, dtype=np.int64)
        t1 = np.asarray(close_time_ns, dtype=np.int64)
        o, h, lo, c, v = (np.asarray(a, dtype=np.float64) for a in (open, high, low, close, volume))
        if not (len(t0) == len(t1) == len(o) == len(h) == len(lo) == len(c) == len(v)):
            raise InvalidInput("bar columns must have the same length")
        with np.errstate(invalid="ignore"):  # NaN compares False, as in ``__post_init__``
            ok = (t1 > t0) & (lo > 0.0) & (lo <= o) & (o <= h) & (h < _INF)
            ok &= (lo <= c) & (c <= h) & (v >= 0.0) & (v < _INF)
        if not ok.all():
            i = int(np.argmin(ok))
            row = (t0[i], t1[i], o[i], h[i], lo[i], c[i], v[i])
            cls(symbol, *(int(x) for x in row[:2]), *(float(x) for x in row[2:]))  # raises
        make = cls._unchecked  # type: ignore[attr-defined]
        columns = (a.tolist() for a in (t0, t1, o, h, lo, c, v))
        return list(map(make, repeat(symbol, len(t0)), *columns))


@dataclass(frozen=True, slots=True)
class FundingEvent:
    """A perpetual funding settlement: longs pay ``rate * notional at mark`` (shorts receive)."""

    symbol: str
    ts_ns: int
    rate: float
    mark_price: float | None = None  # None: the engine uses the last close it saw

    def __post_init__(self) -> None:
        _finite("funding.rate", self.rate)
        if self.mark_price is not None:
            _finite("funding.mark_price", self.mark_price, positive=True)


@dataclass(frozen=True, slots=True)
class Timer:
    """A wake-up the engine schedules (e.g. a post-only order's timeout)."""

    ts_ns: int
    name: str
    symbol: str = ""
    ref: str = ""  # what it is about, e.g. the client order id of a timeout


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class Decision:
    """A strategy's view at ``ts_ns``: the raw target fraction of equity and the forecast.

    ``u_raw`` is signed (long > 0); ``mean`` and ``var`` are the predicted next-bar log return and
    its variance (NaN when the strategy has no forecast, e.g. a moving-average cross). They are
    not validated here on purpose: a NaN or infinite decision is a counted skip in the engine,
    never an exception in the strategy's caller.
    """

    symbol: str
    ts_ns: int
    u_raw: float
    mean: float = math.nan
    var: float = math.nan
    source: str = ""

    @property
    def is_finite(self) -> bool:
        return math.isfinite(self.u_raw)


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class OrderIntent:
    """What the risk layer approved: move ``symbol`` to ``target_qty`` base units."""

    symbol: str
    ts_ns: int
    target_qty: float
    kind: IntentKind
    reference_price: float
    stop_loss: float | None = None
    take_profit: float | None = None

    def __post_init__(self) -> None:
        _finite("intent.target_qty", self.target_qty)
        _finite("intent.reference_price", self.reference_price, positive=True)


@fast_frozen_init
@dataclass(frozen=True, slots=True)
class FillEvent:
    """One execution of one of our orders, as the venue reports it."""

    client_order_id: str
    trade_id: int
    symbol: str
    side: Side
    price: float
    qty: float
    fee: float
    fee_asset: str
    liquidity: Liquidity
    ts_ns: int
    slippage: float = 0.0  # quote amount paid against the reference price (costs report)

    def __post_init__(self) -> None:
        _finite("fill.price", self.price, positive=True)
        _finite("fill.qty", self.qty, positive=True)
        _finite("fill.fee", self.fee)
        _finite("fill.slippage", self.slippage)
        if self.trade_id < 0:
            raise InvalidInput(f"fill.trade_id must be non-negative, got {self.trade_id}")

    @property
    def signed_qty(self) -> float:
        return self.side.sign * self.qty


MarketEvent = Bar | FundingEvent | Timer
PRIORITY: dict[type, int] = {FundingEvent: 0, Bar: 1, Timer: 2}

__all__ = [
    "PRIORITY",
    "Bar",
    "Decision",
    "FillEvent",
    "FundingEvent",
    "IntentKind",
    "Liquidity",
    "MarketEvent",
    "OrderIntent",
    "OrderStyle",
    "Timer",
    "fast_frozen_init",
]
