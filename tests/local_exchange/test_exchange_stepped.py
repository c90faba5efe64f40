"""Bar-stepped replay: one closed bar per step (kline frame, REST history), the bar's ladder as
the book (one chained depth diff), market orders walking it at the configured fees, and the
control endpoint's and the CLI's refusals."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import orjson
import pytest
import websockets
from click.testing import CliRunner

from gradtrade.cli import main
from gradtrade.core import Side
from gradtrade.data.importers import read_freqtrade_table
from gradtrade.errors import InvalidInput
from gradtrade.execution.ladder import LadderConfig, candle_ladder, walk
from gradtrade.local_exchange import ExchangeServer, ServerThread
from gradtrade.local_exchange.cli import parse_fees
from gradtrade.local_exchange.stepped import StepConfig

FUTURES_5M = "klines/futures/BTC_USDT_USDT-5m-futures.feather"
FUNDING_8H = "klines/futures/BTC_USDT_USDT-8h-funding_rate.feather"
START_MS = 1_709_251_200_000  # 2024-03-01 00:00 UTC
LADDER = LadderConfig(levels=5, level_share=0.0002)


def file_bars(path: Path, n: int) -> list[tuple[int, float, float, float, float, float]]:
    """The first ``n`` bars from START_MS, read by the data layer (not the exchange)."""
    table = read_freqtrade_table(path)
    ms = table.column("date").to_numpy().astype("datetime64[ms]").astype(np.int64)
    i = int(np.searchsorted(ms, START_MS))
    cols = [table.column(c).to_numpy() for c in ("open", "high", "low", "close", "volume")]
    o, h, low, c, v = cols
    return [
        (int(ms[j]), float(o[j]), float(h[j]), float(low[j]), float(c[j]), float(v[j]))
        for j in range(i, i + n)
    ]


@pytest.fixture
def stepped(data_dir: Path, templates_dir: Path | None) -> Iterator[ServerThread]:
    server = ExchangeServer(
        replay=[data_dir / FUTURES_5M, data_dir / FUNDING_8H],
        templates_dir=templates_dir,
        fees={"usdm": ("0.0001", "0.0003")},
        stepped=StepConfig("5m", start_ms=START_MS, ladder=LADDER),
    )
    with ServerThread(server) as st:
        yield st


async def post_step(url: str, body: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as s, s.post(f"{url}/_gradtrade/step", json=body) as r:
        return r.status, await r.json()


async def get(url: str, path: str) -> Any:
    async with aiohttp.ClientSession() as s, s.get(f"{url}{path}") as r:
        assert r.status == 200, await r.text()
        return await r.json()


async def test_step_publishes_the_closed_bar_and_its_ladder(
    stepped: ServerThread, data_dir: Path
) -> None:
    url = stepped.url
    bars = file_bars(data_dir / FUTURES_5M, 3)
    history = await get(url, "/fapi/v1/klines?symbol=BTCUSDT&interval=5m&limit=5")
    assert history[-1][0] == START_MS - 300_000  # REST never shows a bar not stepped yet
    funding = await get(url, "/fapi/v1/fundingRate?symbol=BTCUSDT&limit=5")
    assert funding and max(f["fundingTime"] for f in funding) < START_MS  # nor funding
    snapshot = await get(url, "/fapi/v1/depth?symbol=BTCUSDT&limit=100")
    ws_url = url.replace("http", "ws") + "/fapi/stream?streams=btcusdt@kline_5m/btcusdt@depth"
    async with websockets.connect(ws_url) as ws:
        await asyncio.sleep(0.2)  # subscribed before the step
        status, answer = await post_step(url, {"bars": 3})
        assert status == 200 and answer["remaining"] > 0
        frames = [orjson.loads(await asyncio.wait_for(ws.recv(), 5)) for _ in range(6)]
    assert [(r["open_ms"], r["open"], r["high"], r["low"], r["close"], r["volume"])
            for r in answer["stepped"]] == bars  # fmt: skip
    klines = [f["data"]["k"] for f in frames if f["stream"].endswith("kline_5m")]
    assert [k["t"] for k in klines] == [b[0] for b in bars] and all(k["x"] for k in klines)
    assert [float(k["c"]) for k in klines] == [b[4] for b in bars]
    rest = await get(url, "/fapi/v1/klines?symbol=BTCUSDT&interval=5m&limit=3")
    assert [(r[0], float(r[4])) for r in rest] == [(b[0], b[4]) for b in bars]
    # the depth diffs chain onto the snapshot and leave exactly the last bar's ladder
    book: dict[str, dict[float, float]] = {
        "b": {float(p): float(q) for p, q in snapshot["bids"]},
        "a": {float(p): float(q) for p, q in snapshot["asks"]},
    }
    last = snapshot["lastUpdateId"]
    for f in (f["data"] for f in frames if f["stream"].endswith("depth")):
        assert f["pu"] == last
        last = f["u"]
        for side in "ba":
            for p, q in f[side]:
                book[side][float(p)] = float(q)
                if float(q) == 0:
                    del book[side][float(p)]
    _, h, low, c, v = bars[-1][1:]
    ladder = candle_ladder(h, low, c, v, 0.01, 0.001, LADDER)
    assert sorted(book["b"].items(), reverse=True) == list(ladder.bids)
    assert sorted(book["a"].items()) == list(ladder.asks)


async def test_market_order_walks_the_ladder_at_the_configured_fee(
    stepped: ServerThread, signed: Callable[..., Any], data_dir: Path
) -> None:
    url = stepped.url
    (bar,) = file_bars(data_dir / FUTURES_5M, 1)
    await post_step(url, {})
    client = signed(url)
    status, order, _ = await client.request(
        "POST", "/fapi/v1/order",
        {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.9"},
    )  # fmt: skip
    assert status == 200, order
    status, trades, _ = await client.request(
        "GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT", "orderId": order["orderId"]}
    )
    _, h, low, c, v = bar[1:]
    expected = walk(candle_ladder(h, low, c, v, 0.01, 0.001, LADDER), Side.SELL, 0.9, 0.001)
    assert len(expected) >= 3  # it did walk
    assert [(float(t["price"]), float(t["qty"])) for t in trades] == expected
    for t in trades:
        fee = Decimal(t["price"]) * Decimal(t["qty"]) * Decimal("0.0003")
        assert Decimal(t["commission"]) == fee.quantize(Decimal("1e-8"), ROUND_HALF_UP)


async def test_paced_steps_advance_by_themselves(
    data_dir: Path, templates_dir: Path | None
) -> None:
    server = ExchangeServer(
        replay=[data_dir / FUTURES_5M], templates_dir=templates_dir,
        stepped=StepConfig("5m", start_ms=START_MS, every_s=0.05),
    )  # fmt: skip
    with ServerThread(server) as st:
        deadline = time.monotonic() + 10
        while True:
            rows = await get(st.url, "/fapi/v1/klines?symbol=BTCUSDT&interval=5m&limit=1")
            if rows[-1][0] >= START_MS + 3 * 300_000:
                break
            assert time.monotonic() < deadline, "the paced replay did not step"
            await asyncio.sleep(0.05)


async def test_control_endpoint_refusals(stepped: ServerThread, quiet_server: ServerThread) -> None:
    for body, word in (({"bars": 0}, "bars"), ({"bars": "2"}, "integer"), ({"n": 1}, "bars"),
                       ([1], "object")):  # fmt: skip
        status, answer = await post_step(stepped.url, body)
        assert status == 400 and answer["code"] == -1130 and word in answer["msg"], answer
    status, _ = await post_step(quiet_server.url, {})  # not a stepped server: no such path
    assert status == 404


def test_a_stepped_server_needs_a_file_at_the_interval(
    data_dir: Path, templates_dir: Path | None
) -> None:
    with pytest.raises(InvalidInput, match="native 1h"):
        ExchangeServer(replay=[data_dir / FUTURES_5M], templates_dir=templates_dir,
                       stepped=StepConfig("1h"))  # fmt: skip
    with pytest.raises(InvalidInput, match="--replay"):
        ExchangeServer(stepped=StepConfig("5m"))
    with pytest.raises(InvalidInput, match="interval"):
        StepConfig("7m")


def test_fees_option() -> None:
    assert parse_fees(("0,0.0005",)) == {"spot": ("0", "0.0005"), "usdm": ("0", "0.0005")}
    assert parse_fees(("usdm=0.0002,0.0004",)) == {"usdm": ("0.0002", "0.0004")}
    runner = CliRunner()
    for bad in ("0.001", "1,2", "bnb=0,0", "x,0.1"):
        result = runner.invoke(main, ["exchange", "serve", "--fees", bad, "--port", "0"])
        assert result.exit_code == 2 and "--fees" in result.output, result.output
    help_text = runner.invoke(main, ["exchange", "serve", "--help"]).output
    assert "--stepped" in help_text and "_gradtrade/step" in help_text
