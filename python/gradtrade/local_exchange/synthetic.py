"""A seeded synthetic market for the offline demo and for tests that need no data files.

Model. Each step (0.1 s of market time) the per-step variance follows a GARCH(1,1) recursion,
``s2 = omega + alpha * r_prev**2 + beta * s2_prev`` (volatility clustering), and the shock is
Student-t with 4 degrees of freedom scaled to unit variance (fat tails). A latent order-flow
signal ``a`` follows an AR(1); each step's trades are buyer-initiated with probability
``sigmoid(2 a)``, so the signed flow of one step carries information about the next step's
return, ``r = sigma * (kappa * a_prev + sqrt(1 - kappa**2) * z)``. Trade count is Poisson with
intensity proportional to ``sigma / sigma_bar``. The L2 book is rebuilt around the new mid
each step: the spread (in ticks) and the spacing between levels widen with ``sigma / sigma_bar``
while the size at each level shrinks with it, and a random fifth of the level sizes is redrawn
(log-normal) each step; the difference to the previous book is published as a Binance depth
diff. History (1m klines over three days, 8h funding over 90 days) comes from the same model
on a coarser clock. Everything is a function of the seed and the symbol, so a run is
reproducible event for event (timestamps excepted).
"""

from __future__ import annotations

import asyncio
import math
import zlib
from dataclasses import dataclass

import numpy as np

from gradtrade.local_exchange.market import SymbolMarket
from gradtrade.local_exchange.series import FundingSeries, KlineSeries
from gradtrade.local_exchange.state import ExchangeState

STEP_S = 0.1
DEFAULT_MARKETS = [
    ("spot", "BTC", "USDT", 60_000.0),
    ("spot", "ETH", "USDT", 3_000.0),
    ("usdm", "BTC", "USDT", 60_000.0),
    ("usdm", "ETH", "USDT", 3_000.0),
]


@dataclass
class ModelParams:
    sigma_bar: float = 4e-5  # per-step volatility the GARCH recursion reverts to
    alpha: float = 0.08
    beta: float = 0.90
    nu: float = 4.0
    phi: float = 0.9  # AR(1) coefficient of the latent flow signal
    kappa: float = 0.3  # share of the next return explained by the flow signal
    trades_per_step: float = 1.5
    levels: int = 40
    base_spread_ticks: float = 2.0
    base_depth: float = 0.5  # base-asset size at the touch in calm markets (BTC scale)


def _decimals(step: float) -> int:
    return max(0, -math.floor(math.log10(step) + 1e-9))


class SyntheticModel:
    """The pure generator: returns, flow and book for one symbol, driven by one RNG."""

    def __init__(
        self,
        seed: int,
        symbol: str,
        price: float,
        tick: float,
        step: float,
        params: ModelParams | None = None,
    ) -> None:
        self.p = params or ModelParams()
        self.rng = np.random.default_rng([seed, zlib.crc32(symbol.encode())])
        self.price, self.tick, self.step = price, tick, step
        self.s2 = self.p.sigma_bar**2
        self.r_prev = 0.0
        self.a = 0.0
        self.size_noise = np.exp(self.rng.normal(0.0, 0.3, size=(2, self.p.levels)))
        self.depth_scale = self.p.base_depth * 60_000.0 / price
        self.step_decimals = _decimals(step)
        self.tick_decimals = _decimals(tick)

    def _shock(self) -> float:
        nu = self.p.nu
        return float(self.rng.standard_t(nu)) / math.sqrt(nu / (nu - 2.0))

    def advance(self) -> tuple[float, list[tuple[bool, float]]]:
        """One step: this step's trades (is_buy, qty) at the old mid, then the new return."""
        p = self.p
        sigma = math.sqrt(self.s2)
        n = int(self.rng.poisson(p.trades_per_step * sigma / p.sigma_bar))
        buy_prob = 1.0 / (1.0 + math.exp(-2.0 * self.a))
        trades = [
            (
                bool(self.rng.random() < buy_prob),
                self._round_qty(float(self.rng.lognormal(-3.0, 1.0)) * self.depth_scale),
            )
            for _ in range(n)
        ]
        r = sigma * (p.kappa * self.a + math.sqrt(1 - p.kappa**2) * self._shock())
        self.a = p.phi * self.a + math.sqrt(1 - p.phi**2) * float(self.rng.normal())
        omega = p.sigma_bar**2 * (1 - p.alpha - p.beta)
        self.s2 = omega + p.alpha * r * r + p.beta * self.s2
        self.r_prev = r
        self.price *= math.exp(r)
        return r, trades

    def _round_qty(self, qty: float) -> float:
        return round(max(1, round(qty / self.step)) * self.step, self.step_decimals)

    def book(self) -> tuple[dict[float, float], dict[float, float]]:
        """The L2 book around the current mid for the current volatility."""
        p = self.p
        vol_ratio = math.sqrt(self.s2) / p.sigma_bar
        redraw = self.rng.random(size=self.size_noise.shape) < 0.2
        fresh = np.exp(self.rng.normal(0.0, 0.3, size=self.size_noise.shape))
        self.size_noise = np.where(redraw, fresh, self.size_noise)
        half = max(1, round(p.base_spread_ticks * vol_ratio / 2.0))
        gap = max(1, round(vol_ratio))
        mid_ticks = round(self.price / self.tick)
        size = self.depth_scale / max(vol_ratio, 0.2)
        decimals = self.tick_decimals
        bids, asks = {}, {}
        for i in range(p.levels):
            grow = 1.0 + 0.15 * i
            bid = round((mid_ticks - half - i * gap) * self.tick, decimals)
            ask = round((mid_ticks + half + i * gap) * self.tick, decimals)
            bids[bid] = self._round_qty(size * grow * float(self.size_noise[0, i]))
            asks[ask] = self._round_qty(size * grow * float(self.size_noise[1, i]))
        return bids, asks

    def history(self, n: int, steps_per_bar: int) -> np.ndarray:
        """(n, 5) OHLCV bars ending at the current price (same model, coarser clock)."""
        scale = math.sqrt(steps_per_bar)
        closes = np.empty(n)
        s2, price = self.p.sigma_bar**2, self.price
        omega = self.p.sigma_bar**2 * (1 - self.p.alpha - self.p.beta)
        shocks = self.rng.standard_t(self.p.nu, size=n) / math.sqrt(self.p.nu / (self.p.nu - 2))
        for i in range(n - 1, -1, -1):  # walk backwards so the last close is today's price
            closes[i] = price
            r = math.sqrt(s2) * float(shocks[i])
            s2 = omega + self.p.alpha * r * r + self.p.beta * s2
            price /= math.exp(r * scale)
        opens = np.r_[closes[0] / math.exp(float(shocks[0]) * self.p.sigma_bar), closes[:-1]]
        wiggle = np.abs(self.rng.normal(0, self.p.sigma_bar * scale, size=(2, n)))
        highs = np.maximum(opens, closes) * (1 + wiggle[0])
        lows = np.minimum(opens, closes) * (1 - wiggle[1])
        vols = self.rng.lognormal(0.0, 0.5, size=n) * self.depth_scale * steps_per_bar / 10
        out = np.column_stack([opens, highs, lows, closes, vols])
        out[:, :4] = np.round(out[:, :4], self.tick_decimals)
        out[:, 4] = np.round(out[:, 4], self.step_decimals)
        return out


