"""Event journal: append latency per event at full durability, batch appends, restart recovery.

Events are an order lifecycle per recorded BTC/USDT 1h candle (decision, order initialized,
submitted, accepted, fill, filled: six records per bar, with real BTCUSDT filters from the
recorded exchangeInfo and the candle's close as price), so payload sizes are the trader's.

- SQLite: WAL, ``synchronous=FULL`` (an fsync per commit). Redis: a local ``redis-server``
  started for the run with ``--appendonly yes --appendfsync always`` (an fsync per write), data
  directory on the same disk, over loopback TCP.
- Each backend is set beside the raw client doing the same durable write without gradtrade's
  validation (``sqlite3`` INSERT + COMMIT with the same pragmas; ``XADD`` on the same server), so
  the cost of the checks is visible.
- Recovery: ``recover(open_journal(url))`` of a journal holding 100k events (open, validate
  every record, replay it into the Rust ``Order`` / ``Position`` objects), without a snapshot
  and with one 1k events before the end. Target: under 2 s.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pyarrow.feather as feather
import redis

from gradtrade.core import Order, Side, SymbolFilters, client_order_id
from gradtrade.persistence import JournalRecord, RecordKind, open_journal, recover, take_snapshot

RECOVERY_EVENTS = 100_000


def _filters(data_dir: Path) -> SymbolFilters:
    line = (data_dir / "recordings" / "cryptofeed" / "BINANCE.0").read_text().splitlines()[0]
    return SymbolFilters.from_exchange_info_json(line.split(": ", 1)[1], "BTCUSDT")


def _events(data_dir: Path, n: int) -> list[JournalRecord]:
    """``n`` journal records: an instrument record, then six records per candle."""
    filters = _filters(data_dir)
    table = feather.read_table(data_dir / "klines" / "spot" / "BTC_USDT-1h.feather")
    dates = table.column("date").cast("int64").to_pylist()
    closes = table.column("close").to_pylist()
    out = [JournalRecord.new(1, dates[0], RecordKind.INSTRUMENT, "BTCUSDT",
                             {"filters": json.loads(filters.to_json())})]  # fmt: skip

    def add(ts: int, kind: RecordKind, key: str, payload: dict[str, object]) -> None:
        out.append(JournalRecord.new(len(out) + 1, ts, kind, key, payload))

    bar = 0
    while len(out) < n:
        ts, price = dates[bar % len(dates)], round(closes[bar % len(closes)], 2)
        cid = client_order_id("bench", 1, bar)
        order = Order(cid, filters, Side.BUY if bar % 2 == 0 else Side.SELL, 0.001, price)
        add(ts, RecordKind.DECISION, "BTCUSDT", {"checkpoint": "ckpt-0007", "mu": 1e-4, "bar": bar})
        add(ts, RecordKind.ORDER_INITIALIZED, cid, {"order": json.loads(order.to_json())})
        add(ts + 1, RecordKind.ORDER_SUBMITTED, cid, {})
        add(ts + 2, RecordKind.ORDER_ACCEPTED, cid, {"exchange_order_id": 10_000 + bar})
        add(ts + 3, RecordKind.FILL, cid, {
            "trade_id": bar + 1, "quantity": 0.001, "price": price,
            "fee": round(price * 1e-6, 8), "fee_asset": "USDT", "time_ms": ts // 10**6,
        })  # fmt: skip
        add(ts + 4, RecordKind.ORDER_FILLED, cid, {})
        bar += 1
    return out[:n]


class _Redis:
    """A redis-server for this run, fsyncing every write; stopped by ``close``."""

    def __init__(self) -> None:
        if shutil.which("redis-server") is None:
            raise SystemExit("redis-server not found (apt-get install redis-server)")
        self.dir = Path(tempfile.mkdtemp(prefix="journal-bench-redis-"))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
             str(self.dir), "--save", "", "--appendonly", "yes", "--appendfsync", "always"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        self.client = redis.Redis(port=self.port)
        for _ in range(200):
            try:
                self.client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise SystemExit("redis-server did not start")

    def url(self, trader: str) -> str:
        return f"redis://127.0.0.1:{self.port}/0?trader={trader}"

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


def _raw_sqlite(path: Path) -> tuple[Callable[[JournalRecord], None], Callable[[], None]]:
    """The same durable write as the SQLite journal, without its checks: (append, close)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = FULL")
    db.execute("CREATE TABLE r (seq INTEGER PRIMARY KEY, ts INTEGER, kind TEXT, key TEXT, p BLOB)")

    def append(r: JournalRecord) -> None:
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO r VALUES (?, ?, ?, ?, ?)",
                   (r.seq, r.ts_ns, r.kind.value, r.key, r.payload))  # fmt: skip
        db.execute("COMMIT")

    return append, db.close


def _raw_redis(client: redis.Redis) -> Callable[[JournalRecord], None]:
    stream = f"raw-{uuid.uuid4().hex}"

    def append(r: JournalRecord) -> None:
        fields = {"ts": r.ts_ns, "kind": r.kind.value, "key": r.key, "payload": r.payload}
        client.xadd(stream, fields, id=f"{r.seq}-0")  # type: ignore[arg-type]

    return append


def _interleaved(
    appenders: dict[str, Callable[[JournalRecord], None]], records: list[JournalRecord]
) -> dict[str, list[float]]:
    """us per append of each appender, taking turns every 50 events so that disk noise (other
    processes' fsyncs) falls on all of them alike."""
    out: dict[str, list[float]] = {name: [] for name in appenders}
    for chunk in range(0, len(records), 50):
        for name, append in appenders.items():
            for r in records[chunk : chunk + 50]:
                start = time.perf_counter_ns()
                append(r)
                out[name].append((time.perf_counter_ns() - start) / 1e3)
    return out


