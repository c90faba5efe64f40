"""The demo's templates: overrides replace existing keys only; every template is a valid config."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gradtrade.backtest.config import load_backtest_config
from gradtrade.demo.templates import (
    BACKTEST,
    TRADER,
    TRAIN,
    load_template,
    with_overrides,
    write_config,
)
from gradtrade.errors import InvalidInput
from gradtrade.optim.config import load_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_overrides_replace_nested_values_and_leave_the_template_alone() -> None:
    template = {"data": {"path": "a", "start": None}, "initial_cash": 1.0}
    out = with_overrides(template, {"data.start": "2024-01-01", "initial_cash": 2.0})
    assert out == {"data": {"path": "a", "start": "2024-01-01"}, "initial_cash": 2.0}
    assert template == {"data": {"path": "a", "start": None}, "initial_cash": 1.0}


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("data.strat", "no field data.strat"),
        ("dta.start", "no section dta"),
        ("initial_cash.x", "no section initial_cash"),
    ],
)
def test_an_override_of_a_missing_key_is_an_error(key: str, message: str) -> None:
    template = {"data": {"path": "a", "start": None}, "initial_cash": 1.0}
    with pytest.raises(InvalidInput, match=message):
        with_overrides(template, {key: 1})


def test_a_missing_template_names_the_option(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="--configs"):
        load_template(tmp_path, TRAIN)


def test_written_config_reads_back_with_its_header(tmp_path: Path) -> None:
    raw = with_overrides(load_template(CONFIGS, TRAIN), {"optim.epochs": 1})
    path = write_config(raw, tmp_path / "t.yaml", source=CONFIGS / TRAIN, rerun="gradtrade x")
    text = path.read_text()
    assert text.startswith(f"# Written by `gradtrade demo` from {CONFIGS / TRAIN}.")
    assert yaml.safe_load(text) == raw
    assert load_config(path).optim.epochs == 1


def test_demo_templates_are_valid_configs_as_shipped() -> None:
    assert load_config(CONFIGS / TRAIN).evaluate.models == ["ode"]
    backtest = load_backtest_config(CONFIGS / BACKTEST)
    assert backtest.strategy.checkpoint == "runs/demo/best.pt"
    trader = load_template(CONFIGS, TRADER)
    assert trader["mode"] == "paper" and trader["monitoring"]["host"] == "127.0.0.1"
