"""``L2SimulatedVenue``: the ``ExecutionClient`` over the Rust ``L2Venue`` and a recording.

Invariants: the Rust venue (rust/sim/l2.rs) owns the book, the queue positions, the latencies
and the matching; this adapter only translates. ``on_market(event)`` runs the Rust replay
driver over every recorded frame up to the event's time (Python is not involved per frame),
so the venue is at the engine's clock before the engine looks at it. Requests the venue cannot
work are refused here as typed ``VenueReject``s without reaching Rust (unknown symbol, a
quantity off the step grid, a stop order: the L2 venue has no trigger orders). What Rust reports
comes back from ``poll`` as the protocol's events in time order, at one instant an
acknowledgement before the fills and the fills before a terminal status, each exactly once:
``NEW`` -> ``Ack``, ``REJECTED`` -> ``VenueReject`` (a post-only that would cross ->
``WOULD_TAKE``; an order arriving on an unsynced book -> ``UNAVAILABLE``, safe to retry),
``CANCELED``/``EXPIRED`` -> ``Canceled``, a cancel that came too late -> ``UNKNOWN_ORDER``.
While the book is unsynced nothing fills (the Rust rule); ``gaps`` counts sequence gaps and
``synced`` tells whether the book is valid now. The Rust venue reports only after a call that
can change it (the replay, a submit, a cancel), all made through this adapter, so ``poll`` reads
Rust's queues only after one of those (most polls of a backtest find nothing new).
"""

from __future__ import annotations

import math

from gradtrade.core import (
    BookStatus,
    L2Venue,
    L2VenueConfig,
    OrderStatus,
    OrderType,
    Recording,
    SymbolFilters,
)
from gradtrade.core import Liquidity as CoreLiquidity
from gradtrade.core import VenueReject as CoreReject
from gradtrade.errors import GradtradeError
from gradtrade.events import FillEvent, Liquidity, MarketEvent, OrderStyle
from gradtrade.execution.client import (
    Ack,
    Canceled,
    ExecutionEvent,
    OrderRequest,
    VenueReject,
    VenueRejectReason,
)

_TYPE = {OrderStyle.MARKET: OrderType.MARKET, OrderStyle.POST_ONLY: OrderType.LIMIT_MAKER}
_REASON = {
    CoreReject.POST_ONLY_WOULD_CROSS: VenueRejectReason.WOULD_TAKE,
    CoreReject.BOOK_NOT_SYNCED: VenueRejectReason.UNAVAILABLE,
    CoreReject.CANCEL_TOO_LATE: VenueRejectReason.UNKNOWN_ORDER,
}
_ENDED = (OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.EXPIRED_IN_MATCH)
# at one instant: acknowledgements, then fills, then what ends an order
_ACK, _FILL, _END = 0, 1, 2


