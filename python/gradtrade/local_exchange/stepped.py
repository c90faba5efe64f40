"""Bar-stepped replay: replayed kline files published one closed bar at a time, each bar with a
deterministic ladder book around it, so a client deciding on a bar trades against that bar.

``serve --replay FILE --stepped 5m`` turns every market with a native ``5m`` kline file into a
stepped market (no synthetic live market drives it). Bars before ``start_ms`` are REST history;
each step (``POST /_gradtrade/step``, or every ``every_s`` seconds when paced) takes the next
bar of every stepped market, in this order:

1. the bar is appended to the market's REST ``klines`` (other native intervals, mark-price
   klines and funding end at ``start_ms`` and do not grow: step one interval per market);
2. its final ``<symbol>@kline_<interval>`` frame (``"x": true``) is published;
3. the book becomes the bar's ladder (:func:`gradtrade.execution.ladder.candle_ladder`, the
   one definition the backtest's ``WalkBookModel`` uses too), published as one Binance depth
   diff (removed levels at zero) plus a bookTicker; resting orders the new ladder crosses fill
   as maker, as on any book change; the last price (and the USD-M mark price) is the close.

Only then does the step's answer go back, so a driver that waits for it knows the book its next
market order meets. The ladder holds until the next step; market orders walk it without
depleting it (as every book of this exchange).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import numpy as np
import orjson

from gradtrade.errors import InvalidInput
from gradtrade.execution.ladder import LadderConfig, candle_ladder
from gradtrade.local_exchange.candles import Candle, kline_frame
from gradtrade.local_exchange.market import SymbolMarket
from gradtrade.local_exchange.series import FundingSeries, KlineSeries
from gradtrade.local_exchange.state import ExchangeState
from gradtrade.timeframes import INTERVAL_MS

MAX_STEP = 100_000  # bars one control request may step


@dataclass(frozen=True)
class StepConfig:
    """The stepped interval, the first bar stepped (None: the file's first; earlier bars are
    history), the pace (0: only on request) and the ladder of each bar."""

    interval: str
    start_ms: int | None = None
    every_s: float = 0.0
    ladder: LadderConfig = field(default_factory=LadderConfig)

    def __post_init__(self) -> None:
        if self.interval not in INTERVAL_MS:
            raise InvalidInput(f"stepped interval {self.interval!r} is not a kline interval")
        if not 0 <= self.every_s <= 86_400:
            raise InvalidInput(f"step pace every_s must be in [0, 86400] s, got {self.every_s}")


@dataclass
class _Stepped:
    market: SymbolMarket
    open_ms: np.ndarray  # the whole file
    ohlcv: np.ndarray
    more: np.ndarray
    next: int  # index of the next bar to publish


class SteppedReplay:
    """Steps every market with a native ``config.interval`` kline series (see module doc)."""

    def __init__(self, state: ExchangeState, config: StepConfig) -> None:
        self.state, self.config = state, config
        self.interval_ms = INTERVAL_MS[config.interval]
        self.markets: list[_Stepped] = []
        for m in state.all_markets():
            series = m.klines.get(config.interval)
            if series is None:
                continue
            start = config.start_ms if config.start_ms is not None else int(series.open_ms[0])
            first = int(np.searchsorted(series.open_ms, start, side="left"))
            full = _Stepped(m, series.open_ms, series.ohlcv, series.extra(), first)
            self.markets.append(full)
            for table in (m.klines, m.mark_klines):  # history only, up to the first step
                for name, other in list(table.items()):
                    cut = int(np.searchsorted(other.open_ms, start, side="left"))
                    table[name] = KlineSeries(
                        other.interval_ms, other.open_ms[:cut].copy(),
                        other.ohlcv[:cut].copy(), other.extra()[:cut].copy(), other.numbers,
                    )  # fmt: skip
            if m.funding is not None:
                cut = int(np.searchsorted(m.funding.time_ms, start, side="left"))
                m.funding = FundingSeries(m.funding.time_ms[:cut], m.funding.rate[:cut])
            m.derived.clear()
            m.live = True  # no synthetic market drives it
        if not self.markets:
            raise InvalidInput(
                f"--stepped {config.interval}: no replayed market has a native "
                f"{config.interval} kline file"
            )

    @property
    def remaining(self) -> int:
        return min(len(s.open_ms) - s.next for s in self.markets)

    def prepare(self) -> None:
        """Show the ladder of the last history bar, if any, before the first step."""
        for s in self.markets:
            if s.next > 0:
                self._show(s.market, s.ohlcv[s.next - 1])

    async def run(self) -> None:
        if self.config.every_s <= 0:
            return
        while self.remaining > 0:
            await asyncio.sleep(self.config.every_s)
            self.step(1)

    def step(self, bars: int = 1) -> list[dict[str, object]]:
        """Publish the next ``bars`` bars of every stepped market; returns what was published
        (venue, symbol, interval, open time and OHLCV of each bar)."""
        if not 1 <= bars <= MAX_STEP:
            raise InvalidInput(f"bars must be in [1, {MAX_STEP}], got {bars}")
        out: list[dict[str, object]] = []
        for _ in range(min(bars, self.remaining)):
            for s in self.markets:
                out.append(self._publish(s))
        return out

    def _publish(self, s: _Stepped) -> dict[str, object]:
        m, i = s.market, s.next
        s.next += 1
        open_ms = int(s.open_ms[i])
        x, more = s.ohlcv[i], s.more[i]
        m.klines[self.config.interval].append(open_ms, x.copy(), more.copy())
        m.derived.clear()
        o, h, low, c, v = (float(y) for y in x)
        key = f"{m.lower}@kline_{self.config.interval}"
        if self.state.hub.wants(m.venue, key):
            candle = Candle(open_ms, self.interval_ms, o, h, low, c, v, float(more[0]),
                            int(more[1]), -1, -1, float(more[2]), float(more[3]))  # fmt: skip
            frame = kline_frame(m, self.config.interval, candle, True, self.state.now_ms())
            self.state.hub.publish(m.venue, key, frame)
        self._show(m, x)
        return {"venue": m.venue, "symbol": m.symbol, "interval": self.config.interval,
                "open_ms": open_ms, "open": o, "high": h, "low": low, "close": c,
                "volume": v}  # fmt: skip

    def _show(self, m: SymbolMarket, x: np.ndarray) -> None:
        """Replace the book with the ladder of bar ``x`` (one diff) and mark the close."""
        _, h, low, c, v = (float(y) for y in x)
        rules = m.rules
        ladder = candle_ladder(h, low, c, v, float(rules.tick), float(rules.step),
                               self.config.ladder)  # fmt: skip
        book = m.l2
        bids = dict(ladder.bids)
        asks = dict(ladder.asks)
        diff_b = [(p, 0.0) for p in book.bids if p not in bids] + list(ladder.bids)
        diff_a = [(p, 0.0) for p in book.asks if p not in asks] + list(ladder.asks)
        m.last_price = c
        if m.venue == "usdm":
            self.state.mark_price(m, c, self.state.now_ms() + 8 * 3_600_000)
        self.state.apply_depth(m, diff_b, diff_a)


def step_answer(source: SteppedReplay, body: bytes) -> bytes:
    """The control endpoint: ``{"bars": n}`` (default 1) -> ``{"stepped": [...],
    "remaining": k}``; a malformed body is an InvalidInput naming the problem."""
    spec = orjson.loads(body) if body.strip() else {}
    if not isinstance(spec, dict) or set(spec) - {"bars"}:
        raise InvalidInput('step body must be a JSON object with at most the field "bars"')
    bars = spec.get("bars", 1)
    if not isinstance(bars, int) or isinstance(bars, bool):
        raise InvalidInput(f"bars must be an integer, got {bars!r}")
    stepped = source.step(bars)
    return orjson.dumps({"stepped": stepped, "remaining": source.remaining})


__all__ = ["StepConfig", "SteppedReplay", "step_answer"]
