"""``LiveExecutionClient``: the ``ExecutionClient`` of a real (or local) Binance venue.

Orders go out as signed REST requests (``venue.orders``) with ``newClientOrderId`` = our
deterministic client id; what comes back (REST answers, the user-data stream of
``venue.user_data``, REST catch-up) is applied to a *shadow* ``core.Order`` per order, and the
events of ``client.py`` are derived from what changed in it.

Invariants:

* One parser: websocket reports are applied by ``core.Order.apply_execution_report_json`` on
  the raw bytes; REST answers (order bodies, trades) are Binance REST JSON, read field by field.
  A websocket frame is routed by offering it to the tracked orders (the Rust check refuses a
  report for another order without changing it); a frame no order takes (a missed fill ahead of
  it, an order we never sent) triggers a REST catch-up instead of a guess.
* Each trade id is reported once: the shadow order deduplicates by trade id whatever path (REST
  answer, websocket, catch-up) brings it, so the websocket / REST race never invents a fill.
* ``Ack`` precedes the order's first fill; ``Canceled`` follows its last one (a cancel answer
  whose executed quantity is ahead of the fills known waits for the trades first).
* A timeout, a 5xx or "execution status unknown" is never a rejection: the order is queried by
  ``origClientOrderId`` until it is found, or until the request's ``recvWindow`` (plus the
  client timeout) has passed without it, after which the exchange can no longer place it and a
  retryable ``VenueReject(UNAVAILABLE)`` is safe. A cancel in that state is queried and resent,
  never reported as Canceled until the venue says so.
* ``-1021`` (our timestamp outside the venue's recvWindow) is a refusal before anything was
  placed or cancelled: the clock is re-synced at once and a new order is refused as retryable
  ``UNAVAILABLE`` (the order manager resends it); queries and cancels are asked again.
* While the user-data stream is down, open orders are polled over REST every
  ``poll_interval_s``, and once more on every reconnect.
* Secrets stay in the ``ConnectorConfig``'s ``SecretStr``: no event, log line or message holds
  them (``errors.scrub`` on every venue message).
* Protective orders live on the exchange, so a dead process keeps its stops: USD-M as
  STOP_MARKET / TAKE_PROFIT_MARKET reduce-only; spot as STOP_LOSS / TAKE_PROFIT only where the
  symbol's ``orderTypes`` list them, else as STOP_LOSS_LIMIT / TAKE_PROFIT_LIMIT with the limit
  ``ProtectiveConfig.limit_offset`` beyond the stop (the shadow order carries that limit). A
  triggered USD-M stop reports ``o`` MARKET with ``ot`` its type; the Rust parser takes it as
  the order's own. Spot stop-loss and take-profit submitted in the same event-loop turn (the
  engine places them together) go out as one OCO list (``spot_oco``); each leg is still one
  tracked order, resolved and cancelled by its own client id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gradtrade.core import Order, OrderStatus, OrderType, SymbolFilters
from gradtrade.errors import GradtradeError, InvalidInput
from gradtrade.events import FillEvent, Liquidity, OrderStyle
from gradtrade.execution.client import (
    Ack,
    Canceled,
    ExecutionEvent,
    OrderRequest,
    StatusUnknown,
    VenueReject,
    VenueRejectReason,
)
from gradtrade.execution.config import ProtectiveConfig
from gradtrade.execution.protective import (
    PROTECTIVE_STYLES,
    STOP_LIMIT,
    oco_pair,
    oco_params,
    spot_stop,
)
from gradtrade.venue.config import ConnectorConfig
from gradtrade.venue.orders import Answered, OrderGateway, Outcome, Refused, binance_code
from gradtrade.venue.user_data import UserDataStream

log = logging.getLogger("gradtrade.execution.live")
NS_PER_MS = 1_000_000
# The order type each style is sent as, per market (USD-M post-only is LIMIT + GTX).
_TYPE = {
    "spot": {
        OrderStyle.MARKET: OrderType.MARKET,
        OrderStyle.POST_ONLY: OrderType.LIMIT_MAKER,
        OrderStyle.STOP_MARKET: OrderType.STOP_LOSS,
        OrderStyle.TAKE_PROFIT_MARKET: OrderType.TAKE_PROFIT,
    },
    "usdm": {
        OrderStyle.MARKET: OrderType.MARKET,
        OrderStyle.POST_ONLY: OrderType.LIMIT,
        OrderStyle.STOP_MARKET: OrderType.STOP_MARKET,
        OrderStyle.TAKE_PROFIT_MARKET: OrderType.TAKE_PROFIT_MARKET,
    },
}
_GONE = (OrderStatus.CANCELED, OrderStatus.EXPIRED, OrderStatus.EXPIRED_IN_MATCH)
UNKNOWN_ORDER_CODES = (-2011, -2013)
CLOCK_SKEW = -1021  # refused before acting: our timestamp is off the venue's clock
INVALID_CODES = (-1013, -1100, -1101, -1102, -1106, -1111, -1116, -1117, -1121, -4014, -4164)


def reject_reason(code: int | None, http_status: int | None) -> VenueRejectReason:
    """The typed reason of a Binance refusal (code first, then the HTTP status)."""
    if http_status == 418:
        return VenueRejectReason.BANNED
    if http_status == 429 or code in (-1003, -1015):
        return VenueRejectReason.RATE_LIMITED
    if code == -2010 or code == -2019:  # spot / USD-M insufficient balance (margin)
        return VenueRejectReason.INSUFFICIENT_BALANCE
    if code in UNKNOWN_ORDER_CODES:
        return VenueRejectReason.UNKNOWN_ORDER
    if code == -2021 or code == -5022:  # would trigger immediately / post-only would take
        return VenueRejectReason.WOULD_TAKE
    return VenueRejectReason.INVALID_ORDER


@dataclass(frozen=True, slots=True)
class LiveClientConfig:
    """Timing of the live client (seconds unless named otherwise)."""

    poll_interval_s: float = 1.0  # REST polling of open orders while the stream is down
    resolve_interval_s: float = 0.25  # queries of an order whose fate is unknown
    recv_window_ms: int = 5000
    connect_timeout_s: float = 10.0
    keep_finished: int = 256  # finished orders kept for late reports
    min_reconnect_s: float = 0.0  # the user-data stream waits at least this before reconnecting

    def __post_init__(self) -> None:
        for name in ("poll_interval_s", "resolve_interval_s", "connect_timeout_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise InvalidInput(f"live client {name} must be positive, got {value}")


@dataclass
class _Tracked:
    request: OrderRequest
    shadow: Order
    sent_ms: float = 0.0  # the venue's clock (as followed) when the request left
    sent_s: float = 0.0  # time.monotonic() then: a venue clock that jumps does not move it
    acked: bool = False
    done: bool = False  # filled, or Canceled / VenueReject reported: its fate is settled
    unknown_reported: bool = False
    trades: set[int] = field(default_factory=set)


class LiveExecutionClient:
    """Submit and cancel from synchronous engine code; ``poll`` drains what came back."""

    def __init__(
        self,
        connector: ConnectorConfig,
        filters: dict[str, SymbolFilters],
        config: LiveClientConfig | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
        protective: ProtectiveConfig | None = None,
        order_types: dict[str, frozenset[str]] | None = None,
    ) -> None:
        self.connector, self.filters = connector, filters
        self.config = config or LiveClientConfig()
        self.protective = protective or ProtectiveConfig()
        self.order_types = order_types or {}  # symbol -> exchangeInfo orderTypes, where known
        self.clock_ns = clock_ns
        self.gateway = OrderGateway(connector, recv_window_ms=self.config.recv_window_ms)
        self.stream = UserDataStream(
            connector,
            self.gateway,
            self._on_frame,
            self._on_stream,
            min_reconnect_s=self.config.min_reconnect_s,
        )
        self.orders: dict[str, _Tracked] = {}
        self.events: deque[ExecutionEvent] = deque()
        self.ready = asyncio.Event()  # set whenever events are waiting for poll()
        self.catch_ups = 0
        self.reports = 0  # websocket reports an order took (duplicates included)
        self.recovered_fills = 0  # fills first learned from a REST query (catch-up, resolution)
        self.unrouted_frames = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._stream_task: asyncio.Task[None] | None = None
        self._poller: asyncio.Task[None] | None = None
        self._banned_until_ms = 0.0
        self._up = asyncio.Event()  # the stream subscribed at least once
        self._finished: deque[str] = deque()  # done orders, oldest first, kept for late reports
        self._pairing: dict[str, list[_Tracked]] = {}  # spot protective orders of this turn

    # --- lifecycle ---

    async def start(self) -> None:
        """Sync the clock, open the order wire, connect the user-data stream and wait for its
        subscription."""
        await self.gateway.rest.sync_time()
        await self.gateway.start()
        self._stream_task = asyncio.create_task(self.stream.run())
        self._poller = asyncio.create_task(self._poll_while_down())
        await asyncio.wait_for(self._up.wait(), self.config.connect_timeout_s)

    async def close(self) -> None:
        self.stream.stop()
        for task in (*self._tasks, self._poller, self._stream_task):
            if task is not None:
                task.cancel()
        for task in (*self._tasks, self._poller, self._stream_task):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self.gateway.close()

    async def settle(self, timeout_s: float | None = None) -> bool:
        """Wait until every request in flight has been answered, at most ``timeout_s``; True
        when none is left. A timeout leaves the requests running: cancelling one (as a
        ``wait_for`` around a ``gather`` would) leaves its order unresolved for good."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while self._tasks:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            await asyncio.wait(list(self._tasks), timeout=left)
        return True

    def unanswered_for_s(self) -> float:
        """Seconds until the exchange's answer for every order sent and not yet answered is
        conclusive: past ``sent + recvWindow + timeout`` the venue can no longer place it, so
        a query that does not find it means it was never placed. 0 when there is none. Counted
        on the monotonic clock: a venue clock that jumps ahead (a re-sync) only closes the
        window sooner, so this never waits too little."""
        now = time.monotonic()
        window_s = self.gateway.recv_window_ms / 1000.0 + self.connector.timeout_s
        due = [t.sent_s + window_s - now for t in self.orders.values()
               if not t.done and not t.acked and t.sent_s > 0]  # fmt: skip
        return max(0.0, *due) if due else 0.0

    # --- ExecutionClient ---

    def submit(self, request: OrderRequest) -> None:
        if request.client_order_id in self.orders:
            raise InvalidInput(f"client order id {request.client_order_id!r} was already sent")
        if request.symbol not in self.filters:
            raise InvalidInput(f"no filters for symbol {request.symbol!r}")
        kind, limit = self._wire_type(request)
        shadow = Order(
            request.client_order_id,
            self.filters[request.symbol],
            request.side,
            request.qty,
            limit,
            kind,
        )
        t = _Tracked(request, shadow)
        self.orders[request.client_order_id] = t
        oco = self.protective.spot_oco and not self.gateway.usdm
        if oco and request.style in PROTECTIVE_STYLES:
            pairing = self._pairing.setdefault(request.symbol, [])
            pairing.append(t)
            if len(pairing) == 1:  # the engine sends the other leg in this same turn, if any
                asyncio.get_running_loop().call_soon(self._flush_pair, request.symbol)
            return
        self._spawn(self._submit(t))

    def _flush_pair(self, symbol: str) -> None:
        """Send the spot protective orders of ``symbol`` gathered this turn: a stop-loss and a
        take-profit of the same side and quantity as one OCO list, anything else singly."""
        ts = {t.request.client_order_id: t for t in self._pairing.pop(symbol, [])}
        pair = oco_pair([t.request for t in ts.values()])
        if pair is not None:
            self._spawn(self._submit_oco(ts[pair[0].client_order_id], ts[pair[1].client_order_id]))
            return
        for t in ts.values():
            self._spawn(self._submit(t))

    async def _submit_oco(self, sl: _Tracked, tp: _Tracked) -> None:
        legs = (sl, tp)
        p = oco_params(self._params(sl.request), self._params(tp.request), sl.request.side)
        now_ms = self.gateway.rest.now_ms()
        if now_ms < self._banned_until_ms:
            for t in legs:
                self._reject(t, VenueRejectReason.BANNED, "IP banned by the venue (HTTP 418)")
            return
        sl.sent_ms = tp.sent_ms = now_ms
        sl.sent_s = tp.sent_s = time.monotonic()
        outcome = await self.gateway.new_oco(p)
        if isinstance(outcome, Answered):
            by_cid = {r.get("clientOrderId"): r for r in outcome.body.get("orderReports", ())}
            for t in legs:
                report = by_cid.get(t.request.client_order_id)
                if report is not None:
                    await self._apply_body(t, report)
                else:
                    await self._resolve(t, "the OCO answer lacks this leg")
        elif isinstance(outcome, Refused):
            if outcome.http_status == 418:
                self._banned_until_ms = now_ms + 1000.0 * (outcome.retry_after or 60.0)
            for t in legs:
                self._reject(t, reject_reason(outcome.code, outcome.http_status), outcome.message)
        else:
            log.warning("OCO of %s: status unknown (%s); resolving by query",
                        sl.request.client_order_id, outcome.message)  # fmt: skip
            for t in legs:
                self._spawn(self._resolve(t, outcome.message))

    def resume(self, request: OrderRequest) -> None:
        """Track an order an earlier process sent (its request as the journal holds it): its
        reports route here again, and it is queried by ``origClientOrderId`` (then its trades)
        until the exchange answers, so what happened while no process watched it (a stop that
        triggered and filled, a cancel) comes back as the usual events: Ack, fills, Canceled."""
        if request.client_order_id in self.orders:
            raise InvalidInput(f"client order id {request.client_order_id!r} is already tracked")
        if request.symbol not in self.filters:
            raise InvalidInput(f"no filters for symbol {request.symbol!r}")
        kind, limit = self._wire_type(request)
        shadow = Order(request.client_order_id, self.filters[request.symbol], request.side,
                       request.qty, limit, kind)  # fmt: skip
        t = _Tracked(request, shadow, sent_ms=self.gateway.rest.now_ms(), sent_s=time.monotonic())
        self.orders[request.client_order_id] = t
        self._spawn(self._resolve(t, "resumed after a restart"))

    def cancel(self, client_order_id: str, ts_ns: int) -> None:
        t = self.orders.get(client_order_id)
        if t is None:
            raise InvalidInput(f"cancel of {client_order_id!r}: this client never sent it")
        self._spawn(self._cancel(t))

    def poll(self) -> list[ExecutionEvent]:
        out = list(self.events)
        self.events.clear()
        self.ready.clear()
        return out

    # --- order entry ---

    def _wire_type(self, req: OrderRequest) -> tuple[OrderType, float | None]:
        """The order type ``req`` is sent as, and its limit price (None: none)."""
        kind = _TYPE[self.connector.market][req.style]
        if req.style == OrderStyle.POST_ONLY:
            return kind, req.price
        if kind not in STOP_LIMIT:  # a market, or a USD-M stop
            return kind, None
        tick = self.filters[req.symbol].tick_size
        return spot_stop(kind, req, self.order_types.get(req.symbol), self.protective, tick)

    def _params(self, req: OrderRequest) -> dict[str, Any]:
        f = self.filters[req.symbol]
        p: dict[str, Any] = {
            "symbol": req.symbol,
            "side": _wire(req.side),
            "quantity": _text(req.qty, f.step_size),
            "newClientOrderId": req.client_order_id,
        }
        if req.style == OrderStyle.MARKET:
            p["type"] = "MARKET"
        elif req.style == OrderStyle.POST_ONLY:
            assert req.price is not None
            p["price"] = _text(req.price, f.tick_size)
            if self.gateway.usdm:
                p.update(type="LIMIT", timeInForce="GTX")
            else:
                p["type"] = "LIMIT_MAKER"
        else:
            assert req.price is not None
            kind, limit = self._wire_type(req)
            p["stopPrice"] = _text(req.price, f.tick_size)
            p["type"] = _wire(kind)
            if limit is not None:
                p.update(price=_text(limit, f.tick_size), timeInForce="GTC")
        if req.reduce_only and self.gateway.usdm:
            p["reduceOnly"] = "true"
        return p

    async def _submit(self, t: _Tracked) -> None:
        cid = t.request.client_order_id
        now_ms = self.gateway.rest.now_ms()
        if now_ms < self._banned_until_ms:
            self._reject(t, VenueRejectReason.BANNED, "IP banned by the venue (HTTP 418)")
            return
        t.sent_ms, t.sent_s = now_ms, time.monotonic()
        outcome = await self.gateway.new_order(self._params(t.request))
        if _code(outcome) == CLOCK_SKEW:
            await self._resync_clock()
            self._reject(t, VenueRejectReason.UNAVAILABLE, f"clock re-synced: {outcome}")
        elif isinstance(outcome, Answered):
            await self._apply_body(t, outcome.body)
        elif isinstance(outcome, Refused):
            if outcome.http_status == 418:
                self._banned_until_ms = now_ms + 1000.0 * (outcome.retry_after or 60.0)
            self._reject(t, reject_reason(outcome.code, outcome.http_status), outcome.message)
        else:
            log.warning("order %s: status unknown (%s); resolving by query", cid, outcome.message)
            await self._resolve(t, outcome.message)

    async def _resolve(self, t: _Tracked, why: str) -> None:
        """Query the order until the exchange says what happened to it."""
        cid, symbol = t.request.client_order_id, t.request.symbol
        deadline = t.sent_ms + self.gateway.recv_window_ms + 1000.0 * self.connector.timeout_s
        while not t.done:
            outcome = await self.gateway.query(symbol, cid)
            if isinstance(outcome, Answered):
                await self._apply_body(t, outcome.body)
                return
            if _code(outcome) == CLOCK_SKEW:
                await self._resync_clock()
                await asyncio.sleep(self.config.resolve_interval_s)
                continue
            past = self.gateway.rest.now_ms() > deadline
            never_placed = isinstance(outcome, Refused) and outcome.code == -2013
            if never_placed and past and t.shadow.exchange_order_id is None:
                self._reject(t, VenueRejectReason.UNAVAILABLE, f"order was not placed: {why}")
                return
            if past and not never_placed and not t.unknown_reported:
                t.unknown_reported = True
                self._emit(StatusUnknown(cid, f"queries do not answer: {why}", self.clock_ns()))
            await asyncio.sleep(self.config.resolve_interval_s)

    async def _cancel(self, t: _Tracked) -> None:
        cid, symbol = t.request.client_order_id, t.request.symbol
        with contextlib.suppress(GradtradeError):  # already terminal / cancelling: still ask
            if not t.shadow.is_terminal:
                t.shadow.transition(OrderStatus.PENDING_CANCEL)
        while not t.done and not t.shadow.is_terminal:
            outcome = await self.gateway.cancel(symbol, cid)
            if isinstance(outcome, Answered):
                await self._apply_body(t, outcome.body)
                return
            if _code(outcome) == CLOCK_SKEW:
                await self._resync_clock()
                await asyncio.sleep(self.config.resolve_interval_s)
                continue
            if isinstance(outcome, Refused):
                # Already filled or gone (-2011): the venue's account of the order decides.
                with contextlib.suppress(GradtradeError):
                    t.shadow.cancel_rejected()
                query = await self.gateway.query(symbol, cid)
                if isinstance(query, Answered):
                    await self._apply_body(t, query.body)
                if not t.done:
                    reason = reject_reason(outcome.code, outcome.http_status)
                    self._emit(VenueReject(cid, reason, outcome.message, self.clock_ns()))
                return
            # Unknown: the cancel may or may not have happened. Ask, then ask again.
            query = await self.gateway.query(symbol, cid)
            if isinstance(query, Answered):
                await self._apply_body(t, query.body)
            await asyncio.sleep(self.config.resolve_interval_s)

    async def _resync_clock(self) -> None:
        """Follow the venue's clock after a -1021; a venue that cannot say keeps the offset
        (the caller's loop asks again after its interval)."""
        try:
            await self.gateway.rest.sync_time()
        except GradtradeError as exc:
            log.warning("clock re-sync after -1021 failed: %s", exc)
            await asyncio.sleep(self.config.resolve_interval_s)

    # --- applying what the venue says ---

    async def _apply_body(self, t: _Tracked, body: dict[str, Any]) -> None:
        """An order as REST reports it (new-order answer, query, cancel answer)."""
        o = t.shadow
        if o.status == OrderStatus.PENDING_NEW:
            o.transition(OrderStatus.NEW)
        o.acknowledge(int(body["orderId"]))
        self._sync(t)
        ts = int(body.get("transactTime") or body.get("updateTime") or 0)
        for f in body.get("fills", ()):
            self._fill(t, int(f["tradeId"]), f["qty"], f["price"], f["commission"],
                       f["commissionAsset"], ts, None)  # fmt: skip
        executed = float(body.get("executedQty", 0.0))
        step = self.filters[t.request.symbol].step_size
        if executed > o.filled_qty + 0.5 * step:
            await self._fetch_trades(t)
        status = getattr(OrderStatus, str(body.get("status", "")), None)
        if status in _GONE and not o.is_terminal and executed <= o.filled_qty + 0.5 * step:
            o.transition(status)
        elif status == OrderStatus.REJECTED and not o.is_terminal:
            self._reject(t, VenueRejectReason.INVALID_ORDER, "the venue rejected the order")
        self._sync(t)

    async def _fetch_trades(self, t: _Tracked) -> None:
        oid = t.shadow.exchange_order_id
        if oid is None:
            return
        outcome = await self.gateway.trades(t.request.symbol, oid)
        if not isinstance(outcome, Answered):
            log.warning("trades of %s: %s", t.request.client_order_id, outcome)
            return
        # Binance filters by orderId; the check here keeps a venue that does not (the local
        # exchange returns the account's last trades) from lending us another order's fills.
        ours = [tr for tr in outcome.body if int(tr.get("orderId", -1)) == oid]
        for tr in sorted(ours, key=lambda x: int(x["id"])):
            maker = bool(tr.get("isMaker", tr.get("maker", False)))
            try:
                applied = self._fill(t, int(tr["id"]), tr["qty"], tr["price"], tr["commission"],
                                     tr["commissionAsset"], int(tr["time"]), maker)  # fmt: skip
            except GradtradeError as exc:  # an overfill or a fill after cancel: state unchanged
                log.error("trade %s of %s refused: %s", tr["id"], t.request.client_order_id, exc)
                continue
            self.recovered_fills += applied

    def _fill(
        self,
        t: _Tracked,
        trade_id: int,
        qty: str,
        price: str,
        fee: str,
        fee_asset: str | None,
        time_ms: int,
        maker: bool | None,
    ) -> bool:
        """Apply and report one REST fill; False when the trade was known already."""
        if trade_id in t.trades:
            return False
        if not t.shadow.apply_fill(trade_id, float(qty), float(price), float(fee), fee_asset,
                                   time_ms):  # fmt: skip
            return False
        self._sync(t)  # the Ack first
        self._emit_fill(t, trade_id, float(qty), float(price), float(fee), fee_asset or "",
                        time_ms, maker)  # fmt: skip
        return True

    def _emit_fill(
        self,
        t: _Tracked,
        trade_id: int,
        qty: float,
        price: float,
        fee: float,
        fee_asset: str,
        time_ms: int,
        maker: bool | None,
    ) -> None:
        req = t.request
        t.trades.add(trade_id)
        if maker is None:
            maker = req.style == OrderStyle.POST_ONLY
        self._emit(
            FillEvent(
                req.client_order_id,
                trade_id,
                req.symbol,
                req.side,
                price,
                qty,
                fee,
                fee_asset,
                Liquidity.MAKER if maker else Liquidity.TAKER,
                (time_ms * NS_PER_MS) if time_ms > 0 else self.clock_ns(),
                req.side.sign * (price - req.reference_price) * qty,
            )
        )

    def _on_frame(self, raw: bytes) -> None:
        """One user-data frame, as received: offered to the tracked orders, newest first."""
        if b'"executionReport"' not in raw and b'"ORDER_TRADE_UPDATE"' not in raw:
            return  # account updates: balances are reconciled elsewhere
        for t in reversed(list(self.orders.values())):
            o = t.shadow
            before = (o.filled_qty, o.filled_notional, o.fees, set(o.trade_ids))
            try:
                changed = o.apply_execution_report_json(raw)
            except InvalidInput:
                continue  # not this order's report (or not applicable to it as it stands)
            self.reports += 1
            if changed:
                self._after_report(t, before)
            return
        self.unrouted_frames += 1
        self._spawn(self._catch_up())

    def _after_report(
        self, t: _Tracked, before: tuple[float, float, dict[str, float], set[int]]
    ) -> None:
        o = t.shadow
        self._sync_ack(t)
        new = set(o.trade_ids) - before[3]
        if new:
            (trade_id,) = new  # one report carries at most one trade
            qty = o.filled_qty - before[0]
            tick = self.filters[t.request.symbol].tick_size
            price = round((o.filled_notional - before[1]) / qty / tick) * tick
            fees = o.fees
            asset = next((a for a in fees if fees[a] != before[2].get(a, 0.0)), "")
            fee = fees.get(asset, 0.0) - before[2].get(asset, 0.0) if asset else 0.0
            self._emit_fill(t, trade_id, qty, price, fee, asset, o.updated_ms,
                            None if o.order_type != OrderType.MARKET else False)  # fmt: skip
        self._sync(t)

    def _sync_ack(self, t: _Tracked) -> None:
        if not t.acked and t.shadow.exchange_order_id is not None:
            t.acked = True
            self._emit(Ack(t.request.client_order_id, t.shadow.exchange_order_id, self.clock_ns()))

    def _sync(self, t: _Tracked) -> None:
        """Report what the shadow order knows and the engine was not told yet."""
        self._sync_ack(t)
        if not t.done and t.shadow.status in _GONE:
            t.done = True
            self._finish(t)
            self._emit(Canceled(t.request.client_order_id, self.clock_ns(), t.shadow.status))
        elif not t.done and t.shadow.status == OrderStatus.FILLED:
            t.done = True
            self._finish(t)

    def _reject(self, t: _Tracked, reason: VenueRejectReason, message: str) -> None:
        if t.done:
            return
        with contextlib.suppress(GradtradeError):
            t.shadow.transition(OrderStatus.REJECTED)
        t.done = True
        self._finish(t)
        self._emit(VenueReject(t.request.client_order_id, reason, message, self.clock_ns()))

    def _finish(self, t: _Tracked) -> None:
        """Keep the last ``keep_finished`` done orders (late duplicate reports still route to
        them); older ones are forgotten so routing a frame stays bounded."""
        self._finished.append(t.request.client_order_id)
        while len(self._finished) > self.config.keep_finished:
            old = self.orders.get(self._finished.popleft())
            if old is not None and old.shadow.is_terminal:
                del self.orders[old.request.client_order_id]

    def _emit(self, event: ExecutionEvent) -> None:
        self.events.append(event)
        self.ready.set()

    # --- stream state and REST catch-up ---

    def _on_stream(self, connected: bool) -> None:
        log.info("user-data stream %s", "up" if connected else "down")
        if connected:
            self._up.set()
            self._spawn(self._catch_up())  # what happened while it was down

    async def _poll_while_down(self) -> None:
        while True:
            await asyncio.sleep(self.config.poll_interval_s)
            if not self.stream.connected:
                await self._catch_up()

    async def _catch_up(self) -> None:
        """Query every open order we know the exchange has, and apply its trades."""
        self.catch_ups += 1
        for t in list(self.orders.values()):
            if t.shadow.is_terminal or t.shadow.exchange_order_id is None:
                continue
            outcome = await self.gateway.query(t.request.symbol, t.request.client_order_id)
            if isinstance(outcome, Answered):
                await self._apply_body(t, outcome.body)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("live client task failed: %s", task.exception())


def _code(outcome: Outcome) -> int | None:
    """Binance's error code of a refusal or of an unknown outcome's quoted body."""
    if isinstance(outcome, Refused):
        return outcome.code
    if isinstance(outcome, Answered):
        return None
    return binance_code(outcome.message)


def _wire(enum: object) -> str:
    """Binance's text of a core enum (``Side.BUY`` -> ``BUY``): the enums' own names."""
    return str(enum).rpartition(".")[2]


def _text(value: float, grid: float) -> str:
    """``value`` on ``grid`` as decimal text (what Binance's filters compare)."""
    decimals = max(0, -math.floor(math.log10(grid) + 1e-9))
    return f"{round(value / grid) * grid:.{decimals}f}"


__all__ = ["LiveClientConfig", "LiveExecutionClient", "reject_reason"]
