"""RiskConfig: strict, finite, in range, and errors that name the dotted field."""

from __future__ import annotations

import pytest

from gradtrade.errors import InvalidInput
from gradtrade.risk import parse_risk_config


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"reduce_drawdown": 0.4, "halt_drawdown": 0.3}, "reduce_drawdown"),
        ({"max_leverage": float("inf")}, "max_leverage"),
        ({"kelly_fraction": 1.5}, "kelly_fraction"),
        ({"sizing": "martingale"}, "sizing"),
        ({"limits": {"max_position": -1}}, "limits.max_position"),
        ({"stops": {"mode": "percent", "stop_loss": 150}}, "stops.stop_loss"),
        ({"max_levrage": 2}, "max_levrage"),
    ],
)
def test_bad_fields_are_named(raw: dict, field: str) -> None:
    with pytest.raises(InvalidInput, match=field.split(".")[-1]) as err:
        parse_risk_config(raw, "risk.yaml")
    assert "risk.yaml" in str(err.value)
    assert isinstance(err.value, ValueError)


def test_defaults_are_valid() -> None:
    cfg = parse_risk_config({})
    assert cfg.sizing == "policy" and cfg.reduce_drawdown < cfg.halt_drawdown
