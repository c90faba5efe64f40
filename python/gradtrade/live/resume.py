"""Restart: the portfolio and the session from the journal, and every order the last run left
open resolved with the venue before the first new decision.

Invariants:

* the portfolio is the snapshot's (``extra/portfolio``, taken at a quiescent point) plus every
  ``fill`` record after it, applied once each, and the USD-M positions a ``reconciliation``
  record adopted, in journal order; without a snapshot, every such record from the start;
* the new session number is past every session in the journal's client ids (the pruned ones
  too, through ``TraderState.pruned``), so no id is ever sent twice
  (``core.client_order_id(strategy, session, seq)``);
* an order the journal holds as not terminal is never assumed rejected: live, it is queried by
  ``origClientOrderId`` (and its trades) until the venue answers. Found: its acknowledgement,
  fills and final status are journaled; still working: it is cancelled (the new session's order
  manager does not own it) and the cancel's answer journaled. Not found: it is rejected only
  once ``recv_window + timeout`` has passed since this restart began, when a request sent
  before the crash can no longer be placed. Paper: the simulated venue did not survive the
  process, so its orders are closed (acknowledged ones cancelled, the others rejected).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from gradtrade.core import OrderStatus, Side, SymbolFilters, parse_client_order_id
from gradtrade.errors import GradtradeError, InvalidInput
from gradtrade.events import FillEvent, Liquidity
from gradtrade.execution.portfolio import PortfolioTracker
from gradtrade.live.reconcile_report import adopted_positions
from gradtrade.live.recorder import Recorder
from gradtrade.persistence.journal import Journal
from gradtrade.persistence.records import RecordKind
from gradtrade.persistence.recovery import TraderState
from gradtrade.venue.orders import (
    Answered,
    OrderGateway,
    Outcome,
    Refused,
    StatusUnknown,
    binance_code,
)

log = logging.getLogger("gradtrade.live.resume")
NS_PER_MS = 1_000_000
PORTFOLIO = "portfolio"
CLOCK_SKEW = -1021  # "Timestamp for this request is outside of the recvWindow"
_GONE = {
    "CANCELED": RecordKind.ORDER_CANCELED,
    "EXPIRED": RecordKind.ORDER_EXPIRED,
    "EXPIRED_IN_MATCH": RecordKind.ORDER_EXPIRED,
    "REJECTED": RecordKind.ORDER_REJECTED,
}


def portfolio_json(p: PortfolioTracker) -> str:
    return p.to_json()


def restore_portfolio(journal: Journal, state: TraderState, p: PortfolioTracker) -> int:
    """Bring the fresh tracker ``p`` to the journal's end; returns the fills applied."""
    snapshot = journal.latest_snapshot()
    after = 0
    text = state.extra.get(PORTFOLIO) if snapshot is not None else None
    if snapshot is not None and text is not None:
        p.restore_json(text)
        after = snapshot.seq
    applied = 0
    for record in journal.read(after_seq=after):
        if record.kind is RecordKind.RECONCILIATION:
            where = f"journal record {record.seq}"
            for symbol, pos in adopted_positions(record.data(), where).items():
                p.adopt_position(symbol, pos.quantity, pos.entry_price)
            continue
        if record.kind is not RecordKind.FILL:
            continue
        d = record.data()
        if d.get("symbol") not in p.positions:
            raise InvalidInput(f"journal record {record.seq}: fill without a known symbol")
        p.apply_fill(
            FillEvent(
                record.key, d["trade_id"], d["symbol"], Side.BUY if d["side"] > 0 else Side.SELL,
                d["price"], d["quantity"], d["fee"], d["fee_asset"] or "",
                Liquidity(d.get("liquidity", "taker")), d["time_ms"] * NS_PER_MS,
                d.get("slippage", 0.0),
            )
        )  # fmt: skip
        applied += 1
    return applied


def next_session(state: TraderState, configured: int) -> int:
    """A session number past every one in the journal's client ids, pruned ones included (and
    the configured one)."""
    sessions = [configured - 1, *(session for session, _ in state.pruned.values())]
    for cid in state.orders:
        try:
            sessions.append(parse_client_order_id(cid)[1])
        except GradtradeError:
            continue
    return max(sessions) + 1


def open_orders(state: TraderState) -> list[str]:
    return [cid for cid, o in state.orders.items() if not o.is_terminal]


def close_paper_orders(recorder: Recorder) -> int:
    """Paper: the simulated venue died with the process; close what it held."""
    closed = 0
    for cid in open_orders(recorder.state):
        o = recorder.state.orders[cid]
        if o.exchange_order_id is None:
            payload = {"reason": "unavailable", "message": "paper venue restarted"}
            recorder.record(RecordKind.ORDER_REJECTED, cid, payload)
        else:
            if o.status != OrderStatus.PENDING_CANCEL:
                recorder.record(RecordKind.ORDER_CANCEL_REQUESTED, cid, {})
            recorder.record(RecordKind.ORDER_CANCELED, cid, {})
        closed += 1
    return closed


