"""The settings base: every model built on StrictModel refuses inf/nan and out-of-range numbers
naming the dotted field, parses dates at validation, and YAML errors never quote the source."""

from __future__ import annotations

import importlib
import math
import pkgutil
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import annotated_types as at
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel
from pydantic.fields import FieldInfo

import gradtrade
from gradtrade.config import StrictModel, load, utc_timestamp, validate
from gradtrade.errors import InvalidInput
from gradtrade.optim.config import TrainConfig


def _all_models() -> list[type[StrictModel]]:
    """Every StrictModel subclass in the package (each module imported, so new ones count)."""
    for info in pkgutil.walk_packages(gradtrade.__path__, "gradtrade."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)
    found: list[type[StrictModel]] = []
    todo = list(StrictModel.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo += cls.__subclasses__()
    return sorted(set(found), key=lambda c: f"{c.__module__}.{c.__qualname__}")


MODELS = _all_models()


def _bounds(metadata: list[Any]) -> tuple[bool, bool]:
    lower = upper = False
    for m in metadata:
        if isinstance(m, FieldInfo):
            lo, up = _bounds(m.metadata)
            lower, upper = lower or lo, upper or up
        elif isinstance(m, at.Gt | at.Ge):
            lower = True
        elif isinstance(m, at.Lt | at.Le):
            upper = True
        elif isinstance(m, at.Interval):
            lower = lower or m.gt is not None or m.ge is not None
            upper = upper or m.lt is not None or m.le is not None
    return lower, upper


def _leaves(tp: Any, path: tuple[str, ...], meta: list[Any]) -> Iterator[tuple[Any, ...]]:
    """(dotted path, int or float, constraint metadata) of every number a model holds."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        base, *extra = typing.get_args(tp)
        yield from _leaves(base, path, meta + extra)
    elif origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            if arg is not type(None):
                yield from _leaves(arg, path, meta)
    elif origin in (list, tuple, set, frozenset):
        for arg in typing.get_args(tp):
            if arg is not Ellipsis:
                yield from _leaves(arg, (*path, "0"), [])
    elif isinstance(tp, type) and issubclass(tp, BaseModel):
        for name, field in tp.model_fields.items():
            yield from _leaves(field.annotation, (*path, name), list(field.metadata))
    elif tp in (int, float):
        yield ".".join(path), tp, meta


NUMBERS = {model: list(_leaves(model, (), [])) for model in MODELS}


def _raw(dotted: str, value: Any) -> dict[str, Any]:
    """A mapping holding ``value`` at ``dotted`` (a ``.0`` part is the first item of a list)."""
    parts = dotted.split(".")
    node: Any = value
    for part in reversed(parts):
        node = [node] if part == "0" else {part: node}
    assert isinstance(node, dict)
    return node


def _error(model: type[StrictModel], raw: dict[str, Any]) -> str:
    with pytest.raises(InvalidInput) as err:
        validate(model, raw)
    return str(err.value)


def test_the_walk_sees_every_config() -> None:
    dotted = {f"{m.__name__}.{d}" for m, leaves in NUMBERS.items() for d, _, _ in leaves}
    expected = {
        "TrainConfig.optim.lr",
        "TrainConfig.loss.fee_bps",
        "DataConfig.context",
        "TrainConfig.evaluate.momentum_lookbacks.0",
        "ConnectorConfig.timeout_s",
    }
    assert expected <= dotted


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_number_refuses_inf_and_nan_naming_the_field(model: type[StrictModel]) -> None:
    wrong = []
    for dotted, kind, _ in NUMBERS[model]:
        for bad in (math.inf, -math.inf, math.nan, "inf", "NaN"):
            message = _error(model, _raw(dotted, bad))
            # an int field refuses the text "inf" as not an integer: refused all the same
            why = "a finite number" if not isinstance(bad, str) or kind is float else "integer"
            if f"  {dotted}: Input should be " not in message or why not in message:
                wrong.append(f"{dotted}={bad!r}: {message}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_number_is_bounded_on_both_sides(model: type[StrictModel]) -> None:
    wrong = []
    for dotted, kind, meta in NUMBERS[model]:
        if _bounds(meta) != (True, True):
            wrong.append(f"{dotted} declares no lower or no upper bound")
            continue
        huge = 10**30 if kind is int else 1e300
        if f"  {dotted}: Input should be less than" not in _error(model, _raw(dotted, huge)):
            wrong.append(f"{dotted}={huge} accepted")
        if f"  {dotted}: Input should be greater than" not in _error(model, _raw(dotted, -huge)):
            wrong.append(f"{dotted}={-huge} accepted")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    ("text", "why"),
    [("yesterday-ish", "is not a date"), ("now", "relative date"), ("today", "relative date"),
     ("NaT", "is not a date"), ("", "is not a date"), ("2024-13-01", "is not a date"),
     ("99999-01-01", "is not a date")],
)  # fmt: skip
def test_dates_are_parsed_when_validated(text: str, why: str) -> None:
    message = _error(TrainConfig, {"data": {"start": text}})
    assert "  data.start: Value error," in message and why in message


def test_dates_read_as_the_data_layer_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("data:\n  start: 2024-01-01\n  end: '2024-03-01T00:00:00+02:00'\n")
    cfg = load(TrainConfig, path)  # an unquoted YAML date is a date object: kept as its text
    assert cfg.data.start == "2024-01-01"
    assert utc_timestamp(cfg.data.end or "").isoformat() == "2024-02-29T22:00:00+00:00"
    message = _error(TrainConfig, {"data": {"start": "2024-03-01", "end": "2024-01-01"}})
    assert "data: Value error, start '2024-03-01' must be before end '2024-01-01'" in message


def test_yaml_errors_name_the_line_without_quoting_it(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("optim:\n  lr: 0.1\n  note: 'unterminated s3cr3t-value\n")
    with pytest.raises(InvalidInput) as err:
        load(TrainConfig, path)
    assert "is not valid YAML: line" in str(err.value) and "s3cr3t" not in str(err.value)
    path.write_text("optim:\n  lr: 0.1\n  lr: 0.2\n")
    with pytest.raises(InvalidInput, match=r"line 3, column 3: key 'lr' appears twice"):
        load(TrainConfig, path)
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InvalidInput, match="cannot be read as text"):
        load(TrainConfig, path)


def test_unknown_keys_never_echo_their_value() -> None:
    message = _error(TrainConfig, {"optim": {"api_sekret": "hunter2-value"}})
    assert "optim.api_sekret: Extra inputs are not permitted" in message
    assert "hunter2" not in message


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=0, max_value=1000))
def test_in_range_values_round_trip(fee: float) -> None:
    cfg = validate(TrainConfig, {"loss": {"fee_bps": fee}})
    assert cfg.loss.fee_bps == fee
    assert validate(TrainConfig, cfg.model_dump(mode="json")) == cfg


LEAVES = [(model, dotted, kind) for model, leaves in NUMBERS.items() for dotted, kind, _ in leaves]
# the required fields of models that have some (a model missing here fails the test below)
REQUIRED = {
    "ConnectorConfig": {"rest_url": "http://127.0.0.1:1", "ws_url": "ws://127.0.0.1:1"},
    "BacktestConfig": {"data": {"path": "candles.feather"}},
    "DataSection": {"path": "candles.feather"},
    "L2BacktestConfig": {"recording": {"paths": ["day.gz"]}},
    "RecordingSection": {"paths": ["day.gz"]},
}


def _merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = _merged(out[key], value) if both else value
    return out


@given(st.sampled_from(LEAVES), st.one_of(st.floats(), st.integers(-(10**20), 10**20)))
def test_any_number_is_accepted_finite_or_refused_by_name(
    leaf: tuple[type[StrictModel], str, type], value: float | int
) -> None:
    model, dotted, _ = leaf
    base = REQUIRED.get(model.__name__, {})
    model.model_validate(base)  # the example itself is valid
    raw = _merged(base, _raw(dotted, value))
    try:
        cfg = model.model_validate(raw)
    except ValueError:  # pydantic's ValidationError is a ValueError
        message = _error(model, raw)
        # a field's own check names its dotted path; a check across fields names the field
        name = next(p for p in reversed(dotted.split(".")) if p != "0")
        assert f"  {dotted}: " in message or f"{name} " in message, message
        assert repr(raw) not in message
        return
    held: Any = cfg
    for part in dotted.split("."):
        held = held[int(part)] if part == "0" else getattr(held, part)
    assert math.isfinite(held) and held == value
