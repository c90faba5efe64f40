"""The soak run: ``gradtrade trade`` (live mode, its own process) over an accelerated market,
one 1m candle closed every ``every_s`` seconds of wall time (1 s: 60x) by moving the local
exchange's clock, with faults armed at random (seeded) between bars; the trader's RSS read from
``/proc/<pid>/status`` at every bar. Used by ``tests/live/test_trader_soak.py`` (short) and
``benches/soak_trader.py`` (hours of market).

What it returns is measured, never assumed: the faults armed, the RSS samples, the exchange's
check (``oracle.check``: 0 lost, 0 duplicated, every fill once, balances equal) and the
journal's last snapshot (its seq and how many orders it holds: terminal orders are kept, so
it grows with every order of the run).
"""

from __future__ import annotations

import random
import signal
import statistics
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradtrade.persistence import JournalOptions, open_journal

from .harness import CLI, Exchange, trader_config, trader_env
from .oracle import Seen, account, check

# name -> the fault armed (all bounded: each fires `count` times, or is reset after ACK_BARS)
FAULTS: dict[str, dict[str, Any]] = {
    "5xx": {"kind": "rest", "status": 503, "count": 1, "path_prefix": "/api/v3/order"},
    "429": {"kind": "rest", "status": 429, "count": 1, "retry_after": 1,
            "path_prefix": "/api/v3/order"},
    "418": {"kind": "rest", "status": 418, "count": 1, "retry_after": 2,
            "path_prefix": "/api/v3/order"},
    "-2010": {"kind": "reject_orders", "count": 1},
    "klines 5xx": {"kind": "rest", "status": 502, "count": 1, "path_prefix": "/api/v3/klines"},
    "drop ws": {"kind": "drop_ws", "path_prefix": ""},
    "stall ws": {"kind": "stall_ws", "seconds": 1.5, "path_prefix": ""},
    "ack delay": {"kind": "ack_delay", "seconds": 4.0},
}  # fmt: skip
ACK_BARS = 3  # an ack delay is lifted this many bars after it was armed


@dataclass(frozen=True)
class SoakResult:
    bars: int
    wall_s: float
    faults: Counter[str]
    rss_kb: list[int]  # one sample per bar
    warm_kb: float  # median RSS of the 10 bars after the warm-up
    end_kb: float  # median RSS of the last 10 bars
    snapshot_seq: int  # the last snapshot's record (the journal's end after a clean stop)
    snapshot_orders: int  # orders it holds
    journal_seq: int
    seen: Seen

    @property
    def growth(self) -> float:
        return self.end_kb / self.warm_kb - 1.0


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def soak(
    exchange: Exchange,
    tmp: Path,
    bars: int,
    every_s: float = 1.0,
    seed: int = 7,
    fault_rate: float = 0.3,
    warmup: int = 20,
    session: int = 0,
) -> SoakResult:
    """Run the soak of the module docstring; raises AssertionError on any broken invariant."""
    rng = random.Random(seed)
    config = trader_config(
        tmp, exchange.url, "live", execution={"session": session},
        journal={"url": str(tmp / "live.db"), "snapshot_every": 100},
        log={"format": "json", "level": "WARNING"},
    )  # fmt: skip
    before = account(exchange.url)
    log = (tmp / "trader.log").open("w")
    proc = subprocess.Popen([*CLI, "trade", "--config", str(config)], stdout=log,
                            stderr=subprocess.STDOUT, text=True, env=trader_env())  # fmt: skip
    faults: Counter[str] = Counter()
    samples: list[int] = []
    ack_until = -1
    t0 = time.monotonic()
    try:
        time.sleep(3.0)  # the trader connects and warms up
        for i in range(bars):
            time.sleep(every_s)
            assert proc.poll() is None, (tmp / "trader.log").read_text()[-3000:]
            exchange.next_minute()
            samples.append(rss_kb(proc.pid))
            if i == ack_until:
                exchange.arm(kind="ack_delay", seconds=0.0)
            if i > 2 and rng.random() < fault_rate:
                name = rng.choice(sorted(FAULTS))
                if name == "ack delay":
                    if ack_until >= i:
                        continue
                    ack_until = i + ACK_BARS
                exchange.arm(**FAULTS[name])
                faults[name] += 1
        exchange.arm(kind="ack_delay", seconds=0.0)
        time.sleep(2.0)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(60)
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
    wall = time.monotonic() - t0
    assert rc == 0, (tmp / "trader.log").read_text()[-3000:]
    seen = check(exchange.url, tmp / "live.db", {session}, before)
    with open_journal(str(tmp / "live.db"), JournalOptions(readonly=True)) as j:
        snap = j.latest_snapshot()
    assert snap is not None, "no snapshot after a clean stop"
    orders = sum(1 for name in snap.objects if name.startswith("order/"))
    after = samples[warmup:]
    return SoakResult(
        bars, wall, faults, samples, statistics.median(after[:10]),
        statistics.median(samples[-10:]), snap.seq, orders, seen.state.seq, seen,
    )  # fmt: skip


__all__ = ["FAULTS", "SoakResult", "rss_kb", "soak"]
