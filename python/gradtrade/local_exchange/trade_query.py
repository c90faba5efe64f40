"""Account trade queries: which of an account's trades spot ``GET /api/v3/myTrades`` and USD-M
``GET /fapi/v1/userTrades`` answer, as Binance documents them.

:func:`parse` turns the request's ``orderId``, ``fromId``, ``startTime``, ``endTime`` and
``limit`` into a :class:`TradeQuery` (or Binance's refusal); :func:`select` applies it to the
trades of one account and symbol. ``trading.Trading.my_trades`` is the only caller.

Rules (both venues):

* ``limit``: default 500, at most 1000 (more is served as 1000, 0 as the default, as every
  ``limit`` of this server); not an unsigned integer: -1100. The ids and times are unsigned
  integers too (-1100).
* ``startTime`` after ``endTime``: -1023 "Start time is greater than end time.".
* The answer is always in ascending trade id (= time) order. With ``fromId`` (trades with id >=
  ``fromId``), ``orderId`` or a time window it is the *first* ``limit`` trades that match; with
  none of them the *most recent* ``limit``.

Spot ``myTrades``:

* Only Binance's documented combinations: symbol; +orderId; +startTime; +endTime; +fromId;
  +startTime+endTime; +orderId+fromId. Anything else (e.g. ``fromId`` with a time,
  ``orderId`` with a time) is -1128 "Combination of optional parameters invalid.".
* ``endTime - startTime`` over 24 hours: -1127 "More than 24 hours between startTime and
  endTime.".

USD-M ``userTrades``:

* ``fromId`` with ``startTime`` or ``endTime``: -1128. (``orderId`` "only with symbol":
  ``symbol`` is mandatory here anyway, so it adds no refusal.)
* ``endTime - startTime`` over 7 days: -1127 "More than 168 hours between startTime and
  endTime." (the catalog's "More than %s hours" template; the futures message is not quoted
  in Binance's docs).
* Neither ``startTime`` nor ``endTime``, no ``fromId`` or ``orderId``: the last 7 days of the
  exchange clock (``ExchangeState.now_ms``, with its ``clock_skew``).

Where this is our reading of Binance's docs rather than their text (interpretations):

* One bound alone spans the maximum interval from it: ``startTime`` alone is [startTime,
  startTime + 24 h] (USD-M 7 days), ``endTime`` alone [endTime - 24 h, endTime]; both ends are
  inclusive, so a window of exactly 24 h (7 days) is accepted.
* ``orderId`` and ``fromId`` select by id and are not cut to USD-M's default last 7 days
  (the documented way to page older trades is by id); the first ``limit`` of an order's trades
  are answered so that ``orderId`` + ``fromId`` pages forward through them.
* USD-M's "last 7 days" has no upper bound (a trade stamped after the exchange clock was put
  back, which only a test does, is still answered).
* Binance keeps only 6 months of USD-M trades; this server keeps every trade.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from gradtrade.local_exchange.errors import ApiError
from gradtrade.local_exchange.matching import Fill, Order
from gradtrade.local_exchange.params import Params, limit_param, opt_int

HOUR_MS = 3_600_000
DEFAULT_LIMIT, MAX_LIMIT = 500, 1000
# the longest startTime..endTime span per venue (spot 24 h, USD-M 7 days)
MAX_SPAN_MS = {"spot": 24 * HOUR_MS, "usdm": 7 * 24 * HOUR_MS}
# Binance's documented spot combinations of the optional parameters (``limit`` aside)
SPOT_COMBINATIONS = frozenset(
    {
        frozenset(),
        frozenset({"orderId"}),
        frozenset({"startTime"}),
        frozenset({"endTime"}),
        frozenset({"fromId"}),
        frozenset({"startTime", "endTime"}),
        frozenset({"orderId", "fromId"}),
    }
)


class Pick(enum.Enum):
    """Which end of the matching trades a page is taken from."""

    FIRST = "first"  # the oldest ``limit`` (an id or a window was given)
    LATEST = "latest"  # the most recent ``limit`` (nothing to start from)


@dataclass(frozen=True)
class TradeQuery:
    """One request's selection: trades of ``order_id`` (if set) with id >= ``from_id`` (if
    set) and time in [``start_ms``, ``end_ms``] (each bound if set), ``pick`` end, ``limit``
    of them."""

    order_id: int | None
    from_id: int | None
    start_ms: int | None
    end_ms: int | None
    pick: Pick
    limit: int


def bad_combination() -> ApiError:
    return ApiError(-1128, "Combination of optional parameters invalid.")


def too_long(venue: str) -> ApiError:
    hours = MAX_SPAN_MS[venue] // HOUR_MS
    return ApiError(-1127, f"More than {hours} hours between startTime and endTime.")


def parse(venue: str, params: Params, now_ms: int) -> TradeQuery:
    """The query of a ``myTrades`` (``venue`` "spot") or ``userTrades`` ("usdm") request;
    ``now_ms``: the exchange clock, for USD-M's default last 7 days."""
    limit = min(limit_param(params, DEFAULT_LIMIT), MAX_LIMIT)
    order_id, from_id = opt_int(params, "orderId"), opt_int(params, "fromId")
    start, end = opt_int(params, "startTime"), opt_int(params, "endTime")
    given = {
        name
        for name, value in (
            ("orderId", order_id),
            ("fromId", from_id),
            ("startTime", start),
            ("endTime", end),
        )
        if value is not None
    }
    if venue == "spot" and frozenset(given) not in SPOT_COMBINATIONS:
        raise bad_combination()
    if venue == "usdm" and from_id is not None and (start is not None or end is not None):
        raise bad_combination()
    span = MAX_SPAN_MS[venue]
    if start is not None and end is not None:
        if start > end:
            raise ApiError(-1023, "Start time is greater than end time.")
        if end - start > span:
            raise too_long(venue)
    elif start is not None:
        end = start + span
    elif end is not None:
        start = max(0, end - span)
    elif venue == "usdm" and order_id is None and from_id is None:
        start = now_ms - span  # the last 7 days
    return TradeQuery(order_id, from_id, start, end, Pick.FIRST if given else Pick.LATEST, limit)


def select(query: TradeQuery, trades: Sequence[tuple[Order, Fill]]) -> list[tuple[Order, Fill]]:
    """The trades ``query`` answers, ascending by id, out of one account's trades of one
    symbol (``(order, fill)`` pairs in any order)."""
    lo = query.start_ms if query.start_ms is not None else 0
    hi = query.end_ms if query.end_ms is not None else 2**63
    low_id = query.from_id if query.from_id is not None else 0
    chosen = sorted(
        (
            t
            for t in trades
            if (query.order_id is None or t[0].order_id == query.order_id)
            and t[1].trade_id >= low_id
            and lo <= t[1].time_ms <= hi
        ),
        key=lambda t: t[1].trade_id,
    )
    return chosen[: query.limit] if query.pick is Pick.FIRST else chosen[-query.limit :]
