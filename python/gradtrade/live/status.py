"""What the journal says about a trader: ``gradtrade trade status`` and ``reset-breaker``.

Invariants: ``trader_status`` opens the journal read-only (it takes no writer lock, so it works
while the trader runs) and recovers it exactly as a restart would, so what it prints is what
the trader would resume from (positions: the portfolio a restart rebuilds, its fills and the
USD-M positions reconciliation adopted); ``reset_breaker`` is the one way to leave
HALTED/REDUCING from the outside: it appends a ``breaker_transition`` to ACTIVE, which needs the
writer lock (the trader must be stopped: a running one holds it and the reset is refused with
``JournalLocked``).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from gradtrade.core import DrawdownBreaker, Position
from gradtrade.errors import InvalidInput
from gradtrade.execution.portfolio import PortfolioTracker
from gradtrade.live.config import TraderConfig
from gradtrade.live.resume import restore_portfolio
from gradtrade.persistence.journal import Journal, open_journal
from gradtrade.persistence.records import JournalRecord, RecordKind
from gradtrade.persistence.recovery import TraderState, recover


@dataclass
class TraderStatus:
    trader_id: str
    journal_seq: int
    positions: dict[str, dict[str, float]] = field(default_factory=dict)
    open_orders: list[dict[str, Any]] = field(default_factory=list)
    orders_total: int = 0
    breaker: str = "ACTIVE"
    drawdown: float = 0.0
    last_decision: dict[str, Any] | None = None
    reconciliation: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        lines = [f"trader {self.trader_id}: journal at record {self.journal_seq}, "
                 f"{self.orders_total} orders, breaker {self.breaker} "
                 f"(drawdown {100 * self.drawdown:.2f}%)"]  # fmt: skip
        for symbol, p in self.positions.items():
            lines.append(
                f"position {symbol}: {p['quantity']:+.8f} avg {p['average_entry']:.8f} "
                f"realized {p['realized']:.8f}"
            )
        if not self.positions:
            lines.append("positions: none")
        lines.append(f"open orders: {len(self.open_orders)}")
        for o in self.open_orders:
            lines.append(
                f"  {o['client_order_id']} {o['side']} {o['quantity']} filled {o['filled']} "
                f"{o['status']}"
            )
        d = self.last_decision
        lines.append("last decision: " + ("none" if d is None else orjson.dumps(d).decode()))
        r = self.reconciliation
        lines.append("last reconciliation: " + ("none" if r is None else (
            f"{str(r.get('verdict', 'ok' if r.get('ok') else 'halt')).upper()}, "
            f"{len(r.get('discrepancies') or ())} discrepancies")))  # fmt: skip
        return "\n".join(lines)


def trader_status(cfg: TraderConfig) -> TraderStatus:
    with open_journal(cfg.journal.url, cfg.journal_options(readonly=True)) as journal:
        state = recover(journal)
        positions = _positions(cfg, journal, state)
    total = len(state.orders) + state.pruned_count  # pruned orders were journaled too
    status = TraderStatus(cfg.trader_id, state.seq, orders_total=total)
    for symbol, pos in positions.items():
        status.positions[symbol] = {
            "quantity": pos.quantity,
            "average_entry": pos.average_entry or 0.0,
            "realized": pos.net_realized_pnl,
        }
    for cid, o in state.orders.items():
        if not o.is_terminal:
            status.open_orders.append({
                "client_order_id": cid, "side": str(o.side).rpartition(".")[2],
                "quantity": o.quantity, "filled": o.filled_qty,
                "status": str(o.status).rpartition(".")[2],
                "exchange_order_id": o.exchange_order_id, "in_flight": cid in state.in_flight,
            })  # fmt: skip
    if state.breaker is not None:
        status.breaker = str(state.breaker.state).rpartition(".")[2]
        status.drawdown = state.breaker.drawdown
    decisions = [d for s, d in state.decisions.items() if s == cfg.symbol] or list(
        state.decisions.values()
    )
    status.last_decision = decisions[-1] if decisions else None
    status.reconciliation = state.reconciliation
    return status


def _positions(cfg: TraderConfig, journal: Journal, state: TraderState) -> dict[str, Position]:
    """The traded symbol's position as a restart's portfolio has it; the journal's own fills
    alone when it holds no instrument record yet."""
    filters = state.filters.get(cfg.symbol)
    if filters is None:
        return dict(state.positions)
    portfolio = PortfolioTracker(cfg.capital, {cfg.symbol: filters}, filters.quote_asset or "USDT")
    restore_portfolio(journal, state, portfolio)
    if portfolio.positions[cfg.symbol].is_flat and cfg.symbol not in state.positions:
        return {}
    return {cfg.symbol: portfolio.positions[cfg.symbol]}


def reset_breaker(cfg: TraderConfig) -> str:
    """Journal the breaker back to ACTIVE; returns the state it left. The trader must be
    stopped (a running trader holds the journal: ``JournalLocked``)."""
    with open_journal(cfg.journal.url, cfg.journal_options(readonly=False)) as journal:
        state = recover(journal)
        if state.breaker is None:
            raise InvalidInput(f"trader {cfg.trader_id}: the journal holds no breaker to reset")
        before = str(state.breaker.state).rpartition(".")[2]
        breaker = DrawdownBreaker.from_json(state.breaker.to_json())
        breaker.reset(None)
        record = JournalRecord.new(
            state.seq + 1, time.time_ns(), RecordKind.BREAKER_TRANSITION, "account",
            {"breaker": orjson.loads(breaker.to_json()), "from": before, "to": "ACTIVE",
             "reset": True},
        )  # fmt: skip
        state.apply(record)
        journal.append(record)
    return before


__all__ = ["TraderStatus", "reset_breaker", "trader_status"]
