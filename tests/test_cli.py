from __future__ import annotations

import subprocess
import sys

import gradtrade


def test_version_and_selfcheck() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gradtrade", "--version"], capture_output=True, text=True, check=True
    )
    assert gradtrade.__version__ in out.stdout
    check = subprocess.run(
        [sys.executable, "-m", "gradtrade", "selfcheck"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    assert "OK" in check.stdout
