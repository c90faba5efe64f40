"""The exchange's state: markets per venue, the websocket hub, armed faults, the server clock,
and the helpers sources use to change the market and publish Binance frames about it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

import orjson

from gradtrade.errors import InvalidInput
from gradtrade.local_exchange.candles import LiveCandles
from gradtrade.local_exchange.exchange_info import Rules, load_templates, symbol_entry
from gradtrade.local_exchange.faults import Faults
from gradtrade.local_exchange.hub import PARTIAL_LEVELS, PARTIAL_RATES, Hub
from gradtrade.local_exchange.limits import RateLimits
from gradtrade.local_exchange.market import SymbolMarket, Trade
from gradtrade.local_exchange.series import (
    FundingSeries,
    KlineSeries,
    describe_file,
    fixed,
    merge,
    read_feather,
)
from gradtrade.timeframes import INTERVAL_MS

VENUES = ("spot", "usdm")
Levels = list[tuple[float, float]]


class ExchangeState:
    """Everything the server serves; mutated only on the server's event loop."""

    def __init__(self, recordings_dir: Path | None = None) -> None:
        self.markets: dict[str, dict[str, SymbolMarket]] = {v: {} for v in VENUES}
        self.templates = load_templates(recordings_dir)
        self.hub = Hub(lambda venue, symbol: symbol.upper() in self.markets.get(venue, {}))
        self.faults = Faults(on_drop=self.hub.drop, on_stall=self.hub.stall)
        self.limits = RateLimits()  # the server replaces it with its configured one
        self.trade_listeners: list[Callable[[SymbolMarket, Trade], None]] = []
        self.book_listeners: list[Callable[[SymbolMarket], None]] = []
        # (market, "CONTRACT_PRICE" or "MARK_PRICE", low, high): prices that traded, for the
        # conditional orders' triggers (called after the trade / book listeners)
        self.price_listeners: list[Callable[[SymbolMarket, str, float, float], None]] = []
        self.candles = LiveCandles(self.hub)
        self.open_interest: dict[str, float] = {}  # USD-M symbol -> contracts held long

    def now_ms(self) -> int:
        """Server time, including an injected clock skew."""
        return int(time.time() * 1000) + self.faults.clock_skew_ms

    def market(self, venue: str, symbol: str, base: str = "", quote: str = "") -> SymbolMarket:
        """The market of ``symbol``, created (with exchangeInfo rules) on first use."""
        found = self.markets[venue].get(symbol)
        if found is not None:
            return found
        if not base or not quote:
            raise InvalidInput(f"unknown {venue} symbol {symbol}: give its base and quote assets")
        entry = symbol_entry(venue, symbol, base, quote, self.templates[venue])
        created = SymbolMarket(venue, symbol, base, quote, entry, Rules.from_entry(entry))
        self.markets[venue][symbol] = created
        return created

    def load_feather(self, path: Path) -> list[str]:
        """Serve every freqtrade feather file at ``path`` (a file or a folder, recursively)."""
        files = sorted(path.rglob("*.feather")) if path.is_dir() else [path]
        if not files:
            raise InvalidInput(f"no .feather files under {path}")
        loaded = []
        for file in files:
            desc = describe_file(file)
            m = self.market(desc.venue, desc.symbol, desc.base, desc.quote)
            times, values = read_feather(file)
            step = INTERVAL_MS[desc.interval]
            if desc.kind == "funding":
                old = (m.funding.time_ms, m.funding.rate[:, None]) if m.funding else None
                t, v = merge(old, (times, values[:, :1]), tol_ms=60_000)
                m.funding = FundingSeries(t, v[:, 0].copy())
            else:
                target = m.klines if desc.kind == "klines" else m.mark_klines
                prev = target.get(desc.interval)
                old = (prev.open_ms, prev.ohlcv) if prev else None
                t, v = merge(old, (times, values), tol_ms=1)
                # mark prices are an average: Binance prints them with 8 decimals
                numbers = m.numbers if desc.kind == "klines" else replace(m.numbers, price=8)
                target[desc.interval] = KlineSeries(step, t, v, numbers=numbers)
            loaded.append(f"{desc.venue} {desc.symbol} {desc.kind} {desc.interval}: {file}")
        return loaded

    # --- publishing: sources call these; each updates the state, then publishes the frame ---

    def apply_depth(
        self, m: SymbolMarket, bids: Levels, asks: Levels, event_ms: int | None = None
    ) -> None:
        """Apply a diff to the book and publish it as a depthUpdate (U/u, plus pu on USD-M)."""
        book = m.l2
        prev = book.last_update_id
        first = prev + 1
        last = prev + max(1, len(bids) + len(asks))
        book.apply(bids, asks, last)
        now = event_ms if event_ms is not None else self.now_ms()
        frame: dict[str, object] = {"e": "depthUpdate", "E": now}
        if m.venue == "usdm":
            frame.update(T=now, s=m.symbol, U=first, u=last, pu=prev)
        else:
            frame.update(s=m.symbol, U=first, u=last)
        n = m.numbers
        frame["b"] = [[n.px(p), n.q(q)] for p, q in bids]
        frame["a"] = [[n.px(p), n.q(q)] for p, q in asks]
        self.publish_depth(m, orjson.dumps(frame))
        self.publish_book_ticker(m, now)

    def publish_depth(self, m: SymbolMarket, data: bytes) -> None:
        """Publish a diff already applied to ``m.book`` (unless a gap fault swallows it)."""
        if not self.faults.take_depth_gap(m.venue, m.symbol):
            self.hub.publish(m.venue, f"{m.lower}@depth", data)
        self.publish_partial_depth(m)
        for listener in self.book_listeners:
            listener(m)

    def publish_partial_depth(self, m: SymbolMarket) -> None:
        """``<symbol>@depth<N>[@rate]``: the top N levels, at most once per the stream's rate
        (spot: ``lastUpdateId`` + ``bids``/``asks``; USD-M: a depthUpdate of the top levels)."""
        now = self.now_ms()
        for levels in PARTIAL_LEVELS:
            for rate in PARTIAL_RATES[m.venue]:
                key = f"{m.lower}@depth{levels}@{rate}"
                if not self.hub.wants(m.venue, key):
                    continue
                last_sent, last_u = m.partial_sent.get(key, (0, 0))
                if now - last_sent < int(rate[:-2]):
                    continue
                n, uid = m.numbers, m.book.last_update_id
                bids = [[n.px(p), n.q(q)] for p, q in m.book.top_bids(levels)]
                asks = [[n.px(p), n.q(q)] for p, q in m.book.top_asks(levels)]
                frame: dict[str, object]
                if m.venue == "usdm":
                    frame = {"e": "depthUpdate", "E": now, "T": now, "s": m.symbol}
                    frame.update(U=last_u + 1, u=uid, pu=last_u, b=bids, a=asks)
                else:
                    frame = {"lastUpdateId": uid, "bids": bids, "asks": asks}
                m.partial_sent[key] = (now, uid)
                self.hub.publish(m.venue, key, orjson.dumps(frame))

    def publish_book_ticker(self, m: SymbolMarket, now: int) -> None:
        key = f"{m.lower}@bookTicker"
        if not self.hub.wants(m.venue, key):
            return
        bid, ask = m.book.best_bid(), m.book.best_ask()
        if bid is None or ask is None:
            return
        frame: dict[str, object] = {"u": m.book.last_update_id, "s": m.symbol}
        if m.venue == "usdm":
            frame = {
                "e": "bookTicker",
                "u": m.book.last_update_id,
                "E": now,
                "T": now,
                "s": m.symbol,
            }
        n = m.numbers
        frame.update(b=n.px(bid[0]), B=n.q(bid[1]), a=n.px(ask[0]), A=n.q(ask[1]))
        self.hub.publish(m.venue, key, orjson.dumps(frame))

    def trade(
        self,
        m: SymbolMarket,
        price: float,
        qty: float,
        buyer_maker: bool,
        event_ms: int | None,
        recorded: tuple[str, bytes] | None = None,
        trade_id: int = 0,
    ) -> Trade:
        """Record a public trade and publish trade, aggTrade and the 1m kline.

        ``recorded`` is (stream kind, data bytes) of a replayed frame: it is published as is on
        its own stream, and the other of trade/aggTrade is built from its fields."""
        now = event_ms if event_ms is not None else self.now_ms()
        t = m.record_trade(price, qty, now, buyer_maker, trade_id)
        p, q = m.numbers.px(price), m.numbers.q(qty)
        trade_key, agg_key = f"{m.lower}@trade", f"{m.lower}@aggTrade"
        if recorded is not None:
            self.hub.publish(m.venue, f"{m.lower}@{recorded[0]}", recorded[1])
        kind = recorded[0] if recorded is not None else ""
        if kind != "trade" and self.hub.wants(m.venue, trade_key):
            frame = {
                "e": "trade",
                "E": now,
                "s": m.symbol,
                "t": t.id,
                "p": p,
                "q": q,
                "T": now,
                "m": buyer_maker,
                "M": True,
            }
            self.hub.publish(m.venue, trade_key, orjson.dumps(frame))
        if kind != "aggTrade" and self.hub.wants(m.venue, agg_key):
            agg = {
                "e": "aggTrade",
                "E": now,
                "s": m.symbol,
                "a": t.id,
                "p": p,
                "q": q,
                "f": t.id,
                "l": t.id,
                "T": now,
                "m": buyer_maker,
                "M": True,
            }
            self.hub.publish(m.venue, agg_key, orjson.dumps(agg))
        self.candles.on_trade(m, t)
        for listener in self.trade_listeners:
            listener(m, t)
        self.prices_traded(m, "CONTRACT_PRICE", price, price)
        return t

    def prices_traded(self, m: SymbolMarket, kind: str, low: float, high: float) -> None:
        """Tell the conditional orders that ``kind`` prices traded over [low, high] (a source
        that moves the market without single trades, e.g. a stepped bar, calls this itself)."""
        for listener in self.price_listeners:
            listener(m, kind, low, high)

    def mark_price(self, m: SymbolMarket, mark: float, next_funding_ms: int) -> None:
        m.mark_price = mark
        self.prices_traded(m, "MARK_PRICE", mark, mark)
        key = f"{m.lower}@markPrice"
        if self.hub.wants(m.venue, key):
            now = self.now_ms()
            frame = {
                "e": "markPriceUpdate",
                "E": now,
                "s": m.symbol,
                "p": fixed(mark, 8),
                "i": fixed(mark, 8),
                "P": fixed(mark, 8),
                "r": fixed(m.funding_rate, 8),
                "T": next_funding_ms,
            }
            self.hub.publish(m.venue, key, orjson.dumps(frame))

    def all_markets(self) -> Iterable[SymbolMarket]:
        for venue in VENUES:
            yield from self.markets[venue].values()
