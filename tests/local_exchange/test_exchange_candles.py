"""Live candles: the kline stream closes each candle (``k.x``), REST history grows with the
closed candles and ends in the open one, and every interval agrees with the 1m series."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import numpy as np
import orjson
import pytest
import websockets

from gradtrade.local_exchange import ExchangeServer, ServerThread
from gradtrade.local_exchange.candles import Candle, LiveCandles
from gradtrade.local_exchange.hub import Hub
from gradtrade.local_exchange.market import Trade

MINUTE = 60_000


@pytest.fixture
def candle_server() -> Iterator[ServerThread]:
    """A synthetic market at normal speed whose clock the tests move with ``clock_skew``."""
    with ServerThread(ExchangeServer(synthetic=True, seed=4)) as st:
        yield st


def _skew_to(st: ServerThread, target_ms: int) -> None:
    def move() -> None:
        f = st.server.state.faults
        f.skew_clock(f.clock_skew_ms + target_ms - st.server.state.now_ms())

    st.run(move)


async def _klines(url: str, query: str) -> list[list[Any]]:
    async with aiohttp.ClientSession() as s, s.get(f"{url}/api/v3/klines?{query}") as r:
        assert r.status == 200
        rows: list[list[Any]] = await r.json()
        return rows


async def _closed_until(ws: Any, interval: str, deadline_s: float = 15.0) -> list[Any]:
    """Every closed candle (any interval) up to and including the first closed ``interval``."""
    end, out = time.monotonic() + deadline_s, []
    while time.monotonic() < end:
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), deadline_s))
        k = frame.get("data", frame)["k"]
        if k["x"]:
            out.append(k)
            if k["i"] == interval:
                return out
    raise AssertionError(f"no closed {interval} candle")


async def test_kline_stream_closes_candles_and_rest_history_grows(
    candle_server: ServerThread,
) -> None:
    url = candle_server.url
    before = await _klines(url, "symbol=BTCUSDT&interval=1m&limit=3")
    open_row = before[-1]
    assert open_row[0] - before[-2][0] == MINUTE  # history ends right before the open candle
    ws_url = "ws" + url[4:] + "/stream?streams=btcusdt@kline_1m/btcusdt@kline_5m"
    async with websockets.connect(ws_url) as ws:
        first = orjson.loads(await asyncio.wait_for(ws.recv(), 10))["data"]["k"]
        assert first["x"] is False
        # jump the server clock to 1 s before the next 5-minute boundary, then past it
        boundary = (open_row[0] // (5 * MINUTE) + 1) * 5 * MINUTE
        _skew_to(candle_server, boundary + 1_000)
        closed = await _closed_until(ws, "5m")
        nxt = orjson.loads(await asyncio.wait_for(ws.recv(), 10))["data"]["k"]
    ones = [k for k in closed if k["i"] == "1m"]
    closed_1m, closed_5m = ones[-1], closed[-1]
    # every minute from the open one to the boundary closed, in order, each exactly once
    assert [k["t"] for k in ones] == list(range(open_row[0], boundary, MINUTE))
    assert closed_1m["T"] + 1 == boundary and closed_5m["T"] + 1 == boundary
    assert closed_5m["t"] == boundary - 5 * MINUTE
    assert nxt["t"] >= boundary and nxt["x"] is False
    after = await _klines(url, f"symbol=BTCUSDT&interval=1m&startTime={before[0][0]}&limit=1000")
    times = [r[0] for r in after]
    assert times == list(range(before[0][0], times[-1] + 1, MINUTE)), "one gap-free series"
    assert times[-1] >= boundary  # the last row is the open candle after the jump
    by_time = {r[0]: r for r in after}
    row = by_time[closed_1m["t"]]
    assert row[1:6] == [closed_1m[k] for k in ("o", "h", "l", "c", "v")]
    assert row[8] == closed_1m["n"] and row[7] == closed_1m["q"]
    five = await _klines(url, f"symbol=BTCUSDT&interval=5m&startTime={boundary - 5 * MINUTE}")
    assert five[0][1:6] == [closed_5m[k] for k in ("o", "h", "l", "c", "v")]
    assert five[0][8] == closed_5m["n"]


async def test_history_then_live_has_no_gap_ten_minutes_on(candle_server: ServerThread) -> None:
    url = candle_server.url
    now = candle_server.run(candle_server.server.state.now_ms)
    _skew_to(candle_server, now + 10 * MINUTE)
    await asyncio.sleep(0.5)  # the market steps, closing the ten quiet minutes on time
    rows = await _klines(url, f"symbol=BTCUSDT&interval=1m&startTime={now - 11 * MINUTE}")
    times = [r[0] for r in rows]
    assert len(rows) >= 21 and times == list(range(times[0], times[-1] + 1, MINUTE))
    assert times[-1] == (now + 10 * MINUTE) // MINUTE * MINUTE
    live = [i for i, r in enumerate(rows) if r[0] >= now // MINUTE * MINUTE]
    # from the first live candle on, each candle opens at the previous close
    for i in live[1:]:
        assert rows[i][1] == rows[i - 1][4]


def test_live_candles_fold_into_every_interval() -> None:
    """Pure check of the bookkeeping: 1m candles closed by trades add up to the 5m candle."""
    state = ExchangeServer(synthetic=True, seed=9).state
    m = state.market("spot", "BTCUSDT", "BTC", "USDT")  # no history: the live series starts
    candles = LiveCandles(Hub())
    t0 = 1_700_000_100_000 // (5 * MINUTE) * 5 * MINUTE
    rng = np.random.default_rng(0)
    trades = []
    for i in range(300):
        t = Trade(i + 1, float(100 + rng.normal()), float(rng.uniform(0.1, 1)), t0 + i * 1_100,
                  bool(rng.random() < 0.5))  # fmt: skip
        trades.append(t)
        candles.on_trade(m, t)
    candles.roll(m, t0 + 10 * MINUTE)
    rows = m.klines["1m"]
    assert len(rows.open_ms) == 10 and int(rows.open_ms[0]) == t0
    first5 = [t for t in trades if t.time_ms < t0 + 5 * MINUTE]
    x = rows.ohlcv[:5]
    assert x[0, 0] == first5[0].price and x[4, 3] == first5[-1].price
    assert x[:, 1].max() == max(t.price for t in first5)
    assert np.isclose(x[:, 4].sum(), sum(t.qty for t in first5))
    assert int(rows.extra()[:5, 1].sum()) == len(first5)
    cur = candles.current(m, 5 * MINUTE)
    assert isinstance(cur, Candle) and cur.open_ms == t0 + 10 * MINUTE and cur.n == 0
