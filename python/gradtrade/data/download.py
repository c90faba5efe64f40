"""Historical downloads into the store: paginated, resumable, gap-aware, with a progress bar.

Resume rule: a download of ``[since, until)`` first asks the store what it already holds and
fetches only what is missing: the span before the first stored bar, every interior gap, and the
span after the last. An interrupted download (cancelled task, a crash, retries exhausted) has
flushed what it fetched so far (every ``flush_rows`` rows and on the way out), so running the
same command again continues where it stopped; merges on ``date`` make overlaps harmless.
Candles that have not closed yet (open time + one bar > exchange time) are never stored.
Gaps the exchange itself has (outages) stay gaps, and are listed in the result.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from gradtrade.data.store import CandleStore, Gap, SeriesKey, find_gaps
from gradtrade.data.validate import ValidationReport
from gradtrade.errors import ExchangeRejected
from gradtrade.venue.rest import RestClient

log = logging.getLogger(__name__)
MS = 1_000_000  # ns per ms


def _ms(ts: pd.Timestamp) -> int:
    return int(pd.Timestamp(ts).as_unit("ns").value // MS)


@dataclass
class DownloadResult:
    key: SeriesKey
    since: pd.Timestamp
    until: pd.Timestamp
    pages: int = 0
    rows_fetched: int = 0
    reports: list[ValidationReport] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)  # still missing inside [since, until)

    @property
    def rows_new(self) -> int:
        return sum(r.rows_new for r in self.reports)

    def summary(self) -> str:
        return (
            f"{self.key}: {self.pages} pages, {self.rows_fetched} rows fetched, "
            f"{self.rows_new} new; {len(self.gaps)} gaps left in [{self.since}, {self.until})"
        )


def missing_ranges(
    store: CandleStore, key: SeriesKey, since_ms: int, until_ms: int
) -> list[tuple[int, int]]:
    """Half-open ms ranges inside [since, until) that the store does not hold."""
    step_ms = key.step_ns // MS
    dates = store.read(
        key,
        pd.Timestamp(since_ms, unit="ms", tz="UTC"),
        pd.Timestamp(until_ms, unit="ms", tz="UTC"),
    )["date"]
    if dates.empty:
        return [(since_ms, until_ms)] if since_ms < until_ms else []
    ms = pd.DatetimeIndex(dates).as_unit("ns").asi8 // MS
    ranges = []
    if ms[0] > since_ms:
        ranges.append((since_ms, int(ms[0])))
    for gap in find_gaps(dates, key.step_ns, funding=key.kind == "funding"):
        ranges.append((_ms(gap.after) + step_ms, _ms(gap.before)))
    if ms[-1] + step_ms < until_ms:
        ranges.append((int(ms[-1]) + step_ms, until_ms))
    return ranges


class _Buffer:
    """Rows waiting to be written; flushed by size and always on the way out."""

    def __init__(
        self, store: CandleStore, key: SeriesKey, flush_rows: int, result: DownloadResult
    ) -> None:
        self.store, self.key, self.flush_rows, self.result = store, key, flush_rows, result
        self.rows: list[dict[str, Any]] = []

    def add(self, rows: list[dict[str, Any]]) -> None:
        self.rows.extend(rows)
        if len(self.rows) >= self.flush_rows:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            frame = pd.DataFrame(self.rows)
            frame["date"] = pd.to_datetime(frame["date"], unit="ms", utc=True)
            self.rows = []
            self.result.reports.append(self.store.write(self.key, frame))

    @contextmanager
    def flushing(self) -> Iterator[_Buffer]:
        try:
            yield self
        finally:  # also on cancellation: what was fetched is kept for the resume
            self.flush()


async def _candle_pages(
    client: RestClient, key: SeriesKey, start: int, end: int, bar: Any, buffer: _Buffer
) -> None:
    exchange, step_ms = client.exchange, key.step_ns // MS
    params: dict[str, Any] = {"price": "mark"} if key.kind == "mark" else {}
    cursor = start
    while cursor < end:
        rows = await client.call(
            f"klines {key} from {cursor}",
            exchange.fetch_ohlcv,
            key.symbol,
            key.timeframe,
            since=cursor,
            limit=client.config.page_limit,
            params={**params, "endTime": end - 1},
        )
        buffer.result.pages += 1
        closed_before = client.now_ms() - step_ms
        page = [r for r in rows if cursor <= r[0] < end and r[0] <= closed_before]
        if not page:
            break
        buffer.result.rows_fetched += len(page)
        buffer.add(
            [
                {
                    "date": r[0],
                    "open": r[1],
                    "high": r[2],
                    "low": r[3],
                    "close": r[4],
                    "volume": r[5],
                }
                for r in page
            ]
        )
        bar.update(len(page))
        cursor = int(page[-1][0]) + step_ms


async def _funding_pages(
    client: RestClient, key: SeriesKey, start: int, end: int, bar: Any, buffer: _Buffer
) -> None:
    cursor = start
    while cursor < end:
        rows = await client.call(
            f"funding {key} from {cursor}",
            client.exchange.fetch_funding_rate_history,
            key.symbol,
            since=cursor,
            limit=client.config.page_limit,
            params={"endTime": end - 1},
        )
        buffer.result.pages += 1
        page = [r for r in rows if cursor <= int(r["timestamp"]) < end]
        if not page:
            break
        buffer.result.rows_fetched += len(page)
        buffer.add([{"date": int(r["timestamp"]), "rate": float(r["fundingRate"])} for r in page])
        bar.update(len(page))
        cursor = int(page[-1]["timestamp"]) + 1


async def download_series(
    client: RestClient,
    store: CandleStore,
    key: SeriesKey,
    since: pd.Timestamp,
    until: pd.Timestamp | None = None,
    *,
    progress: bool = True,
) -> DownloadResult:
    """Fetch what ``store`` lacks of ``key`` in ``[since, until)`` (until: now) and store it."""
    if key.kind == "mark" and key.market == "spot":
        raise ExchangeRejected("mark-price klines exist only for USD-M futures (market usdm)")
    if key.kind == "funding" and key.market == "spot":
        raise ExchangeRejected("funding rates exist only for USD-M futures (market usdm)")
    await client.market(key.symbol)  # a bad symbol fails here, before any page
    until_ms = _ms(until) if until is not None else int(client.now_ms())
    since_ms = _ms(since)
    result = DownloadResult(
        key,
        pd.Timestamp(since_ms, unit="ms", tz="UTC"),
        pd.Timestamp(until_ms, unit="ms", tz="UTC"),
    )
    ranges = missing_ranges(store, key, since_ms, until_ms)
    step_ms = key.step_ns // MS
    total = sum((b - a + step_ms - 1) // step_ms for a, b in ranges)
    log.info("download %s: %d missing range(s), about %d bars", key, len(ranges), total)
    pages = _funding_pages if key.kind == "funding" else _candle_pages
    buffer = _Buffer(store, key, client.config.flush_rows, result)
    with (
        tqdm(total=total, unit="bar", desc=str(key), disable=not progress) as bar,
        buffer.flushing(),
    ):
        for start, end in ranges:
            await pages(client, key, start, end, bar, buffer)
    stored = store.read(key, result.since, result.until)["date"]
    result.gaps = find_gaps(stored, key.step_ns, funding=key.kind == "funding")
    log.info("download %s", result.summary())
    return result


async def download_agg_trades(
    client: RestClient,
    symbol: str,
    since: pd.Timestamp,
    until: pd.Timestamp,
    *,
    progress: bool = True,
) -> pd.DataFrame:
    """Aggregated trades in ``[since, until)``: the first page by time, then by trade id, so
    trades sharing a millisecond are never skipped."""
    await client.market(symbol)
    start, end = _ms(since), _ms(until)
    rows: list[dict[str, Any]] = []
    params: dict[str, Any] = {}
    cursor: int | None = start
    with tqdm(
        total=end - start, unit="ms", desc=f"aggTrades {symbol}", disable=not progress
    ) as bar:
        while True:
            page = await client.call(
                f"aggTrades {symbol}",
                client.exchange.fetch_trades,
                symbol,
                since=cursor,
                limit=min(client.config.page_limit, 1000),
                params=params,
            )
            page = [t for t in page if int(t["timestamp"]) < end]
            if not page:
                if cursor is not None and cursor + 3_600_000 < end and not rows:
                    cursor += 3_600_000  # Binance answers by-time queries one hour at a time
                    continue
                break
            for t in page:
                rows.append(
                    {
                        "agg_id": int(t["id"]),
                        "date": int(t["timestamp"]),
                        "price": float(t["price"]),
                        "amount": float(t["amount"]),
                        "buyer_maker": t["side"] == "sell",
                    }
                )
            bar.update(int(page[-1]["timestamp"]) - bar.n - start)
            cursor, params = None, {"fromId": rows[-1]["agg_id"] + 1}
    frame = pd.DataFrame(rows, columns=["agg_id", "date", "price", "amount", "buyer_maker"])
    frame["date"] = pd.to_datetime(frame["date"], unit="ms", utc=True)
    return frame.drop_duplicates("agg_id").reset_index(drop=True)


__all__ = ["DownloadResult", "download_agg_trades", "download_series", "missing_ranges"]
