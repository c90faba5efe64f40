"""The one timeframe table: names to bar lengths, the same for every layer."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradtrade.errors import InvalidInput
from gradtrade.timeframes import INTERVAL_MS, INTERVALS, interval_ms, periods_per_year, timeframe_ns


def test_binance_intervals() -> None:
    assert INTERVAL_MS["1m"] == 60_000 and INTERVAL_MS["8h"] == 28_800_000
    assert INTERVAL_MS["1w"] == 7 * 86_400_000 and INTERVAL_MS["1s"] == 1_000
    lengths = [INTERVAL_MS[name] for name in INTERVALS]
    assert lengths == sorted(lengths)  # shortest first: inference takes the first match
    assert periods_per_year("1h") == 8760 and periods_per_year("1d") == 365
    with pytest.raises(InvalidInput, match="7m"):
        interval_ms("7m")  # a valid bar length, but not an interval Binance serves


@given(st.integers(1, 10_000), st.sampled_from("smhdw"))
def test_any_count_and_unit_is_a_grid(count: int, unit: str) -> None:
    ns = timeframe_ns(f"{count}{unit}")
    assert ns == count * timeframe_ns(f"1{unit}") and ns % 10**9 == 0


@pytest.mark.parametrize("bad", ["", "1M", "0m", "1 h", "h", "1.5h", "-1m"])
def test_bad_timeframes_are_named(bad: str) -> None:
    with pytest.raises(InvalidInput, match="timeframe"):
        timeframe_ns(bad)
