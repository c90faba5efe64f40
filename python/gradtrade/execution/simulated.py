"""``SimulatedVenue`` (the PaperTrader over candles): an ``ExecutionClient`` on a fill model.

Invariants: requests are validated as a venue would (symbol known, quantity on the step grid)
and refused with a typed ``VenueReject`` otherwise; an accepted order is acknowledged before any
fill of it; every fill gets a fresh trade id; the fills of an order never exceed its quantity;
what happened comes back from ``poll`` in order. Per bar, in this order: market orders waiting
for it fill (at its open, unless the model is ``immediate``: then they filled at the decision
bar's close when submitted), post-only orders arrive (one the open already crosses is refused
``WOULD_TAKE``, as Binance refuses a LIMIT_MAKER that would take), resting limits fill where
the bar trades through them (partially, under the model's volume cap), and each symbol's
protective pair (stop-loss, take-profit: one-cancels-the-other) is resolved adversely first.
A fill price off the symbol's tick grid is rounded against us (buys up, sells down). A quote
made of book levels (``FillQuote.levels``, the walk-the-book model) is one fill per level at
that level's price; the part of a market order the model could not fill is expired at once
(``Canceled``), as Binance expires the rest of a MARKET order the book cannot absorb.
"""

from __future__ import annotations

import math

from gradtrade.core import Side, SymbolFilters
from gradtrade.events import Bar, FillEvent, Liquidity, MarketEvent, OrderStyle
from gradtrade.execution.client import (
    Ack,
    Canceled,
    ExecutionEvent,
    OrderRequest,
    VenueReject,
    VenueRejectReason,
)
from gradtrade.execution.fill_model import FillModel, FillQuote

_PROTECTIVE = (OrderStyle.STOP_MARKET, OrderStyle.TAKE_PROFIT_MARKET)


