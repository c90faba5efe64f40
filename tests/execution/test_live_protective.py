"""Exchange-side stops survive the trading process: the engine with the live client places its
stop-loss and take-profit on the local exchange, the process goes away without cancelling them,
the market moves through the stop and the exchange fills it by itself; a restarted client and
engine book that fill and cancel the other leg.

Setup. ``gradtrade exchange serve --replay <5m file> --stepped 5m`` runs in its own process with
the recorded real exchangeInfo (spot BTCUSDT lists STOP_LOSS_LIMIT / TAKE_PROFIT_LIMIT but no
market stops, so the live client sends stop-limits there; USD-M sends STOP_MARKET /
TAKE_PROFIT_MARKET reduce-only). A strategy goes long once; ``risk.stops`` (percent) gives the
levels. The bars each step publishes come back in the step's answer, so the test knows which bar
first crosses a level and checks the exchange filled the stop on exactly that bar.

"Killed" here is the client closed without a cancel and the engine dropped; the restarted
engine is handed the order manager and portfolio the dead one held (what the journal restores,
``persistence.recovery``), and the new client ``resume``s the protective orders by client id.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import aiohttp
import ccxt.async_support as ccxt_async
import pytest

from gradtrade.backtest.config import BacktestConfig, parse_backtest_config
from gradtrade.backtest.runner import load_market_data
from gradtrade.core import Side, SymbolFilters
from gradtrade.engine import Engine, SimulatedClock
from gradtrade.errors import InvalidInput
from gradtrade.events import Bar, Decision, FillEvent, IntentKind, OrderStyle, Timer
from gradtrade.execution import OrderManager, PortfolioTracker, ProtectiveConfig
from gradtrade.execution.client import Canceled, OrderRequest
from gradtrade.execution.live import LiveClientConfig, LiveExecutionClient
from gradtrade.risk import RiskManager
from gradtrade.strategy import StrategyContext
from gradtrade.venue.config import ConnectorConfig
from gradtrade.venue.instruments import order_types, symbol_filters
from gradtrade.venue.urls import ccxt_urls
from trader_process import serve_exchange

KEY, SECRET = "stops-key", "stops-secret-0123456789"
SYMBOL = "BTCUSDT"
START = "2024-03-02"
SL_PCT, TP_PCT = 0.4, 2.0


@dataclass(frozen=True)
class Venue:
    market: Literal["spot", "usdm"]
    file: str
    info_path: str
    stop_types: tuple[str, str]  # how the stop-loss and take-profit reach the exchange
    oco: bool = False  # spot: the two go out as one OCO list (ProtectiveConfig.spot_oco)


SPOT = Venue("spot", "klines/spot/BTC_USDT-5m.feather", "/api/v3/exchangeInfo",
             ("STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"), oco=True)  # fmt: skip
SPOT_SEPARATE = dataclasses.replace(SPOT, oco=False)
USDM = Venue("usdm", "klines/futures/BTC_USDT_USDT-5m-futures.feather", "/fapi/v1/exchangeInfo",
             ("STOP_MARKET", "TAKE_PROFIT_MARKET"))  # fmt: skip


class LongOnce:
    """Long 0.5 of equity on the first bar, then no further decisions."""

    name = "longonce"

    def __init__(self, decided: bool = False) -> None:
        self.decided = decided

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> Decision | None:
        if self.decided:
            return None
        self.decided = True
        return Decision(bar.symbol, bar.ts_ns, 0.5, mean=0.0, var=1e-4)

    def on_book(self, book: Any, ctx: StrategyContext) -> Decision | None:
        return None

    def on_fill(self, fill: FillEvent, ctx: StrategyContext) -> Decision | None:
        return None

    def on_timer(self, timer: Timer, ctx: StrategyContext) -> Decision | None:
        return None


@pytest.fixture(params=[SPOT, SPOT_SEPARATE, USDM], ids=["spot-oco", "spot-separate", "usdm"])
def venue(request: pytest.FixtureRequest) -> Venue:
    param: Venue = request.param
    return param


@pytest.fixture
def exchange(venue: Venue, data_dir: Path) -> Iterator[str]:
    yield from serve_exchange(
        ["--replay", str(data_dir / venue.file), "--stepped", "5m", "--step-from", START,
         "--templates", str(data_dir / "recordings/cryptofeed")],
        KEY, SECRET,
    )  # fmt: skip


def config(data_dir: Path, venue: Venue, f: SymbolFilters) -> BacktestConfig:
    return parse_backtest_config(
        {"data": {"path": str(data_dir / venue.file), "start": START, "warmup_bars": 0},
         "market": {"symbol": SYMBOL, "tick_size": repr(f.tick_size),
                    "step_size": repr(f.step_size)},
         "risk": {"stops": {"mode": "percent", "stop_loss": SL_PCT, "take_profit": TP_PCT}},
         "execution": {"style": "market"}, "initial_cash": 10_000.0,
         "periods_per_year": 105_120}
    )  # fmt: skip


def engine(
    cfg: BacktestConfig,
    filters: dict[str, SymbolFilters],
    client: LiveExecutionClient,
    orders: OrderManager,
    portfolio: PortfolioTracker,
    strategy: LongOnce,
) -> Engine:
    assert cfg.periods_per_year is not None
    risk = RiskManager(cfg.risk, filters[SYMBOL], periods_per_year=cfg.periods_per_year)
    return Engine(strategy, {SYMBOL: risk}, orders, client, portfolio, SimulatedClock())


async def step(http: aiohttp.ClientSession, url: str) -> dict[str, Any]:
    async with http.post(f"{url}/_gradtrade/step", json={"bars": 1}) as r:
        assert r.status == 200, await r.text()
        (row,) = (await r.json())["stepped"]
    return dict(row)


async def quiet(client: LiveExecutionClient, protective: bool, timeout: float = 20.0) -> None:
    """Until every request is answered: position orders settled, protective ones acked."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        await client.settle()
        waiting = [
            cid
            for cid, t in client.orders.items()
            if not (t.done or (protective and t.acked and t.request.intent != IntentKind.REBALANCE))
        ]
        if not waiting:
            return
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"orders still in flight: {waiting}")
        await asyncio.sleep(0.02)


