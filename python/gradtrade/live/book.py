"""``LiveBook``: the trader's L2 book of its symbol, kept by the diff depth stream.

What it owns: one ``venue.streams.BookStream`` (Binance's procedure through ``DepthSync``: raw
frames straight into the Rust ``OrderBook``, a REST snapshot, a resync by itself on a sequence
gap or a reconnect) on its own ``RestClient`` and ``ConnectorMetrics`` (public requests only,
no credentials), so its reconnects, resyncs and gaps are the book's alone; ``BookStats`` for
monitoring (``Trader.stream_stats`` lists it beside the kline stream); the producer of the
strategy's ``BookTick`` cadence; the view the engine reads (``top()`` and ``gaps``: what
``engine.loop.BookDrivenVenue`` asks for, given to the trader's journaling venue client by
``with_book``); and ``LiveBookModel``, the paper venue's fill model over the live book.

Invariants:

* ``is_valid`` is True only from a snapshot the buffered diffs chained onto until the next
  sequence gap or reconnect, and while the last depth frame is at most ``book.stale_after_s``
  old; otherwise ``top()`` reports no price, so the engine tells the strategy
  (``BookTop.is_valid`` False), takes no mark from the book and acts on no decision made on it
  (``Engine._on_book``), and the paper venue fills nothing on it;
* the watchdog is ``FrameStream``'s: a depth stream silent for ``book.stale_after_s`` is
  reconnected, and every reconnect starts a fresh, invalid book (frames may have been lost), so
  a stalled book is never used for longer than ``stale_after_s``; a REST snapshot that cannot
  be had (retries exhausted, a retryable error) restarts the stream after backoff instead of
  stopping the trader (counted in ``restarts``), while a fatal error (a refused stream URL, an
  unknown symbol) ends the trader's run as any producer's;
* the paper fill (``LiveBookModel``): a market order submitted while the book is valid fills at
  once by walking the live book from the best price, one fill per level at the taker fee, level
  sizes floored to whole lots of the order's step, over the ``depth_levels`` the book holds
  (what they cannot absorb is expired, as Binance expires a MARKET order's rest); our fills do
  not deplete the book (it is the exchange's). A market order submitted while the book
  resyncs is never filled on it: it waits for the next bar, and then walks the live book if it
  is valid again, else fills by the configured candle model at that bar. Resting limits and
  protective stops fill from bars by the configured model, as without a book.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gradtrade.core import OrderBook, Side, SymbolFilters
from gradtrade.errors import InvalidInput, RetriesExhausted, RetryableError
from gradtrade.events import Bar
from gradtrade.execution.fill_model import FillModel, FillQuote, walk_quote
from gradtrade.execution.ladder import Ladder, Level
from gradtrade.live.config import BookSection
from gradtrade.live.journaled import JournalingClient, JournalingMarketClient
from gradtrade.strategy.book import BookTick
from gradtrade.venue.config import ConnectorConfig
from gradtrade.venue.rest import Backoff, ConnectorMetrics, RestClient
from gradtrade.venue.streams import BookStream

log = logging.getLogger("gradtrade.live.book")
Top = tuple[bool, tuple[float, float] | None, tuple[float, float] | None]


@dataclass
class BookStats:
    """What a monitor scrapes about the depth stream, read live from the stream's counters."""

    name: str
    stream: BookStream
    stale_after_ns: int
    restarts: int = 0  # the stream restarted after a snapshot could not be had

    @property
    def metrics(self) -> ConnectorMetrics:
        return self.stream.metrics

    @property
    def connections(self) -> int:
        return self.stream.connections

    @property
    def reconnects(self) -> int:
        return self.metrics.reconnects

    @property
    def stale(self) -> int:
        """Times the watchdog found the stream silent and reconnected it."""
        return self.metrics.stale_streams

    @property
    def messages(self) -> int:
        return self.metrics.frames

    @property
    def last_message_ns(self) -> int:
        return self.stream.last_frame_ns

    @property
    def resyncs(self) -> int:
        return self.metrics.resyncs

    @property
    def sequence_gaps(self) -> int:
        return self.metrics.sequence_gaps

    @property
    def synced(self) -> bool:
        """Synced by the procedure, and fresh: a frame came within ``stale_after_s``."""
        s, book = self.stream, self.stream.book
        if not (s.synced and book is not None and book.is_valid):
            return False
        return time.time_ns() - s.last_frame_ns <= self.stale_after_ns

    def as_dict(self) -> dict[str, Any]:
        keys = ("connections", "reconnects", "stale", "messages", "last_message_ns", "resyncs",
                "sequence_gaps", "synced", "restarts")  # fmt: skip
        return {"name": self.name, **{k: getattr(self, k) for k in keys}}


