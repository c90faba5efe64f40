"""Live trader: bar close to order on the wire, against the local exchange in its own process.

The trader (``live.trader.Trader``, live mode, in this process) trades 1m bars of the local
exchange's synthetic market (``gradtrade exchange serve --synthetic --faults`` in its own
process); the bench closes a candle every ``EVERY_S`` seconds by moving the exchange's clock
to the next minute (the ``clock_skew`` fault, as ``tests/live``' bar pump does).

Measured, per bar that leads to an order:

* start: the closing kline frame received (``KlineFeed.stats.last_message_ns``, stamped right
  after the websocket read returned the frame, before it is parsed);
* end: the order request handed to the socket: the event loop's socket transport ``write``
  called with bytes that start ``POST .../order`` (on a connection with nothing queued it
  sends them in that call), read with ``time.time_ns`` in the same process. The stamp is taken
  as the write is entered, not when it returns: on this two-core machine a loopback ``send``
  may let the local exchange, woken by it, run its whole order handling (about 0.8 ms) before
  the call returns, which is the venue's time, not the trader's.

So the figure is the trader's own work: parse the frame, queue the bar, the engine (strategy,
risk, order manager), the write-ahead journal append (SQLite, ``synchronous=FULL``: an fsync),
the order's signing and its HTTP request (``venue.wire`` when it has an idle connection, else
ccxt and aiohttp). Two venue settings: the default (``sync_clock_every_bar: true``,
``clock_tolerance_ms: 1000``: the venue's clock followed at each bar, a ``/time`` round trip
only before a bar whose closing frame's event time disagrees with it), with the venue's clock
steady as a real venue's is (the pump tells the trader each new offset before it moves the
exchange's clock a bar ahead, so the frames agree and no round trip is made); and
``clock_tolerance_ms: 0`` (a ``/time`` round trip before every bar: what the default pays for
a bar whose frame is late or whose clock moved). Strategies: the reference
``ma_cross`` (fast 1 / slow 2, an order on most bars) and the Neural ODE checkpoint
(``GRADTRADE_BENCH_CHECKPOINT``, default ``runs/btc_1h/best.pt``; skipped when absent), the
trader's default ``torch_threads: 1``, deciding with its default forward (native). The journal
runs with its default idle flush (``journal.idle_flush_ms``, 50 ms); the last strategy's default
row is repeated without it (``0``), which shows the disk's periodic slow flush on the order
path (``persistence.flush_keeper``).
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from asyncio import selector_events
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import SecretStr

from gradtrade.events import Bar
from gradtrade.live.bars import KlineFeed, StreamStats
from gradtrade.live.config import JournalSection, parse_trader_config
from gradtrade.live.credentials import Credentials
from gradtrade.live.trader import Trader
from gradtrade.timeframes import interval_ms

KEY, SECRET = "bench-key", "bench-secret-0123456789"
CLI = [sys.executable, "-c", "from gradtrade.cli import main; main()"]
EVERY_S = 0.25
_ORDER = re.compile(rb"POST /(api/v3|fapi/v1)/order[ ?]")  # a new order's request line
# the event loop's TCP transport (private to asyncio): its write sends at once when idle
_TRANSPORT: Any = getattr(selector_events, "_SelectorSocketTransport")  # noqa: B009
MAX_SKEW_MS = 366 * 86_400_000  # the exchange's clock_skew fault bound


class _TimedFeed:
    """The trader's feed, marking when each live bar's closing frame was received."""

    def __init__(self, feed: KlineFeed, mark: Any) -> None:
        self.feed, self.mark = feed, mark

    @property
    def stats(self) -> StreamStats:
        return self.feed.stats

    def __getattr__(self, name: str) -> Any:  # what else the trader reads of its feed
        return getattr(self.feed, name)

    async def __aiter__(self) -> AsyncIterator[Bar]:
        async for bar in self.feed:
            self.mark(self.feed.stats.last_message_ns)
            yield bar


class TimedTrader(Trader):
    """``Trader`` with the two timestamps of the module docstring (nothing else changed)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.marks: list[int] = []
        self.latencies_ns: list[int] = []
        self.journal_ns: list[int] = []  # of each latency: durable journal appends (fsync)
        self.wire_orders = 0  # orders sent through venue.wire (the rest: ccxt's path)
        self.order_writes = 0  # every new order's request
        self._used = 0
        self._in_journal = 0
        self._mark: Callable[[int], None] = self.marks.append

    async def _trade(self, engine: Any, queue: Any, run_for_s: float | None) -> None:
        assert self.feed is not None and self.client is not None
        self.feed = _TimedFeed(self.feed, lambda ns: self._mark(ns))  # type: ignore[assignment]
        assert self.recorder is not None
        journal = self.recorder.journal
        append, append_many = journal.append, journal.append_many
        write = _TRANSPORT.write

        def timed_write(transport: Any, data: Any) -> None:
            if _ORDER.match(bytes(data[:64])):
                self.order_writes += 1
                if len(self.marks) > self._used:
                    self.latencies_ns.append(time.time_ns() - self.marks[-1])
                    self.journal_ns.append(self._in_journal)
                    self._used = len(self.marks)  # one figure per bar: its first order
            write(transport, data)

        def timed(call: Any) -> Any:
            def timed_call(*a: Any) -> Any:
                t0 = time.time_ns()
                try:
                    return call(*a)
                finally:
                    self._in_journal += time.time_ns() - t0  # reset at each bar's mark

            return timed_call

        def mark(bar_ns: int) -> None:
            self.marks.append(bar_ns)
            self._in_journal = 0

        journal.append, journal.append_many = timed(append), timed(append_many)
        self._mark = mark
        _TRANSPORT.write = timed_write
        try:
            await super()._trade(engine, queue, run_for_s)
        finally:
            _TRANSPORT.write = write
        self.wire_orders = getattr(self.client.gateway.wire, "sent", 0)