class SimulatedVenue:
    def __init__(
        self, fill_model: FillModel, filters: dict[str, SymbolFilters], quote_asset: str = "USDT"
    ) -> None:
        self.model = fill_model
        self.filters = filters
        self.quote_asset = quote_asset
        self._events: list[ExecutionEvent] = []
        self._waiting: list[OrderRequest] = []  # market orders and post-only arrivals
        self._resting: dict[str, OrderRequest] = {}  # limits and protective orders
        self._remaining: dict[str, float] = {}
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
                request, VenueRejectReason.INVALID_ORDER,
                f"quantity {request.qty} is not a positive multiple of {f.step_size}", ts,
            )  # fmt: skip
        if request.style != OrderStyle.MARKET and not (request.price and request.price > 0):
            return self._reject(request, VenueRejectReason.INVALID_ORDER, "a price is required", ts)
        self._remaining[request.client_order_id] = request.qty
        if request.style == OrderStyle.POST_ONLY:  # acknowledged (or refused) on arrival
            self._waiting.append(request)
            return
        self._ack(request, ts)
        if request.style in _PROTECTIVE:
            self._resting[request.client_order_id] = request
        elif (
            request.style == OrderStyle.MARKET
            and self.model.immediate
            and request.symbol in self._last_bar
        ):
            bar = self._last_bar[request.symbol]
            self._fill_market(request, self.model.market(request.side, request.qty, bar), ts)
        else:
            self._waiting.append(request)

    def cancel(self, client_order_id: str, ts_ns: int) -> None:
        found = self._resting.pop(client_order_id, None)
        if found is None:
            waiting = [r for r in self._waiting if r.client_order_id == client_order_id]
            if waiting:
                self._waiting.remove(waiting[0])
                found = waiting[0]
        if found is not None:
            self._events.append(Canceled(client_order_id, ts_ns))
            return
        self._events.append(
            VenueReject(client_order_id, VenueRejectReason.UNKNOWN_ORDER,
                        "no open order with this id", ts_ns)
        )  # fmt: skip

    def poll(self) -> list[ExecutionEvent]:
        out, self._events = self._events, []
        return out

    def on_market(self, event: MarketEvent) -> None:
        """Apply a bar to the waiting and resting orders (before the strategy sees it)."""
        if not isinstance(event, Bar):
            return
        bar = event
        if not (self._waiting or self._resting):  # most bars: no order to match
            self.model.observe(bar)
            self._last_bar[bar.symbol] = bar
            return
        waiting, self._waiting = self._waiting, []
        for req in waiting:
            if req.symbol != bar.symbol:
                self._waiting.append(req)
            elif req.style == OrderStyle.MARKET:
                quote = self.model.market(req.side, req.qty, bar)
                self._fill_market(req, quote, bar.open_time_ns)
            elif self._crosses_at_open(req, bar):
                self._remaining.pop(req.client_order_id, None)
                self._reject(req, VenueRejectReason.WOULD_TAKE,
                             f"post-only {req.side} at {req.price} would cross the open "
                             f"{bar.open}", bar.open_time_ns)  # fmt: skip
            else:
                self._ack(req, bar.open_time_ns)
                self._resting[req.client_order_id] = req
        for cid, req in list(self._resting.items()):
            if req.symbol == bar.symbol and req.style == OrderStyle.POST_ONLY:
                assert req.price is not None
                limit = self.model.limit(req.side, req.price, self._remaining[cid], bar)
                if limit is not None:
                    self._fill(req, limit, bar.close_time_ns)
        self._protect(bar)
        self.model.observe(bar)
        self._last_bar[bar.symbol] = bar

    def _protect(self, bar: Bar) -> None:
        pair = {r.style: r for r in self._resting.values() if r.symbol == bar.symbol
                and r.style in _PROTECTIVE}  # fmt: skip
        if not pair:
            return
        sl, tp = pair.get(OrderStyle.STOP_MARKET), pair.get(OrderStyle.TAKE_PROFIT_MARKET)
        first = sl or tp
        assert first is not None
        position_side = Side.BUY if first.side == Side.SELL else Side.SELL
        qty = min(self._remaining[r.client_order_id] for r in pair.values())
        quote = self.model.protective(
            position_side, qty, bar, sl.price if sl else None, tp.price if tp else None
        )
        if quote is None:
            return
        hit = sl if (quote.stop_loss and sl is not None) or tp is None else tp
        assert hit is not None  # first is not None, so one of them is
        del self._resting[hit.client_order_id]
        self._fill(hit, quote, bar.close_time_ns)
        for other in pair.values():  # one-cancels-the-other
            if other is not hit and self._resting.pop(other.client_order_id, None) is not None:
                self._events.append(Canceled(other.client_order_id, bar.close_time_ns))

    def _ack(self, req: OrderRequest, ts_ns: int) -> None:
        self._order_ids += 1
        self._events.append(Ack(req.client_order_id, self._order_ids, ts_ns))

    def _crosses_at_open(self, req: OrderRequest, bar: Bar) -> bool:
        assert req.price is not None
        # strict: an open at our price may have traded on our side of the spread
        return bar.open < req.price if req.side == Side.BUY else bar.open > req.price

    def _fill_market(self, req: OrderRequest, quote: FillQuote, ts_ns: int) -> None:
        self._fill(req, quote, ts_ns)
        if req.client_order_id in self._remaining:  # the model could not fill all of it
            self._remaining.pop(req.client_order_id)
            self._events.append(Canceled(req.client_order_id, ts_ns))

    def _fill(self, req: OrderRequest, quote: FillQuote, ts_ns: int) -> None:
        if quote.levels:
            for price, qty, fee in quote.levels:  # on the grids already: one fill per level
                self._book(req, price, qty, fee, quote.liquidity, ts_ns)
            return
        cid = req.client_order_id
        step = self.filters[req.symbol].step_size
        remaining = self._remaining.get(cid, 0.0)
        # a partial fill (the volume cap) is whole lots: the rest stays for the next bar
        qty = remaining if quote.qty >= remaining else math.floor(quote.qty / step + 1e-9) * step
        if qty <= 0:
            return
        tick = self.filters[req.symbol].tick_size
        ticks = quote.price / tick
        snapped = round(ticks)
        if abs(ticks - snapped) > 1e-9 * max(1.0, abs(ticks)):
            snapped = math.ceil(ticks) if req.side == Side.BUY else math.floor(ticks)
        price = snapped * tick
        fee = quote.fee * (qty / quote.qty) * (price / quote.price)
        self._book(req, price, qty, fee, quote.liquidity, ts_ns)

    def _book(
        self, req: OrderRequest, price: float, qty: float, fee: float, liquidity: Liquidity,
        ts_ns: int,
    ) -> None:  # fmt: skip
        """Report one fill of ``req`` and take it off the order's remaining quantity."""
        cid = req.client_order_id
        step = self.filters[req.symbol].step_size
        remaining = self._remaining.get(cid, 0.0)
        if qty <= 0 or qty > remaining + 0.5 * step:  # never past the order's quantity
            return
        self._trade_ids += 1
        slippage = req.side.sign * (price - req.reference_price) * qty
        self._events.append(
            FillEvent(
                cid, self._trade_ids, req.symbol, req.side, price, qty, fee, self.quote_asset,
                liquidity, ts_ns, slippage,
            )
        )  # fmt: skip
        left = remaining - qty
        if left <= 0.5 * step:
            self._remaining.pop(cid)
            self._resting.pop(cid, None)
        else:
            self._remaining[cid] = left

    def _reject(
        self, req: OrderRequest, reason: VenueRejectReason, message: str, ts_ns: int
    ) -> None:
        self._events.append(VenueReject(req.client_order_id, reason, message, ts_ns))


__all__ = ["SimulatedVenue"]
