"""Signed trading endpoints: order entry, cancel, queries, account, and the user-data streams.

Every private request is authenticated (:mod:`gradtrade.local_exchange.auth`) before anything
else is read; every order goes through validation (Binance's filters and error codes), an optional
injected fault, a balance or margin check, then :mod:`gradtrade.local_exchange.matching`.

Conditional orders (:mod:`gradtrade.local_exchange.conditional`) wait in ``stops``, off the
book, with spot funds locked as for a limit order (a market BUY stop locks its cost at the
trigger). Every price a source trades (``ExchangeState.price_listeners``) is checked against
them; a triggered one is reported NEW again (spot: ``w`` true; USD-M: ``o`` MARKET, ``ot`` its
type), then trades at market (its remainder EXPIRED) or, a stop-limit, as a GTC limit order at
its price. A USD-M reduce-only (or closePosition) stop whose position is gone or reversed at the
trigger EXPIRES; one larger than the position fills the position's size and expires the rest.
"""

from __future__ import annotations

import secrets
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from gradtrade.core import OrderStatus, Side
from gradtrade.local_exchange import conditional, order_lists, reports, trade_query, usdm
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
    CONDITIONAL_TYPES,
    MARKET_TYPES,
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
        self.stops: dict[tuple[str, str], list[Order]] = {}  # untriggered conditional orders
        self.lists: dict[int, order_lists.OrderList] = {}  # spot OCO lists by orderListId
        self.next_list_id = 1
        self.fills: list[tuple[Order, Fill]] = []
        self.next_order_id, self.next_trade_id = 1, 1
        self.users = UserStreams()
        state.trade_listeners.append(self.on_trade)
        state.book_listeners.append(self.on_book)
        state.price_listeners.append(self.on_prices)

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
        mine = [o for o in self._open(venue, m.symbol) if o.api_key == key]
        if len(mine) >= m.rules.max_num_orders:
            raise ApiError(-1013, "Filter failure: MAX_NUM_ORDERS")
        if spec.reduce_only:
            conditional.check_reduce_only(spec.side, self._position(acct, m.symbol))
        waits = spec.type in CONDITIONAL_TYPES
        if waits:
            algo = sum(1 for o in self.stops.get((venue, m.symbol), []) if o.api_key == key)
            conditional.check_placement(
                m, spec.type, spec.side, spec.stop_price, spec.working_type, algo
            )
        limit = spec.price if spec.type not in MARKET_TYPES else None
        planned = [] if waits else walk(m, spec.side, spec.qty, limit)
        crosses = (
            bool(walk(m, spec.side, m.rules.step or Decimal("1e-8"), limit)) if limit else True
        )
        if spec.type == "LIMIT_MAKER" and crosses:
            raise order_rejected("Order would immediately match and take.")
        filled_qty = sum((q for _, q in planned), ZERO)
        if (spec.tif == "FOK" and filled_qty < spec.qty) or (spec.tif == "GTX" and crosses):
            planned = []
        rests = spec.type not in MARKET_TYPES and spec.tif in ("GTC", "GTX")
        if not (waits and m.venue == "usdm"):  # USD-M stops take margin only once triggered
            priced = rests or (waits and spec.type not in MARKET_TYPES)
            self._check_funds(acct, m, spec.side, spec.qty, planned, spec.price if priced else None)
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
            reduce_only=spec.reduce_only,
            quote_qty=spec.quote_qty,
            stop_price=spec.stop_price,
            close_position=spec.close_position,
            working_type=spec.working_type,
        )
        self.next_order_id += 1
        self.orders[order.order_id] = order
        self.by_client[(key, venue, m.symbol, client_id)] = order
        if venue == "spot":
            self._lock(acct, m, order, planned)
        self._report(order, "NEW", None)
        if waits:
            self.stops.setdefault((venue, m.symbol), []).append(order)
            self._balances_event(acct, m, key)
            return reports.order_body(order, full=params.get("newOrderRespType", "FULL") == "FULL")
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
        o.locked = o.price * o.qty if not o.is_market else sum((p * q for p, q in planned), ZERO)
        acct.move(m.quote, -o.locked, o.locked)

    def _fill(self, o: Order, m: SymbolMarket, price: Decimal, qty: Decimal, maker: bool) -> None:
        if o.order_list_id >= 0:
            self._end_list(o, m)  # a leg that trades ends its list
        acct = self.accounts[o.api_key]
        rate = self.fees[o.venue][0 if maker else 1]
        now = self.state.now_ms()
        realized = ZERO
        if o.venue == "spot":
            if o.side == Side.BUY:
                release = o.price * qty if not o.is_market else price * qty
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
        where = (o.venue, o.symbol)
        for book in (self.resting.get(where, []), self.stops.get(where, [])):
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
        ol = self.lists.get(order.order_list_id)
        for leg in ol.legs if ol is not None else [order]:  # a leg's cancel cancels its list
            if leg.status in OPEN:
                self._close(leg, m, OrderStatus.CANCELED)
        if ol is not None:
            self.users.send_spot(key, reports.list_status(ol.list_id, ol.client_id, ol.legs,
                                                          self.state.now_ms(), True))  # fmt: skip
        self._balances_event(self.accounts[key], m, key)
        body = reports.order_body(order)
        if venue == "spot":
            body["origClientOrderId"] = order.client_order_id
        return body

    def cancel_all(self, key: str, venue: str, params: Params) -> Any:
        m = self._market(venue, params)
        mine = [o for o in self._open(venue, m.symbol) if o.api_key == key]
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
            for table in (self.resting, self.stops)
            for (v, s), book in table.items()
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
        """``myTrades`` / ``userTrades``: the selection rules are :mod:`trade_query`'s."""
        m = self._market(venue, params)
        query = trade_query.parse(venue, params, self.state.now_ms())
        fmt = reports.spot_trade if venue == "spot" else reports.usdm_trade
        mine = [
            (o, f)
            for o, f in self.fills
            if o.api_key == key and o.venue == venue and o.symbol == m.symbol
        ]
        return [fmt(o, f) for o, f in trade_query.select(query, mine)]

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

    # --- conditional orders meet the market ---

    def _open(self, venue: str, symbol: str) -> list[Order]:
        """Every open order of a symbol: on the book, then the untriggered conditional ones."""
        return self.resting.get((venue, symbol), []) + self.stops.get((venue, symbol), [])

    def _position(self, acct: Account, symbol: str) -> Decimal:
        pos = acct.positions.get(symbol)
        return pos.amount if pos is not None else ZERO

    def on_prices(self, m: SymbolMarket, kind: str, low: float, high: float) -> None:
        """Prices of ``kind`` (CONTRACT_PRICE: trades; MARK_PRICE) traded over [low, high]."""
        waiting = self.stops.get((m.venue, m.symbol))
        if not waiting:
            return
        lo, hi = dec(low), dec(high)
        for o in list(waiting):
            wants = o.working_type if m.venue == "usdm" else conditional.CONTRACT_PRICE
            if (
                wants == kind
                and o in waiting
                and conditional.triggers(o.type, o.side, o.stop_price, lo, hi)
            ):
                self._trigger(o, m)

    def _trigger(self, o: Order, m: SymbolMarket) -> None:
        self.stops[(m.venue, m.symbol)].remove(o)
        if o.order_list_id >= 0:
            self._end_list(o, m)  # the triggered leg takes the list's funds; the other expires
        acct = self.accounts[o.api_key]
        qty = o.remaining
        if m.venue == "usdm" and (o.reduce_only or o.close_position):
            pos = self._position(acct, m.symbol)
            if not conditional.closes(o.side, pos):  # the position is gone or reversed
                self._close(o, m, OrderStatus.EXPIRED)
                return
            if o.close_position:
                o.qty = abs(pos)
            qty = min(o.remaining, abs(pos))
        o.triggered = True
        o.update_ms = self.state.now_ms()
        self._report(o, "NEW", None)  # the trigger: working now
        limit = None if o.is_market else o.price
        planned = walk(m, o.side, qty, limit)
        cost = sum((p * q for p, q in planned), ZERO)
        if m.venue == "spot" and o.side == Side.BUY and o.is_market:
            if cost > acct.free(m.quote):
                planned = []  # nothing it can pay for: expires below
            else:
                o.locked = cost
                acct.move(m.quote, -cost, cost)
        elif m.venue == "usdm" and not o.reduce_only and not o.close_position:
            if usdm.available(self, acct) < cost / acct.leverage.get(m.symbol, 20):
                planned = []
        if o.time_in_force == "FOK" and sum((q for _, q in planned), ZERO) < qty:
            planned = []
        for price, q in planned:
            self._fill(o, m, price, q, maker=False)
        if o.status in OPEN:
            if o.is_market or o.time_in_force != "GTC":
                self._close(o, m, OrderStatus.EXPIRED)
            else:
                self.resting.setdefault((m.venue, m.symbol), []).append(o)
        self._balances_event(acct, m, o.api_key)

    # --- OCO order lists (order_lists.py) ---

    def new_oco(self, key: str, params: Params) -> Any:
        m = self._market("spot", params)
        leg_params = order_lists.legs(m, params)
        specs = [validate(m, "spot", p) for p in leg_params]
        acct = self.accounts[key]
        list_client = params.get("listClientOrderId") or f"gt-{secrets.token_hex(8)}"
        cids = [p.get("newClientOrderId") or f"gt-{secrets.token_hex(8)}" for p in leg_params]
        for cid in cids:
            previous = self.by_client.get((key, "spot", m.symbol, cid))
            if previous is not None and previous.status in OPEN:
                raise order_rejected("Duplicate order sent.")
        if cids[0] == cids[1]:
            raise order_rejected("Duplicate order sent.")
        mine = [o for o in self._open("spot", m.symbol) if o.api_key == key]
        if len(mine) + 2 > m.rules.max_num_orders:
            raise ApiError(-1013, "Filter failure: MAX_NUM_ORDERS")
        algo = sum(1 for o in self.stops.get(("spot", m.symbol), []) if o.api_key == key)
        for spec in specs:
            if spec.type in CONDITIONAL_TYPES:
                try:
                    conditional.check_placement(
                        m, spec.type, spec.side, spec.stop_price, conditional.CONTRACT_PRICE, algo
                    )
                except ApiError as exc:
                    if exc.code == -2010:
                        raise order_lists.price_relation() from None
                    raise
                algo += 1
            elif walk(m, spec.side, m.rules.step or Decimal("1e-8"), spec.price):
                raise order_lists.price_relation()  # a LIMIT_MAKER leg that would take
        side, qty = specs[0].side, specs[0].qty
        priced = [s.price for s in specs if s.type not in MARKET_TYPES]
        need = qty if side == Side.SELL else max(priced, default=ZERO) * qty
        if need > acct.free(m.base if side == Side.SELL else m.quote):
            raise insufficient_balance()
        if self.state.faults.take_reject():
            raise insufficient_balance()
        now, list_id = self.state.now_ms(), self.next_list_id
        self.next_list_id += 1
        legs = []
        for spec, cid in zip(specs, cids, strict=True):
            o = Order(key, "spot", m.symbol, self.next_order_id, cid, spec.side, spec.type,
                      spec.tif, spec.price, spec.qty, now, update_ms=now,
                      stop_price=spec.stop_price, order_list_id=list_id)  # fmt: skip
            self.next_order_id += 1
            self.orders[o.order_id] = o
            self.by_client[(key, "spot", m.symbol, cid)] = o
            legs.append(o)
        # the funds are locked once, on the leg that may trade first without a trigger
        holder = next((o for o in legs if o.type == "LIMIT_MAKER"), legs[1])
        holder.locked = need
        acct.move(m.base if side == Side.SELL else m.quote, -need, need)
        self.lists[list_id] = order_lists.OrderList(list_id, list_client, legs)
        self.users.send_spot(key, reports.list_status(list_id, list_client, legs, now, False))
        for o in legs:
            self._report(o, "NEW", None)
            book = self.stops if o.conditional else self.resting
            book.setdefault(("spot", m.symbol), []).append(o)
        self._balances_event(acct, m, key)
        return reports.list_body(list_id, list_client, legs, now, False)

    def cancel_list(self, key: str, params: Params) -> Any:
        m = self._market("spot", params)
        list_id = opt_int(params, "orderListId")
        client_id = params.get("listClientOrderId")
        if list_id is None and not client_id:
            raise ApiError(
                -1102,
                "Param 'listClientOrderId' or 'orderListId' must be sent, but both were "
                "empty/null!",
            )
        found = [
            ol
            for ol in self.lists.values()
            if (ol.list_id == list_id or (list_id is None and ol.client_id == client_id))
            and ol.legs[0].api_key == key
            and ol.legs[0].symbol == m.symbol
            and any(o.status in OPEN for o in ol.legs)
        ]
        if not found:
            raise ApiError(-2011, "Order list does not exist.")
        ol = found[0]
        for leg in ol.legs:
            if leg.status in OPEN:
                self._close(leg, m, OrderStatus.CANCELED)
        now = self.state.now_ms()
        self.users.send_spot(key, reports.list_status(ol.list_id, ol.client_id, ol.legs, now, True))
        self._balances_event(self.accounts[key], m, key)
        return reports.list_body(ol.list_id, ol.client_id, ol.legs, now, True)

    def _end_list(self, o: Order, m: SymbolMarket) -> None:
        """Leg ``o`` starts working: it takes the list's locked funds (what it needs of them)
        and the other leg EXPIRES; the list is done."""
        ol = self.lists.get(o.order_list_id)
        others = [s for s in (ol.legs if ol else []) if s is not o and s.status in OPEN]
        if ol is None or not others:
            return
        acct = self.accounts[o.api_key]
        asset = m.base if o.side == Side.SELL else m.quote
        for other in others:
            carried, other.locked = other.locked, ZERO
            acct.move(asset, carried, -carried)
            self._close(other, m, OrderStatus.EXPIRED)
        need = o.remaining if o.side == Side.SELL else (
            ZERO if o.is_market else o.price * o.remaining
        )  # fmt: skip
        acct.move(asset, o.locked - need, need - o.locked)
        o.locked = need
        now = self.state.now_ms()
        self.users.send_spot(o.api_key, reports.list_status(ol.list_id, ol.client_id, ol.legs,
                                                            now, True))  # fmt: skip
