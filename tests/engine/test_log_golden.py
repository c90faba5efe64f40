"""Every record of a full engine log is pinned: equity points, decisions, fills, funding
payments and skips of six real runs (spot and USD-M candles with market, post-only, stops,
the breaker and funding; the L2 maker on the hftbacktest recording) hash to what the engine
gave before its per-bar and per-decision speed work (commit 34bbe09). Floats enter the hash
through ``float.hex``, so a change in the last bit of any figure fails.

Regenerate (only when a change of results is intended, and say why in the commit):
``GRADTRADE_TEST_DATA=... PYTHONPATH=python python tests/engine/test_log_golden.py --write``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gradtrade.backtest.config import parse_backtest_config
from gradtrade.backtest.l2 import load_recording, simulate_l2
from gradtrade.backtest.l2_config import parse_l2_config
from gradtrade.backtest.runner import build_strategy, load_market_data, simulate
from gradtrade.engine import EngineLog

GOLDEN = Path(__file__).with_name("log_digests.json")


def _canon(value: Any) -> Iterator[str]:
    """A stable text of a record: floats exactly (hex), enums by name, dataclasses by field."""
    if isinstance(value, float):
        yield value.hex()
    elif isinstance(value, (str, int, bool)) or value is None:
        yield repr(value)
    elif isinstance(value, (tuple, list)):
        for v in value:
            yield from _canon(v)
    elif hasattr(value, "__dataclass_fields__"):
        for name in value.__dataclass_fields__:
            yield name
            yield from _canon(getattr(value, name))
    else:  # enums (Python and Rust)
        yield f"{type(value).__name__}.{getattr(value, 'name', str(value))}"


def digest(log: EngineLog) -> dict[str, Any]:
    out: dict[str, Any] = {}
    parts = {"equity": log.equity, "decisions": log.decisions, "fills": log.fills,
             "funding": log.funding}  # fmt: skip
    for name, records in parts.items():
        h = hashlib.sha256()
        for record in records:
            h.update("|".join(_canon(record)).encode())
            h.update(b"\n")
        out[name] = [len(records), h.hexdigest()]
    out["skips"] = dict(sorted(log.skips.items()))
    return out


def _candles(data_dir: Path, futures: bool, **over: Any) -> Callable[[], EngineLog]:
    if futures:
        base = data_dir / "klines/futures"
        data = {"path": str(base / "BTC_USDT_USDT-1h-futures.feather"),
                "funding_path": str(base / "BTC_USDT_USDT-1h-funding_rate.feather"),
                "start": "2023-06-01", "end": "2024-06-01", "warmup_bars": 200}  # fmt: skip
        market = {"symbol": "BTCUSDT", "tick_size": "0.10", "step_size": "0.001",
                  "min_qty": "0.001", "min_notional": "100"}  # fmt: skip
    else:
        data = {"path": str(data_dir / "klines/spot/BTC_USDT-1h.feather"),
                "start": "2020-01-01", "end": "2024-06-01", "warmup_bars": 200}  # fmt: skip
        market = {}
    raw: dict[str, Any] = {
        "data": data,
        "strategy": {"kind": "ma_cross", "params": over.pop("params", {})},
        "output": {"compare_sizing": False, "double_costs": False, "html": False},
        **({"market": market} if market else {}),
        **over,
    }
    cfg = parse_backtest_config(raw)

    def run() -> EngineLog:
        md = load_market_data(cfg)
        return simulate(cfg, md, build_strategy(cfg, md)).log

    return run


def scenarios(data_dir: Path) -> dict[str, Callable[[], EngineLog]]:
    spot = data_dir / "recordings" / "hftbacktest" / "spot"

    def l2() -> EngineLog:
        cfg = parse_l2_config({
            "recording": {"paths": [str(spot / "btcusdt_20240808.gz"),
                                    str(spot / "btcusdt_20240809.gz")]},
            "strategy": {"kind": "quote_at_best", "params": {"size": 0.1}, "interval_ms": 100},
            "execution": {"style": "post_only", "post_only_timeout_s": 1,
                          "on_timeout": "reprice"},
            "venue": {"queue": "risk_averse", "entry_latency_ms": 5.0},
            "output": {"double_costs": False, "html": False, "equity_every_s": 1},
        })  # fmt: skip
        return simulate_l2(cfg, load_recording(cfg))[0].log

    return {
        "spot_market_next_open": _candles(data_dir, False),
        "spot_close_stops_breaker": _candles(
            data_dir,
            False,
            params={"fast": 12, "slow": 48},
            fill={"fill_at": "decision_close", "model": "walk_book"},
            risk={
                "stops": {"mode": "percent", "stop_loss": 0.03, "take_profit": 0.05},
                "reduce_drawdown": 0.05,
                "halt_drawdown": 0.1,
            },
        ),
        "usdm_short_funding_market": _candles(
            data_dir, True, params={"allow_short": True}, risk={"allow_short": True}
        ),
        "usdm_post_only_cross": _candles(
            data_dir,
            True,
            params={"fast": 6, "slow": 24, "allow_short": True},
            risk={"allow_short": True, "min_rebalance": 0.0},
            execution={"style": "post_only", "post_only_timeout_s": 7200, "on_timeout": "cross"},
        ),
        "usdm_post_only_reprice": _candles(
            data_dir,
            True,
            params={"fast": 6, "slow": 24},
            execution={"style": "post_only", "post_only_timeout_s": 3600, "on_timeout": "reprice"},
        ),
        "l2_quote_at_best": l2,
    }


NAMES = list(json.loads(GOLDEN.read_text())) if GOLDEN.exists() else []


@pytest.mark.parametrize("name", NAMES)
def test_engine_log_is_bit_identical_to_the_pinned_run(name: str, data_dir: Path) -> None:
    want = json.loads(GOLDEN.read_text())[name]
    got = digest(scenarios(data_dir)[name]())
    assert got == want


def test_every_scenario_is_pinned(data_dir: Path) -> None:
    assert sorted(NAMES) == sorted(scenarios(data_dir))


if __name__ == "__main__" and sys.argv[1:] == ["--write"]:
    from tests.conftest import data_root

    out = {name: digest(run()) for name, run in scenarios(data_root()).items()}
    GOLDEN.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    print(json.dumps(out, indent=1))
