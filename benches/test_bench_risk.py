"""pytest-benchmark benches of the risk and order bindings at the Python boundary.

    PYTHONPATH=python python -m pytest benches/test_bench_risk.py --benchmark-only

Not part of the test suite (pytest's testpaths is tests/); the comparison against
NautilusTrader that RESULTS.md reports is benches/compare_risk.py.
"""

from __future__ import annotations

import json
from typing import Any

from gradtrade.core import (
    Order,
    Position,
    PositionSizer,
    RiskEngine,
    RiskLimits,
    Side,
    SymbolFilters,
)

FILTERS = SymbolFilters("BTCUSDT", "0.01", "0.00001", min_qty="0.00001", min_notional=5)
LIMITS = RiskLimits(
    max_order_notional=50_000.0,
    max_position=2.0,
    max_leverage=5.0,
    max_open_orders=50,
    max_orders_per_second=1000,
    price_band_bps=50.0,
    reduce_drawdown=0.05,
    halt_drawdown=0.1,
)
ARGS = (Side.BUY, 0.01234, 61_602.01, 61_602.015, 0.1, 3, 25_000.0, 0)


def test_risk_check_approved(benchmark: Any) -> None:
    engine = RiskEngine(LIMITS, FILTERS)
    assert benchmark(engine.check, *ARGS).approved


def test_risk_check_rejected(benchmark: Any) -> None:
    engine = RiskEngine(LIMITS, FILTERS)
    args = (Side.BUY, 0.01234, 61_602.013, *ARGS[3:])
    assert not benchmark(engine.check, *args).approved


def test_sizer_size(benchmark: Any) -> None:
    sizer = PositionSizer(FILTERS, kelly_fraction=0.5, target_vol=0.02, max_leverage=3.0)
    assert benchmark(sizer.size, 0.0004, 0.012, 25_000.0, 61_602.01) > 0


def test_position_apply_fill(benchmark: Any) -> None:
    position = Position(FILTERS, "USDT")
    sides = iter([Side.BUY, Side.SELL] * 10_000_000)

    def fill() -> float:
        return position.apply_fill(next(sides), 0.01234, 61_602.01, 0.01, "USDT")

    benchmark(fill)


def test_order_execution_report(benchmark: Any) -> None:
    report = json.dumps(
        {
            "e": "executionReport", "E": 1, "s": "BTCUSDT", "c": "gt.0.1", "S": "BUY",
            "o": "LIMIT", "f": "GTC", "q": "1.00000000", "p": "61602.01000000", "C": "",
            "x": "TRADE", "X": "PARTIALLY_FILLED", "i": 42, "l": "0.25000000",
            "z": "0.25000000", "L": "61602.01000000", "n": "0.00001000", "N": "BNB",
            "T": 2, "t": 77,
        }
    )  # fmt: skip

    def apply() -> bool:
        order = Order("gt.0.1", FILTERS, Side.BUY, 1.0, 61_602.01)
        return order.apply_execution_report_json(report)

    assert benchmark(apply)