async def _next_bar(
    http: aiohttp.ClientSession, url: str, step_ms: int, tell: Callable[[int], None] | None
) -> None:
    """Move the exchange clock just past its next bar boundary; ``tell`` gets the new skew
    (ms) first, as a sync would measure it."""
    async with http.get(f"{url}/api/v3/time") as r:
        server_ms = int((await r.json())["serverTime"])
    skew = (server_ms // step_ms + 1) * step_ms + 300 - int(time.time() * 1000)
    if tell is not None:
        tell(skew)
    async with http.post(f"{url}/_gradtrade/faults", json={"kind": "clock_skew", "ms": skew}) as r:
        r.raise_for_status()


async def _pump(trader: TimedTrader, url: str, bars: int, step_ms: int) -> None:
    """Close ``bars`` bars. A real venue's clock does not jump a bar ahead: unless every bar
    is to pay a round trip (``clock_tolerance_ms: 0``), the trader is told the new offset
    here, as a sync would have measured it, so the figure is not that of a -1021 and its
    re-sync (``tests/live`` covers that path). The pump runs on the trader's event loop,
    between its events: a pump thread in this process would compete for the GIL just when
    the bar's frame arrives (a thread waiting for it can wait up to the 5 ms switch
    interval), and no such thread runs beside a real trader."""
    assert trader.client is not None
    rest = trader.client.gateway.rest

    def tell(skew: int) -> None:
        rest.metrics.clock_offset_ms = float(skew)
        rest.exchange.options["timeDifference"] = -skew

    steady = trader.cfg.venue.clock_tolerance_ms > 0
    async with aiohttp.ClientSession() as http:
        for _ in range(bars):
            await asyncio.sleep(EVERY_S)
            await _next_bar(http, url, step_ms, tell if steady else None)


def _config(
    url: str, db: Path, strategy: dict[str, Any], timeframe: str, tolerance_ms: int
) -> dict[str, Any]:
    model = strategy["kind"] == "model"
    risk = {"allow_short": model, "min_rebalance": 0.001 if model else 0.01}
    return {
        "mode": "live", "trader_id": "bench", "symbol": "BTCUSDT", "timeframe": timeframe,
        "venue": {"url": url, "timeout_s": 5, "recv_window_ms": 5000,
                  "clock_tolerance_ms": tolerance_ms},
        "warmup_bars": 60, "strategy": strategy,
        "risk": risk, "capital": 10_000,
        "journal": {"url": str(db), "snapshot_every": 500},
        "log": {"format": "text", "level": "WARNING"}, "monitoring": None,
    }  # fmt: skip


async def _measure(
    url: str, cfg: dict[str, Any], bars: int, step_ms: int
) -> tuple[list[float], list[float], int, str]:
    creds = Credentials(SecretStr(KEY), SecretStr(SECRET))
    trader = TimedTrader(parse_trader_config(cfg, "bench"), creds)
    run = asyncio.create_task(trader.run())
    while trader.feed is None or not isinstance(trader.feed, _TimedFeed):
        if run.done():
            run.result()
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)  # the kline stream connects
    await _pump(trader, url, bars, step_ms)
    await asyncio.sleep(1.0)
    trader.request_stop()
    await run
    ms = [x / 1e6 for x in trader.latencies_ns]
    sent = f"{trader.wire_orders} of {trader.order_writes}"
    return ms, [x / 1e6 for x in trader.journal_ns], trader.clock_syncs, sent


