"""Property tests of :mod:`gradtrade.local_exchange.trade_query` (no server): whatever the
account's trades and the request, the answer is in id order, at most ``limit`` long, made only
of matching trades and the first (or, with nothing to start from, the most recent) of them;
paging by ``fromId`` reads every trade once; the refusals are exactly Binance's."""

from __future__ import annotations

from decimal import Decimal
from itertools import accumulate

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradtrade.core import Side
from gradtrade.local_exchange.errors import ApiError
from gradtrade.local_exchange.matching import Fill, Order
from gradtrade.local_exchange.trade_query import MAX_SPAN_MS, Pick, parse, select

HOUR_MS = 3_600_000
NOW_MS = 1_000 * HOUR_MS
NAMES = ("orderId", "fromId", "startTime", "endTime")
SPOT_OK = [
    set(),
    {"orderId"},
    {"startTime"},
    {"endTime"},
    {"fromId"},
    {"startTime", "endTime"},
    {"orderId", "fromId"},
]


def _order(order_id: int) -> Order:
    return Order("k", "spot", "BTCUSDT", order_id, f"c{order_id}", Side.BUY, "MARKET", "GTC",
                 Decimal(0), Decimal(1), 0)  # fmt: skip


@st.composite
def accounts(draw: st.DrawFn) -> list[tuple[Order, Fill]]:
    """Trades with ascending ids and non-decreasing times (the exchange clock), a few orders."""
    n = draw(st.integers(0, 60))
    ids = list(accumulate(draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))))
    steps = draw(st.lists(st.integers(0, 30 * HOUR_MS), min_size=n, max_size=n))
    times = [NOW_MS - 200 * HOUR_MS + t for t in accumulate(steps)]
    orders = [_order(i) for i in range(1, 5)]
    owner = draw(st.lists(st.sampled_from(orders), min_size=n, max_size=n))
    fill = [
        Fill(i, Decimal(1), Decimal(1), Decimal(0), "BTC", False, t)
        for i, t in zip(ids, times, strict=True)
    ]
    return list(zip(owner, fill, strict=True))


def _valid(venue: str, given: set[str], start: int | None, end: int | None) -> bool:
    if venue == "spot" and given not in SPOT_OK:
        return False
    if venue == "usdm" and "fromId" in given and given & {"startTime", "endTime"}:
        return False
    if start is not None and end is not None:
        return start <= end and end - start <= MAX_SPAN_MS[venue]
    return True


VALUES = st.one_of(
    st.none(), st.integers(0, 400).map(lambda h: NOW_MS - 220 * HOUR_MS + h * HOUR_MS)
)


@settings(max_examples=300, deadline=None)
@given(
    accounts(),
    st.sampled_from(["spot", "usdm"]),
    st.one_of(st.none(), st.integers(1, 4)),
    st.one_of(st.none(), st.integers(0, 200)),
    VALUES,
    VALUES,
    st.integers(1, 30),
)
def test_answers_are_ordered_bounded_matching_and_from_the_right_end(
    trades: list[tuple[Order, Fill]],
    venue: str,
    order_id: int | None,
    from_id: int | None,
    start: int | None,
    end: int | None,
    limit: int,
) -> None:
    values = {"orderId": order_id, "fromId": from_id, "startTime": start, "endTime": end}
    params = {k: str(v) for k, v in values.items() if v is not None}
    params["limit"] = str(limit)
    given_names = {k for k in NAMES if k in params}
    if not _valid(venue, given_names, start, end):
        with pytest.raises(ApiError) as refused:
            parse(venue, params, NOW_MS)
        assert refused.value.code in (-1023, -1127, -1128)
        return
    query = parse(venue, params, NOW_MS)
    answer = select(query, trades)
    ids = [f.trade_id for _, f in answer]
    assert ids == sorted(set(ids)) and len(ids) <= limit
    lo = query.start_ms if query.start_ms is not None else -1
    hi = query.end_ms if query.end_ms is not None else 2**63
    matching = [
        f.trade_id
        for o, f in trades
        if (order_id is None or o.order_id == order_id)
        and (from_id is None or f.trade_id >= from_id)
        and lo <= f.time_ms <= hi
    ]
    assert ids == (matching[:limit] if given_names else matching[-limit:])
    assert query.pick is (Pick.FIRST if given_names else Pick.LATEST)
    if start is not None and end is None:
        assert query.end_ms == start + MAX_SPAN_MS[venue]
    if venue == "usdm" and not given_names:  # the last 7 days of the exchange clock
        assert query.start_ms == NOW_MS - MAX_SPAN_MS["usdm"]


@settings(max_examples=200, deadline=None)
@given(accounts(), st.sampled_from(["spot", "usdm"]), st.integers(1, 9), st.integers(0, 100))
def test_from_id_pages_read_every_trade_once(
    trades: list[tuple[Order, Fill]], venue: str, limit: int, first: int
) -> None:
    seen: list[int] = []
    cursor = first
    for _ in range(len(trades) + 2):
        page = select(parse(venue, {"fromId": str(cursor), "limit": str(limit)}, NOW_MS), trades)
        if not page:
            break
        seen += [f.trade_id for _, f in page]
        cursor = seen[-1] + 1
    assert seen == [f.trade_id for _, f in trades if f.trade_id >= first]
