"""`gradtrade demo` runs the whole offline pipeline: local exchange, ccxt download, store, train."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from gradtrade.cli import main
from gradtrade.data.market import infer_timeframe
from gradtrade.data.store import CandleStore
from gradtrade.errors import InvalidInput


def test_demo_on_the_synthetic_market(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "--out", str(out), "--epochs", "1"])
    assert result.exit_code == 0, result.output
    for step in ("1/4 local exchange at http://127.0.0.1:", "2/4 downloaded", "3/4", "4/4 test"):
        assert step in result.output
    (key,) = CandleStore(out / "store").series()
    stored = CandleStore(out / "store").read(key)
    assert key.timeframe == "1m" and len(stored) > 4000
    assert (out / "best.pt").exists() and (out / "metrics.csv").exists()


def test_timeframe_is_the_most_common_spacing() -> None:
    hours = pd.date_range("2024-01-01", periods=50, freq="h", tz="UTC")
    with_outage = hours.delete([10, 11, 12])
    assert infer_timeframe(with_outage, "x") == "1h"
    # pandas 3 defaults to microsecond resolution; the answer must not depend on the unit.
    assert infer_timeframe(with_outage.as_unit("us"), "x") == "1h"
    assert infer_timeframe(with_outage.as_unit("s"), "x") == "1h"
    five = pd.date_range("2024-01-01", periods=9, freq="5min", tz="UTC")
    assert infer_timeframe(five, "x") == "5m"
    with pytest.raises(InvalidInput, match="7 minutes apart"):
        infer_timeframe(pd.date_range("2024-01-01", periods=9, freq="7min", tz="UTC"), "x")
