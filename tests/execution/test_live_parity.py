"""Parity (3): the engine with the live client, against the local exchange replaying real
candles bar by bar, ends with the position and fees of the walk-the-book backtest.

Setup. ``gradtrade exchange serve --replay BTC_USDT_USDT-5m-futures.feather --stepped 5m`` runs
in its own process (USD-M: fees in USDT, so the position is the traded quantity exactly; spot
would charge buys in BTC). For each of ``N_BARS`` real 5m bars the driver steps the exchange
(``POST /_gradtrade/step``: the closed bar is published and the book becomes that bar's ladder),
checks the published bar is the file's, hands the same bar to an ``Engine`` whose execution
client is ``LiveExecutionClient``, and waits until every order it sent is settled (acked, filled
or expired) before the next step. The backtest is ``gradtrade backtest``'s own run
(``backtest.runner.simulate``) over the same bars with ``fill.model: walk_book``, i.e.
``SimulatedVenue(WalkBookModel)``: the same ladder (``gradtrade.execution.ladder``, the one
function both sides call) at the fee rates of the exchange's ``--fees``; the live engine is
the one ``simulate`` builds (same risk, execution, cash, trading window) with the live client
as its venue.

The strategy flips between long and short on the sign of each bar's body, so it trades about
every other bar with market orders of ~1.6x equity, large enough to walk several ladder levels.

What must hold, and why it is not bit-exact:

* The final position is equal (same decisions, same walks of the same ladder, whole lots),
  and equal to the exchange's ``positionRisk``; the live client booked exactly the exchange's
  trades and commissions (``userTrades``).
* Per order, the VWAP differs by at most one tick. In fact every fill is the same ladder level
  at the same price, fill for fill, up to float representation (measured: 1.5e-11 in VWAP):
  the exchange prints the level at ``pricePrecision`` decimals and the live client reports its
  shadow order's tick count times the tick (60885.700000000004 for the text "60885.70"), where
  the backtest converts the decimal level once (60885.7).
* Total fees agree within one tick of slippage per order (fee rate x tick x quantity summed
  over the orders). The measured residual is only the exchange's rounding of each fill's
  commission to 1e-8 USDT (Binance's precision) against the backtest's float product.
* Timing differs and does not matter here: the live fills reach the engine at the next bar
  (the engine drains its venue on market events), the backtest's at once; both are booked
  before the next bar is marked and decided on. The last bar is outside the trading window:
  it only drains the live fills of the bar before it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import ccxt.async_support as ccxt_async
import pytest

from gradtrade.backtest.config import BacktestConfig, parse_backtest_config
from gradtrade.backtest.runner import MarketData, load_market_data, simulate, symbol_filters
from gradtrade.core import SymbolFilters
from gradtrade.engine import Engine, SimulatedClock
from gradtrade.events import Bar, Decision, FillEvent, Timer
from gradtrade.execution import LadderConfig, OrderManager, PortfolioTracker
from gradtrade.execution.live import LiveClientConfig, LiveExecutionClient
from gradtrade.risk import RiskManager
from gradtrade.strategy import StrategyContext
from gradtrade.venue.config import ConnectorConfig
from gradtrade.venue.instruments import symbol_filters as venue_filters
from gradtrade.venue.urls import ccxt_urls
from trader_process import serve_exchange

KEY, SECRET = "parity-key", "parity-secret-0123456789"
SYMBOL = "BTCUSDT"
FILE = "klines/futures/BTC_USDT_USDT-5m-futures.feather"
START, END = "2024-03-01", "2024-03-03"
N_BARS = 288  # one day
MAKER, TAKER = 0.0002, 0.0004
LADDER = LadderConfig(levels=10, level_share=0.0002)
CASH = 10_000.0


class BodySign:
    """Long 0.8 of equity after an up bar, short 0.8 after a down bar (flat on a doji)."""

    name = "body"

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> Decision | None:
        u = 0.8 if bar.close > bar.open else -0.8 if bar.close < bar.open else 0.0
        return Decision(bar.symbol, bar.ts_ns, u, mean=0.0, var=1e-4)

    def on_book(self, book: Any, ctx: StrategyContext) -> Decision | None:
        return None

    def on_fill(self, fill: FillEvent, ctx: StrategyContext) -> Decision | None:
        return None

    def on_timer(self, timer: Timer, ctx: StrategyContext) -> Decision | None:
        return None


@pytest.fixture(scope="module")
def stepped_exchange(data_dir: Path) -> Iterator[str]:
    """The exchange in its own process, stepping the 5m file from START."""
    yield from serve_exchange(
        ["--replay", str(data_dir / FILE), "--stepped", "5m", "--step-from", START,
         "--fees", f"usdm={MAKER},{TAKER}", "--ladder-levels", str(LADDER.levels),
         "--ladder-share", str(LADDER.level_share), "--templates",
         str(data_dir / "recordings/cryptofeed")],
        KEY, SECRET,
    )  # fmt: skip


def backtest_config(data_dir: Path, f: SymbolFilters) -> BacktestConfig:
    """The backtest's config: the exchange's grids, walk-the-book at the exchange's fees."""
    return parse_backtest_config(
        {"data": {"path": str(data_dir / FILE), "start": START, "end": END, "warmup_bars": 0},
         "market": {"symbol": SYMBOL, "tick_size": repr(f.tick_size),
                    "step_size": repr(f.step_size)},
         "execution": {"style": "market"},
         "fill": {"model": "walk_book", "taker_fee_bps": TAKER * 1e4,
                  "maker_fee_bps": MAKER * 1e4,
                  "ladder": {"levels": LADDER.levels, "level_share": LADDER.level_share}},
         "initial_cash": CASH, "periods_per_year": 105_120}
    )  # fmt: skip


