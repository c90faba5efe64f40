"""The candle ladder: a deterministic L2 book built from one closed bar, and the walk of a market
order through it. One definition shared by the backtest's ``WalkBookModel`` and the local
exchange's bar-stepped replay (which imports it from here: the product never imports the
exchange), so both sides fill a market order against the same levels.

The ladder of a bar (every quantity a function of the bar, the symbol's grids and the config):

* ``c``: the bar's close in ticks (rounded to the nearest tick);
* ``gap``: ``max(1, floor(range_ticks / (2 * levels)))`` ticks, where ``range_ticks`` is
  ``(high - low) / tick``: the levels of one side span about half the bar's range, so a volatile
  bar has a thinner, wider book;
* level ``k`` (0-based, best first): ask at ``c + 1 + k * gap`` ticks, bid at
  ``c - 1 - k * gap`` ticks (a two-tick spread around the close), bids above zero only;
* sizes: level ``k`` holds ``(k + 1) * unit`` base units, ``unit`` = ``floor(volume *
  level_share / step)`` lots, at least ``min_level_lots``: deeper levels are larger, and a
  busier bar gives a deeper book.

Prices are exact multiples of the tick (built as decimals, then converted once, so the float is
the one a client gets back from Binance's fixed-width text); sizes are whole lots.

``walk`` takes a market order level by level, best price first, up to the ladder's depth: what
the ladder cannot absorb is left unfilled (the exchange expires it, the backtest cancels it).
Every order sees the full ladder of its bar: fills do not deplete it (the local exchange's book
is not depleted by our fills either).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from gradtrade.core import Side
from gradtrade.errors import InvalidInput

Level = tuple[float, float]  # (price, quantity)


@dataclass(frozen=True, slots=True)
class LadderConfig:
    """How a bar becomes a book: ``levels`` per side, ``level_share`` of the bar's volume in the
    size unit, and at least ``min_level_lots`` lots in it (so a bar without volume still has a
    book)."""

    levels: int = 10
    level_share: float = 0.0005
    min_level_lots: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.levels <= 1000:
            raise InvalidInput(f"ladder levels must be in [1, 1000], got {self.levels}")
        if not (math.isfinite(self.level_share) and 0 <= self.level_share <= 1):
            raise InvalidInput(f"ladder level_share must be in [0, 1], got {self.level_share}")
        if not 1 <= self.min_level_lots <= 10**9:
            raise InvalidInput(f"ladder min_level_lots must be >= 1, got {self.min_level_lots}")


@dataclass(frozen=True, slots=True)
class Ladder:
    """Both sides of a ladder book, best level first."""

    bids: tuple[Level, ...]
    asks: tuple[Level, ...]


def _grid(x: float, name: str) -> Decimal:
    if not (math.isfinite(x) and x > 0):
        raise InvalidInput(f"ladder {name} must be positive and finite, got {x}")
    return Decimal(repr(float(x)))


def candle_ladder(
    high: float, low: float, close: float, volume: float, tick: float, step: float,
    config: LadderConfig,
) -> Ladder:  # fmt: skip
    """The ladder book of one bar (see the module docstring for the rule)."""
    t, s = _grid(tick, "tick"), _grid(step, "step")
    if not (math.isfinite(volume) and volume >= 0):
        raise InvalidInput(f"ladder volume must be finite and >= 0, got {volume}")
    if not (math.isfinite(close) and 0 < low <= close <= high and math.isfinite(high)):
        raise InvalidInput(
            f"ladder bar must have 0 < low <= close <= high, got {low}/{close}/{high}"
        )
    c = round(close / tick)
    gap = max(1, math.floor((high - low) / tick / (2 * config.levels) + 1e-9))
    unit = max(config.min_level_lots, math.floor(volume * config.level_share / step + 1e-9))
    bids: list[Level] = []
    asks: list[Level] = []
    for k in range(config.levels):
        size = float((k + 1) * unit * s)
        asks.append((float((c + 1 + k * gap) * t), size))
        bid = c - 1 - k * gap
        if bid > 0:
            bids.append((float(bid * t), size))
    return Ladder(tuple(bids), tuple(asks))


def walk(ladder: Ladder, side: Side, qty: float, step: float) -> list[Level]:
    """The fills (price, quantity) of a market order of ``qty`` through ``ladder``, best price
    first; quantities are whole lots of ``step`` (the order is on the lot grid)."""
    lots = round(qty / step)
    if lots <= 0 or abs(qty / step - lots) > 1e-6:
        raise InvalidInput(f"order quantity {qty} is not a positive multiple of {step}")
    s = _grid(step, "step")
    out: list[Level] = []
    for price, size in ladder.asks if side == Side.BUY else ladder.bids:
        take = min(lots, round(size / step))
        if take > 0:
            out.append((price, float(take * s)))
            lots -= take
        if lots == 0:
            break
    return out


__all__ = ["Ladder", "LadderConfig", "Level", "candle_ladder", "walk"]
