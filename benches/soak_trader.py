"""The live trader's soak run: hours of accelerated market (one 1m candle per second of wall
time: 60x) against the local exchange in its own process, faults armed at random (seeded), the
trader in its own process; RSS sampled from /proc at every bar. The driver is
``tests/live/soak.py`` (the test suite runs a one-minute version of it).

    python benches/soak_trader.py --hours 4 --seed 7         # 240 bars, about 4.5 minutes

Prints the Markdown rows that ``benches/RESULTS.md``'s soak section holds.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the harness of tests/live (its package is `live`)

from live.harness import CLI, KEY, SECRET, Exchange  # noqa: E402
from live.soak import soak  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--hours", type=float, default=4.0, help="market hours to replay (1m bars)")
    parser.add_argument("--every", type=float, default=1.0, help="wall seconds per bar (1.0: 60x)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fault-rate", type=float, default=0.3, help="chance of a fault per bar")
    args = parser.parse_args()
    bars = int(args.hours * 60)
    cmd = [*CLI, "exchange", "serve", "--synthetic", "--seed", "11", "--port", "0",
           "--api-key", KEY, "--api-secret", SECRET, "--faults"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        exchange = Exchange(proc.stdout.readline().strip())
        with tempfile.TemporaryDirectory() as tmp:
            r = soak(exchange, Path(tmp), bars, args.every, args.seed, args.fault_rate, session=1)
    finally:
        proc.terminate()
        proc.wait(10)
    rss = r.rss_kb
    faults = ", ".join(f"{k} {v}" for k, v in sorted(r.faults.items()))
    mib = " / ".join(f"{x / 1024:.0f}" for x in (rss[0], r.warm_kb, r.end_kb, max(rss)))
    print(
        f"| {args.hours:g} h ({bars} bars), {60 / args.every:.0f}x, seed {args.seed} "
        f"| {r.wall_s:.0f} s | {sum(r.faults.values())} ({faults}) "
        f"| {len(r.seen.orders)} / {len(r.seen.trades)} | {mib} "
        f"| {100 * r.growth:+.1f} % | {r.snapshot_orders} |"
    )
    print(
        f"RSS median over the run {statistics.median(rss) / 1024:.0f} MiB; checks passed: "
        "0 lost, 0 duplicated, every fill once, balances equal"
    )


if __name__ == "__main__":
    main()