class LiveBook:
    """The symbol's live book; ``tasks(queue)`` runs it and its cadence inside the trader."""

    def __init__(self, connector: ConnectorConfig, symbol: str, section: BookSection) -> None:
        if not section.enabled:
            raise InvalidInput("book.enabled is false: the trader keeps no live book")
        public = connector.model_copy(update={
            "api_key": None, "api_secret": None, "stale_after_s": section.stale_after_s,
            "depth_limit": section.depth_levels,
        })  # fmt: skip
        self.symbol, self.section = symbol, section
        self.rest = RestClient(public, ConnectorMetrics())
        self.stream = BookStream(self.rest, symbol, speed=section.speed)
        self.stats = BookStats(
            f"{symbol.lower()}@depth@{section.speed}", self.stream,
            round(section.stale_after_s * 1e9),
        )  # fmt: skip
        self.updates = 0  # frames applied while synced
        # called with the book after each applied frame (L2 features, tests); one that raises
        # is logged and the book goes on
        self.listeners: list[Callable[[OrderBook], None]] = []

    # --- what the engine and the paper venue read ---

    @property
    def book(self) -> OrderBook | None:
        return self.stream.book

    @property
    def is_valid(self) -> bool:
        return self.stats.synced

    @property
    def gaps(self) -> int:
        return self.stats.sequence_gaps

    def top(self) -> Top:
        """(valid, best bid (price, qty), best ask): no side while the book is not valid."""
        book = self.stream.book
        if book is None or not self.is_valid:
            return False, None, None
        return True, book.best_bid(), book.best_ask()

    def levels(self, side: Side, step: float) -> tuple[Level, ...] | None:
        """The side a market order of ``side`` takes, best first, sizes floored to whole lots
        of ``step``; None while the book is not valid."""
        book = self.stream.book
        if book is None or not self.is_valid:
            return None
        rows = (
            book.asks(self.section.depth_levels)
            if side == Side.BUY
            else book.bids(self.section.depth_levels)
        )
        out = []
        for price, qty in rows:
            lots = math.floor(float(qty) / step + 1e-9)
            if lots > 0:
                out.append((float(price), lots * step))
        return tuple(out)

    # --- the tasks ---

    def tasks(self, queue: asyncio.Queue[Any]) -> list[asyncio.Task[None]]:
        """The stream consumer and, with ``cadence_s``, the ``BookTick`` producer."""
        out = [asyncio.create_task(self.run(), name="book")]
        if self.section.cadence_s is not None:
            out.append(asyncio.create_task(self._cadence(queue, self.section.cadence_s),
                                           name="book-ticks"))  # fmt: skip
        return out

    def now_ns(self) -> int:
        """The venue's time (the local clock plus the offset measured when the stream started):
        a ``BookTick`` is on the same clock as the bars, whose times are the venue's."""
        return round(self.rest.now_ms() * 1e6)

    def after_bar(self, bar: Bar) -> BookTick | None:
        """The ``BookTick`` that follows each closed bar when there is no cadence."""
        if self.section.cadence_s is not None:
            return None
        return BookTick(self.symbol, max(self.now_ns(), bar.ts_ns))

    async def run(self) -> None:
        """Keep the book synced until cancelled (the stream resyncs and reconnects by itself)."""
        config = self.rest.config
        backoff = Backoff(config.backoff_base_s, config.backoff_max_s)
        try:
            while True:
                try:
                    await self.rest.sync_time()
                    async for book in self.stream:
                        backoff.reset()
                        self.updates += 1
                        for listener in list(self.listeners):
                            try:
                                listener(book)
                            except Exception:  # a listener must never stop the book
                                log.exception("book listener %r failed", listener)
                except (RetryableError, RetriesExhausted) as exc:
                    self.stream.synced = False
                    self.stats.restarts += 1
                    delay = backoff.next_delay()
                    log.warning("book %s: %s; restarting the depth stream in %.2fs",
                                self.symbol, exc, delay)  # fmt: skip
                    await asyncio.sleep(delay)
        finally:
            await self.rest.close()

    async def _cadence(self, queue: asyncio.Queue[Any], every_s: float) -> None:
        while True:
            await asyncio.sleep(every_s)
            await queue.put(BookTick(self.symbol, self.now_ns()))


