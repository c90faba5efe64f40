"""Fixtures of the deployment tests: the parsed Dockerfile and the repository root."""

from __future__ import annotations

from pathlib import Path

import pytest
from dockerspec import Dockerfile, DockerIgnore, parse_dockerfile

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def dockerfile() -> Dockerfile:
    return parse_dockerfile(REPO_ROOT / "Dockerfile")


@pytest.fixture(scope="session")
def dockerignore() -> DockerIgnore:
    return DockerIgnore.read(REPO_ROOT / ".dockerignore")
