"""Stream names as Binance treats them: partial book depth and every kline interval served,
unknown or misspelled names refused the same way in the URL and by SUBSCRIBE, Binance's
per-connection limits, and nothing left behind when a client goes."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import orjson
import pytest
import websockets

from gradtrade.local_exchange import ServerThread
from gradtrade.local_exchange.hub import MAX_STREAMS, Conn


def _ws(http: str, path: str) -> str:
    return "ws" + http[len("http") :] + path


async def _recv(ws: Any, timeout: float = 5.0) -> Any:
    return orjson.loads(await asyncio.wait_for(ws.recv(), timeout))


@pytest.mark.parametrize("levels", [5, 10, 20])
async def test_partial_depth_spot_and_usdm(synthetic_server: ServerThread, levels: int) -> None:
    url = synthetic_server.url
    async with websockets.connect(_ws(url, f"/ws/btcusdt@depth{levels}@100ms")) as ws:
        snap = await _recv(ws)
    assert set(snap) == {"lastUpdateId", "bids", "asks"}
    assert len(snap["bids"]) == len(snap["asks"]) == levels
    bids = [float(p) for p, _ in snap["bids"]]
    assert bids == sorted(bids, reverse=True) and bids[0] < float(snap["asks"][0][0])
    async with websockets.connect(_ws(url, f"/fapi/ws/btcusdt@depth{levels}")) as ws:
        diff = await _recv(ws)
    assert diff["e"] == "depthUpdate" and diff["s"] == "BTCUSDT" and len(diff["b"]) == levels
    assert {"U", "u", "pu", "T", "E"} <= set(diff)


async def test_kline_intervals_beyond_one_minute(synthetic_server: ServerThread) -> None:
    path = "/stream?streams=btcusdt@kline_5m/btcusdt@kline_1h/ethusdt@kline_1d"
    async with websockets.connect(_ws(synthetic_server.url, path)) as ws:
        seen = {}
        while len(seen) < 3:
            msg = await _recv(ws)
            seen[msg["stream"]] = msg["data"]["k"]
    assert seen["btcusdt@kline_5m"]["T"] - seen["btcusdt@kline_5m"]["t"] == 5 * 60_000 - 1
    assert seen["btcusdt@kline_1h"]["t"] % 3_600_000 == 0
    assert seen["ethusdt@kline_1d"]["i"] == "1d"


@pytest.mark.parametrize(
    "path",
    [
        "/ws/btcusdt@depth7",
        "/ws/btcusdt@depth10@300ms",
        "/ws/btcusdt@continuousKline_1m",
        "/ws/btcusdt@kline_7m",
        "/ws/foobar@trade",
        "/ws/btcusdt@tarde",
        "/stream?streams=btcusdt@trade/btcusdt@nope",
        "/ws/btcusdt@markPrice",  # a USD-M stream on the spot venue
    ],
)
async def test_unknown_stream_names_are_refused_in_the_url_and_by_subscribe(
    synthetic_server: ServerThread, path: str
) -> None:
    url = synthetic_server.url
    with pytest.raises(websockets.InvalidStatus) as err:
        async with websockets.connect(_ws(url, path)):
            pass
    assert err.value.response.status_code == 400
    assert b"Invalid stream name" in err.value.response.body
    name = path.rsplit("/", 1)[-1].split("=")[-1]
    async with websockets.connect(_ws(url, "/ws")) as ws:
        await ws.send(orjson.dumps({"method": "SUBSCRIBE", "params": [name], "id": 7}).decode())
        reply = await _recv(ws)
    assert reply["id"] == 7 and reply["error"]["code"] == 2
    assert "invalid stream name" in reply["error"]["msg"]


async def test_subscribe_beyond_the_stream_limit_and_message_rate(
    quiet_server: ServerThread,
) -> None:
    url = quiet_server.url

    def add_markets(n: int) -> None:
        state = quiet_server.server.state
        for i in range(n):
            state.market("spot", f"X{i}USDT", f"X{i}", "USDT")

    quiet_server.run(lambda: add_markets(MAX_STREAMS))
    names = [f"x{i}usdt@trade" for i in range(MAX_STREAMS)]
    async with websockets.connect(_ws(url, "/ws"), max_size=None) as ws:
        await ws.send(orjson.dumps({"method": "SUBSCRIBE", "params": names, "id": 1}).decode())
        assert await _recv(ws) == {"result": None, "id": 1}
        extra = {"method": "SUBSCRIBE", "params": ["btcusdt@trade"], "id": 2}
        await ws.send(orjson.dumps(extra).decode())
        reply = await _recv(ws)
        assert reply["id"] == 2 and "too many streams" in reply["error"]["msg"]
    async with websockets.connect(_ws(url, "/ws")) as ws:
        for i in range(6):  # Binance: 5 incoming messages per second on spot
            await ws.send(orjson.dumps({"method": "LIST_SUBSCRIPTIONS", "id": i}).decode())
        with pytest.raises(websockets.ConnectionClosed) as closed:
            for _ in range(10):
                await _recv(ws)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


async def test_everything_is_freed_when_a_client_leaves(quiet_server: ServerThread) -> None:
    url = quiet_server.url
    hub = quiet_server.server.state.hub

    def add_markets() -> None:
        for i in range(300):
            quiet_server.server.state.market("spot", f"Y{i}USDT", f"Y{i}", "USDT")

    def census() -> tuple[int, int, int]:
        gc.collect()
        live = sum(1 for o in gc.get_objects() if type(o) is Conn)
        return len(hub.subs), len(hub.conns), live

    quiet_server.run(add_markets)
    baseline = quiet_server.run(census)
    streams = [f"y{i}usdt@{k}" for i in range(300) for k in ("trade", "aggTrade", "depth")]
    for _ in range(3):
        async with websockets.connect(_ws(url, "/ws")) as ws:
            for lo in range(0, len(streams), 300):
                msg = {"method": "SUBSCRIBE", "params": streams[lo : lo + 300], "id": lo}
                await ws.send(orjson.dumps(msg).decode())
                assert (await _recv(ws))["id"] == lo
                await asyncio.sleep(0.25)  # stay under the message rate
            during = quiet_server.run(census)
            assert during[0] >= baseline[0] + 900 and during[1] == baseline[1] + 1
        for _ in range(50):
            if quiet_server.run(census) == baseline:
                break
            await asyncio.sleep(0.05)
        assert quiet_server.run(census) == baseline