class _BookView:
    """``BookDrivenVenue``'s members over a ``LiveBook`` (mixed into the journaling clients)."""

    live_book: LiveBook

    @property
    def gaps(self) -> int:
        return self.live_book.gaps

    def top(self) -> Top:
        return self.live_book.top()


class BookJournalingClient(_BookView, JournalingClient):
    """The live journaling client, with the live book the engine reads for ``BookTick``s."""


class BookJournalingMarketClient(_BookView, JournalingMarketClient):
    """The paper journaling client, with the live book the engine reads for ``BookTick``s."""


def with_book(venue: JournalingClient, book: LiveBook) -> JournalingClient:
    """``venue`` (not used yet) as the same journaling client that also shows ``book``."""
    cls = (
        BookJournalingMarketClient
        if isinstance(venue, JournalingMarketClient)
        else BookJournalingClient
    )
    out = cls(venue.inner, venue.recorder, venue.orders)
    out.live_book = book
    return out


class LiveBookModel:
    """``FillModel`` of the paper venue over the live book (rules: the module docstring)."""

    def __init__(
        self, inner: FillModel, book: LiveBook, filters: SymbolFilters, taker_fee_rate: float
    ) -> None:
        if not (math.isfinite(taker_fee_rate) and -0.01 <= taker_fee_rate <= 0.1):
            raise InvalidInput(f"live book taker_fee_rate must be in [-0.01, 0.1], got "
                               f"{taker_fee_rate}")  # fmt: skip
        self.inner, self.book, self.filters = inner, book, filters
        self.taker_fee_rate = taker_fee_rate
        self.book_fills = 0  # market orders filled on the live book
        self.fallback_fills = 0  # ... and by the configured model (the book was resyncing)

    @property
    def immediate(self) -> bool:
        """A market order fills when submitted only while the book is valid."""
        return self.book.is_valid

    @immediate.setter
    def immediate(self, value: bool) -> None:
        raise InvalidInput("LiveBookModel.immediate follows the live book's validity")

    def market(self, side: Side, qty: float, bar: Bar) -> FillQuote:
        step = self.filters.step_size
        side_levels = self.book.levels(side, step)
        if side_levels is None:
            self.fallback_fills += 1
            return self.inner.market(side, qty, bar)
        self.book_fills += 1
        ladder = Ladder((), side_levels) if side == Side.BUY else Ladder(side_levels, ())
        return walk_quote(ladder, side, qty, step, self.taker_fee_rate, bar.close)

    def limit(self, side: Side, price: float, qty: float, bar: Bar) -> FillQuote | None:
        return self.inner.limit(side, price, qty, bar)

    def protective(
        self,
        position_side: Side,
        qty: float,
        bar: Bar,
        stop_loss: float | None,
        take_profit: float | None,
    ) -> FillQuote | None:
        return self.inner.protective(position_side, qty, bar, stop_loss, take_profit)

    def observe(self, bar: Bar) -> None:
        self.inner.observe(bar)


def paper_fill_model(
    model: FillModel, book: LiveBook | None, filters: SymbolFilters, taker_fee_bps: float
) -> FillModel:
    """The paper venue's fill model: ``model`` itself, or over the live book when there is one."""
    if book is None:
        return model
    return LiveBookModel(model, book, filters, taker_fee_bps * 1e-4)


__all__ = [
    "BookJournalingClient",
    "BookJournalingMarketClient",
    "BookStats",
    "LiveBook",
    "LiveBookModel",
    "paper_fill_model",
    "with_book",
]
