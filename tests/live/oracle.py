"""The exchange as the oracle of the fault tests, spot or USD-M: our orders (by client id),
their trades and the account's balances and position, read with ccxt from the local exchange in
its own process, and the checks every fault ends with.

After a fault (and, for a crash, the restart): 0 lost orders (every client id on the exchange
is in the journal), 0 duplicated (each client id once on the exchange), every exchange trade in
the journal exactly once, each order's final status the exchange's, an order the exchange
never had journaled REJECTED, the journal's position equal to the exchange's trades and the
account's balances moved by exactly what the journaled fills say.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt_async

from gradtrade.core import OrderStatus, parse_client_order_id
from gradtrade.errors import JournalError
from gradtrade.persistence import JournalOptions, RecordKind, open_journal, recover
from gradtrade.persistence.records import JournalRecord
from gradtrade.persistence.recovery import TraderState
from gradtrade.venue.urls import ccxt_urls

from .harness import KEY, SECRET, SYMBOL

Rows = list[dict[str, Any]]
BASE, QUOTE = "BTC", "USDT"


@dataclass(frozen=True)
class Account:
    """Spot: total (free + locked) per asset; USD-M: wallet balance and position amount."""

    balances: dict[str, float]
    position: float


@dataclass(frozen=True)
class Seen:
    state: TraderState
    records: list[JournalRecord]
    orders: Rows
    trades: Rows


def _ccxt(url: str, market: str) -> Any:
    cls = ccxt_async.binanceusdm if market == "usdm" else ccxt_async.binance
    return cls({"urls": ccxt_urls(url, market), "apiKey": KEY, "secret": SECRET})


async def _every_trade(fetch: Any, q: dict[str, Any]) -> Rows:
    """All the account's trades by ``fromId`` pages from the first (no time window: USD-M's
    default is the last 7 days of the exchange's clock, which the tests move)."""
    out: Rows = []
    cursor = 0
    while True:
        page = await fetch({**q, "fromId": cursor})
        out.extend(page)
        if len(page) < q["limit"]:
            return out
        cursor = max(int(t["id"]) for t in page) + 1


async def _read(url: str, market: str, sessions: set[int]) -> tuple[Rows, Rows, Account]:
    ex = _ccxt(url, market)
    try:
        await ex.load_time_difference()  # the tests move the exchange's clock
        q = {"symbol": SYMBOL, "limit": 1000}
        if market == "usdm":
            orders = await ex.fapiPrivateGetAllOrders(q)
            trades = await _every_trade(ex.fapiPrivateGetUserTrades, q)
            acct = await ex.fapiPrivateV2GetAccount()
            pos = sum(float(p["positionAmt"]) for p in acct["positions"] if p["symbol"] == SYMBOL)
            wallet = {a["asset"]: float(a["walletBalance"]) for a in acct["assets"]}
            account = Account(wallet, pos)
        else:
            orders = await ex.privateGetAllOrders(q)
            trades = await _every_trade(ex.privateGetMyTrades, q)
            acct = await ex.privateGetAccount()
            total = {b["asset"]: float(b["free"]) + float(b["locked"]) for b in acct["balances"]}
            account = Account(total, total.get(BASE, 0.0))
    finally:
        await ex.close()
    ours = []
    for o in orders:
        try:
            strategy, session, _ = parse_client_order_id(o["clientOrderId"])
        except Exception:
            continue
        if strategy == "ma_cross" and session in sessions:
            ours.append(o)
    ids = {int(o["orderId"]) for o in ours}
    return ours, [t for t in trades if int(t["orderId"]) in ids], account


def account(url: str, market: str = "spot") -> Account:
    return asyncio.run(_read(url, market, set()))[2]


def exchange_orders(url: str, sessions: set[int], market: str = "spot") -> Rows:
    return asyncio.run(_read(url, market, sessions))[0]


def journal_ready(db: Path) -> bool:
    """The trader has created its journal: the file exists and its schema is written. A poller
    that reads it between the two catches it mid-creation ("no meta table")."""
    if not db.exists():
        return False
    try:
        with open_journal(str(db), JournalOptions(readonly=True)):
            return True
    except JournalError as exc:
        if "no meta table" in str(exc):
            return False
        raise


def journal(db: Path) -> tuple[TraderState, list[JournalRecord]]:
    with open_journal(str(db), JournalOptions(readonly=True)) as j:
        return recover(j), list(j.read())


def check(url: str, db: Path, sessions: set[int], before: Account, market: str = "spot") -> Seen:
    """Every check of the module docstring; ``before``: the account before the first run."""
    state, records = journal(db)
    orders, trades, after = asyncio.run(_read(url, market, sessions))
    on_exchange = [o["clientOrderId"] for o in orders]
    assert len(on_exchange) == len(set(on_exchange)), f"duplicated client ids: {on_exchange}"
    lost = set(on_exchange) - set(state.orders)
    assert not lost, f"orders on the exchange the journal does not know: {lost}"
    fills = [r.data() for r in records if r.kind is RecordKind.FILL]
    ids = [f["trade_id"] for f in fills]
    assert len(ids) == len(set(ids)), "a fill journaled twice"
    assert sorted(ids) == sorted(int(t["id"]) for t in trades), "journal fills != exchange trades"
    for o in orders:
        mine = state.orders[o["clientOrderId"]]
        assert mine.is_terminal, (o["clientOrderId"], mine.status)
        assert str(mine.status).endswith(o["status"]), (o, mine.status)
    for cid, order in state.orders.items():
        if cid not in on_exchange:
            assert order.status == OrderStatus.REJECTED, (cid, order.status)
    qty = sum(f["side"] * f["quantity"] for f in fills)
    assert abs(state.positions[SYMBOL].quantity - qty) < 1e-9 if fills else True
    if market == "usdm":  # position: the trades; wallet: realized PnL less fees
        assert abs((after.position - before.position) - qty) < 1e-9, (after, before, qty)
        moved = after.balances[QUOTE] - before.balances[QUOTE]
        expected = state.positions[SYMBOL].net_realized_pnl if fills else 0.0
        if abs(before.position) < 1e-12:  # else the exchange's PnL uses the older entry too
            assert abs(moved - expected) < 1e-4, (moved, expected)
    else:  # spot: each asset moved by the fills, the fee taken from the asset it is in
        base = qty - sum(f["fee"] for f in fills if f["fee_asset"] == BASE)
        quote = -sum(f["side"] * f["quantity"] * f["price"] for f in fills) - sum(
            f["fee"] for f in fills if f["fee_asset"] == QUOTE
        )
        assert abs(after.balances[BASE] - before.balances[BASE] - base) < 1e-7
        assert abs(after.balances[QUOTE] - before.balances[QUOTE] - quote) < 1e-5
    return Seen(state, records, orders, trades)


__all__ = ["Account", "Seen", "account", "check", "exchange_orders", "journal"]