class L2SimulatedVenue:
    def __init__(
        self,
        recording: Recording,
        filters: SymbolFilters,
        config: L2VenueConfig,
        quote_asset: str = "USDT",
    ) -> None:
        """``filters.step_size`` is the book's grid too: it must be the recording's quantity
        precision (Binance prints 8 decimals), since a resting order's fills are what passes the
        queue ahead of it, in displayed units (rust/sim/queue.rs), not whole lots."""
        self.symbol = filters.symbol
        self.filters = filters
        self.quote_asset = quote_asset
        self.recording = recording
        self.venue = L2Venue(filters.symbol, filters.tick_size, filters.step_size, config)
        self.gaps = 0
        self.frames = 0
        self._requests: dict[str, OrderRequest] = {}
        self._events: list[tuple[int, int, int, ExecutionEvent]] = []
        self._seq = 0
        self._order_ids = 0
        self._touched = True  # a call that can make the Rust venue report ran since a collect
        self._trade_ids = 0

    # --- the market side ---

    def on_market(self, event: MarketEvent | object) -> None:
        """Replay every recorded frame up to the event's time (any event: a tick, a timer)."""
        ts = getattr(event, "ts_ns", None)
        if ts is None:
            return
        self.advance(int(ts))

    def advance(self, ts_ns: int) -> None:
        self.frames += self.venue.run_until(self.recording, ts_ns)
        self.venue.advance_to(ts_ns)
        for book in self.venue.take_book_events():
            if book.status == BookStatus.SEQUENCE_GAP:
                self.gaps += 1
        self._collect()

    @property
    def synced(self) -> bool:
        return self.venue.book_valid

    def top(self) -> tuple[bool, tuple[float, float] | None, tuple[float, float] | None]:
        """(book valid, best bid (price, qty), best ask): None sides while unsynced."""
        if not self.venue.book_valid:
            return False, None, None
        return True, self.venue.best_bid(), self.venue.best_ask()

    # --- the ExecutionClient protocol ---

    def submit(self, request: OrderRequest) -> None:
        ts = request.ts_ns
        if request.symbol != self.symbol:
            return self._reject(request, VenueRejectReason.INVALID_ORDER, "unknown symbol", ts)
        order_type = _TYPE.get(request.style)
        if order_type is None:
            return self._reject(
                request, VenueRejectReason.UNSUPPORTED,
                f"the L2 venue has no {request.style.value} orders", ts,
            )  # fmt: skip
        step = self.filters.step_size
        steps = request.qty / step
        if not (math.isfinite(steps) and steps >= 0.5 and abs(steps - round(steps)) < 1e-6):
            return self._reject(
                request, VenueRejectReason.INVALID_ORDER,
                f"quantity {request.qty} is not a positive multiple of {step}", ts,
            )  # fmt: skip
        price = request.price if order_type == OrderType.LIMIT_MAKER else None
        self._touched = True
        try:
            self.venue.submit(
                ts, request.client_order_id, request.side, order_type, request.qty, price
            )
        except (GradtradeError, ValueError) as err:  # refused by Rust: nothing changed there
            return self._reject(request, VenueRejectReason.INVALID_ORDER, str(err), ts)
        self._requests[request.client_order_id] = request

    def cancel(self, client_order_id: str, ts_ns: int) -> None:
        if client_order_id not in self._requests:
            self._push(ts_ns, _END, VenueReject(
                client_order_id, VenueRejectReason.UNKNOWN_ORDER, "no order with this id", ts_ns
            ))  # fmt: skip
            return
        self._touched = True
        try:
            self.venue.cancel(ts_ns, client_order_id)
        except GradtradeError as err:  # already terminal in the venue, or a cancel in flight
            self._push(ts_ns, _END, VenueReject(
                client_order_id, VenueRejectReason.UNKNOWN_ORDER, str(err), ts_ns
            ))  # fmt: skip

    def poll(self) -> list[ExecutionEvent]:
        if self._touched:  # the Rust venue reports only after a call that can change it
            self._collect()
        if not self._events:  # most polls
            return []
        self._events.sort(key=lambda e: (e[0], e[1], e[2]))
        out = [e[3] for e in self._events]
        self._events = []
        return out

    # --- translation ---

    def _collect(self) -> None:
        self._touched = False
        for ev in self.venue.take_order_events():
            cid, ts = ev.client_id, ev.ts_ns
            if ev.reason is not None:
                reason = _REASON[ev.reason]
                message = f"venue refused: {reason.value}"
                self._push(ts, _END, VenueReject(cid, reason, message, ts))
            elif ev.status == OrderStatus.NEW:
                self._order_ids += 1
                self._push(ts, _ACK, Ack(cid, self._order_ids, ts))
            elif ev.status in _ENDED:
                self._push(ts, _END, Canceled(cid, ts))
        for f in self.venue.take_fills():
            req = self._requests[f.client_id]
            self._trade_ids += 1
            liquidity = Liquidity.MAKER if f.liquidity == CoreLiquidity.MAKER else Liquidity.TAKER
            slippage = req.side.sign * (f.price - req.reference_price) * f.qty
            fill = FillEvent(
                f.client_id, self._trade_ids, self.symbol, f.side, f.price, f.qty, f.fee,
                self.quote_asset, liquidity, f.ts_ns, slippage,
            )  # fmt: skip
            self._push(f.ts_ns, _FILL, fill)

    def _push(self, ts_ns: int, rank: int, event: ExecutionEvent) -> None:
        self._seq += 1
        self._events.append((ts_ns, rank, self._seq, event))

    def _reject(
        self, req: OrderRequest, reason: VenueRejectReason, message: str, ts_ns: int
    ) -> None:
        self._push(ts_ns, _END, VenueReject(req.client_order_id, reason, message, ts_ns))


__all__ = ["L2SimulatedVenue"]
