"""Validated settings: one strict pydantic base, YAML loading, and error text naming the field.

Invariants of every settings model built on :class:`StrictModel`:

* unknown keys are errors (a typo must not silently fall back to a default), and so is a key
  given twice in one YAML mapping; models are frozen (a validated value cannot be made invalid
  afterwards);
* every number is finite: ``inf`` and ``nan`` are refused model-wide (``allow_inf_nan=False``),
  in nested models and lists too, so a new model gets it without asking; every numeric field also
  declares both a lower and an upper bound (``tests/test_config.py`` walks every model and checks);
* a date field (:data:`UtcDate`) is parsed when the config is validated, exactly as the data
  layer will parse it (``pd.Timestamp(value, tz="UTC")``), so an unparseable or relative date is
  refused here naming the field instead of failing later in pandas;
* every validation error names the dotted path of each bad field and the value it got, e.g.
  ``loss.risk_weight: Input should be >= 0 (got -1)``, except for fields whose name says they
  hold a credential (key, secret, password, token), for unknown keys (a misspelt credential is
  still a credential) and for checks across fields (their input is the whole section): these
  values never reach a message;
* no error quotes the source text: a YAML syntax error names the line and column, never the
  line itself (it may hold a secret), and every message goes through :func:`scrub`;
* the error raised is :class:`gradtrade.errors.InvalidInput` or the subclass the caller names
  (``ConfigError`` for the connector), so callers catch one class whatever went wrong.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

import pandas as pd
import yaml
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationError

from gradtrade.errors import InvalidInput, scrub

M = TypeVar("M", bound=BaseModel)

_CREDENTIAL = re.compile(r"key|secret|password|token", re.I)
# relative dates parse, but to a different instant on every run: a config must be reproducible
_RELATIVE_DATES = frozenset({"now", "today", "yesterday", "tomorrow"})


class StrictModel(BaseModel):
    """Base of every settings model: extra keys forbidden, numbers finite, frozen once valid."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def utc_timestamp(value: str) -> pd.Timestamp:
    """``value`` as the data layer reads it: a UTC timestamp; ``ValueError`` says why not."""
    if value.strip().lower() in _RELATIVE_DATES:
        raise ValueError(f"{value!r} is a relative date; write the date, e.g. 2024-01-01")
    try:
        stamp = pd.Timestamp(value, tz="UTC")
    except (ValueError, TypeError, OverflowError) as err:
        raise ValueError(f"{value!r} is not a date ({err})") from None
    if pd.isna(stamp):
        raise ValueError(f"{value!r} is not a date")
    return stamp


def _date_text(value: Any) -> Any:
    # YAML reads an unquoted 2024-01-01 as a date object; the field keeps the text form
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _checked_date(value: str) -> str:
    utc_timestamp(value)
    return value


UtcDate = Annotated[str, BeforeValidator(_date_text), AfterValidator(_checked_date)]
"""A date or timestamp kept as written, checked at validation to parse as a UTC timestamp."""


def describe(err: ValidationError, source: str) -> str:
    """One line per bad field under a header naming ``source`` (a file or ``<dict>``)."""
    lines = [f"invalid config {source}:"]
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"]) or "(top level)"
        hidden = e["type"] == "extra_forbidden" or any(_CREDENTIAL.search(str(p)) for p in e["loc"])
        # a whole section (a model-level check failed) is not echoed: it may hold credentials
        scalar = not isinstance(e.get("input"), Mapping | list | tuple)
        shown = e["type"] != "missing" and "input" in e and scalar and not hidden
        got = f" (got {e['input']!r})" if shown else ""
        lines.append(f"  {where}: {e['msg']}{got}")
    return scrub("\n".join(lines))


def validate(
    cls: type[M],
    raw: Mapping[str, Any],
    source: str = "<dict>",
    error: type[InvalidInput] = InvalidInput,
) -> M:
    """``cls`` validated from ``raw``; a bad value raises ``error`` naming each bad field."""
    try:
        return cls.model_validate(raw)
    except ValidationError as err:
        raise error(describe(err, source)) from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in one mapping (it keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str | int | float | bool) and key in seen:
                mark = key_node.start_mark
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in one mapping", mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _yaml_problem(err: yaml.YAMLError) -> str:
    """What went wrong and where, without the source text: str(err) quotes the offending line."""
    if isinstance(err, yaml.MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        parts = [p for p in (err.context, err.problem) if p]
        return where + ("; ".join(parts) or type(err).__name__)
    if isinstance(err, yaml.reader.ReaderError):
        return f"position {err.position}: {err.reason}"
    return type(err).__name__


def read_yaml(path: Path, error: type[InvalidInput] = InvalidInput) -> dict[str, Any]:
    """The top-level mapping of a YAML (or JSON) file; an empty file is an empty mapping."""
    if not path.exists():
        raise error(f"config file not found: {path}")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as err:
        raise error(f"config {path} cannot be read as text: {type(err).__name__}") from None
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader) or {}
    except yaml.YAMLError as err:
        raise error(scrub(f"config {path} is not valid YAML: {_yaml_problem(err)}")) from None
    if not isinstance(raw, dict):
        raise error(f"config {path} must be a mapping at the top level")
    return raw


def load(cls: type[M], path: str | Path, error: type[InvalidInput] = InvalidInput) -> M:
    """``cls`` validated from a YAML file; errors name the file and the field."""
    path = Path(path)
    return validate(cls, read_yaml(path, error), str(path), error)


__all__ = ["StrictModel", "UtcDate", "describe", "load", "read_yaml", "utc_timestamp", "validate"]
