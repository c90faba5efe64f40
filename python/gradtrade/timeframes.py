"""The one timeframe table: bar lengths by name, as Binance spells its kline intervals.

Invariant: every bar length in the package comes from here (the store's file grid, the state
transformer's step, timeframe inference, the local exchange's kline intervals, annualization),
so a timeframe means the same number of nanoseconds everywhere. A timeframe is a count and a
unit (``1s``, ``15m``, ``4h``, ``1d``, ``1w``); months are not a fixed grid and are refused.
"""

from __future__ import annotations

import re

from gradtrade.errors import InvalidInput

_UNIT_NS = {
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
    "d": 86400 * 10**9,
    "w": 7 * 86400 * 10**9,
}
_TIMEFRAME = re.compile(r"^(\d+)([smhdw])$")

# The kline intervals Binance serves (spot and USD-M), shortest first; 1M is left out (no grid).
INTERVALS = (
    *("1s", "1m", "3m", "5m", "15m", "30m"),
    *("1h", "2h", "4h", "6h", "8h", "12h"),
    *("1d", "3d", "1w"),
)

HOUR_NS = _UNIT_NS["h"]
HOURS_PER_YEAR = 8760.0


def timeframe_ns(timeframe: str) -> int:
    """Length of one bar in nanoseconds ("1m", "4h", "1d", "1w"; months are not a fixed grid)."""
    match = _TIMEFRAME.match(timeframe)
    if not match or int(match.group(1)) == 0:
        raise InvalidInput(f"timeframe {timeframe!r} is not like 1m, 15m, 1h, 8h, 1d or 1w")
    return int(match.group(1)) * _UNIT_NS[match.group(2)]


INTERVAL_MS: dict[str, int] = {name: timeframe_ns(name) // 10**6 for name in INTERVALS}


def interval_ms(interval: str) -> int:
    """Length of one Binance kline interval in milliseconds; other names are refused."""
    if interval not in INTERVAL_MS:
        raise InvalidInput(f"interval {interval!r} is not one of Binance's {', '.join(INTERVALS)}")
    return INTERVAL_MS[interval]


def periods_per_year(timeframe: str) -> float:
    """Bars per 365-day year (crypto trades around the clock), for annualizing."""
    return HOURS_PER_YEAR * HOUR_NS / timeframe_ns(timeframe)


__all__ = [
    "INTERVALS",
    "INTERVAL_MS",
    "interval_ms",
    "periods_per_year",
    "timeframe_ns",
]
