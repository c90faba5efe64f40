"""Signed trading endpoints: order entry, cancel, queries, account, and the user-data streams.

Every private request is authenticated (:mod:`gradtrade.local_exchange.auth`) before anything
else is read; every order goes through validation (Binance's filters and error codes), an optional
injected fault, a balance or margin check, then :mod:`gradtrade.local_exchange.matching`.
"""

from __future__ import annotations

import secrets
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from gradtrade.core import OrderStatus, Side
from gradtrade.local_exchange import reports, usdm
from gradtrade.local_exchange.errors import (
    CANCEL_REJECTED,
    NO_SUCH_ORDER,
    ApiError,
    bad_symbol,
    insufficient_balance,
    mandatory,
    order_rejected,
)
from gradtrade.local_exchange.market import SymbolMarket, Trade
from gradtrade.local_exchange.matching import (
    OPEN,
    STATUS_TEXT,
    ZERO,
    Account,
    Fill,
    Order,
    Position,
    dec,
    walk,
)
from gradtrade.local_exchange.orders import validate
from gradtrade.local_exchange.params import Params, opt_int
from gradtrade.local_exchange.state import ExchangeState
from gradtrade.local_exchange.ws import UserStreams

EIGHT = Decimal("1e-8")
DEFAULT_BALANCES = {"USDT": "100000", "BTC": "1", "ETH": "10"}
DEFAULT_FEES = {"spot": ("0.001", "0.001"), "usdm": ("0.0002", "0.0005")}  # (maker, taker)