def _row(
    name: str, ms: list[float], journal_ms: list[float], bars: int, syncs: int, sent: str
) -> str:
    if len(ms) < 2:
        return f"| {name} | {bars} | {syncs} | {len(ms)} | {sent} | — | — | — | — | — |"
    # inclusive: percentiles within the samples (the default extrapolates past the max)
    q = statistics.quantiles(ms, n=100, method="inclusive")
    jq = statistics.quantiles(journal_ms, n=100, method="inclusive")
    rest = statistics.quantiles(
        [a - b for a, b in zip(ms, journal_ms, strict=True)], n=100, method="inclusive"
    )
    return (
        f"| {name} | {bars} | {syncs} | {len(ms)} | {sent} | {q[49]:.2f} | {q[98]:.2f} "
        f"| {max(ms):.2f} | {statistics.median(journal_ms):.2f} / {jq[98]:.2f} "
        f"| {rest[49]:.2f} / {rest[98]:.2f} |"
    )


def run(data_dir: Path, quick: bool) -> str:
    # the default rows time 180-420 orders each: with ~100, the p99 is the second-largest
    # sample and one slow fsync of this disk sets it
    bars, default_bars = (40, 40) if quick else (300, 900)
    ckpt = Path(os.environ.get("GRADTRADE_BENCH_CHECKPOINT", "runs/btc_1h/best.pt"))
    strategies: list[tuple[str, str, dict[str, Any]]] = [
        ("ma_cross 1m", "1m", {"kind": "ma_cross", "params": {"fast": 1, "slow": 2, "size": 0.5}})
    ]
    if ckpt.exists():  # trained on 1h candles: the pump closes an hour per step
        strategies.append(("Neural ODE 1h", "1h", {"kind": "model", "checkpoint": str(ckpt)}))
    # the model's u_t moves a little every bar: rebalancing on 0.1 % moves and shorting (in
    # _config) make most bars trade, so its rows time many orders
    rows = []
    for k, (name, timeframe, strategy) in enumerate(strategies):
        # (clock tolerance ms, journal.idle_flush_ms or None: the trader's default); the last
        # strategy (the model when present) also runs without the idle flush, to show what it
        # takes off the p99
        variants: list[tuple[int, int | None]] = [(1000, None), (0, None)]
        if k == len(strategies) - 1:
            variants.append((1000, 0))
        for tolerance_ms, idle_flush_ms in variants:
            proc = subprocess.Popen(
                [*CLI, "exchange", "serve", "--synthetic", "--seed", "11", "--port", "0",
                 "--api-key", KEY, "--api-secret", SECRET, "--faults"],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            )  # fmt: skip
            try:
                assert proc.stdout is not None
                url = proc.stdout.readline().strip()
                with tempfile.TemporaryDirectory() as tmp:
                    cfg = _config(url, Path(tmp) / "j.db", strategy, timeframe, tolerance_ms)
                    if idle_flush_ms is not None:
                        cfg["journal"]["idle_flush_ms"] = idle_flush_ms
                    step = interval_ms(timeframe)
                    wanted = default_bars if tolerance_ms else bars
                    n = min(wanted, MAX_SKEW_MS // step - 2)  # the clock fault moves <= a year
                    ms, jms, syncs, sent = asyncio.run(_measure(url, cfg, n, step))
            finally:
                proc.terminate()
                proc.wait(10)
            sync = "default, clock steady" if tolerance_ms else "/time before every bar"
            if idle_flush_ms == 0:
                sync += ", no idle flush"
            rows.append(_row(f"{name}, {sync}", ms, jms, n, syncs, sent))
    skipped = (
        ""
        if ckpt.exists()
        else (
            f"\n(Neural ODE rows skipped: no checkpoint at {ckpt}; set GRADTRADE_BENCH_CHECKPOINT)"
        )
    )
    return "\n".join([
        "Bar close (closing kline frame received) to the order request handed to the socket "
        "(the event loop's transport write of `POST .../order` entered), "
        f"one bar every {EVERY_S} s of wall time (the exchange clock moved to the next bar), "
        "live mode, journal SQLite with fsync, the trader's defaults otherwise "
        "(`torch_threads: 1`, the native decision forward). \"default, clock steady\": the "
        "pump tells the trader each new offset before it moves the exchange's clock, as a "
        "steady venue clock would be measured, so each closing frame agrees with the followed "
        "clock and no `/time` round trip is made; \"/time before every bar\": "
        "`clock_tolerance_ms: 0`. Target: p50 and p99 under 5 ms on CPU. Percentiles within "
        "the samples (`statistics.quantiles`, inclusive). The model rows rebalance on 0.1 % "
        "moves and may short, so most bars trade. \"no idle flush\": `journal.idle_flush_ms: "
        f"0` (the default {JournalSection().idle_flush_ms} flushes the disk after that many ms "
        "without a commit: `persistence.flush_keeper`).",
        "",
        "| strategy, clock | bars | /time round trips | orders timed | orders by venue.wire "
        "| p50 ms | p99 ms | max ms "
        "| of which journal append p50 / p99 ms | without the journal p50 / p99 ms |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
    ]) + skipped  # fmt: skip


if __name__ == "__main__":
    print(run(Path(os.environ.get("GRADTRADE_TEST_DATA", "../shared/data")), "--quick" in sys.argv))
