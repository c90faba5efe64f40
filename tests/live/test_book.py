"""The trader's live L2 book (``book.enabled``) against the local exchange in its own process:
the book equals the exchange's REST depth at the same update id, a skipped diff makes exactly
one resync during which the strategy is told the book is invalid and nothing fills, a stalled
depth stream is reconnected by the watchdog, the paper venue's market orders walk the live
book, and the book's stream shows in ``stream_stats`` and ``/metrics``."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest
import yaml
from prometheus_client import generate_latest
from pydantic import SecretStr

from gradtrade.core import OrderBook, Side
from gradtrade.engine.feed import FeedItem, VenuePoll
from gradtrade.events import Bar, Decision, FillEvent, Timer
from gradtrade.live import Trader, parse_trader_config
from gradtrade.live.book import BookJournalingClient, LiveBook, LiveBookModel
from gradtrade.live.config import BookSection, TraderConfig
from gradtrade.live.credentials import Credentials
from gradtrade.persistence import JournalOptions, RecordKind, open_journal
from gradtrade.strategy.book import BookTick, BookTop
from gradtrade.strategy.protocol import Strategy, StrategyContext
from gradtrade.venue.config import ConnectorConfig
from gradtrade.venue.rest import ConnectorMetrics, RestClient

from .harness import KEY, SECRET, SYMBOL, BarPump, Exchange, trader_config

LEVELS = 20
Levels = tuple[np.ndarray, np.ndarray]


async def _until(pred: Any, timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


@dataclass
class Seen:
    """What the strategy was handed: every ``BookTop`` and each fill with the book's sides at
    that instant (the engine fills synchronously, so the book cannot move in between), each
    with the local time it was handed (the tops carry the venue's)."""

    tops: list[BookTop]
    top_local_ns: list[int]
    fills: list[tuple[FillEvent, np.ndarray, np.ndarray]]
    fill_local_ns: list[int]


class Recording:
    """The trader's own strategy, with what it is handed recorded."""

    def __init__(self, inner: Strategy, trader: Trader, seen: Seen) -> None:
        self.inner, self.trader, self.seen = inner, trader, seen
        self.name = inner.name

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> Decision | None:
        return self.inner.on_bar(bar, ctx)

    def on_book(self, book: OrderBook | BookTop, ctx: StrategyContext) -> Decision | None:
        assert isinstance(book, BookTop)
        self.seen.tops.append(book)
        self.seen.top_local_ns.append(time.time_ns())
        return self.inner.on_book(book, ctx)

    def on_fill(self, fill: FillEvent, ctx: StrategyContext) -> Decision | None:
        live = self.trader.book
        assert live is not None and live.book is not None
        self.seen.fills.append((fill, live.book.bids(LEVELS), live.book.asks(LEVELS)))
        self.seen.fill_local_ns.append(time.time_ns())
        return self.inner.on_fill(fill, ctx)

    def on_timer(self, timer: Timer, ctx: StrategyContext) -> Decision | None:
        return self.inner.on_timer(timer, ctx)


class History:
    """The live book's top levels after each applied frame, by update id (a bounded window)."""

    def __init__(self) -> None:
        self.by_id: dict[int, Levels] = {}
        self._order: deque[int] = deque()

    def __call__(self, book: OrderBook) -> None:
        uid = book.last_update_id
        assert uid is not None and not book.is_crossed()
        self.by_id[uid] = (book.bids(LEVELS), book.asks(LEVELS))
        self._order.append(uid)
        if len(self._order) > 5000:
            self.by_id.pop(self._order.popleft(), None)


async def _rest_depth(rest: RestClient) -> tuple[int, Levels]:
    raw = orjson.loads(await rest.get_bytes("depth", {"symbol": SYMBOL, "limit": 100}))
    side = [np.array([[float(p), float(q)] for p, q in raw[k][:LEVELS]]) for k in ("bids", "asks")]
    return int(raw["lastUpdateId"]), (side[0], side[1])


async def _assert_equals_exchange(rest: RestClient, history: History, lag_s: float = 5.0) -> None:
    """A fresh REST snapshot equals the live book at the same update id, which the live book
    reaches within the stream's lag."""
    uid, (bids, asks) = await _rest_depth(rest)
    await _until(lambda: uid in history.by_id, lag_s, f"the live book to reach update {uid}")
    ours_bids, ours_asks = history.by_id[uid]
    np.testing.assert_array_equal(ours_bids, bids)
    np.testing.assert_array_equal(ours_asks, asks)


def _config(tmp_path: Path, exchange: Exchange, **overrides: Any) -> TraderConfig:
    path = trader_config(
        tmp_path, exchange.url,
        strategy={"kind": "quote_at_best", "params": {"size": 0.2}},
        book={"enabled": True, "cadence_s": 0.25, "stale_after_s": 1.0, "depth_levels": 100},
        **overrides,
    )  # fmt: skip
    return parse_trader_config(yaml.safe_load(path.read_text()))


def _trader_hook(history: History, seen: Seen) -> Callable[[Trader, FeedItem], None]:
    def hook(t: Trader, event: FeedItem) -> None:  # once the engine exists: record on it
        assert t.engine is not None and t.book is not None
        if not isinstance(t.engine.strategy, Recording):
            t.engine.strategy = Recording(t.engine.strategy, t, seen)
            t.book.listeners.append(history)

    return hook


def _trader(cfg: TraderConfig, history: History, seen: Seen) -> Trader:
    trader = Trader(cfg)
    trader.observers.append(_trader_hook(history, seen))
    return trader


# per market: the REST depth path and the stream path the faults target
PATHS = {"spot": ("/api/v3/depth", "/stream"), "usdm": ("/fapi/v1/depth", "/fapi/stream")}


@pytest.mark.parametrize("market", ["spot", "usdm"])
def test_book_follows_the_exchange_through_a_gap_and_a_stall(
    exchange: Exchange, tmp_path: Path, market: str
) -> None:
    cfg = _config(tmp_path, exchange, venue={"market": market}, trader_id=f"book-{market}")
    depth_path, stream_path = PATHS[market]
    history, seen = History(), Seen([], [], [], [])
    trader = _trader(cfg, history, seen)
    checks: dict[str, Any] = {}

    async def scenario() -> None:
        rest = RestClient(ConnectorConfig.for_url(exchange.url, cfg.venue.market),
                          ConnectorMetrics())  # fmt: skip
        run = asyncio.create_task(trader.run())
        try:
            await _until(lambda: trader.book is not None and trader.book.is_valid, 20, "sync")
            await _until(lambda: len(seen.fills) >= 4, 20, "paper fills on the book")
            book = trader.book
            assert book is not None
            stats = book.stats
            await _assert_equals_exchange(rest, history)
            before = stats.as_dict()
            assert before["resyncs"] == 0 and before["connections"] == 1, before

            # a skipped diff; the snapshot of the resync is refused twice (1 s Retry-After each),
            # so the strategy's 0.25 s cadence sees the book invalid for a while
            tops_before = len(seen.tops)
            await asyncio.to_thread(exchange.arm, kind="rest", status=503, count=2,
                                    retry_after=1, path_prefix=depth_path)  # fmt: skip
            await asyncio.to_thread(exchange.arm, kind="depth_gap", symbol=SYMBOL,
                                    venue=market, count=1)  # fmt: skip
            await _until(lambda: stats.sequence_gaps == 1, 10, "the gap")
            gap_seen = book.now_ns()
            await _until(lambda: book.is_valid, 20, "the resync")
            resynced = book.now_ns()
            await _assert_equals_exchange(rest, history)
            await asyncio.sleep(1.0)  # one resync, not a cascade
            await _until(lambda: seen.tops[-1].is_valid, 5, "a valid tick after the resync")
            checks["gap"] = (stats.as_dict(), (tops_before, len(seen.tops)), gap_seen, resynced)

            # a stalled depth stream: the watchdog (1 s) reconnects it and the book resyncs
            await asyncio.to_thread(exchange.arm, kind="stall_ws", seconds=3.0,
                                    path_prefix=stream_path)  # fmt: skip
            await _until(lambda: stats.connections == 2, 10, "the watchdog's reconnect")
            await _until(lambda: book.is_valid, 20, "the resync after the reconnect")
            await _assert_equals_exchange(rest, history)
            checks["stall"] = stats.as_dict()
            assert trader.telemetry is not None
            checks["metrics"] = generate_latest(trader.telemetry.registry).decode()
        finally:
            trader.request_stop()
            await asyncio.wait_for(run, 30)
            await rest.close()

    asyncio.run(scenario())

    stats, (tops_before, tops_after), gap_seen, resynced = checks["gap"]
    assert stats["sequence_gaps"] == 1 and stats["resyncs"] == 1, stats
    assert stats["reconnects"] == 0 and stats["connections"] == 1, stats
    # the strategy was told: valid tops, then invalid ones carrying the gap, then valid again
    after = seen.tops[tops_before:tops_after]
    invalid = [t for t in after if not t.is_valid]
    assert invalid, "the strategy never saw the book invalid"
    assert all(t.bid is None and t.ask is None and t.mid is None for t in invalid)
    assert all(t.gaps == 1 for t in invalid)
    assert after[-1].is_valid and after[-1].gaps == 1
    assert trader.engine is not None and trader.engine.log.skips["book_not_synced"] >= 2
    # nothing filled while the book was invalid (no bar closed: no candle fallback either)
    first_bad, last_bad = invalid[0].ts_ns, invalid[-1].ts_ns
    assert first_bad >= gap_seen - 300_000_000 and last_bad <= resynced
    bad = [i for i in range(tops_before, tops_after) if not seen.tops[i].is_valid]
    bad_from, bad_to = seen.top_local_ns[bad[0]], seen.top_local_ns[bad[-1]]
    assert not [t for t in seen.fill_local_ns if bad_from <= t <= bad_to]
    # the stall: one watchdog reconnect, one more resync, no new gap
    stall = checks["stall"]
    assert stall["stale"] >= 1 and stall["reconnects"] >= 1 and stall["connections"] == 2, stall
    assert stall["resyncs"] == 2 and stall["sequence_gaps"] == 1, stall

    # paper market orders walked the live book: a buy takes the asks from the best one up,
    # a sell the bids from the best one down, each fill at a level the book held then
    assert len(seen.fills) >= 4
    for fill, bids, asks in seen.fills:
        side = asks if fill.side == Side.BUY else bids
        assert fill.price in set(side[:, 0].tolist()), (fill, side[:3])
        best = side[0, 0]
        assert fill.price >= best if fill.side == Side.BUY else fill.price <= best
        assert fill.slippage > 0  # taken at the touch or beyond, against the mid decided on
    venue = trader.venue
    assert venue is not None
    model = venue.inner.model  # type: ignore[attr-defined]
    assert isinstance(model, LiveBookModel) and model.book_fills >= 4 and model.fallback_fills == 0

    # monitoring: the book's stream and connector are exported
    text = checks["metrics"]
    name = f"{SYMBOL.lower()}@depth@100ms"
    assert f'gradtrade_stream_messages_total{{stream="{name}"}}' in text
    assert f'gradtrade_websocket_reconnects_total{{stream="{name}"}}' in text
    assert 'gradtrade_rest_requests_total{connector="book",outcome="sent"}' in text
    assert 'gradtrade_book_resyncs_total{connector="book"} 2.0' in text
    assert 'gradtrade_book_sequence_gaps_total{connector="book"} 1.0' in text
    # the journal has the decisions made on the book, none at an invalid tick
    with open_journal(cfg.journal.url, JournalOptions(readonly=True)) as j:
        decisions = [r.data() for r in j.read() if r.kind is RecordKind.DECISION]
    assert decisions
    assert not [d for d in decisions if first_bad <= d["ts_ns"] <= last_bad]


def test_live_trader_looks_at_the_book_after_each_bar(exchange: Exchange, tmp_path: Path) -> None:
    """``book.cadence_s: null``: one ``BookTick`` right after each closed bar; live orders
    decided on the book go to the exchange and fill there."""
    path = trader_config(
        tmp_path, exchange.url, "live", execution={"session": 5151},
        strategy={"kind": "quote_at_best", "params": {"size": 0.2}},
        book={"enabled": True, "cadence_s": None},
    )  # fmt: skip
    cfg = parse_trader_config(yaml.safe_load(path.read_text()))
    trader = Trader(cfg, Credentials(SecretStr(KEY), SecretStr(SECRET)))
    history, seen = History(), Seen([], [], [], [])
    events: list[FeedItem] = []
    trader.observers.append(_trader_hook(history, seen))
    trader.observers.append(lambda t, e: events.append(e))
    with BarPump(exchange, every_s=2.0):
        asyncio.run(trader.run(run_for_s=10))
    engine_events = [e for e in events if not isinstance(e, VenuePoll)]
    live = [i for i, e in enumerate(engine_events)
            if isinstance(e, Bar) and e.ts_ns >= trader.trade_from_ns]  # fmt: skip
    assert len(live) >= 3
    for i in live:  # each live bar is followed by the strategy's look at the book
        assert i + 1 < len(engine_events) and isinstance(engine_events[i + 1], BookTick)
    ticks = [e for e in engine_events if isinstance(e, BookTick)]
    assert len(ticks) == len(live) and len(seen.tops) == len(ticks)
    assert all(t.is_valid and t.bid is not None and t.ask is not None for t in seen.tops)
    assert isinstance(trader.venue, BookJournalingClient)
    with open_journal(cfg.journal.url, JournalOptions(readonly=True)) as j:
        records = list(j.read())
    decisions = [r.data() for r in records if r.kind is RecordKind.DECISION]
    fills = [r for r in records if r.kind is RecordKind.FILL]
    assert len(decisions) >= 3 and {d["checkpoint"] for d in decisions} == {"quote_at_best"}
    assert fills and len(seen.fills) == len(fills)  # live fills, from the exchange


def test_a_snapshot_that_cannot_be_had_restarts_the_book_not_the_trader(
    exchange: Exchange,
) -> None:
    """Every attempt at the snapshot refused (503) until the retries run out, twice: the book
    restarts its stream after backoff each time, and then syncs and follows the exchange."""
    connector = ConnectorConfig.for_url(
        exchange.url, max_retries=1, backoff_base_s=0.05, backoff_max_s=0.1
    )
    section = BookSection(enabled=True, depth_levels=100, stale_after_s=2.0)
    live = LiveBook(connector, SYMBOL, section)
    history = History()
    live.listeners.append(history)

    async def scenario() -> None:
        rest = RestClient(ConnectorConfig.for_url(exchange.url), ConnectorMetrics())
        await asyncio.to_thread(exchange.arm, kind="rest", status=503, count=4, retry_after=0,
                                path_prefix="/api/v3/depth")  # fmt: skip
        run = asyncio.create_task(live.run())
        try:
            await _until(lambda: live.is_valid, 20, "the book to sync after the restarts")
            await _assert_equals_exchange(rest, history)
        finally:
            run.cancel()
            await asyncio.gather(run, return_exceptions=True)
            await rest.close()

    asyncio.run(scenario())
    stats = live.stats.as_dict()
    assert stats["restarts"] == 2 and stats["connections"] == 3, stats
    assert live.rest.metrics.server_errors == 4, live.rest.metrics
