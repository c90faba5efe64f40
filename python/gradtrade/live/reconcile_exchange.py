"""The exchange's side of reconciliation: signed REST reads into an ``ExchangeState``.

What is read, through the venue client's ``OrderGateway`` (one signed request each, answered by
a typed outcome): open orders per symbol; each order the trader believes live, by
``origClientOrderId``; the account's trades since the last journaled fill (``myTrades`` /
``userTrades`` in 24-hour ``startTime`` windows until the first trade, then pages by
``fromId``), plus the trades of every queried order whose executed quantity is ahead of the
journal; spot balances (``account``) or the USD-M wallet, positions and entry prices (``account``).

Invariants:

* Every body is parsed field by field before anything is compared: a missing field, a
  non-numeric or non-finite quantity, an unknown status or side, a duplicate asset or a trade
  id reported twice with different contents raise ``InvalidInput`` naming the endpoint and the
  field (never a guess, never a partly built state). :func:`check_state` turns that into a
  ``HALT`` report (``MALFORMED_RESPONSE``). A negative balance parses (it is well formed)
  and is judged by the comparison: ``NEGATIVE_BALANCE``, never repairable.
* Pages are filtered client-side too (id >= fromId, time within the window, the order id asked
  for): a venue that ignores a filter cannot lend another order's trades, and a page that
  brings nothing new ends the paging.
* No retry of a request: a refusal raises ``ExchangeRejected`` (``RateLimited`` for 429/418)
  and an unknown outcome ``ServerError``; the caller decides when to try again.
* Reconciliation reads a moving account: a fill between two reads shows as a difference. A
  pass that halts is therefore read once more (``confirm_after_s``) and the second stands; the
  trader reconciles with order entry paused.
* The trade window reaches back at most ``MAX_LOOKBACK_DAYS`` (one request per day without
  trades); further back is refused before any request.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable
from typing import Any

from gradtrade.core import OrderStatus, Side
from gradtrade.errors import ExchangeRejected, InvalidInput, RateLimited, ServerError
from gradtrade.live.reconcile import (
    Balance,
    BelievedState,
    ExchangeOrder,
    ExchangeState,
    ExchangeTrade,
    ReconcileConfig,
    ReconciliationReport,
    Verdict,
    malformed,
    reconcile,
)
from gradtrade.venue.orders import Answered, OrderGateway, Outcome, Refused
from gradtrade.venue.urls import Market

DAY_MS = 86_400_000
MAX_LOOKBACK_DAYS = 90
NO_SUCH_ORDER = -2013
_TIMES = ("updateTime", "transactTime", "workingTime", "time")
_SIDES = {"BUY": Side.BUY, "SELL": Side.SELL}
_STATUSES = {
    name: getattr(OrderStatus, name)
    for name in (
        "NEW",
        "PARTIALLY_FILLED",
        "FILLED",
        "CANCELED",
        "PENDING_CANCEL",
        "REJECTED",
        "EXPIRED",
        "EXPIRED_IN_MATCH",
    )
}


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _field(body: Any, name: str, what: str) -> Any:
    if not isinstance(body, dict):
        raise InvalidInput(f"{what}: expected a JSON object, got {type(body).__name__}")
    if name not in body:
        raise InvalidInput(f"{what}: field {name!r} is missing")
    return body[name]


def _num(body: Any, name: str, what: str, *, positive: bool = False, nonneg: bool = False) -> float:
    value = _field(body, name, what)
    try:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError
        number = float(value)
    except ValueError:
        raise InvalidInput(f"{what}: field {name!r} is not a number: {_shown(value)}") from None
    if not math.isfinite(number) or (positive and number <= 0) or (nonneg and number < 0):
        kind = "positive" if positive else "non-negative" if nonneg else "finite"
        raise InvalidInput(f"{what}: field {name!r} must be {kind}, got {_shown(value)}")
    return number


def _int(body: Any, name: str, what: str) -> int:
    value = _field(body, name, what)
    if type(value) is not int or not 0 <= value < 2**63:
        raise InvalidInput(
            f"{what}: field {name!r} must be a non-negative integer, got {_shown(value)}"
        )
    return value


def _str(body: Any, name: str, what: str) -> str:
    value = _field(body, name, what)
    if not isinstance(value, str) or not value or len(value) > 64:
        raise InvalidInput(
            f"{what}: field {name!r} must be a short non-empty string, got {_shown(value)}"
        )
    return value


def _choice(table: dict[str, Any], body: Any, name: str, what: str) -> Any:
    value = _str(body, name, what)
    if value not in table:
        raise InvalidInput(f"{what}: field {name!r} has an unknown value {_shown(value)}")
    return table[value]


def _list(body: Any, what: str) -> list[Any]:
    if not isinstance(body, list):
        raise InvalidInput(f"{what}: expected a JSON list, got {type(body).__name__}")
    return body


def parse_order(body: Any, what: str = "order") -> ExchangeOrder:
    """One order as Binance REST reports it (spot and USD-M share these fields)."""
    times = [body.get(k) for k in _TIMES] if isinstance(body, dict) else []
    update = next((t for t in times if type(t) is int), 0)
    return ExchangeOrder(
        _str(body, "symbol", what),
        _int(body, "orderId", what),
        _str(body, "clientOrderId", what),
        _choice(_SIDES, body, "side", what),
        _choice(_STATUSES, body, "status", what),
        _num(body, "origQty", what, nonneg=True),
        _num(body, "executedQty", what, nonneg=True),
        _num(body, "price", what, nonneg=True),
        update,
    )


def parse_trade(body: Any, market: Market, what: str = "trade") -> ExchangeTrade:
    """One ``myTrades`` (spot: ``isBuyer``/``isMaker``) or ``userTrades`` (USD-M: ``side``,
    ``maker``, ``realizedPnl``) entry."""
    if market == "spot":
        buyer, maker = _field(body, "isBuyer", what), _field(body, "isMaker", what)
        if not isinstance(buyer, bool) or not isinstance(maker, bool):
            raise InvalidInput(f"{what}: fields 'isBuyer' and 'isMaker' must be booleans")
        side, pnl = (Side.BUY if buyer else Side.SELL), 0.0
    else:
        side, maker = _choice(_SIDES, body, "side", what), _field(body, "maker", what)
        if not isinstance(maker, bool):
            raise InvalidInput(f"{what}: field 'maker' must be a boolean, got {_shown(maker)}")
        pnl = _num(body, "realizedPnl", what)
    return ExchangeTrade(
        _str(body, "symbol", what),
        _int(body, "id", what),
        _int(body, "orderId", what),
        side,
        _num(body, "price", what, positive=True),
        _num(body, "qty", what, positive=True),
        _num(body, "commission", what),
        _str(body, "commissionAsset", what),
        _int(body, "time", what),
        maker,
        pnl,
    )


def parse_spot_balances(body: Any) -> dict[str, Balance]:
    what = "account"
    out: dict[str, Balance] = {}
    for i, entry in enumerate(_list(_field(body, "balances", what), f"{what}.balances")):
        where = f"{what}.balances[{i}]"
        asset = _str(entry, "asset", where)
        if asset in out:
            raise InvalidInput(f"{where}: asset {asset!r} is reported twice")
        out[asset] = Balance(_num(entry, "free", where), _num(entry, "locked", where))
    return out


def parse_usdm_account(
    body: Any,
) -> tuple[dict[str, Balance], dict[str, float], dict[str, float]]:
    """The wallet balance per margin asset, the signed position per symbol (hedge-mode LONG
    and SHORT legs summed: Binance reports the SHORT leg negative) and its entry price (the
    legs' amount-weighted ``entryPrice``; a flat symbol has none)."""
    what = "account"
    wallets: dict[str, Balance] = {}
    for i, entry in enumerate(_list(_field(body, "assets", what), f"{what}.assets")):
        where = f"{what}.assets[{i}]"
        asset = _str(entry, "asset", where)
        if asset in wallets:
            raise InvalidInput(f"{where}: asset {asset!r} is reported twice")
        wallets[asset] = Balance(_num(entry, "walletBalance", where))
    positions: dict[str, float] = {}
    legs: dict[str, list[tuple[float, float]]] = {}
    for i, entry in enumerate(_list(_field(body, "positions", what), f"{what}.positions")):
        where = f"{what}.positions[{i}]"
        symbol = _str(entry, "symbol", where)
        amount = _num(entry, "positionAmt", where)
        positions[symbol] = positions.get(symbol, 0.0) + amount
        if amount:
            price = _num(entry, "entryPrice", where, positive=True)
            legs.setdefault(symbol, []).append((amount, price))
    entries: dict[str, float] = {}
    for symbol, held in legs.items():
        net = positions[symbol]
        if len(held) == 1:  # one-way mode: the exchange's price as it is
            entries[symbol] = held[0][1]
        elif net and (entry := sum(a * p for a, p in held) / net) > 0:
            entries[symbol] = entry
    return wallets, positions, entries


def _body(outcome: Outcome, what: str) -> Any:
    if isinstance(outcome, Answered):
        return outcome.body
    if isinstance(outcome, Refused):
        if outcome.http_status in (418, 429):
            status = outcome.http_status
            raise RateLimited(
                f"reconciliation: {what}: {outcome.message}", outcome.retry_after, status
            )
        raise ExchangeRejected(f"reconciliation: {what}: {outcome.message}")
    raise ServerError(f"reconciliation: {what}: {outcome.message}")


def _merge(into: dict[tuple[str, int], ExchangeTrade], trades: Iterable[ExchangeTrade]) -> int:
    """Add trades by (symbol, id); the same id with other contents is malformed data."""
    added = 0
    for t in trades:
        key = (t.symbol, t.trade_id)
        known = into.get(key)
        if known is None:
            into[key] = t
            added += 1
        elif known != t:
            raise InvalidInput(f"trade {t.symbol}#{t.trade_id} is reported twice, differently")
    return added


class _Reader:
    def __init__(self, gateway: OrderGateway, market: Market, page: int) -> None:
        self.gateway, self.market, self.page = gateway, market, page
        ex = gateway.rest.exchange
        self._trades = ex.fapiPrivateGetUserTrades if market == "usdm" else ex.privateGetMyTrades
        self._account = ex.fapiPrivateV2GetAccount if market == "usdm" else ex.privateGetAccount

    async def trades_page(self, symbol: str, params: dict[str, Any]) -> list[ExchangeTrade]:
        what = f"trades of {symbol}"
        body = await self.gateway.send(
            self._trades, {"symbol": symbol, "limit": self.page, **params}
        )
        out = [
            parse_trade(t, self.market, f"{what}[{i}]")
            for i, t in enumerate(_list(_body(body, what), what))
        ]
        wrong = [t.trade_id for t in out if t.symbol != symbol]
        if wrong:
            raise InvalidInput(f"{what}: trades {wrong} are of another symbol")
        return out

    async def trades_since(self, symbol: str, since_ms: int, now_ms: int) -> list[ExchangeTrade]:
        """Every trade at or after ``since_ms``: day windows to the first, then ``fromId``."""
        found: dict[tuple[str, int], ExchangeTrade] = {}
        start = since_ms
        while start <= now_ms and not found:
            end = min(start + DAY_MS - 1, now_ms)
            page = await self.trades_page(symbol, {"startTime": start, "endTime": end})
            _merge(found, (t for t in page if start <= t.time_ms <= end))
            if len(page) >= self.page and found:
                break  # the window has more: page on by id
            start = end + 1
        while found:
            cursor = max(i for _, i in found) + 1
            page = await self.trades_page(symbol, {"fromId": cursor})
            fresh = [t for t in page if t.trade_id >= cursor and t.time_ms >= since_ms]
            if not _merge(found, fresh) or len(page) < self.page:
                break
        return sorted(found.values(), key=lambda t: t.trade_id)

    async def order_trades(self, order: ExchangeOrder) -> list[ExchangeTrade]:
        page = await self.trades_page(order.symbol, {"orderId": order.order_id})
        return [t for t in page if t.order_id == order.order_id]

    async def balances(
        self,
    ) -> tuple[dict[str, Balance], dict[str, float], dict[str, float]]:
        """Balances, USD-M positions and their entry prices (spot: none)."""
        body = _body(await self.gateway.send(self._account, {}), "account")
        if self.market == "usdm":
            return parse_usdm_account(body)
        return parse_spot_balances(body), {}, {}


def gateway_market(gateway: OrderGateway) -> Market:
    return "usdm" if gateway.usdm else "spot"


def _check_request(gateway: OrderGateway, believed: BelievedState) -> Market:
    market = gateway_market(gateway)
    if market != believed.market:
        raise InvalidInput(f"a {believed.market} belief cannot be checked on a {market} gateway")
    days = (gateway.rest.now_ms() - believed.since_ms) / DAY_MS
    if days > MAX_LOOKBACK_DAYS:
        raise InvalidInput(
            f"since_ms is {days:.0f} days back (at most {MAX_LOOKBACK_DAYS}: one trades request "
            "per day): reconcile from a journal with a recent fill or start time"
        )
    return market


async def fetch_exchange_state(
    gateway: OrderGateway, believed: BelievedState, page_limit: int = 1000
) -> ExchangeState:
    """The exchange's account as :func:`gradtrade.live.reconcile.reconcile` compares it."""
    market = _check_request(gateway, believed)
    reader = _Reader(gateway, market, page_limit)
    now_ms = int(gateway.rest.now_ms())
    symbols = sorted(believed.filters)
    open_orders: list[ExchangeOrder] = []
    for symbol in symbols:
        what = f"open orders of {symbol}"
        body = _list(_body(await gateway.open_orders(symbol), what), what)
        open_orders += [parse_order(o, f"{what}[{i}]") for i, o in enumerate(body)]
    queried: dict[str, ExchangeOrder | None] = {}
    for cid in sorted(believed.orders):
        bo = believed.orders[cid]
        if bo.status.is_terminal:
            continue
        outcome = await gateway.query(bo.symbol, cid)
        if isinstance(outcome, Refused) and outcome.code == NO_SUCH_ORDER:
            queried[cid] = None
        else:
            queried[cid] = parse_order(_body(outcome, f"order {cid}"), f"order {cid}")
    trades: dict[tuple[str, int], ExchangeTrade] = {}
    for symbol in symbols:
        _merge(trades, await reader.trades_since(symbol, believed.since_ms, now_ms))
    for cid, eo in sorted(queried.items()):
        bo = believed.orders[cid]
        if eo is not None and eo.executed_qty > bo.filled_qty + 0.5 * believed.step(bo.symbol):
            _merge(trades, await reader.order_trades(eo))
    balances, positions, entries = await reader.balances()
    return ExchangeState(
        market,
        now_ms,
        tuple(open_orders),
        queried,
        tuple(sorted(trades.values(), key=lambda t: (t.symbol, t.trade_id))),
        balances,
        positions,
        entries,
    )


async def check_state(
    gateway: OrderGateway,
    believed: BelievedState,
    config: ReconcileConfig | None = None,
    confirm_after_s: float = 1.0,
) -> tuple[ReconciliationReport, ExchangeState | None]:
    """Fetch and compare: the report and the exchange state it judged (None when an answer
    was malformed: the report is then a ``HALT`` naming it). A pass that halts is read again
    after ``confirm_after_s`` (0: never) and the second one stands: the account moves while
    it is read, so a fill between two reads shows as a difference once, a real one twice.
    Transport errors (``RetryableError``, ``FatalError``) propagate: nothing was judged."""
    _check_request(gateway, believed)
    for attempt in range(2):
        try:
            exchange = await fetch_exchange_state(gateway, believed)
        except InvalidInput as exc:  # every one raised past the request check is a parse error
            report = malformed(believed.market, int(gateway.rest.now_ms()), str(exc))
            result: tuple[ReconciliationReport, ExchangeState | None] = (report, None)
        else:
            result = (reconcile(believed, exchange, config), exchange)
        if result[0].verdict is not Verdict.HALT or attempt or confirm_after_s <= 0:
            break
        await asyncio.sleep(confirm_after_s)
    return result


async def check(
    gateway: OrderGateway,
    believed: BelievedState,
    config: ReconcileConfig | None = None,
    confirm_after_s: float = 1.0,
) -> ReconciliationReport:
    """:func:`check_state`'s report (what ``gradtrade trade reconcile`` prints)."""
    return (await check_state(gateway, believed, config, confirm_after_s))[0]


__all__ = [
    "check",
    "check_state",
    "fetch_exchange_state",
    "gateway_market",
    "parse_order",
    "parse_spot_balances",
    "parse_trade",
    "parse_usdm_account",
]
