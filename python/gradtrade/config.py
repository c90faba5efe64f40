"""Validated settings: one strict pydantic base, YAML loading, and error text naming the field.

Invariants of every settings model built on :class:`StrictModel`:

* unknown keys are errors (a typo must not silently fall back to a default) and models are
  frozen (a validated value cannot be made invalid afterwards);
* every validation error names the dotted path of each bad field and the value it got, e.g.
  ``loss.risk_weight: Input should be >= 0 (got -1)``, except for fields whose name says they
  hold a credential (key, secret, password, token): their value never reaches a message;
* the error raised is :class:`gradtrade.errors.InvalidInput` or the subclass the caller names
  (``ConfigError`` for the connector), so callers catch one class whatever went wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from gradtrade.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)

_CREDENTIAL = re.compile(r"key|secret|password|token", re.I)


class StrictModel(BaseModel):
    """Base of every settings model: extra keys forbidden, frozen once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def describe(err: ValidationError, source: str) -> str:
    """One line per bad field under a header naming ``source`` (a file or ``<dict>``)."""
    lines = [f"invalid config {source}:"]
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"]) or "(top level)"
        hidden = any(_CREDENTIAL.search(str(p)) for p in e["loc"])
        shown = e["type"] != "missing" and "input" in e and not hidden
        got = f" (got {e['input']!r})" if shown else ""
        lines.append(f"  {where}: {e['msg']}{got}")
    return "\n".join(lines)


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


def read_yaml(path: Path, error: type[InvalidInput] = InvalidInput) -> dict[str, Any]:
    """The top-level mapping of a YAML (or JSON) file; an empty file is an empty mapping."""
    if not path.exists():
        raise error(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as err:
        raise error(f"config {path} is not valid YAML: {err}") from None
    if not isinstance(raw, dict):
        raise error(f"config {path} must be a mapping at the top level")
    return raw


def load(cls: type[M], path: str | Path, error: type[InvalidInput] = InvalidInput) -> M:
    """``cls`` validated from a YAML file; errors name the file and the field."""
    path = Path(path)
    return validate(cls, read_yaml(path, error), str(path), error)


__all__ = ["StrictModel", "describe", "load", "read_yaml", "validate"]
