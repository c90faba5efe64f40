"""``PortfolioTracker``: cash and ``core.Position``s -> PnL, costs, exposure and equity.

The accounting is exact fixed-fraction rebalancing, the one definition that
``evaluation.baselines.strategy_pnl`` vectorises: a fill moves ``qty * price`` between cash and
holdings and pays its fee from cash (quote fees) or from the holdings (spot fees charged in the
base asset: holdings are the traded quantity net of them); funding pays ``rate * qty * mark``
from cash at the recorded settlement; holdings are marked at the last price. Hence, after any
sequence of fills, marks and funding payments::

    equity = cash + sum((qty - base_fees) * mark)
           = initial_cash + realized + unrealized - quote fees - base fees * mark - funding

(the second line is the ``core.Position`` view; the property tests check they agree). The
high-water mark of equity feeds the drawdown breaker. Fees charged in a third asset (BNB) are
recorded but not valued.

The engine asks for equity several times per bar, so the tracker keeps each symbol's holdings
(``Position.quantity`` net of base-asset fees) in a dict updated by ``apply_fill``, the only
place they change, and sums the marked holdings in one loop in ``positions`` order: the same
floats, in the same order, as summing ``value`` over the symbols. The equity itself is kept
until cash, a mark or a holding changes (``mark``, ``apply_fill``, ``apply_funding`` and the
``cash`` setter drop it; ``marks`` is a read-only view, so nothing else can change them).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import orjson

from gradtrade.core import Position, SymbolFilters
from gradtrade.errors import InvalidInput
from gradtrade.events import FillEvent


@dataclass(frozen=True, slots=True)
class Costs:
    fees: float  # quote value of fees (base-asset fees valued at the fill price)
    slippage: float  # paid against the decision's reference price
    funding: float  # net funding paid (negative: received)


class PortfolioTracker:
    def __init__(
        self, initial_cash: float, filters: dict[str, SymbolFilters], quote_asset: str = "USDT"
    ) -> None:
        if not (math.isfinite(initial_cash) and initial_cash > 0):
            raise InvalidInput(f"initial cash must be positive and finite, got {initial_cash}")
        self.initial_cash = float(initial_cash)
        self._cash = float(initial_cash)
        self._equity: float | None = None  # None: to compute (something changed)
        self._kept_values: list[float] | None = None  # the values it sums
        self.quote_asset = quote_asset
        self.filters = filters
        self.positions = {s: Position(f, quote_asset) for s, f in filters.items()}
        self._marks: dict[str, float] = {}
        self._marks_view = MappingProxyType(self._marks)
        self.base_fees = dict.fromkeys(filters, 0.0)
        self._held = {s: p.quantity - self.base_fees[s] for s, p in self.positions.items()}
        self.fee_value = 0.0
        self.slippage = 0.0
        self.funding = 0.0
        self.high_water_mark = self.initial_cash

    @property
    def cash(self) -> float:
        return self._cash

    @cash.setter
    def cash(self, value: float) -> None:
        self._cash = value
        self._equity = None  # (the values do not depend on cash)

    @property
    def marks(self) -> Mapping[str, float]:
        """The last price of each symbol (read-only: ``mark`` sets them)."""
        return self._marks_view

    def _unknown(self, symbol: str) -> InvalidInput:
        return InvalidInput(f"portfolio has no symbol {symbol!r} (known: {list(self.positions)})")

    def _position(self, symbol: str) -> Position:
        pos = self.positions.get(symbol)
        if pos is None:
            raise self._unknown(symbol)
        return pos

    def quantity(self, symbol: str) -> float:
        """Signed holdings in base units, net of base-asset fees."""
        try:
            return self._held[symbol]
        except KeyError:
            raise self._unknown(symbol) from None

    def mark(self, symbol: str, price: float) -> float:
        """Mark ``symbol`` at ``price``; returns the equity at the new mark."""
        if not 0.0 < price < math.inf:  # positive and finite (NaN fails)
            raise InvalidInput(f"mark price of {symbol} must be positive and finite, got {price}")
        if symbol not in self._held:
            raise self._unknown(symbol)
        self._marks[symbol] = price
        self._kept_values = None
        equity = self._equity = self._cash + sum(self._values())
        if equity > self.high_water_mark:  # max(high_water_mark, equity)
            self.high_water_mark = equity
        return equity

    def apply_fill(self, fill: FillEvent) -> None:
        """Account one (already deduplicated) fill; the position is marked at its price."""
        pos = self._position(fill.symbol)
        base = self.filters[fill.symbol].base_asset
        pos.apply_fill(fill.side, fill.qty, fill.price, fill.fee, fill.fee_asset)
        self.cash -= fill.signed_qty * fill.price
        if fill.fee_asset == self.quote_asset:
            self.cash -= fill.fee
            self.fee_value += fill.fee
        elif base is not None and fill.fee_asset == base:
            self.base_fees[fill.symbol] += fill.fee
            self.fee_value += fill.fee * fill.price
        self._held[fill.symbol] = pos.quantity - self.base_fees[fill.symbol]
        self.slippage += fill.slippage
        self._marks.setdefault(fill.symbol, fill.price)
        self._equity = self._kept_values = None

    def adopt_position(self, symbol: str, quantity: float, entry_price: float | None) -> None:
        """Take a position the venue holds and the tracker did not see traded (reconciliation's
        ``adopt_unknown``): ``quantity`` (signed, on the lot grid) at ``entry_price`` (None only
        when flat). Nothing traded, so realized PnL, fees and fill count stay; the cost basis
        becomes the venue's and cash moves by the cost difference, so equity is the venue's
        position marked as before and both equity identities still hold."""
        pos = self._position(symbol)
        step = self.filters[symbol].step_size
        steps = round(quantity / step)
        if not math.isfinite(quantity) or abs(quantity / step - steps) > 1e-6:
            raise InvalidInput(f"adopted {symbol} quantity {quantity!r} is not on its {step} grid")
        if steps and not (entry_price is not None and 0.0 < entry_price < math.inf):
            raise InvalidInput(f"adopted {symbol} position needs a positive entry price")
        raw = orjson.loads(pos.to_json())
        cost = steps * step * entry_price if steps and entry_price is not None else 0.0
        before, raw["qty_steps"], raw["cost"] = float(raw["cost"]), steps, cost
        adopted = Position.from_json(orjson.dumps(raw))
        self.positions[symbol] = adopted
        self.cash -= cost - before
        self._held[symbol] = adopted.quantity - self.base_fees[symbol]
        if steps and entry_price is not None:
            self._marks.setdefault(symbol, entry_price)
        self._equity = self._kept_values = None

    def apply_funding(self, symbol: str, rate: float, mark: float | None = None) -> float:
        """Pay (or receive) funding on the position at ``mark`` (default: the last mark)."""
        price = self.marks.get(symbol) if mark is None else mark
        if price is None or not math.isfinite(rate):
            raise InvalidInput(f"funding for {symbol} needs a finite rate and a mark price")
        payment = self.quantity(symbol) * price * rate
        self.cash -= payment  # the setter drops the equity
        self.funding += payment
        return payment

    def value(self, symbol: str) -> float:
        mark = self.marks.get(symbol)
        qty = self.quantity(symbol)
        if mark is None:
            if qty != 0:
                raise InvalidInput(f"{symbol} has a position but no mark price")
            return 0.0
        return qty * mark

    def mark_figures(self, symbol: str, price: float) -> tuple[float, float, float, float]:
        """``mark``, then (equity, exposure, drawdown, quantity of ``symbol``) at the new mark
        in one call (the engine's per-bar record): each equal to what ``equity()``,
        ``exposure()``, ``drawdown`` and ``quantity(symbol)`` answer next."""
        # ``mark`` and ``_values`` written out in one frame: this runs once per bar
        if not 0.0 < price < math.inf:  # positive and finite (NaN fails)
            raise InvalidInput(f"mark price of {symbol} must be positive and finite, got {price}")
        held, marks = self._held, self._marks
        if symbol not in held:
            raise self._unknown(symbol)
        marks[symbol] = price
        values: list[float] = []
        for s, qty in held.items():
            values.append(qty * marks[s] if s in marks else self._unmarked(s, qty))
        self._kept_values = values
        equity = self._equity = self._cash + sum(values)
        if equity > self.high_water_mark:  # max(high_water_mark, equity)
            self.high_water_mark = equity
        gross = sum(map(abs, values))
        dd = 1.0 - equity / self.high_water_mark
        exposure = gross / equity if equity > 0 else math.inf
        return equity, exposure, dd if dd > 0.0 else 0.0, held[symbol]

    def _values(self) -> list[float]:
        """``value(s)`` of every symbol, in ``positions`` order (kept with the equity)."""
        values = self._kept_values
        if values is None:
            marks = self._marks
            values = self._kept_values = [
                qty * marks[s] if s in marks else self._unmarked(s, qty)
                for s, qty in self._held.items()
            ]
        return values

    @staticmethod
    def _unmarked(symbol: str, qty: float) -> float:
        if qty != 0:
            raise InvalidInput(f"{symbol} has a position but no mark price")
        return 0.0

    def equity(self) -> float:
        eq = self._equity
        if eq is None:
            eq = self._equity = self._cash + sum(self._values())
        return eq

    def exposure(self) -> float:
        """Gross position value over equity (leverage)."""
        eq = self._equity
        if eq is None:
            eq = self.equity()
        values = self._kept_values
        gross = sum(map(abs, self._values() if values is None else values))
        return gross / eq if eq > 0 else math.inf

    def weight(self, symbol: str) -> float:
        eq = self.equity()
        return self.value(symbol) / eq if eq > 0 else math.nan

    @property
    def drawdown(self) -> float:
        eq = self._equity
        dd = 1.0 - (self.equity() if eq is None else eq) / self.high_water_mark
        return dd if dd > 0.0 else 0.0  # max(0.0, dd), NaN and -0.0 included

    def costs(self) -> Costs:
        return Costs(self.fee_value, self.slippage, self.funding)

    def pnl_identity(self) -> float:
        """Equity from the ``core.Position`` view (see the module docstring)."""
        total = self.initial_cash - self.funding
        for s, pos in self.positions.items():
            mark = self.marks.get(s, pos.average_entry or 0.0)
            total += pos.net_realized_pnl + (pos.unrealized_pnl(mark) if not pos.is_flat else 0)
            total -= self.base_fees[s] * mark
        return total

    # --- persistence: the trader's snapshot (validated on the way in like new state) ---

    def to_json(self) -> str:
        """Everything ``restore_json`` needs, as canonical JSON."""
        return orjson.dumps(
            {
                "cash": self._cash, "initial_cash": self.initial_cash, "marks": self._marks,
                "base_fees": self.base_fees, "fee_value": self.fee_value,
                "slippage": self.slippage, "funding": self.funding,
                "high_water_mark": self.high_water_mark,
                "positions": {s: orjson.loads(p.to_json()) for s, p in self.positions.items()},
            },
            option=orjson.OPT_SORT_KEYS,
        ).decode()  # fmt: skip

    def restore_json(self, text: str | bytes) -> None:
        """Take the state of ``to_json`` (same symbols); a malformed or non-finite field is an
        ``InvalidInput`` naming it and leaves the tracker as it was."""
        try:
            d = orjson.loads(text)
            numbers = {k: float(d[k]) for k in _SCALARS}
            marks = {str(k): float(v) for k, v in d["marks"].items()}
            base_fees = {str(k): float(v) for k, v in d["base_fees"].items()}
            raw_positions = d["positions"]
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as err:
            raise InvalidInput(f"portfolio state unreadable: {type(err).__name__} {err}") from None
        for name, value in [*numbers.items(), *marks.items(), *base_fees.items()]:
            if not math.isfinite(value):
                raise InvalidInput(f"portfolio state: {name} is not finite ({value})")
        if numbers["initial_cash"] <= 0 or any(v <= 0 for v in marks.values()):
            raise InvalidInput("portfolio state: initial cash and marks must be positive")
        if set(raw_positions) != set(self.positions) or not set(base_fees) <= set(self.positions):
            raise InvalidInput(
                f"portfolio state holds symbols {sorted(raw_positions)}, "
                f"this trader trades {sorted(self.positions)}"
            )
        positions = {
            s: Position.from_json(orjson.dumps(v).decode()) for s, v in raw_positions.items()
        }
        self._cash, self.initial_cash = numbers["cash"], numbers["initial_cash"]
        self.fee_value, self.slippage = numbers["fee_value"], numbers["slippage"]
        self.funding, self.high_water_mark = numbers["funding"], numbers["high_water_mark"]
        self._marks.clear()
        self._marks.update(marks)
        self.base_fees.update(base_fees)
        self.positions.update(positions)
        self._held = {s: p.quantity - self.base_fees[s] for s, p in self.positions.items()}
        self._equity = self._kept_values = None


_SCALARS = ("cash", "initial_cash", "fee_value", "slippage", "funding", "high_water_mark")

__all__ = ["Costs", "PortfolioTracker"]
