"""``SimulatedVenue`` (the PaperTrader over candles): an ``ExecutionClient`` on a fill model.

Invariants: requests are validated as a venue would (symbol known, quantity on the step grid,
a supported order type) and refused with a typed ``VenueReject`` otherwise; an accepted order is
acknowledged before any fill of it; every fill gets a fresh trade id; a bar is applied to the
resting orders once, protective stop-losses before take-profits (adverse first); what happened
comes back from ``poll`` in order. A market order fills on the bar it was decided on when the
model is ``immediate`` (the evaluation's close fill), otherwise on the next bar. A fill price
off the symbol's tick grid is rounded against us (buys up, sells down).
"""

from __future__ import annotations

import math

from gradtrade.core import SymbolFilters
from gradtrade.events import Bar, FillEvent, FundingEvent, MarketEvent, OrderStyle
from gradtrade.execution.client import (
    Ack,
    Canceled,
    ExecutionEvent,
    OrderRequest,
    VenueReject,
    VenueRejectReason,
)
from gradtrade.execution.fill_model import FillModel, FillQuote

_SUPPORTED = (OrderStyle.MARKET, OrderStyle.STOP_MARKET, OrderStyle.TAKE_PROFIT_MARKET)


class SimulatedVenue:
    def __init__(
        self, fill_model: FillModel, filters: dict[str, SymbolFilters], quote_asset: str = "USDT"
    ) -> None:
        self.model = fill_model
        self.filters = filters
        self.quote_asset = quote_asset
        self._events: list[ExecutionEvent] = []
        self._waiting: list[OrderRequest] = []  # market orders for the next bar
        self._resting: dict[str, OrderRequest] = {}  # protective orders
        self._last_bar: dict[str, Bar] = {}
        self._order_ids = 0
        self._trade_ids = 0

    def submit(self, request: OrderRequest) -> None:
        ts = request.ts_ns
        f = self.filters.get(request.symbol)
        if f is None:
            return self._reject(request, VenueRejectReason.INVALID_ORDER, "unknown symbol", ts)
        steps = request.qty / f.step_size
        if not (math.isfinite(steps) and steps >= 0.5 and abs(steps - round(steps)) < 1e-6):
            return self._reject(
                request,
                VenueRejectReason.INVALID_ORDER,
                f"quantity {request.qty} is not a positive multiple of {f.step_size}",
                ts,
            )
        if request.style not in _SUPPORTED:
            return self._reject(
                request,
                VenueRejectReason.UNSUPPORTED,
                f"{request.style.value} orders need a fill model with limit orders",
                ts,
            )
        self._order_ids += 1
        self._events.append(Ack(request.client_order_id, self._order_ids, ts))
        if request.style != OrderStyle.MARKET:
            self._resting[request.client_order_id] = request
        elif self.model.immediate and request.symbol in self._last_bar:
            self._fill(
                request,
                self.model.market(request.side, request.qty, self._last_bar[request.symbol]),
                ts,
            )
        else:
            self._waiting.append(request)

    def cancel(self, client_order_id: str, ts_ns: int) -> None:
        if self._resting.pop(client_order_id, None) is not None:
            self._events.append(Canceled(client_order_id, ts_ns))
            return
        self._events.append(
            VenueReject(
                client_order_id,
                VenueRejectReason.UNKNOWN_ORDER,
                "no resting order with this id",
                ts_ns,
            )
        )

    def poll(self) -> list[ExecutionEvent]:
        out, self._events = self._events, []
        return out

    def on_market(self, event: MarketEvent) -> None:
        """Apply a bar to the waiting and resting orders (before the strategy sees it)."""
        if isinstance(event, FundingEvent) or not isinstance(event, Bar):
            return
        bar = event
        waiting, self._waiting = self._waiting, []
        for req in waiting:
            if req.symbol != bar.symbol:
                self._waiting.append(req)
                continue
            self._fill(req, self.model.market(req.side, req.qty, bar), bar.open_time_ns)
        for style in (OrderStyle.STOP_MARKET, OrderStyle.TAKE_PROFIT_MARKET):
            for cid, req in list(self._resting.items()):
                if req.symbol != bar.symbol or req.style != style or req.price is None:
                    continue
                if cid not in self._resting:  # an OCO sibling filled earlier in this bar
                    continue
                quote = self.model.triggered(
                    req.side, req.qty, req.price, style == OrderStyle.STOP_MARKET, bar
                )
                if quote is not None:
                    del self._resting[cid]
                    self._fill(req, quote, bar.close_time_ns)
                    self._cancel_siblings(req, bar.close_time_ns)
        self._last_bar[bar.symbol] = bar

    def _cancel_siblings(self, filled: OrderRequest, ts_ns: int) -> None:
        for cid, req in list(self._resting.items()):
            if req.symbol == filled.symbol:
                del self._resting[cid]
                self._events.append(Canceled(cid, ts_ns))

    def _fill(self, req: OrderRequest, quote: FillQuote | None, ts_ns: int) -> None:
        if quote is None:
            self._waiting.append(req)
            return
        self._trade_ids += 1
        # a price off the tick grid (old candles, a model's impact) rounds against us
        tick = self.filters[req.symbol].tick_size
        ticks = quote.price / tick
        snapped = round(ticks)
        if abs(ticks - snapped) > 1e-9 * max(1.0, abs(ticks)):
            snapped = math.ceil(ticks) if req.side.sign > 0 else math.floor(ticks)
        price = snapped * tick
        quote = FillQuote(price, quote.qty, quote.fee_rate, quote.liquidity)
        notional = quote.price * quote.qty
        slippage = req.side.sign * (quote.price - req.reference_price) * quote.qty
        self._events.append(
            FillEvent(
                req.client_order_id,
                self._trade_ids,
                req.symbol,
                req.side,
                quote.price,
                quote.qty,
                notional * quote.fee_rate,
                self.quote_asset,
                quote.liquidity,
                ts_ns,
                slippage,
            )
        )

    def _reject(
        self, req: OrderRequest, reason: VenueRejectReason, message: str, ts_ns: int
    ) -> None:
        self._events.append(VenueReject(req.client_order_id, reason, message, ts_ns))


__all__ = ["SimulatedVenue"]
