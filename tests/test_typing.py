"""The public API stays typed: the stub of the extension matches what the extension exports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_core_stub_matches_extension() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "gradtrade._core"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_core_reexports_everything() -> None:
    import gradtrade._core as ext
    import gradtrade.core as core

    exported = {name for name in dir(ext) if not name.startswith("_")}
    missing = sorted(name for name in exported if name not in core.__all__)
    assert not missing, f"gradtrade.core does not re-export {missing}"