class Trading:
    """Accounts, orders and fills of every API key the server knows."""

    def __init__(
        self,
        state: ExchangeState,
        keys: dict[str, str],
        fees: dict[str, tuple[str, str]] | None = None,
        balances: dict[str, str] | None = None,
    ) -> None:
        self.state, self.keys = state, keys
        fees = {**DEFAULT_FEES, **(fees or {})}
        self.fees = {v: (Decimal(mk), Decimal(tk)) for v, (mk, tk) in fees.items()}
        start = balances or DEFAULT_BALANCES
        self.accounts = {
            k: Account({a: [Decimal(v), ZERO] for a, v in start.items()}) for k in keys
        }
        self.orders: dict[int, Order] = {}
        self.by_client: dict[tuple[str, str, str, str], Order] = {}
        self.resting: dict[tuple[str, str], list[Order]] = {}
        self.fills: list[tuple[Order, Fill]] = []
        self.next_order_id, self.next_trade_id = 1, 1
        self.users = UserStreams()
        state.trade_listeners.append(self.on_trade)
        state.book_listeners.append(self.on_book)

    # --- orders ---

    def _market(self, venue: str, params: Params) -> SymbolMarket:
        symbol = params.get("symbol", "").upper()
        if not symbol:
            raise mandatory("symbol")
        m = self.state.markets[venue].get(symbol)
        if m is None:
            raise bad_symbol()
        return m

    def test_order(self, key: str, venue: str, params: Params) -> Any:
        m = self._market(venue, params)
        validate(m, venue, params)
        return {}

    def new_order(self, key: str, venue: str, params: Params) -> Any:
        m = self._market(venue, params)
        spec = validate(m, venue, params)
        acct = self.accounts[key]
        client_id = params.get("newClientOrderId") or f"gt-{secrets.token_hex(8)}"
        previous = self.by_client.get((key, venue, m.symbol, client_id))
        if previous is not None and previous.status in OPEN:
            raise order_rejected("Duplicate order sent.")
        if self.state.faults.take_reject():
            raise insufficient_balance()
        mine = [o for o in self.resting.get((venue, m.symbol), []) if o.api_key == key]
        if len(mine) >= m.rules.max_num_orders:
            raise ApiError(-1013, "Filter failure: MAX_NUM_ORDERS")
        limit = spec.price if spec.type != "MARKET" else None
        planned = walk(m, spec.side, spec.qty, limit)
        crosses = (
            bool(walk(m, spec.side, m.rules.step or Decimal("1e-8"), limit)) if limit else True
        )
        if spec.type == "LIMIT_MAKER" and crosses:
            raise order_rejected("Order would immediately match and take.")
        filled_qty = sum((q for _, q in planned), ZERO)
        if (spec.tif == "FOK" and filled_qty < spec.qty) or (spec.tif == "GTX" and crosses):
            planned = []
        rests = spec.type != "MARKET" and spec.tif in ("GTC", "GTX")
        self._check_funds(acct, m, spec.side, spec.qty, planned, spec.price if rests else None)
        now = self.state.now_ms()
        order = Order(
            key,
            venue,
            m.symbol,
            self.next_order_id,
            client_id,
            spec.side,
            spec.type,
            spec.tif,
            spec.price,
            spec.qty,
            now,
            update_ms=now,
            reduce_only=params.get("reduceOnly", "").lower() == "true",
            quote_qty=spec.quote_qty,
        )
        self.next_order_id += 1
        self.orders[order.order_id] = order
        self.by_client[(key, venue, m.symbol, client_id)] = order
        if venue == "spot":
            self._lock(acct, m, order, planned)
        self._report(order, "NEW", None)
        for price, qty in planned:
            self._fill(order, m, price, qty, maker=False)
        if order.status in OPEN:
            if rests and not (spec.tif == "GTX" and crosses):
                self.resting.setdefault((venue, m.symbol), []).append(order)
            else:
                self._close(order, m, OrderStatus.EXPIRED)
        self._balances_event(acct, m, key)
        return reports.order_body(order, full=params.get("newOrderRespType", "FULL") == "FULL")

    def _check_funds(
        self,
        acct: Account,
        m: SymbolMarket,
        side: Side,
        qty: Decimal,
        planned: list[tuple[Decimal, Decimal]],
        rest_price: Decimal | None,
    ) -> None:
        cost = sum((p * q for p, q in planned), ZERO)
        left = qty - sum((q for _, q in planned), ZERO)
        if rest_price is not None:
            cost += rest_price * left
        if m.venue == "usdm":
            if usdm.available(self, acct) < cost / acct.leverage.get(m.symbol, 20):
                raise ApiError(-2019, "Margin is insufficient.")
            return
        if side == Side.BUY and cost > acct.free(m.quote):
            raise insufficient_balance()
        if side == Side.SELL and qty > acct.free(m.base):
            raise insufficient_balance()

    def _lock(
        self, acct: Account, m: SymbolMarket, o: Order, planned: list[tuple[Decimal, Decimal]]
    ) -> None:
        if o.side == Side.SELL:
            o.locked = o.qty
            acct.move(m.base, -o.qty, o.qty)
            return
        o.locked = o.price * o.qty if o.type != "MARKET" else sum((p * q for p, q in planned), ZERO)
        acct.move(m.quote, -o.locked, o.locked)

    def _fill(self, o: Order, m: SymbolMarket, price: Decimal, qty: Decimal, maker: bool) -> None:
        acct = self.accounts[o.api_key]
        rate = self.fees[o.venue][0 if maker else 1]
        now = self.state.now_ms()
        realized = ZERO
        if o.venue == "spot":
            if o.side == Side.BUY:
                release = o.price * qty if o.type != "MARKET" else price * qty
                o.locked -= release
                acct.move(m.quote, release - price * qty, -release)
                fee, asset = (qty * rate).quantize(EIGHT, ROUND_HALF_UP), m.base
                acct.move(m.base, qty - fee)
            else:
                o.locked -= qty
                acct.move(m.base, ZERO, -qty)
                fee, asset = (price * qty * rate).quantize(EIGHT, ROUND_HALF_UP), m.quote
                acct.move(m.quote, price * qty - fee)
        else:
            pos = acct.positions.setdefault(m.symbol, Position())
            realized = pos.trade(qty if o.side == Side.BUY else -qty, price)
            self.state.open_interest[m.symbol] = float(
                sum(
                    max(a.positions[m.symbol].amount, ZERO)
                    for a in self.accounts.values()
                    if m.symbol in a.positions
                )
            )
            fee, asset = (price * qty * rate).quantize(EIGHT, ROUND_HALF_UP), m.quote
            acct.usdm_wallet += realized - fee
        fill = Fill(self.next_trade_id, price, qty, fee, asset, maker, now, realized)
        self.next_trade_id += 1
        o.add_fill(fill)
        o.update_ms = now
        self.fills.append((o, fill))
        self._report(o, "TRADE", fill)

    def _close(self, o: Order, m: SymbolMarket, status: OrderStatus) -> None:
        o.move(status)
        o.update_ms = self.state.now_ms()
        if o.venue == "spot" and o.locked:
            asset = m.base if o.side == Side.SELL else m.quote
            self.accounts[o.api_key].move(asset, o.locked, -o.locked)
            o.locked = ZERO
        book = self.resting.get((o.venue, o.symbol), [])
        if o in book:
            book.remove(o)
        self._report(o, STATUS_TEXT[status], None)

    def _report(self, o: Order, exec_type: str, fill: Fill | None) -> None:
        now = self.state.now_ms()
        if o.venue == "spot":
            self.users.send_spot(o.api_key, reports.execution_report(o, exec_type, now, fill))
        else:
            self.users.send_usdm(o.api_key, reports.order_trade_update(o, exec_type, now, fill))

    def _balances_event(self, acct: Account, m: SymbolMarket, key: str) -> None:
        now = self.state.now_ms()
        if m.venue == "spot":
            self.users.send_spot(key, reports.account_position(acct, [m.base, m.quote], now))
        else:
            self.users.send_usdm(key, usdm.account_update(self, key, now))

    def _find(self, key: str, venue: str, params: Params) -> Order | None:
        m = self._market(venue, params)
        order_id = opt_int(params, "orderId")
        client_id = params.get("origClientOrderId")
        if order_id is None and not client_id:
            raise ApiError(
                -1102,
                "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
            )
        if order_id is not None:
            found = self.orders.get(order_id)
        else:
            found = self.by_client.get((key, venue, m.symbol, client_id or ""))
        if found is None or found.api_key != key or found.symbol != m.symbol:
            return None
        return found

    def cancel(self, key: str, venue: str, params: Params) -> Any:
        order = self._find(key, venue, params)
        if order is None or order.status not in OPEN:
            raise ApiError(CANCEL_REJECTED, "Unknown order sent.")
        m = self._market(venue, params)
        self._close(order, m, OrderStatus.CANCELED)
        self._balances_event(self.accounts[key], m, key)
        body = reports.order_body(order)
        if venue == "spot":
            body["origClientOrderId"] = order.client_order_id
        return body

    def cancel_all(self, key: str, venue: str, params: Params) -> Any:
        m = self._market(venue, params)
        mine = [o for o in self.resting.get((venue, m.symbol), []) if o.api_key == key]
        for order in mine:
            self._close(order, m, OrderStatus.CANCELED)
        if venue == "usdm":
            return {"code": 200, "msg": "The operation of cancel all open order is done."}
        return [reports.order_body(o) for o in mine]

    def query(self, key: str, venue: str, params: Params) -> Any:
        order = self._find(key, venue, params)
        if order is None:
            raise ApiError(NO_SUCH_ORDER, "Order does not exist.")
        return reports.order_body(order)

    def open_orders(self, key: str, venue: str, params: Params) -> Any:
        symbols = [self._market(venue, params).symbol] if "symbol" in params else None
        return [
            reports.order_body(o)
            for (v, s), book in self.resting.items()
            if v == venue and (symbols is None or s in symbols)
            for o in book
            if o.api_key == key
        ]

    def all_orders(self, key: str, venue: str, params: Params) -> Any:
        m = self._market(venue, params)
        limit = min(opt_int(params, "limit", 500) or 500, 1000)
        mine = [
            o
            for o in self.orders.values()
            if o.api_key == key and o.venue == venue and o.symbol == m.symbol
        ]
        return [reports.order_body(o) for o in mine[-limit:]]

    def my_trades(self, key: str, venue: str, params: Params) -> Any:
        m = self._market(venue, params)
        limit = min(opt_int(params, "limit", 500) or 500, 1000)
        order_id = opt_int(params, "orderId")  # Binance: only the trades of that order
        fmt = reports.spot_trade if venue == "spot" else reports.usdm_trade
        mine = [
            fmt(o, f)
            for o, f in self.fills
            if o.api_key == key
            and o.venue == venue
            and o.symbol == m.symbol
            and (order_id is None or o.order_id == order_id)
        ]
        return mine[-limit:]

    # --- resting orders meet the market ---

    def on_trade(self, m: SymbolMarket, t: Trade) -> None:
        book = self.resting.get((m.venue, m.symbol))
        if not book:
            return
        price = dec(t.price)
        left = dec(t.qty)
        for o in list(book):
            through = price < o.price if o.side == Side.BUY else price > o.price
            if through and left > 0:
                qty = min(o.remaining, left)
                left -= qty
                self._fill_resting(o, m, qty)

    def on_book(self, m: SymbolMarket) -> None:
        book = self.resting.get((m.venue, m.symbol))
        if not book:
            return
        bid, ask = m.book.best_bid(), m.book.best_ask()
        for o in list(book):
            if o.side == Side.BUY and ask is not None and dec(ask[0]) < o.price:
                self._fill_resting(o, m, o.remaining)
            elif o.side == Side.SELL and bid is not None and dec(bid[0]) > o.price:
                self._fill_resting(o, m, o.remaining)

    def _fill_resting(self, o: Order, m: SymbolMarket, qty: Decimal) -> None:
        self._fill(o, m, o.price, qty, maker=True)
        if o.status == OrderStatus.FILLED:
            self.resting[(m.venue, m.symbol)].remove(o)
        self._balances_event(self.accounts[o.api_key], m, o.api_key)
