"""The demo's configs: the user's copyable files in ``configs/`` plus the demo's few overrides.

Invariants: every step of ``gradtrade demo`` runs a real command (``gradtrade train``,
``evaluate``, ``backtest``, ``trade``) on a YAML file the demo wrote into its output folder, so
the user can rerun any step with the printed command and get the same thing. Each file is a
template from ``configs/demo_*.yaml`` with only the values the demo must decide at run time
replaced (where the data was stored, the exchange's port, the test period, the epochs), each
named by its dotted path; an override of a key the template does not have is an error, so a
renamed field in a template fails the demo loudly instead of being added beside it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from gradtrade.config import read_yaml
from gradtrade.errors import InvalidInput

TRAIN = "demo_train.yaml"
BACKTEST = "demo_backtest.yaml"
TRADER = "demo_trader.yaml"


def load_template(configs: Path, name: str) -> dict[str, Any]:
    """``configs/name`` as a mapping; a clear error when the folder is not the project's."""
    path = configs / name
    if not path.is_file():
        raise InvalidInput(
            f"demo template {path} not found: run `gradtrade demo` from the project root "
            "(where configs/ is) or pass --configs DIR"
        )
    return read_yaml(path)


def with_overrides(template: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``template`` with each dotted key of ``overrides`` replaced."""
    out: dict[str, Any] = yaml.safe_load(yaml.safe_dump(dict(template)))
    for dotted, value in overrides.items():
        *parents, leaf = dotted.split(".")
        node = out
        for i, key in enumerate(parents):
            child = node.get(key)
            if not isinstance(child, dict):
                where = ".".join(parents[: i + 1])
                raise InvalidInput(f"demo template has no section {where} (override {dotted})")
            node = child
        if leaf not in node:
            raise InvalidInput(f"demo template has no field {dotted} to override")
        node[leaf] = value
    return out


def write_config(raw: Mapping[str, Any], path: Path, *, source: Path, rerun: str) -> Path:
    """Write ``raw`` as YAML with a header naming its template and the command that reruns it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = f"# Written by `gradtrade demo` from {source}.\n# Rerun this step: {rerun}\n"
    path.write_text(header + yaml.safe_dump(dict(raw), sort_keys=False))
    return path


__all__ = ["BACKTEST", "TRADER", "TRAIN", "load_template", "with_overrides", "write_config"]
