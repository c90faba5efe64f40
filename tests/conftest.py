"""Shared fixtures. Real Binance data is read from GRADTRADE_TEST_DATA (default ../shared/data)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def data_root() -> Path:
    return Path(os.environ.get("GRADTRADE_TEST_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The recorded Binance data. Missing data fails loudly in CI and skips elsewhere."""
    root = data_root()
    if not (root / "README.md").exists():
        message = f"real test data not found at {root} (set GRADTRADE_TEST_DATA)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return root
