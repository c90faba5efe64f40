"""`gradtrade demo` end to end: exchange, download, train, walk-forward, backtest, paper trading.

The demo runs once per module (about a minute and a half on two busy cores, most of it the
paper session) into a temporary folder, with the project's configs/ templates; the tests read
what it printed and wrote. The paper session needs the live trader (`gradtrade trade`): without
it the demo must say that step did not run and why, and still finish with exit code 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from gradtrade.backtest.config import load_backtest_config
from gradtrade.cli import main
from gradtrade.data.market import infer_timeframe
from gradtrade.data.store import CandleStore
from gradtrade.demo.pipeline import first_test_bar
from gradtrade.errors import InvalidInput
from gradtrade.optim.config import load_config

REPO_ROOT = Path(__file__).resolve().parents[1]
PAPER_SECONDS = 75  # at least one 1m candle closes after the trader's warm-up


@dataclass(frozen=True)
class DemoRun:
    out: Path
    output: str
    exit_code: int


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    out = tmp_path_factory.mktemp("demo") / "run"
    args = ["demo", "--out", str(out), "--configs", str(REPO_ROOT / "configs"), "--epochs", "2"]
    result = CliRunner().invoke(main, [*args, "--paper-seconds", str(PAPER_SECONDS)])
    return DemoRun(out, result.output, result.exit_code)


def test_every_step_runs_the_users_command(demo_run: DemoRun) -> None:
    assert demo_run.exit_code == 0, demo_run.output[-3000:]
    out, text = demo_run.out, demo_run.output
    for line in (
        "1/6 local exchange at http://127.0.0.1:",
        "2/6 downloaded through ccxt",
        f"3/6 gradtrade train --config {out / 'train.yaml'}",
        f"4/6 gradtrade evaluate --config {out / 'train.yaml'}",
        f"5/6 gradtrade backtest --config {out / 'backtest.yaml'}",
        "Where everything is:",
        f"backtest report  {out / 'backtest' / 'report.html'}",
    ):
        assert line in text, line
    (key,) = CandleStore(out / "store").series()
    assert key.timeframe == "1m" and len(CandleStore(out / "store").read(key)) > 4000
    assert (out / "best.pt").exists() and (out / "metrics.csv").exists()
    assert "4 walk-forward folds" in (out / "evaluate" / "evaluation.md").read_text()
    assert "plotly" in (out / "backtest" / "report.html").read_text()[:200_000].lower()


def test_written_configs_rerun_and_backtest_only_the_test_period(demo_run: DemoRun) -> None:
    out = demo_run.out
    train = load_config(out / "train.yaml")
    assert Path(train.data.path).is_file() and train.run.out_dir == str(out)
    backtest = load_backtest_config(out / "backtest.yaml")
    assert backtest.strategy.checkpoint == str(out / "best.pt")
    assert pd.Timestamp(backtest.data.start) == first_test_bar(train)
    # the template's every other value is kept: the written file is the template plus overrides
    template = yaml.safe_load((REPO_ROOT / "configs" / "demo_backtest.yaml").read_text())
    written = yaml.safe_load((out / "backtest.yaml").read_text())
    assert written["fill"] == template["fill"] and written["risk"] == template["risk"]
    assert "# Rerun this step: gradtrade backtest --config" in (out / "backtest.yaml").read_text()
    equity = pd.read_csv(out / "backtest" / "equity.csv")
    trading = equity[equity["ts_ns"] >= first_test_bar(train).value]
    assert len(trading) > 100


def test_paper_session_decides_orders_and_journals(demo_run: DemoRun) -> None:
    out, text = demo_run.out, demo_run.output
    assert f"6/6 gradtrade trade --config {out / 'trader.yaml'} --run-for {PAPER_SECONDS}" in text
    assert "`gradtrade trade` exited with 0" in text
    (journal,) = (out / "paper").glob("journal-*.db")
    assert f"journal          {journal}" in text
    (line,) = [x for x in text.splitlines() if x.startswith("    journal: ")]
    assert "DECISION" in line and "ORDER_SUBMITTED" in line, line
    written = yaml.safe_load((out / "trader.yaml").read_text())
    assert written["strategy"]["checkpoint"] == str(out / "best.pt")
    assert written["venue"]["url"].startswith("http://127.0.0.1:")


def test_paper_session_serves_metrics_and_health(demo_run: DemoRun) -> None:
    out, text = demo_run.out, demo_run.output
    metrics = out / "paper" / "metrics.txt"
    assert metrics.exists(), "the trader never answered /metrics (is telemetry wired into it?)"
    assert "gradtrade_" in metrics.read_text()
    assert "last /healthz: 200" in text
    assert f"last scrape in {metrics}" in text


def test_missing_templates_fail_before_the_exchange_starts(tmp_path: Path) -> None:
    args = ["demo", "--out", str(tmp_path / "out"), "--configs", str(tmp_path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert "demo_train.yaml not found" in result.output and "--configs" in result.output
    assert "1/6" not in result.output and not (tmp_path / "out").exists()


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