def oracle(url: str, venue: Venue) -> Any:
    cls = ccxt_async.binance if venue.market == "spot" else ccxt_async.binanceusdm
    return cls({"urls": ccxt_urls(url, venue.market), "apiKey": KEY, "secret": SECRET})


async def open_orders(ex: Any, venue: Venue) -> list[dict[str, Any]]:
    get = ex.privateGetOpenOrders if venue.market == "spot" else ex.fapiPrivateGetOpenOrders
    return list(await get({"symbol": SYMBOL}))


async def query(ex: Any, venue: Venue, cid: str) -> dict[str, Any]:
    get = ex.privateGetOrder if venue.market == "spot" else ex.fapiPrivateGetOrder
    return dict(await get({"symbol": SYMBOL, "origClientOrderId": cid}))


async def test_stops_live_on_the_exchange_and_fill_without_the_process(
    exchange: str, venue: Venue, data_dir: Path
) -> None:
    url = exchange
    async with aiohttp.ClientSession() as http:
        async with http.get(url + venue.info_path) as r:
            info = await r.json()
        filters = {SYMBOL: symbol_filters(info, SYMBOL)}
        types = {SYMBOL: order_types(info, SYMBOL)}
        cfg = config(data_dir, venue, filters[SYMBOL])
        bars = load_market_data(cfg).bars
        connector = ConnectorConfig.for_url(url, venue.market, api_key=KEY, api_secret=SECRET,
                                            timeout_s=5.0)  # fmt: skip
        live = LiveClientConfig(poll_interval_s=0.5)

        # 1. the engine enters, then places its stops on the exchange
        protect = ProtectiveConfig(spot_oco=venue.oco)
        client = LiveExecutionClient(connector, filters, live, protective=protect,
                                     order_types=types)  # fmt: skip
        await client.start()
        orders = OrderManager("longonce", filters, cfg.execution)
        portfolio = PortfolioTracker(cfg.initial_cash, filters)
        first = engine(cfg, filters, client, orders, portfolio, LongOnce())
        i = 0
        for _ in range(3):  # decide, fill (drained on the next bar), stops placed
            row = await step(http, url)
            assert row["open_ms"] * 1_000_000 == bars[i].open_time_ns
            first.handle(bars[i])
            i += 1
            await quiet(client, protective=True)
        held = portfolio.quantity(SYMBOL)
        lot = filters[SYMBOL].step_size
        # the stops cover the holding down to the lot step (spot holds the buy net of its fee)
        protected = math.floor(held / lot + 1e-9) * lot
        assert held > 0 and (venue.market == "spot" or protected == pytest.approx(held))
        protective = {
            r.intent: r for r in orders.requests.values() if r.intent != IntentKind.REBALANCE
        }
        sl, tp = protective[IntentKind.STOP_LOSS], protective[IntentKind.TAKE_PROFIT]
        assert sl.price is not None and tp.price is not None and sl.price < tp.price
        ex = oracle(url, venue)
        try:
            listed = {o["clientOrderId"]: o for o in await open_orders(ex, venue)}
            assert set(listed) == {sl.client_order_id, tp.client_order_id}
            tick = filters[SYMBOL].tick_size
            for req, kind in zip((sl, tp), venue.stop_types, strict=True):
                o = listed[req.client_order_id]
                assert o["type"] == kind and o["side"] == "SELL"
                if venue.market == "spot":  # one list for both legs, or none
                    lists = {x["orderListId"] for x in listed.values()}
                    assert (len(lists), -1 in lists) == ((1, False) if venue.oco else (1, True))
                assert float(o["stopPrice"]) == pytest.approx(req.price, abs=tick / 2)
                assert float(o["origQty"]) == pytest.approx(protected, abs=1e-12)
                if venue.market == "usdm":
                    assert o["reduceOnly"] is True
                else:  # the limit sits the configured offset (50 bps) below the stop
                    limit, stop = float(o["price"]), float(o["stopPrice"])
                    assert stop * (1 - 0.0051) < limit < stop * (1 - 0.0049)

            if venue.market == "spot":  # an OCO list locks the coins once, two orders twice
                account = await ex.privateGetAccount()
                btc = next(b for b in account["balances"] if b["asset"] == "BTC")
                legs = 1 if venue.oco else 2
                assert float(btc["locked"]) == pytest.approx(legs * protected, abs=1e-12)

            # 2. the process dies without cancelling
            await client.close()
            del first, client

            # 3. the market moves; the exchange fills the first level a bar crosses
            sl_stop, tp_stop = (
                float(listed[sl.client_order_id]["stopPrice"]),
                float(listed[tp.client_order_id]["stopPrice"]),
            )
            hit: str | None = None
            for _ in range(600):
                row = await step(http, url)
                i += 1
                crossed_sl, crossed_tp = row["low"] <= sl_stop, row["high"] >= tp_stop
                states = {c: (await query(ex, venue, c))["status"] for c in listed}
                if not (crossed_sl or crossed_tp):
                    assert set(states.values()) == {"NEW"}, (row, states)
                    continue
                hit = sl.client_order_id if crossed_sl else tp.client_order_id
                assert states[hit] == "FILLED", (row, states)
                break
            assert hit is not None, "no bar crossed a level"
            other = tp if hit == sl.client_order_id else sl
            filled = await query(ex, venue, hit)
            assert float(filled["executedQty"]) == pytest.approx(protected, abs=1e-12)

            # 4. a restarted client and engine pick the fill up and cancel the other leg
            client2 = LiveExecutionClient(connector, filters, live, protective=protect,
                                          order_types=types)  # fmt: skip
            await client2.start()
            for req in protective.values():
                client2.resume(req)
            second = engine(cfg, filters, client2, orders, portfolio, LongOnce(decided=True))
            for _ in range(2):  # drain the fill (OCO: the other leg's cancel goes out) ...
                await client2.settle()
                await step(http, url)
                second.handle(bars[i])
                i += 1
                await client2.settle()
            assert portfolio.quantity(SYMBOL) == pytest.approx(held - protected, abs=1e-12)
            booked = [f for f in second.log.fills if f.client_order_id == hit]
            assert sum(f.qty for f in booked) == pytest.approx(protected, abs=1e-12)
            # an OCO leg is expired by the exchange; a separate one is cancelled by the engine
            gone = "EXPIRED" if venue.oco else "CANCELED"
            assert (await query(ex, venue, other.client_order_id))["status"] == gone
            assert await open_orders(ex, venue) == []
            assert not orders.open_orders(SYMBOL)
            if venue.market == "usdm":
                risk = await ex.fapiPrivateV2GetPositionRisk({"symbol": SYMBOL})
                assert float(risk[0]["positionAmt"]) == 0.0
            trades = await (
                ex.privateGetMyTrades if venue.market == "spot" else ex.fapiPrivateGetUserTrades
            )({"symbol": SYMBOL, "orderId": filled["orderId"]})
            assert sorted(int(t["id"]) for t in trades) == sorted(f.trade_id for f in booked)
            assert not any(isinstance(e, Canceled) for e in client2.poll())  # all drained
            await client2.close()
            print(  # what happened, for the record (pytest -s)
                f"{venue.market}: held {held}, stops {sl_stop} / {tp_stop}; "
                f"{'stop-loss' if hit == sl.client_order_id else 'take-profit'} filled "
                f"{filled['executedQty']} on bar {row['open_ms']} (low {row['low']}, "
                f"high {row['high']}); trades {[(t['price'], t['qty']) for t in trades]}"
            )
        finally:
            await ex.close()