def live_engine(
    client: LiveExecutionClient, cfg: BacktestConfig, data: MarketData, until_ns: int
) -> Engine:
    """The engine ``simulate`` builds, with the live client as its venue."""
    filters = {SYMBOL: symbol_filters(cfg)}
    strategy = BodySign()
    assert cfg.periods_per_year is not None
    return Engine(
        strategy,
        {SYMBOL: RiskManager(cfg.risk, filters[SYMBOL], periods_per_year=cfg.periods_per_year)},
        OrderManager(strategy.name[:10], filters, cfg.execution),
        client,
        PortfolioTracker(cfg.initial_cash, filters),
        SimulatedClock(),
        trade_from_ns=data.trade_from_ns,
        trade_until_ns=until_ns,
    )


async def settled(client: LiveExecutionClient, timeout: float = 20.0) -> None:
    """Until every order sent is settled (its events queued for the engine's next drain)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        await client.settle()
        if all(t.done for t in client.orders.values()):
            return
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"orders still open: {[c for c, t in client.orders.items() if not t.done]}")
        await asyncio.sleep(0.01)


def orders_of(fills: list[FillEvent]) -> dict[str, list[FillEvent]]:
    out: dict[str, list[FillEvent]] = {}
    for f in fills:
        out.setdefault(f.client_order_id, []).append(f)
    return out


async def test_live_client_matches_walk_the_book_backtest(
    stepped_exchange: str, data_dir: Path
) -> None:
    url = stepped_exchange
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{url}/fapi/v1/exchangeInfo") as r:
            filters = {SYMBOL: venue_filters(await r.read(), SYMBOL)}
        cfg = backtest_config(data_dir, filters[SYMBOL])
        data = load_market_data(cfg)
        # the backtest trades N_BARS bars; the live engine gets one bar more, outside its
        # trading window, whose drain books the live fills of the last traded bar
        bars = data.bars[: N_BARS + 1]
        connector = ConnectorConfig.for_url(url, "usdm", api_key=KEY, api_secret=SECRET,
                                            timeout_s=5.0)  # fmt: skip
        client = LiveExecutionClient(connector, filters, LiveClientConfig(poll_interval_s=0.5))
        await client.start()
        live = live_engine(client, cfg, data, until_ns=bars[-2].ts_ns)
        try:
            for bar in bars:
                async with http.post(f"{url}/_gradtrade/step", json={"bars": 1}) as r:
                    assert r.status == 200, await r.text()
                    (row,) = (await r.json())["stepped"]
                assert row["open_ms"] * 1_000_000 == bar.open_time_ns
                published = tuple(row[k] for k in ("open", "high", "low", "close", "volume"))
                assert published == (bar.open, bar.high, bar.low, bar.close, bar.volume)
                live.handle(bar)
                await settled(client)
        finally:
            await client.close()
        oracle = ccxt_async.binanceusdm(
            {"urls": ccxt_urls(url, "usdm"), "apiKey": KEY, "secret": SECRET}
        )
        try:  # the exchange's own account of record
            risk = await oracle.fapiPrivateV2GetPositionRisk({"symbol": SYMBOL})
            trades = await oracle.fapiPrivateGetUserTrades({"symbol": SYMBOL, "limit": 1000})
        finally:
            await oracle.close()
    # the backtest: gradtrade backtest's own run (``simulate``) with fill.model walk_book
    backtest = simulate(cfg, dataclasses.replace(data, bars=bars[:N_BARS]), BodySign())

    lp, bp = live.portfolio, backtest.portfolio
    assert backtest.log.equity[-1].ts_ns == bars[-2].ts_ns
    live_orders, back_orders = orders_of(live.log.fills), orders_of(backtest.log.fills)
    assert len(back_orders) >= N_BARS // 4  # it does trade often
    assert lp.quantity(SYMBOL) == pytest.approx(bp.quantity(SYMBOL), abs=1e-12)
    assert list(live_orders) == list(back_orders)  # the same orders, in the same order
    tick = filters[SYMBOL].tick_size
    walked = 0
    for cid, back in back_orders.items():
        mine = live_orders[cid]
        qty = sum(f.qty for f in back)
        assert sum(f.qty for f in mine) == pytest.approx(qty, abs=1e-12)
        vwap_live = sum(f.price * f.qty for f in mine) / qty
        vwap_back = sum(f.price * f.qty for f in back) / qty
        assert abs(vwap_live - vwap_back) <= tick + 1e-9, cid
        walked += len(back) > 1
    assert walked >= len(back_orders) // 2  # most orders walked more than one level
    bound = sum(TAKER * tick * sum(f.qty for f in fs) for fs in back_orders.values())
    assert abs(lp.fee_value - bp.fee_value) <= bound
    assert not live.log.skips and not backtest.log.skips
    assert all(f.fee_asset == "USDT" for f in live.log.fills)
    vwap_diff = max(
        abs(sum(f.price * f.qty for f in live_orders[c]) - sum(f.price * f.qty for f in b))
        / sum(f.qty for f in b)
        for c, b in back_orders.items()
    )
    # the live client booked exactly what the exchange holds: position, every trade, fees
    assert float(risk[0]["positionAmt"]) == pytest.approx(lp.quantity(SYMBOL), abs=1e-12)
    # (the client's prices are its shadow order's tick count x tick: within 1e-9 of the text)
    exchange_fills = sorted((float(t["price"]), float(t["qty"])) for t in trades)
    client_fills = sorted((f.price, f.qty) for f in live.log.fills)
    assert len(exchange_fills) == len(client_fills)
    for (pe, qe), (pc, qc) in zip(exchange_fills, client_fills, strict=True):
        assert pc == pytest.approx(pe, abs=1e-9) and qc == pytest.approx(qe, abs=1e-12)
    assert sum(float(t["commission"]) for t in trades) == pytest.approx(lp.fee_value, abs=1e-9)
    # and the backtest made the same fills, level by level; fees differ by the exchange's
    # rounding of each commission to 1e-8 USDT
    pairs = list(zip(live.log.fills, backtest.log.fills, strict=True))
    for a, b in pairs:
        assert a.side == b.side and a.qty == pytest.approx(b.qty, abs=1e-12)
        assert a.price == pytest.approx(b.price, abs=1e-9)  # the same ladder level
    assert max(abs(a.fee - b.fee) for a, b in pairs) <= 0.5e-8 + 1e-12
    assert not live.orders.open_orders(SYMBOL)  # every live order settled, none left working
    print(  # the measured residuals, quoted in the closing note (pytest -s)
        f"orders {len(back_orders)}, fills live {len(live.log.fills)} / backtest "
        f"{len(backtest.log.fills)}, multi-level {walked}; position {lp.quantity(SYMBOL)}; "
        f"fees live {lp.fee_value:.8f} backtest {bp.fee_value:.8f} "
        f"(diff {lp.fee_value - bp.fee_value:.3e}, bound {bound:.3e}); "
        f"max VWAP diff {vwap_diff:.3e} (tick {tick})"
    )
