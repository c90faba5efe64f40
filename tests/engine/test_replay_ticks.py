"""The L2 cadence: ticks cover the replay window exactly, once, in order (property tests)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradtrade.engine.replay import book_ticks
from gradtrade.errors import InvalidInput
from gradtrade.strategy.book import BookTop


@given(
    start=st.integers(0, 2**40),
    steps=st.integers(0, 300),
    interval=st.integers(1, 10**9),
    rest=st.floats(0, 1, exclude_max=True),
)
def test_ticks_cover_the_window_in_order(
    start: int, steps: int, interval: int, rest: float
) -> None:
    length = steps * interval + int(rest * interval)
    ts = [t.ts_ns for t in book_ticks("BTCUSDT", start, start + length, interval)]
    assert ts[0] == start and ts[-1] == start + length
    gaps = [b - a for a, b in itertools.pairwise(ts)]
    assert all(0 < g <= interval for g in gaps)
    assert all(g == interval for g in gaps[:-1])  # on the grid, but for the closing tick


@pytest.mark.parametrize(("start", "end", "interval"), [(10, 5, 1), (0, 5, 0), (0, 5, -3)])
def test_bad_windows_are_refused(start: int, end: int, interval: int) -> None:
    with pytest.raises(InvalidInput):
        list(book_ticks("BTCUSDT", start, end, interval))


def test_a_stale_book_has_no_mid() -> None:
    stale = BookTop("BTCUSDT", 1, False, None, None, None, None, gaps=1)
    assert stale.mid is None and not stale.is_crossed()
    live = BookTop("BTCUSDT", 1, True, 100.0, 1.0, 100.02, 2.0)
    assert live.mid == pytest.approx(100.01) and not live.is_crossed()
    assert BookTop("BTCUSDT", 1, True, 100.02, 1.0, 100.0, 2.0).is_crossed()