def _request(style: OrderStyle, side: Side, stop: float) -> OrderRequest:
    kind = IntentKind.STOP_LOSS if style == OrderStyle.STOP_MARKET else IntentKind.TAKE_PROFIT
    return OrderRequest("a.0.1", SYMBOL, side, 0.25, style, kind, 0, stop, stop, True)


@pytest.mark.parametrize(
    ("market", "listed", "protective", "style", "side", "expect"),
    [
        # real spot BTCUSDT: no market stops -> stop-limit 50 bps beyond the stop
        ("spot", {"LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"}, ProtectiveConfig(),
         OrderStyle.STOP_MARKET, Side.SELL,
         {"type": "STOP_LOSS_LIMIT", "stopPrice": "60000.00", "price": "59700.00",
          "timeInForce": "GTC"}),
        ("spot", {"LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"},
         ProtectiveConfig(limit_offset=7, limit_offset_unit="ticks"),
         OrderStyle.TAKE_PROFIT_MARKET, Side.BUY,
         {"type": "TAKE_PROFIT_LIMIT", "stopPrice": "60000.00", "price": "60000.07",
          "timeInForce": "GTC"}),
        ("spot", {"STOP_LOSS", "TAKE_PROFIT"}, ProtectiveConfig(), OrderStyle.STOP_MARKET,
         Side.SELL, {"type": "STOP_LOSS", "stopPrice": "60000.00"}),
        # order types unknown: the config says whether market stops exist
        ("spot", None, ProtectiveConfig(spot_market_stops=True), OrderStyle.TAKE_PROFIT_MARKET,
         Side.SELL, {"type": "TAKE_PROFIT", "stopPrice": "60000.00"}),
        ("spot", None, ProtectiveConfig(), OrderStyle.TAKE_PROFIT_MARKET, Side.SELL,
         {"type": "TAKE_PROFIT_LIMIT", "price": "59700.00"}),
        ("usdm", {"STOP_MARKET"}, ProtectiveConfig(), OrderStyle.STOP_MARKET, Side.BUY,
         {"type": "STOP_MARKET", "stopPrice": "60000.00", "reduceOnly": "true"}),
    ],
)  # fmt: skip
def test_protective_orders_go_out_as_the_symbol_allows(
    market: Literal["spot", "usdm"],
    listed: set[str] | None,
    protective: ProtectiveConfig,
    style: OrderStyle,
    side: Side,
    expect: dict[str, str],
) -> None:
    f = symbol_filters(
        {"symbols": [{"symbol": SYMBOL, "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000",
             "tickSize": "0.01"},
            {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000",
             "stepSize": "0.00001"}]}]},
        SYMBOL,
    )  # fmt: skip
    connector = ConnectorConfig.for_url("http://127.0.0.1:9", market, api_key=KEY,
                                        api_secret=SECRET)  # fmt: skip
    types = {SYMBOL: frozenset(listed)} if listed is not None else None
    client = LiveExecutionClient(connector, {SYMBOL: f}, protective=protective, order_types=types)
    params = client._params(_request(style, side, 60_000.0))
    assert expect.items() <= params.items(), params
    if market == "spot":
        assert "reduceOnly" not in params
    if expect["type"] in ("STOP_LOSS", "TAKE_PROFIT", "STOP_MARKET"):
        assert "price" not in params and "timeInForce" not in params


@pytest.mark.parametrize(
    ("protective", "field"),
    [
        ({"limit_offset": 0}, "execution.protective.limit_offset"),
        ({"limit_offset_unit": "pct"}, "execution.protective.limit_offset_unit"),
        ({"offset": 5}, "execution.protective.offset"),
    ],
)
def test_protective_config_errors_name_the_field(
    data_dir: Path, protective: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput, match=field.replace(".", r"\.")):
        parse_backtest_config(
            {"data": {"path": str(data_dir / SPOT.file)},
             "execution": {"protective": protective}}
        )  # fmt: skip