def _pct(xs: list[float], q: float) -> float:
    ordered = sorted(xs)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _row(name: str, xs: list[float]) -> str:
    return f"| {name} | {statistics.median(xs):,.0f} | {_pct(xs, 0.99):,.0f} | {len(xs):,} |"


def run(data_dir: Path, quick: bool) -> str:
    n_append = 300 if quick else 3_000
    batch_size, batches = 100, (10 if quick else 50)
    repeats = 2 if quick else 5
    events = _events(data_dir, RECOVERY_EVENTS)
    work = Path(tempfile.mkdtemp(prefix="journal-bench-"))
    server = _Redis()
    try:
        journals = {
            "sqlite": open_journal(f"{work / 'single.db'}?trader=single"),
            "redis": open_journal(server.url("single")),
        }
        raw_append, raw_close = _raw_sqlite(work / "raw.db")
        single = _interleaved(
            {**{b: j.append for b, j in journals.items()}, "raw_sqlite": raw_append,
             "raw_redis": _raw_redis(server.client)},
            events[:n_append],
        )  # fmt: skip
        for journal in journals.values():
            journal.close()
        raw_close()
        batch: dict[str, list[float]] = {}
        recovery: dict[str, list[float]] = {}
        recovery_snap: dict[str, list[float]] = {}
        cpu: dict[str, list[float]] = {}  # this process's CPU time: less noise on a busy machine
        cpu_snap: dict[str, list[float]] = {}
        for backend in ("sqlite", "redis"):

            def url(name: str, backend: str = backend) -> str:
                if backend == "sqlite":
                    return f"{work / (name + '.db')}?trader={name}"
                return server.url(name)

            with open_journal(url(f"batch-{backend}")) as j:
                per_event = []
                for b in range(batches):
                    chunk = events[b * batch_size : (b + 1) * batch_size]
                    start = time.perf_counter_ns()
                    j.append_many(chunk)
                    per_event.append((time.perf_counter_ns() - start) / 1e3 / batch_size)
                batch[backend] = per_event
            big = url(f"big-{backend}")
            with open_journal(big) as j:
                for b in range(0, RECOVERY_EVENTS, 5_000):
                    j.append_many(events[b : b + 5_000])
            recovery[backend], cpu[backend] = [], []
            for _ in range(repeats):
                start, start_cpu = time.perf_counter(), time.process_time()
                with open_journal(big) as j:
                    state = recover(j)
                recovery[backend].append(time.perf_counter() - start)
                cpu[backend].append(time.process_time() - start_cpu)
            assert state.seq == RECOVERY_EVENTS and len(state.orders) > RECOVERY_EVENTS // 7
            snap_url = url(f"snap-{backend}")
            with open_journal(snap_url) as j:
                for b in range(0, RECOVERY_EVENTS - 1_000, 5_000):
                    j.append_many(events[b : min(b + 5_000, RECOVERY_EVENTS - 1_000)])
                take_snapshot(j, recover(j))
                j.append_many(events[RECOVERY_EVENTS - 1_000 :])
            recovery_snap[backend], cpu_snap[backend] = [], []
            for _ in range(repeats):
                start, start_cpu = time.perf_counter(), time.process_time()
                with open_journal(snap_url) as j:
                    snapped = recover(j)
                recovery_snap[backend].append(time.perf_counter() - start)
                cpu_snap[backend].append(time.process_time() - start_cpu)
            assert snapped.snapshot_objects() == state.snapshot_objects()
    finally:
        server.close()
        shutil.rmtree(work, ignore_errors=True)

    def verdict(times: dict[str, list[float]]) -> str:
        worst = max(statistics.median(v) for v in times.values())
        return f"**{'met' if worst < 2.0 else 'NOT met'}** (slowest median {worst:.2f} s)"

    lines = [
        "Order-lifecycle events built from the recorded BTC/USDT 1h candles (six records per "
        "bar, real BTCUSDT filters). Temporary files on the local disk. Target: restart "
        f"recovery of a journal holding {RECOVERY_EVENTS:,} events under 2 s: with a snapshot "
        f"1,000 events before the end {verdict(recovery_snap)}; replaying all of it from the "
        f"first record {verdict(recovery)}.",
        "",
        "| append, one event per durable commit, in turns | median us | p99 us | events |",
        "|---|---|---|---|",
        _row("gradtrade SQLite (WAL, synchronous=FULL)", single["sqlite"]),
        _row("raw sqlite3 INSERT + COMMIT, same pragmas, no checks", single["raw_sqlite"]),
        _row("gradtrade Redis (AOF, appendfsync always, Lua append + projection)", single["redis"]),
        _row("raw redis XADD, same server, no checks, no projection", single["raw_redis"]),
        "",
        f"| append_many of {batch_size} events, per event | median us | p99 us | batches |",
        "|---|---|---|---|",
        _row("gradtrade SQLite", batch["sqlite"]),
        _row("gradtrade Redis", batch["redis"]),
        "",
        f"| restart recovery, {RECOVERY_EVENTS:,} events (open + validate + replay into Rust "
        f"objects) | median s | best s | median CPU s of this process | runs |",
        "|---|---|---|---|---|",
    ]
    for backend in ("sqlite", "redis"):
        for label, times, cpus in (
            ("full replay", recovery[backend], cpu[backend]),
            ("snapshot + last 1,000", recovery_snap[backend], cpu_snap[backend]),
        ):
            lines.append(
                f"| {backend}: {label} | {statistics.median(times):.3f} | {min(times):.3f} "
                f"| {statistics.median(cpus):.3f} | {len(times)} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    root = Path(os.environ.get("GRADTRADE_TEST_DATA", Path(__file__).parents[2] / "shared/data"))
    print(run(root, "--quick" in sys.argv))
