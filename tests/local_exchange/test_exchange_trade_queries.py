"""Account trade queries (spot ``myTrades``, USD-M ``userTrades``) over a real server: every
selection rule and refusal of :mod:`gradtrade.local_exchange.trade_query`, on an account with
250 trades per market spread over more than a day (spot) or a week (USD-M) of exchange time,
read with the bare signed client and with unmodified ccxt.

The expected answers come from the server's own record of the fills (``Trading.fills``), not
from the endpoint under test."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import ccxt
import pytest

from gradtrade.local_exchange import ExchangeServer, ServerThread

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
SYMBOL = "BTCUSDT"
BATCHES, PER_BATCH = 10, 25  # 10 market orders, each walking 25 ask levels: 250 fills
# exchange time between two orders: spot's 10 orders span 36 h (a 24 h window holds 6-7 of
# them), USD-M's 180 h (more than the 7 days its default and its windows reach)
GAP_MS = {"spot": 4 * HOUR_MS, "usdm": 20 * HOUR_MS}
PATHS = {"spot": "/api/v3/myTrades", "usdm": "/fapi/v1/userTrades"}


@dataclass(frozen=True)
class Row:
    """One trade as the server recorded it."""

    trade_id: int
    time_ms: int
    order_id: int


@dataclass(frozen=True)
class Traded:
    st: ServerThread
    client: Any  # the bare signed REST client (conftest's ``Signed``)
    rows: dict[str, list[Row]]  # per venue, ascending id

    @property
    def url(self) -> str:
        return self.st.url

    def now_ms(self) -> int:
        return self.st.server.state.now_ms()

    async def get(self, venue: str, **params: Any) -> tuple[int, Any]:
        """A signed ``myTrades`` / ``userTrades`` request stamped with the exchange clock."""
        status, body, _ = await self.client.request(
            "GET", PATHS[venue], {"symbol": SYMBOL, **params}, timestamp=self.now_ms()
        )
        return status, body


def _set_book(st: ServerThread, venue: str) -> None:
    def apply() -> None:
        m = st.server.state.markets[venue][SYMBOL]
        asks = [(60_000.0 + 10 * i, 0.001) for i in range(PER_BATCH)]
        m.l2.replace([(59_990.0, 1.0)], asks, m.book.last_update_id + 1)

    st.run(apply)


async def _trade(st: ServerThread, client: Any, venue: str) -> None:
    """BATCHES market buys, GAP_MS[venue] of exchange time apart, each filling PER_BATCH
    levels (one fill per level)."""
    api = "/api/v3" if venue == "spot" else "/fapi/v1"
    qty = f"{PER_BATCH * 0.001:.3f}"
    for _ in range(BATCHES):
        st.run(lambda: st.server.state.faults.skew_clock(
            st.server.state.faults.clock_skew_ms + GAP_MS[venue]
        ))  # fmt: skip
        _set_book(st, venue)
        status, body, _ = await client.request(
            "POST",
            f"{api}/order",
            {"symbol": SYMBOL, "side": "BUY", "type": "MARKET", "quantity": qty},
            timestamp=st.server.state.now_ms(),
        )
        assert status == 200, body


@pytest.fixture(scope="module")
def traded(signed: Callable[..., Any]) -> Iterator[Traded]:
    server = ExchangeServer(synthetic=True, seed=3, speed=1e-4)
    with ServerThread(server) as st:
        client = signed(st.url)
        for venue in ("spot", "usdm"):
            asyncio.run(_trade(st, client, venue))
        rows = {
            venue: [
                Row(f.trade_id, f.time_ms, o.order_id)
                for o, f in st.server.trading.fills
                if o.venue == venue and o.symbol == SYMBOL
            ]
            for venue in ("spot", "usdm")
        }
        assert all(len(r) == BATCHES * PER_BATCH for r in rows.values())
        yield Traded(st, client, rows)


def ids(body: Any) -> list[int]:
    assert isinstance(body, list), body
    return [int(t["id"]) for t in body]


def window(rows: list[Row], lo: int, hi: int) -> list[int]:
    return [r.trade_id for r in rows if lo <= r.time_ms <= hi]


async def _pages_by_from_id(traded: Traded, venue: str, first: int, **extra: Any) -> list[int]:
    seen: list[int] = []
    cursor = first
    for _ in range(10):  # 250 trades are 3 pages: a server ignoring fromId never ends
        status, body = await traded.get(venue, fromId=cursor, limit=100, **extra)
        assert status == 200, body
        page = ids(body)
        assert page == sorted(page) and len(page) <= 100
        if not page:
            return seen
        seen += page
        cursor = page[-1] + 1
    raise AssertionError(f"fromId paging from {first} did not end: {len(seen)} trades seen")


@pytest.mark.parametrize("venue", ["spot", "usdm"])
async def test_from_id_pages_every_trade_once_in_id_order(traded: Traded, venue: str) -> None:
    rows = traded.rows[venue]
    every = [r.trade_id for r in rows]
    assert await _pages_by_from_id(traded, venue, rows[0].trade_id) == every
    middle = every[137]
    assert await _pages_by_from_id(traded, venue, middle) == every[137:]
    status, body = await traded.get(venue, fromId=every[-1] + 1)
    assert status == 200 and body == []


async def test_spot_without_filters_answers_the_most_recent(traded: Traded) -> None:
    every = [r.trade_id for r in traded.rows["spot"]]
    status, body = await traded.get("spot", limit=100)
    assert status == 200 and ids(body) == every[-100:]
    status, body = await traded.get("spot")  # default 500: all 250
    assert status == 200 and ids(body) == every


async def test_usdm_without_filters_answers_the_last_7_days(traded: Traded) -> None:
    rows = traded.rows["usdm"]
    recent = [r.trade_id for r in rows if r.time_ms >= traded.now_ms() - 7 * DAY_MS]
    assert 0 < len(recent) < len(rows)  # older trades exist and are left out
    status, body = await traded.get("usdm")
    assert status == 200 and ids(body) == recent
    status, body = await traded.get("usdm", limit=30)
    assert status == 200 and ids(body) == recent[-30:]


@pytest.mark.parametrize(("venue", "span"), [("spot", DAY_MS), ("usdm", 7 * DAY_MS)])
async def test_time_windows_answer_the_first_trades_inside(
    traded: Traded, venue: str, span: int
) -> None:
    rows = traded.rows[venue]
    start = rows[30].time_ms  # the second order's time
    inside = window(rows, start, start + span)
    assert len(inside) > 100  # the window holds more than one page
    status, body = await traded.get(venue, startTime=start, endTime=start + span, limit=100)
    assert status == 200 and ids(body) == inside[:100]
    status, body = await traded.get(venue, startTime=start, limit=100)  # to start + span
    assert status == 200 and ids(body) == inside[:100]
    end = rows[-1].time_ms
    before = window(rows, end - span, end)
    status, body = await traded.get(venue, endTime=end, limit=1000)  # from end - span
    assert status == 200 and ids(body) == before
    assert before[0] > rows[0].trade_id  # the span cut the oldest ones off
    quiet = (rows[49].time_ms + 1, rows[50].time_ms - 1)  # between two orders
    status, body = await traded.get(venue, startTime=quiet[0], endTime=quiet[1])
    assert status == 200 and body == []


@pytest.mark.parametrize("venue", ["spot", "usdm"])
async def test_order_id_answers_that_orders_trades_and_pages_with_from_id(
    traded: Traded, venue: str
) -> None:
    rows = traded.rows[venue]
    order_id = rows[60].order_id  # the third order: 25 fills
    mine = [r.trade_id for r in rows if r.order_id == order_id]
    assert len(mine) == PER_BATCH
    status, body = await traded.get(venue, orderId=order_id)
    assert status == 200 and ids(body) == mine
    assert {t["orderId"] for t in body} == {order_id}
    status, body = await traded.get(venue, orderId=order_id, limit=10)
    assert status == 200 and ids(body) == mine[:10]
    status, body = await traded.get(venue, orderId=order_id, fromId=mine[10], limit=10)
    assert status == 200 and ids(body) == mine[10:20]
    status, body = await traded.get(venue, orderId=10**9)
    assert status == 200 and body == []


SPOT_BAD_COMBINATIONS = [
    {"fromId": 1, "startTime": 0},
    {"fromId": 1, "endTime": DAY_MS},
    {"fromId": 1, "startTime": 0, "endTime": DAY_MS},
    {"orderId": 1, "startTime": 0},
    {"orderId": 1, "endTime": DAY_MS},
    {"orderId": 1, "startTime": 0, "endTime": DAY_MS},
    {"orderId": 1, "fromId": 1, "startTime": 0},
]


@pytest.mark.parametrize("params", SPOT_BAD_COMBINATIONS)
async def test_spot_refuses_undocumented_combinations(
    traded: Traded, params: dict[str, int]
) -> None:
    status, body = await traded.get("spot", **params)
    assert (status, body) == (
        400,
        {"code": -1128, "msg": "Combination of optional parameters invalid."},
    )


@pytest.mark.parametrize("params", [{"fromId": 1, "startTime": 0}, {"fromId": 1, "endTime": 5}])
async def test_usdm_refuses_from_id_with_a_time(traded: Traded, params: dict[str, int]) -> None:
    status, body = await traded.get("usdm", **params)
    assert (status, body) == (
        400,
        {"code": -1128, "msg": "Combination of optional parameters invalid."},
    )


async def test_usdm_accepts_order_id_with_a_window(traded: Traded) -> None:
    rows = traded.rows["usdm"]
    order_id = rows[-1].order_id
    mine = [r for r in rows if r.order_id == order_id]
    # the order's fills may span more than one millisecond (a loaded machine): the window is
    # the last one's, so the answer is the order's trades inside it
    start = mine[-1].time_ms
    status, body = await traded.get("usdm", orderId=order_id, startTime=start, endTime=start)
    assert status == 200 and ids(body) == [r.trade_id for r in mine if r.time_ms == start]
    assert ids(body)


@pytest.mark.parametrize(
    ("venue", "span", "msg"),
    [
        ("spot", DAY_MS, "More than 24 hours between startTime and endTime."),
        ("usdm", 7 * DAY_MS, "More than 168 hours between startTime and endTime."),
    ],
)
async def test_windows_longer_than_the_venues_span_are_refused(
    traded: Traded, venue: str, span: int, msg: str
) -> None:
    start = traded.rows[venue][0].time_ms
    status, body = await traded.get(venue, startTime=start, endTime=start + span + 1)
    assert (status, body) == (400, {"code": -1127, "msg": msg})
    status, body = await traded.get(venue, startTime=start, endTime=start + span)
    assert status == 200 and body  # exactly the span is allowed
    status, body = await traded.get(venue, startTime=start + 1, endTime=start)
    assert (status, body) == (400, {"code": -1023, "msg": "Start time is greater than end time."})


@pytest.mark.parametrize("venue", ["spot", "usdm"])
async def test_limit_is_capped_defaulted_and_checked(traded: Traded, venue: str) -> None:
    first = traded.rows[venue][0].trade_id
    status, body = await traded.get(venue, fromId=first, limit=5000)  # served as 1000
    assert status == 200 and len(body) == BATCHES * PER_BATCH
    status, body = await traded.get(venue, fromId=first, limit=0)  # the default, 500
    assert status == 200 and len(body) == BATCHES * PER_BATCH
    status, body = await traded.get(venue, fromId=first, limit=1)
    assert status == 200 and ids(body) == [first]
    for bad in ("-1", "ten"):
        status, body = await traded.get(venue, limit=bad)
        assert status == 400 and body["code"] == -1100 and "'limit'" in body["msg"]
    status, body = await traded.get(venue, fromId="-5")
    assert status == 400 and body["code"] == -1100 and "'fromId'" in body["msg"]


@pytest.mark.parametrize(("venue", "symbol"), [("spot", "BTC/USDT"), ("usdm", "BTC/USDT:USDT")])
async def test_unmodified_ccxt_pages_by_since_and_from_id(
    traded: Traded, make_ccxt: Callable[..., Any], venue: str, symbol: str
) -> None:
    rows = traded.rows[venue]
    ex = make_ccxt(traded.url, venue)
    try:
        await ex.load_time_difference()  # the exchange clock is days ahead
        since = rows[30].time_ms
        got = await ex.fetch_my_trades(symbol, since, 100)
        span = DAY_MS if venue == "spot" else 7 * DAY_MS
        # ccxt orders trades by (timestamp, id as text): "100" before "76" in one millisecond
        assert sorted(int(t["id"]) for t in got) == window(rows, since, since + span)[:100]
        cursor, seen = rows[0].trade_id, []
        for _ in range(10):  # 3 pages
            page = await ex.fetch_my_trades(symbol, None, 100, {"fromId": cursor})
            if not page:
                break
            seen += sorted(int(t["id"]) for t in page)
            cursor = seen[-1] + 1
        assert seen == [r.trade_id for r in rows]
        with pytest.raises(ccxt.BadRequest, match="-1128"):  # fromId with since, as Binance
            await ex.fetch_my_trades(symbol, since, 100, {"fromId": rows[0].trade_id})
    finally:
        await ex.close()