class SyntheticMarket:
    """Drives :class:`SyntheticModel` instances on the server's loop."""

    def __init__(
        self, state: ExchangeState, seed: int = 0, speed: float = 1.0, only_existing: bool = False
    ) -> None:
        self.state, self.seed, self.speed = state, seed, max(speed, 1e-3)
        self.only_existing = only_existing
        self.models: list[tuple[SymbolMarket, SyntheticModel]] = []

    def prepare(self) -> None:
        now = self.state.now_ms()
        if self.only_existing:
            targets = [(m, m.reference_price()) for m in self.state.all_markets() if not m.live]
        else:
            chosen = [(self.state.market(v, b + q, b, q), px) for v, b, q, px in DEFAULT_MARKETS]
            # a market that already has history continues from its last price
            targets = [(m, m.reference_price() or px) for m, px in chosen if not m.live]
        for m, price in targets:
            if price <= 0:
                continue
            model = SyntheticModel(
                self.seed, f"{m.venue}:{m.symbol}", price, float(m.rules.tick), float(m.rules.step)
            )
            if not m.klines:
                # closed candles up to the current minute, which the live market opens
                minute = now // 60_000 * 60_000
                bars = model.history(3 * 24 * 60, int(60 / STEP_S))
                times = minute - 60_000 * np.arange(len(bars), 0, -1, dtype=np.int64)
                m.klines["1m"] = KlineSeries(60_000, times, bars, numbers=m.numbers)
            if m.venue == "usdm" and m.funding is None:
                t8 = now // 28_800_000 * 28_800_000 - 28_800_000 * np.arange(269, -1, -1)
                rates = np.round(1e-4 + 2e-4 * np.tanh(model.rng.normal(0, 1, 270)), 8)
                m.funding = FundingSeries(t8.astype(np.int64), rates)
            bids, asks = model.book()
            m.l2.replace(bids.items(), asks.items(), 1_000_000)
            m.live = True
            m.last_price = model.price
            m.mark_price = model.price
            self.state.candles.roll(m, now, model.price)  # the open candle follows history
            self.models.append((m, model))

    def step(self) -> None:
        now = self.state.now_ms()
        for m, model in self.models:
            self.state.candles.roll(m, now)  # candles close on time, traded or not
            bid, ask = m.book.best_bid(), m.book.best_ask()
            _, trades = model.advance()
            for is_buy, qty in trades:
                touch = ask if is_buy else bid
                if touch is not None:
                    self.state.trade(m, touch[0], qty, buyer_maker=not is_buy, event_ms=None)
            bids, asks = model.book()
            book = m.l2
            diff_b = [(p, q) for p, q in bids.items() if book.bids.get(p) != q]
            diff_b += [(p, 0.0) for p in book.bids if p not in bids]
            diff_a = [(p, q) for p, q in asks.items() if book.asks.get(p) != q]
            diff_a += [(p, 0.0) for p in book.asks if p not in asks]
            if diff_b or diff_a:
                self.state.apply_depth(m, diff_b, diff_a)

    async def run(self) -> None:
        clock = asyncio.get_running_loop().create_task(self._candle_clock())
        try:
            await self._steps()
        finally:
            clock.cancel()

    async def _candle_clock(self) -> None:
        """Close candles on the server clock even when the market steps slowly (speed < 1)."""
        while True:
            await asyncio.sleep(0.5)
            now = self.state.now_ms()
            for m, _ in self.models:
                self.state.candles.roll(m, now)

    async def _steps(self) -> None:
        ticks = 0
        while True:
            await asyncio.sleep(STEP_S / self.speed)
            self.step()
            ticks += 1
            if ticks % 10 == 0:
                now = self.state.now_ms()
                for m, model in self.models:
                    if m.venue == "usdm":
                        self.state.mark_price(m, model.price, (now // 28_800_000 + 1) * 28_800_000)
