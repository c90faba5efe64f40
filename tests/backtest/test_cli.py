"""`gradtrade backtest`: the command over real candles, its files, and its config errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from gradtrade.backtest.config import load_backtest_config
from gradtrade.cli import main
from gradtrade.errors import InvalidInput
from gradtrade.optim.config import TrainConfig

REPO = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, raw: dict) -> Path:
    path = tmp_path / "bt.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_model_backtest_writes_the_report_with_sizing_modes_and_double_costs(
    trained: tuple[TrainConfig, Path], tmp_path: Path
) -> None:
    cfg, checkpoint = trained
    out = tmp_path / "out"
    raw = {
        "data": {"path": cfg.data.path, "start": "2024-02-15", "end": "2024-03-01",
                 "warmup_bars": 200},
        "strategy": {"kind": "model", "checkpoint": str(checkpoint)},
        "risk": {"allow_short": False},
        "output": {"dir": str(out)},
    }  # fmt: skip
    result = CliRunner().invoke(main, ["backtest", "--config", str(_write(tmp_path, raw)),
                                       "--no-progress"])  # fmt: skip
    assert result.exit_code == 0, result.output
    for name in ("report.html", "summary.json", "fills.csv", "equity.csv"):
        assert (out / name).stat().st_size > 0
    summary = json.loads((out / "summary.json").read_text())
    variants = summary["variants"]
    assert set(variants) == {"double_costs", "sizing_kelly", "sizing_vol_target"}
    main_run, double = summary["main"], variants["double_costs"]
    assert double["cost_bps"] == 2 * main_run["cost_bps"]
    if main_run["fills"]:
        assert double["fees"] > 1.5 * main_run["fees"]
        assert double["total_return"] < main_run["total_return"]
    assert summary["calibration"]["decisions"] > 100
    assert set(summary["benchmarks"]) == {"buy_and_hold", "vol_target_bh"}
    html = (out / "report.html").read_text()
    assert "plotly" in html and "sizing_kelly" in html


def test_bad_config_names_the_field(tmp_path: Path, data_dir: Path) -> None:
    raw = {
        "data": {"path": str(data_dir / "klines/spot/BTC_USDT-1h.feather")},
        "risk": {"reduce_drawdown": 0.5, "halt_drawdown": 0.3, "max_leverage": -1},
    }
    result = CliRunner().invoke(main, ["backtest", "--config", str(_write(tmp_path, raw))])
    assert result.exit_code != 0
    assert "risk.max_leverage" in result.output
    with pytest.raises(InvalidInput, match="strategy"):
        load_backtest_config(_write(tmp_path, {**raw, "risk": {}, "strategy": {"kind": "model"}}))
    with pytest.raises(InvalidInput, match=r"data\.path"):
        load_backtest_config(_write(tmp_path, {"data": {"pth": "x"}}))


def test_example_config_is_valid_and_help_teaches() -> None:
    cfg = load_backtest_config(REPO / "configs/backtest_btc_1h.yaml")
    assert cfg.strategy.kind == "model" and cfg.fill.fill_at == "next_open"
    result = CliRunner().invoke(main, ["backtest", "--help"])
    assert result.exit_code == 0 and "sizing" in result.output and "Example" in result.output
    assert "backtest" in CliRunner().invoke(main, ["--help"]).output


def test_perpetual_example_runs_with_funding(tmp_path: Path, data_dir: Path) -> None:
    raw = yaml.safe_load((REPO / "configs/backtest_btc_usdm_1h.yaml").read_text())
    fut = data_dir / "klines/futures"
    raw["data"].update(path=str(fut / "BTC_USDT_USDT-1h-futures.feather"),
                       funding_path=str(fut / "BTC_USDT_USDT-1h-funding_rate.feather"),
                       start="2021-02-01", end="2021-03-01", warmup_bars=200)  # fmt: skip
    raw["strategy"] = {"kind": "ma_cross", "params": {"fast": 12, "slow": 48, "size": 1.0}}
    raw["risk"]["min_rebalance"] = 0.0
    raw["output"] = {"dir": str(tmp_path / "out"), "html": False}
    result = CliRunner().invoke(main, ["backtest", "--config", str(_write(tmp_path, raw)),
                                       "--no-progress"])  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out/summary.json").read_text())
    assert summary["main"]["fills"] > 10
    assert summary["main"]["funding"] > 0  # Feb 2021: high positive funding, longs paid
    assert not (tmp_path / "out/report.html").exists()


def test_walk_the_book_fill_model(tmp_path: Path, data_dir: Path) -> None:
    """``fill.model: walk_book``: every market order is filled through the decision bar's
    ladder (fills at the ladder's prices, one per level walked), at the taker fee."""
    fut = data_dir / "klines/futures/BTC_USDT_USDT-1h-futures.feather"
    raw = {
        "data": {"path": str(fut), "start": "2024-02-01", "end": "2024-03-01",
                 "warmup_bars": 100},
        "strategy": {"kind": "ma_cross", "params": {"fast": 3, "slow": 12, "size": 1.0}},
        "market": {"tick_size": "0.1", "step_size": "0.001"},
        "fill": {"model": "walk_book", "taker_fee_bps": 4.0, "maker_fee_bps": 2.0,
                 "ladder": {"levels": 5, "level_share": 0.00002}},
        "output": {"dir": str(tmp_path / "out"), "html": False, "compare_sizing": False},
    }  # fmt: skip
    result = CliRunner().invoke(main, ["backtest", "--config", str(_write(tmp_path, raw)),
                                       "--no-progress"])  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out/summary.json").read_text())
    assert summary["fill_model"] == "walk_book" and summary["main"]["fills"] > 10
    fills = pd.read_csv(tmp_path / "out/fills.csv")
    assert (fills.groupby("client_order_id").size() > 1).any()  # some orders walked levels
    ticks = fills["price"] / 0.1
    assert ((ticks - ticks.round()).abs() < 1e-6).all()  # ladder prices are on the tick grid
    assert fills["fee"].to_numpy() == pytest.approx(4e-4 * fills["price"] * fills["qty"])
    assert summary["variants"]["double_costs"]["fees"] > 1.9 * summary["main"]["fees"]
    bad = {**raw, "fill": {"model": "walk_book", "ladder": {"levels": 0}}}
    result = CliRunner().invoke(main, ["backtest", "--config", str(_write(tmp_path, bad))])
    assert result.exit_code != 0 and "ladder.levels" in result.output
