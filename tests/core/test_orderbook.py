"""OrderBook from Python: construction, queries, bad input, features, OFI, persistence, and a
property test against a plain dict book."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradtrade.core import BookNotSynced, InvalidInput, Market, OrderBook, SequenceGap
from gradtrade.venue.depth_sync import DepthSync


def frame(first: int, last: int, bids: str = "", asks: str = "", symbol: str = "BTCUSDT") -> bytes:
    data = (
        f'{{"e":"depthUpdate","E":1723161255208,"s":"{symbol}","U":{first},"u":{last},'
        f'"b":[{bids}],"a":[{asks}]}}'
    )
    return f'{{"stream":"btcusdt@depth@100ms","data":{data}}}'.encode()


SNAPSHOT = (
    b'{"lastUpdateId":100,"bids":[["100.00","1.5"],["99.99","2"],["99.50","4"]],'
    b'"asks":[["100.02","0.5"],["100.05","3"]]}'
)


@pytest.fixture
def book() -> OrderBook:
    b = OrderBook("btcusdt", "0.01", "0.00000001", Market.SPOT)
    b.apply_snapshot_json(SNAPSHOT)
    return b


def test_queries_after_a_snapshot(book: OrderBook) -> None:
    assert book.symbol == "BTCUSDT" and book.market == Market.SPOT
    assert book.is_valid and book.last_update_id == 100
    assert book.best_bid() == (100.0, 1.5) and book.best_ask() == (100.02, 0.5)
    assert book.mid() == 100.01
    assert book.spread() == pytest.approx(0.02)
    assert book.microprice() == pytest.approx((100.0 * 0.5 + 100.02 * 1.5) / 2.0)
    assert len(book) == 5 and book.depth == (3, 2)
    bids = book.bids(2)
    assert bids.dtype == np.float64 and bids.shape == (2, 2)
    np.testing.assert_array_equal(bids, [[100.0, 1.5], [99.99, 2.0]])
    np.testing.assert_array_equal(book.asks(), [[100.02, 0.5], [100.05, 3.0]])
    assert book.bids(10).shape == (3, 2)
    assert not book.is_crossed()
    assert "BTCUSDT" in repr(book)


def test_unsynced_book_refuses_queries_and_empty_side_answers_none() -> None:
    b = OrderBook("ETHUSDT", 0.01, 0.0001, "usdm")
    assert b.market == Market.USDM
    assert b.last_update_id is None and not b.is_valid
    for query in (b.best_bid, b.best_ask, b.mid, b.spread, b.microprice, b.is_crossed, b.bids):
        with pytest.raises(BookNotSynced):
            query()
    with pytest.raises(BookNotSynced):
        b.apply_depth_json(frame(1, 2, symbol="ETHUSDT"))
    with pytest.raises(BookNotSynced):
        b.features(3)
    # A synced book with an empty side answers None (no level), not an error.
    b.apply_snapshot(1, [(100.0, 1.0)], [])
    assert b.best_ask() is None and b.mid() is None and b.microprice() is None
    assert b.spread() is None and b.asks().shape == (0, 2)
    assert b.best_bid() == (100.0, 1.0)


def test_snapshot_takes_arrays_and_sequences() -> None:
    b = OrderBook("BTCUSDT", "0.01", "0.001")
    b.apply_snapshot(7, np.array([[100.0, 1.0], [99.5, 2.0]]), [("100.10", "0.5"), (100.2, 1)])
    assert b.best_bid() == (100.0, 1.0) and b.best_ask() == (100.1, 0.5)
    assert b.apply_diff(8, 8, [(100.05, 2.0)], np.empty((0, 2)))
    assert b.best_bid() == (100.05, 2.0)
    with pytest.raises(InvalidInput, match="shape"):
        b.apply_snapshot(9, np.zeros((2, 3)), [])
    with pytest.raises(InvalidInput, match="not a multiple"):
        b.apply_snapshot(9, [(100.001, 1.0)], [])
    with pytest.raises(InvalidInput, match="finite"):
        b.apply_snapshot(9, [(math.nan, 1.0)], [])


def test_sequence_rules_from_json(book: OrderBook) -> None:
    assert not book.apply_depth_json(frame(90, 100, '["100.01","1"]'))  # stale
    assert book.best_bid() == (100.0, 1.5)
    assert book.apply_depth_json(frame(95, 104, '["100.01","1"]'))  # straddles 101
    assert book.apply_depth_json(frame(105, 105).decode())  # str works too
    with pytest.raises(SequenceGap) as gap:
        book.apply_depth_json(frame(107, 110))
    assert (gap.value.expected, gap.value.received) == (106, 107)
    assert not book.is_valid
    with pytest.raises(BookNotSynced):
        book.apply_depth_json(frame(106, 110))
    # Issue 12: the gapped book used to answer its stale top; every query now refuses.
    for query in (
        book.best_bid,
        book.best_ask,
        book.mid,
        book.spread,
        book.microprice,
        book.is_crossed,
        book.bids,
        book.asks,
        book.features,
    ):
        with pytest.raises(BookNotSynced, match="sequence gap"):
            query()
    book.apply_snapshot_json(SNAPSHOT)
    assert book.is_valid
    assert book.best_bid() is not None


def test_usdm_uses_pu() -> None:
    b = OrderBook("BTCUSDT", "0.1", "0.001", "usdm")
    b.apply_snapshot(100, [(100.0, 1.0)], [(100.2, 1.0)])
    assert b.apply_diff(90, 120, [(100.1, 2.0)], [], prev_last_update_id=80)
    assert b.apply_diff(121, 125, [], [], prev_last_update_id=120)
    with pytest.raises(SequenceGap):
        b.apply_diff(130, 135, [], [], prev_last_update_id=126)


BAD_FRAMES = {
    "malformed JSON": (frame(101, 101)[:-3], "malformed JSON"),
    "not JSON": (b"hello", "malformed JSON"),
    "crossed": (frame(101, 101, '["100.02","1"]'), "cross the book"),
    "negative qty": (frame(101, 101, '["100.01","-1"]'), "must not be negative"),
    "negative price": (frame(101, 101, '["-100.01","1"]'), "must be positive"),
    "NaN": (frame(101, 101, '["100.01","NaN"]'), "not a decimal number"),
    "inf": (frame(101, 101, '["Infinity","1"]'), "not a decimal number"),
    "off grid": (frame(101, 101, '["100.015","1"]'), "not a multiple of 0.01"),
    "wrong symbol": (frame(101, 101, '["100.01","1"]', symbol="ETHUSDT"), "ETHUSDT"),
    "trade frame": (b'{"stream":"x","data":{"e":"trade","s":"BTCUSDT"}}', "not a depthUpdate"),
    "missing u": (b'{"s":"BTCUSDT","U":1,"b":[],"a":[]}', 'lacks field "u"'),
}


@pytest.mark.parametrize("case", sorted(BAD_FRAMES))
def test_bad_frames_raise_and_change_nothing(book: OrderBook, case: str) -> None:
    raw, needle = BAD_FRAMES[case]
    # A good level first in the frame proves nothing is applied before validation ends.
    before = book.to_json()
    with pytest.raises(InvalidInput, match=needle):
        book.apply_depth_json(raw)
    assert book.to_json() == before
    assert book.is_valid
    assert book.apply_depth_json(frame(101, 101, '["100.01","1"]'))


def test_bad_snapshots_and_arguments() -> None:
    b = OrderBook("BTCUSDT", "0.01", "0.001")
    with pytest.raises(InvalidInput, match="crossed"):
        b.apply_snapshot_json(b'{"lastUpdateId":1,"bids":[["100","1"]],"asks":[["99","1"]]}')
    with pytest.raises(InvalidInput, match="lastUpdateId"):
        b.apply_snapshot_json(b'{"bids":[],"asks":[]}')
    assert not b.is_valid
    with pytest.raises(InvalidInput, match="symbol"):
        OrderBook("BTC/USDT", "0.01", "0.001")
    with pytest.raises(InvalidInput, match="market"):
        OrderBook("BTCUSDT", "0.01", "0.001", "coinm")
    with pytest.raises(InvalidInput, match="tick_size"):
        OrderBook("BTCUSDT", "-0.01", "0.001")
    with pytest.raises(TypeError):
        b.apply_depth_json(123)  # type: ignore[arg-type]


def test_features_and_names(book: OrderBook) -> None:
    names = OrderBook.feature_names(3)
    values = book.features(3)
    assert values.shape == (len(names),) == (17,)
    named = dict(zip(names, values, strict=True))
    mid = 100.01
    assert named["spread_bps"] == pytest.approx(0.02 / mid * 1e4)
    assert named["microprice_bps"] == pytest.approx((book.microprice() - mid) / mid * 1e4)
    assert named["imbalance_1"] == pytest.approx((1.5 - 0.5) / 2.0)
    assert named["imbalance_2"] == pytest.approx((3.5 - 3.5) / 7.0)
    assert named["bid_bps_1"] == pytest.approx((100.0 - mid) / mid * 1e4)
    assert named["ask_bps_2"] == pytest.approx((100.05 - mid) / mid * 1e4)
    assert math.isnan(named["ask_bps_3"])  # only two ask levels
    assert named["bid_log_cum_qty_3"] == pytest.approx(math.log1p(7.5))
    assert named["ask_log_cum_qty_3"] == pytest.approx(math.log1p(3.5))


def test_order_flow_imbalance_between_reads(book: OrderBook) -> None:
    assert book.take_ofi() == 0.0
    book.apply_diff(101, 101, [("100.00", "2.5")], [])  # bid queue +1.0 at the same price
    book.apply_diff(102, 102, [], [("100.02", "0.2")])  # ask queue -0.3 at the same price: +0.3
    assert book.take_ofi() == pytest.approx(1.3)
    assert book.take_ofi() == 0.0
    book.apply_diff(103, 103, [("100.01", "1")], [])  # bid price up: +1 (new bid qty)
    assert book.take_ofi() == pytest.approx(1.0)


def test_json_state_round_trip(book: OrderBook) -> None:
    book.apply_depth_json(frame(101, 103, '["100.01","1"]', '["100.05","0"]'))
    restored = OrderBook.from_json(book.to_json())
    assert restored.to_json() == book.to_json()
    assert restored.last_update_id == 103 and restored.is_valid
    assert restored.apply_depth_json(frame(104, 104))
    with pytest.raises(InvalidInput):
        OrderBook.from_json('{"format": 1}')


def test_depth_sync_buffers_until_the_snapshot() -> None:
    sync = DepthSync(OrderBook("BTCUSDT", "0.01", "0.00000001"))
    assert sync.needs_snapshot
    assert not sync.on_diff(frame(95, 99, '["99.98","9"]'))  # stale once the snapshot is in
    assert not sync.on_diff(frame(100, 102, '["100.01","1"]'))
    assert not sync.on_diff(frame(103, 103, '["100.01","0"]'))
    assert sync.buffered == 3
    assert sync.on_snapshot(SNAPSHOT) == 2
    assert sync.buffered == 0 and not sync.needs_snapshot
    assert sync.book.best_bid() == (100.0, 1.5) and sync.book.last_update_id == 103
    assert sync.on_diff(frame(104, 104))
    with pytest.raises(SequenceGap):
        sync.on_diff(frame(106, 106))
    assert sync.needs_snapshot and sync.buffered == 1


levels = st.lists(st.tuples(st.integers(9_900, 10_100), st.integers(0, 5)), min_size=0, max_size=8)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(levels, levels), min_size=1, max_size=40))
def test_matches_a_dict_book(
    diffs: list[tuple[list[tuple[int, int]], list[tuple[int, int]]]],
) -> None:
    """Random diffs (in ticks) against a plain dict book; crossing diffs must be refused."""
    book = OrderBook("BTCUSDT", "0.01", "1")
    bids = {9_999 - i: 1 + i for i in range(10)}
    asks = {10_001 + i: 1 + i for i in range(10)}
    book.apply_snapshot(
        0, [(p / 100, q) for p, q in bids.items()], [(p / 100, q) for p, q in asks.items()]
    )
    update = 0
    for diff_bids, diff_asks in diffs:
        new_bids, new_asks = dict(bids), dict(asks)
        for side, changes in ((new_bids, diff_bids), (new_asks, diff_asks)):
            for price, qty in changes:
                if qty:
                    side[price] = qty
                else:
                    side.pop(price, None)
        crossed = bool(new_bids and new_asks and max(new_bids) >= min(new_asks))
        args = (
            [(f"{p / 100:.2f}", str(q)) for p, q in diff_bids],
            [(f"{p / 100:.2f}", str(q)) for p, q in diff_asks],
        )
        if crossed:
            with pytest.raises(InvalidInput, match="cross"):
                book.apply_diff(update + 1, update + 1, *args)
        else:
            update += 1
            assert book.apply_diff(update, update, *args)
            bids, asks = new_bids, new_asks
        assert not book.is_crossed()
        expected_bids = sorted(bids.items(), reverse=True)
        expected_asks = sorted(asks.items())
        np.testing.assert_allclose(
            book.bids(), [(p / 100, q) for p, q in expected_bids] or np.empty((0, 2))
        )
        np.testing.assert_allclose(
            book.asks(), [(p / 100, q) for p, q in expected_asks] or np.empty((0, 2))
        )