async def resolve_live_orders(
    recorder: Recorder, gateway: OrderGateway, timeout_s: float, interval_s: float = 0.25
) -> int:
    """Resolve every open journaled order with the venue (module docstring); returns how many.
    Raises ``GradtradeError`` when the venue cannot tell within a bounded number of tries."""
    never_before_ms = time.time() * 1000.0 + gateway.recv_window_ms + 1000.0 * timeout_s
    resolved = 0
    for cid in open_orders(recorder.state):
        await _resolve(recorder, gateway, cid, never_before_ms, interval_s)
        resolved += 1
    return resolved


async def _resolve(
    recorder: Recorder, gateway: OrderGateway, cid: str, deadline_ms: float, interval_s: float
) -> None:
    order = recorder.state.orders[cid]
    tries = 0
    while not order.is_terminal:
        outcome = await gateway.query(order.symbol, cid)
        if isinstance(outcome, Answered):
            await _apply(recorder, gateway, cid, outcome.body)
            if not order.is_terminal:
                if order.status != OrderStatus.PENDING_CANCEL:
                    recorder.record(RecordKind.ORDER_CANCEL_REQUESTED, cid, {})
                answer = await gateway.cancel(order.symbol, cid)
                if isinstance(answer, Answered):
                    await _apply(recorder, gateway, cid, answer.body)
        elif isinstance(outcome, Refused) and outcome.code == -2013:
            if time.time() * 1000.0 > deadline_ms and order.exchange_order_id is None:
                recorder.record(RecordKind.ORDER_REJECTED, cid, {
                    "reason": "unavailable",
                    "message": "not on the venue past recvWindow + timeout after a restart",
                })  # fmt: skip
                log.warning("order %s was never placed (resolved at restart)", cid)
                return
        elif _code(outcome) == CLOCK_SKEW:
            await gateway.rest.sync_time()  # our timestamps are off the venue's clock
        tries += 1
        if tries > 400:
            raise GradtradeError(
                f"order {cid}: the venue does not say what happened to it (last: {outcome})"
            )
        if not order.is_terminal:
            await asyncio.sleep(interval_s)


async def _apply(recorder: Recorder, gateway: OrderGateway, cid: str, body: dict[str, Any]) -> None:
    order = recorder.state.orders[cid]
    oid = int(body["orderId"])
    if order.exchange_order_id is None:
        recorder.record(RecordKind.ORDER_ACCEPTED, cid, {"exchange_order_id": oid})
    if float(body.get("executedQty", 0.0)) > order.filled_qty:
        trades = await gateway.trades(order.symbol, oid)
        if not isinstance(trades, Answered):
            raise GradtradeError(f"order {cid}: its trades cannot be read ({trades})")
        for tr in sorted(trades.body, key=lambda t: int(t["id"])):
            if int(tr.get("orderId", -1)) != oid or int(tr["id"]) in order.trade_ids:
                continue
            maker = bool(tr.get("isMaker", tr.get("maker", False)))
            recorder.record(RecordKind.FILL, cid, {
                "trade_id": int(tr["id"]), "quantity": float(tr["qty"]),
                "price": float(tr["price"]), "fee": float(tr["commission"]),
                "fee_asset": tr.get("commissionAsset") or None, "time_ms": int(tr["time"]),
                "side": order.side.sign, "symbol": order.symbol,
                "liquidity": "maker" if maker else "taker", "slippage": 0.0,
            })  # fmt: skip
    status = str(body.get("status", ""))
    if status == "FILLED" and order.status == OrderStatus.FILLED:
        recorder.record(RecordKind.ORDER_FILLED, cid, {})
    elif status in _GONE and not order.is_terminal:
        kind = _GONE[status]
        payload: dict[str, Any] = {}
        if kind is RecordKind.ORDER_EXPIRED:
            payload = {"in_match": status == "EXPIRED_IN_MATCH"}
        elif kind is RecordKind.ORDER_REJECTED:
            payload = {"reason": "invalid_order", "message": "the venue rejected the order"}
        recorder.record(kind, cid, payload)


def _code(outcome: Outcome) -> int | None:
    if isinstance(outcome, Refused):
        return outcome.code
    return binance_code(outcome.message) if isinstance(outcome, StatusUnknown) else None


def check_filters(state: TraderState, filters: SymbolFilters) -> bool:
    """Whether the journal already holds these filters for the symbol."""
    known = state.filters.get(filters.symbol)
    return known is not None and known.to_json() == filters.to_json()


__all__ = [
    "PORTFOLIO",
    "check_filters",
    "close_paper_orders",
    "next_session",
    "open_orders",
    "portfolio_json",
    "resolve_live_orders",
    "restore_portfolio",
]
