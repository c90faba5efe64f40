"""A short soak (about a minute and a half): 60 accelerated 1m bars (60x) with random seeded
faults; the trader's RSS after the warm-up stays within 10 % and the exchange's check holds.
The hours-long run is ``benches/soak_trader.py`` (figures in ``benches/RESULTS.md``)."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

from .harness import Exchange
from .soak import soak

_SESSIONS = itertools.count(int(time.time()) % 100_000 * 100 + 8, 10)  # see test_trader_faults


def test_short_soak_with_random_faults_keeps_memory_flat_and_loses_nothing(
    exchange: Exchange, tmp_path: Path
) -> None:
    result = soak(exchange, tmp_path, bars=60, every_s=1.0, seed=3, session=next(_SESSIONS))
    assert sum(result.faults.values()) >= 5, result.faults  # faults really were injected
    assert result.seen.trades, "the trader traded through the faults"
    assert result.growth < 0.10, (result.warm_kb, result.end_kb, result.rss_kb)
    assert result.snapshot_seq == result.journal_seq, "the final snapshot is the journal's end"
    assert result.snapshot_orders == len(result.seen.state.orders)
