"""Live candles: the open 1m candle of every traded market, the ``<symbol>@kline_<interval>``
stream frames, and the REST history that grows as candles close.

Invariant: a market's 1m ``KlineSeries`` holds closed candles only and the open candle starts
where it ends, so REST history and the live stream are one series. When the server clock (or,
for a replay, the time of the next recorded trade) passes a candle's close time, the candle
closes: its final frame carries ``"x": true`` on every subscribed interval that ends there, it
is appended to the 1m series (and to a native coarser series, e.g. a replayed 1h file, when
that interval closes too), and the next candle opens at the previous close with no trades.
Candles of other intervals are never stored separately: they are the closed 1m candles of
their bucket plus the open one, so every interval agrees with 1m.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import orjson

from gradtrade.local_exchange.hub import Hub
from gradtrade.local_exchange.market import SymbolMarket, Trade
from gradtrade.local_exchange.series import KlineSeries, bucket_start
from gradtrade.timeframes import INTERVAL_MS

MINUTE_MS = 60_000
# every Binance kline interval from 1m up (1s candles and the calendar month 1M are not served)
LIVE_INTERVALS = {k: v for k, v in INTERVAL_MS.items() if v >= MINUTE_MS}
MAX_EMPTY_FILL = 1440  # quiet minutes filled with empty candles; a longer gap is skipped


@dataclass
class Candle:
    """One candle being built: OHLC, volumes and the trade ids it holds (-1 when none)."""

    open_ms: int
    interval_ms: int
    o: float
    h: float
    l: float  # noqa: E741 - Binance's field name
    c: float
    v: float = 0.0
    q: float = 0.0
    n: int = 0
    first: int = -1
    last: int = -1
    taker_v: float = 0.0
    taker_q: float = 0.0

    def add(self, t: Trade) -> None:
        self.h, self.l, self.c = max(self.h, t.price), min(self.l, t.price), t.price
        self.v += t.qty
        self.q += t.qty * t.price
        self.n += 1
        self.first = t.id if self.first < 0 else self.first
        self.last = t.id
        if not t.buyer_maker:  # the taker bought
            self.taker_v += t.qty
            self.taker_q += t.qty * t.price

    def ohlcv(self) -> np.ndarray:
        return np.array([self.o, self.h, self.l, self.c, self.v])

    def more(self) -> np.ndarray:
        return np.array([self.q, float(self.n), self.taker_v, self.taker_q])


def _fold(
    rows: KlineSeries, lo: int, hi: int, tail: Candle, interval_ms: int, first: int
) -> Candle:
    """The ``interval_ms`` candle made of closed 1m rows ``lo:hi`` followed by ``tail``;
    ``first`` is the first trade id of those rows (-1: none, take the tail's)."""
    if lo >= hi:
        return Candle(
            int(bucket_start(tail.open_ms, interval_ms)),
            interval_ms,
            tail.o,
            tail.h,
            tail.l,
            tail.c,
            tail.v,
            tail.q,
            tail.n,
            tail.first,
            tail.last,
            tail.taker_v,
            tail.taker_q,
        )
    x, more = rows.ohlcv[lo:hi], rows.extra()[lo:hi]
    return Candle(
        int(bucket_start(int(rows.open_ms[lo]), interval_ms)),
        interval_ms,
        float(x[0, 0]),
        max(float(x[:, 1].max()), tail.h),
        min(float(x[:, 2].min()), tail.l),
        tail.c,
        float(x[:, 4].sum()) + tail.v,
        float(more[:, 0].sum()) + tail.q,
        int(more[:, 1].sum()) + tail.n,
        first if first >= 0 else tail.first,
        tail.last,
        float(more[:, 2].sum()) + tail.taker_v,
        float(more[:, 3].sum()) + tail.taker_q,
    )


class LiveCandles:
    """The open 1m candle per market; publishes kline frames and closes candles on time."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.open: dict[tuple[str, str], Candle] = {}
        # first trade id of each closed 1m candle that had trades (the 24h ticker's firstId)
        self.first_ids: dict[tuple[str, str], list[tuple[int, int]]] = {}

    def base(self, m: SymbolMarket) -> KlineSeries:
        """The market's 1m series of closed candles (created empty for a market that has only
        coarser history)."""
        found = m.klines.get("1m")
        if found is None:
            found = m.klines["1m"] = KlineSeries(
                MINUTE_MS, np.empty(0, np.int64), np.empty((0, 5)), numbers=m.numbers
            )
        return found

    def current(self, m: SymbolMarket, interval_ms: int) -> Candle | None:
        """The open candle of ``interval_ms`` (None before the market's first live event)."""
        tail = self.open.get((m.venue, m.symbol))
        if tail is None:
            return None
        if interval_ms == MINUTE_MS:
            return tail
        start = int(bucket_start(tail.open_ms, interval_ms))
        return self._bucket(m, start, tail, interval_ms, len(self.base(m).open_ms))

    def _bucket(self, m: SymbolMarket, start: int, tail: Candle, ms: int, hi: int) -> Candle:
        """The ``ms`` candle opening at ``start``: closed 1m rows from there up to row ``hi``,
        then ``tail``."""
        rows = self.base(m)
        lo = int(np.searchsorted(rows.open_ms, start, side="left"))
        firsts = self.first_ids.get((m.venue, m.symbol), [])
        first = next((f for t, f in firsts if start <= t < tail.open_ms), -1)
        return _fold(rows, lo, hi, tail, ms, first)

    def first_trade_since(self, m: SymbolMarket, since_ms: int) -> int:
        """Id of the first trade at or after the minute of ``since_ms`` (-1: none known)."""
        firsts = self.first_ids.get((m.venue, m.symbol), [])
        found = next((f for t, f in firsts if t >= since_ms), -1)
        if found < 0:
            cur = self.open.get((m.venue, m.symbol))
            found = cur.first if cur is not None else -1
        return found

    def on_trade(self, m: SymbolMarket, t: Trade) -> None:
        self.roll(m, t.time_ms, t.price)
        candle = self.open[(m.venue, m.symbol)]
        candle.add(t)
        self.publish(m, closed=False, at_ms=t.time_ms)

    def roll(self, m: SymbolMarket, now_ms: int, price: float | None = None) -> None:
        """Close every candle of ``m`` that ended by ``now_ms`` and open the one holding it."""
        key = (m.venue, m.symbol)
        minute = now_ms // MINUTE_MS * MINUTE_MS
        cur = self.open.get(key)
        if cur is None:
            rows = self.base(m)
            if len(rows.open_ms) and int(rows.open_ms[-1]) >= minute:
                return  # history already holds this minute (a replay behind its own files)
            ref = price if price is not None else m.reference_price()
            if ref <= 0:
                return
            self.open[key] = Candle(minute, MINUTE_MS, ref, ref, ref, ref)
            return
        if minute <= cur.open_ms:
            return
        while cur.open_ms < minute:
            self._close(m, cur)
            nxt = cur.open_ms + MINUTE_MS
            if minute - nxt > MAX_EMPTY_FILL * MINUTE_MS:
                nxt = minute
            cur = Candle(nxt, MINUTE_MS, cur.c, cur.c, cur.c, cur.c)
            self.open[key] = cur

    def _close(self, m: SymbolMarket, c: Candle) -> None:
        rows = self.base(m)
        rows.append(c.open_ms, c.ohlcv(), c.more())
        if c.n:
            firsts = self.first_ids.setdefault((m.venue, m.symbol), [])
            firsts.append((c.open_ms, c.first))
            while firsts and firsts[0][0] < c.open_ms - 2 * 86_400_000:
                firsts.pop(0)
        end = c.open_ms + MINUTE_MS
        for name, ms in LIVE_INTERVALS.items():
            if name == "1m" or end != bucket_start(end, ms):
                continue
            series = m.klines.get(name)
            if series is not None:  # a native coarser history file grows too
                done = self._bucket(m, end - ms, c, ms, len(rows.open_ms) - 1)
                if not len(series.open_ms) or int(series.open_ms[-1]) < done.open_ms:
                    series.append(done.open_ms, done.ohlcv(), done.more())
        self.publish(m, closed=True, at_ms=end, closing=c)

    def publish(
        self, m: SymbolMarket, closed: bool, at_ms: int, closing: Candle | None = None
    ) -> None:
        """Send the kline frame of every subscribed interval: updates of the open candles, or
        (``closed``) the final ``x: true`` frame of each interval that ends with ``closing``."""
        for name, ms in LIVE_INTERVALS.items():
            key = f"{m.lower}@kline_{name}"
            if key in m.recorded_streams or not self.hub.wants(m.venue, key):
                continue
            if closed:
                assert closing is not None
                end = closing.open_ms + MINUTE_MS
                if end != bucket_start(end, ms):
                    continue
                # ``closing`` is the 1m series' last row now
                candle = self._bucket(m, end - ms, closing, ms, len(self.base(m).open_ms) - 1)
            else:
                found = self.current(m, ms)
                if found is None:
                    continue
                candle = found
            self.hub.publish(m.venue, key, kline_frame(m, name, candle, closed, at_ms))


def kline_frame(m: SymbolMarket, name: str, c: Candle, closed: bool, event_ms: int) -> bytes:
    n = m.numbers
    k = {
        "t": c.open_ms,
        "T": c.open_ms + c.interval_ms - 1,
        "s": m.symbol,
        "i": name,
        "f": c.first,
        "L": c.last,
        "o": n.px(c.o),
        "c": n.px(c.c),
        "h": n.px(c.h),
        "l": n.px(c.l),
        "v": n.q(c.v),
        "n": c.n,
        "x": closed,
        "q": n.quote_amount(c.q),
        "V": n.q(c.taker_v),
        "Q": n.quote_amount(c.taker_q),
        "B": "0",
    }
    return orjson.dumps({"e": "kline", "E": event_ms, "s": m.symbol, "k": k})


def kline_row(m: SymbolMarket, c: Candle) -> bytes:
    """The open candle as a REST kline row."""
    n = m.numbers
    return orjson.dumps(
        [
            c.open_ms,
            n.px(c.o),
            n.px(c.h),
            n.px(c.l),
            n.px(c.c),
            n.q(c.v),
            c.open_ms + c.interval_ms - 1,
            n.quote_amount(c.q),
            c.n,
            n.q(c.taker_v),
            n.quote_amount(c.taker_q),
            "0",
        ]
    )
