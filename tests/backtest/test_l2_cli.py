"""``gradtrade backtest --config`` over the L2 recording: report, files, config errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from gradtrade.backtest.cli import backtest_command
from gradtrade.backtest.l2 import venue_config
from gradtrade.backtest.l2_config import load_l2_config
from gradtrade.errors import InvalidInput

REPO = Path(__file__).resolve().parents[2]


def l2_yaml(tmp_path: Path, data_dir: Path, **over: object) -> Path:
    raw = yaml.safe_load((REPO / "configs" / "backtest_l2_btcusdt.yaml").read_text())
    spot = data_dir / "recordings" / "hftbacktest" / "spot"
    raw["recording"] = {"paths": [str(spot / "btcusdt_20240808.gz"),
                                  str(spot / "btcusdt_20240809.gz")],
                        "start": "2024-08-09 00:00", "end": "2024-08-09 00:08"}  # fmt: skip
    raw["output"]["dir"] = str(tmp_path / "out")
    raw["strategy"]["interval_ms"] = 200
    for key, value in over.items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    path = tmp_path / "l2.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_the_example_config_is_valid() -> None:
    cfg = load_l2_config(REPO / "configs" / "backtest_l2_btcusdt.yaml")
    assert cfg.strategy.kind == "quote_at_best" and cfg.venue.queue == "probabilistic"
    assert cfg.execution.style == "post_only" and len(cfg.recording.paths) == 2


def test_l2_backtest_from_the_command_line(tmp_path: Path, data_dir: Path) -> None:
    path = l2_yaml(tmp_path, data_dir)
    result = CliRunner().invoke(backtest_command, ["--config", str(path), "--no-progress"])
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    summary = json.loads((out / "summary.json").read_text())
    fills = pd.read_csv(out / "fills.csv")
    equity = pd.read_csv(out / "equity.csv")
    assert summary["main"]["fills"] == len(fills) > 0
    assert set(fills["liquidity"]) == {"maker"}
    assert summary["main"]["fees"] == pytest.approx(fills["fee"].sum(), rel=1e-6)
    assert summary["variants"]["double_costs"]["fees"] > summary["main"]["fees"]
    assert len(equity) == 6  # a mark a minute from 00:00; the recording ends at 00:05:04
    html = (out / "report.html").read_text()
    assert "buy fills" in html and "sell fills" in html and "Trades (last 500 fills)" in html
    assert "fees" in html and "slippage" in html


def test_noop_places_nothing(tmp_path: Path, data_dir: Path) -> None:
    path = l2_yaml(tmp_path, data_dir, strategy={"kind": "noop", "params": {}},
                   output={"double_costs": False, "html": False})  # fmt: skip
    result = CliRunner().invoke(backtest_command, ["--config", str(path), "--no-progress"])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["main"]["fills"] == 0 and summary["main"]["final_equity"] == 10_000


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"venue": {"queue": "fifo"}}, "venue.queue"),
        ({"venue": {"power": -1}}, "venue.power"),
        ({"strategy": {"interval_ms": 0}}, "strategy.interval_ms"),
        ({"venue": {"entry_latency_ms": "fast"}}, "venue.entry_latency_ms"),
    ],
)
def test_config_errors_name_the_field(tmp_path: Path, data_dir: Path, over: dict,
                                      field: str) -> None:  # fmt: skip
    path = l2_yaml(tmp_path, data_dir, **over)
    result = CliRunner().invoke(backtest_command, ["--config", str(path), "--no-progress"])
    assert result.exit_code != 0 and field in result.output


def test_a_missing_recording_is_named(tmp_path: Path, data_dir: Path) -> None:
    path = l2_yaml(tmp_path, data_dir)
    raw = yaml.safe_load(path.read_text())
    raw["recording"]["paths"][1] = str(tmp_path / "nope.gz")
    path.write_text(yaml.safe_dump(raw))
    result = CliRunner().invoke(backtest_command, ["--config", str(path), "--no-progress"])
    assert result.exit_code != 0 and "recording.paths[1]" in result.output


def test_a_recorded_latency_table_is_read(tmp_path: Path, data_dir: Path) -> None:
    table = tmp_path / "acks.csv"
    table.write_text("ts_ns,delay_ns\n0,4000000\n2000000000000000000,8000000\n")
    cfg = load_l2_config(l2_yaml(tmp_path, data_dir, venue={"latency_table": str(table)}))
    latency = venue_config(cfg.venue).entry_latency
    assert latency.at(0) == 4_000_000 and latency.at(1_000_000_000_000_000_000) == 6_000_000
    table.write_text("ts,delay\n1,2\n")
    with pytest.raises(InvalidInput, match=r"venue\.latency_table"):
        venue_config(cfg.venue)
